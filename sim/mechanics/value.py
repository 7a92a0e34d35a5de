"""What a programme gives a customer, and how strongly that moves them: one form for every effect.

Every behavioural effect of points, tiers, subscription, discounts and referrals
is sized by the value the customer perceives, relative to what they spend:

    perceived value   v = w x rate x D(t)
        rate  what the customer gets back per unit of their own spend, at face value
              (a 1% points programme: 0.01; a 3% tier discount: 0.03; a free 4.50 coffee
              for every ten 4.50 coffees: 0.10; free delivery of 15 on a 1,500 basket: 0.01)
        D(t)  = 1 / (1 + t / delay_half_days): a reward t days away is worth less
              (hyperbolic discounting of delayed rewards; Keh & Lee 2006 find immediate
              rewards preferred unless customers are satisfied; a points reward a customer
              reaches in 600 days is worth about an eighth of the same money off today)
        w     the customer's responsiveness to money: price sensitivity over the base's
              mean, damped for heavy buyers (Liu 2007; Hartmann & Viard 2008); mean 1
    response  f(v) = g(v) / g(V_REF),  g(v) = v / (v + value_half)
    effect    = size x f(v)

So a programme whose rewards are worth nothing moves nothing (f(0) = 0); more
value moves more, with diminishing returns (g is concave: doubling the rebate
raises an effect by less than double; Leenheer et al. 2002/2007 find high
discounts do not buy a higher share of wallet); and each effect's default
``size`` is its size at the reference value V_REF, a 10% reward rate received at
once. The coffee card of Kivetz, Urminsky & Zheng (2006) is worth about 0.04
(a 10% reward about twenty weeks away); a "1%" retail points programme whose
reward takes a typical customer well over a year to reach is worth about 0.0015,
so its goal gradient is about a twentieth of the coffee card's.

The two constants of the form are in the scenario's ``response`` block
(``value_half``, ``delay_half_days``) with their ranges; ``sim/reference.py``
uses the same functions.
"""
from __future__ import annotations

import numpy as np

V_REF = 0.10  # the reference value: a 10% reward rate received at once


def discount_for_delay(days, delay_half_days):
    """D(t): what a reward ``days`` away is worth now, per unit of its face value."""
    return 1.0 / (1.0 + np.maximum(days, 0.0) / delay_half_days)


def perceived(rate, days, weight, delay_half_days):
    """v = w x rate x D(t)."""
    return weight * rate * discount_for_delay(days, delay_half_days)


def response(v, value_half):
    """f(v) = g(v) / g(V_REF) with g(v) = v / (v + value_half): 0 at no value, 1 at the reference."""
    v = np.maximum(v, 0.0)
    return (v / (v + value_half)) * ((V_REF + value_half) / V_REF)
