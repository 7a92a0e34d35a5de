"""No free lunch: every design responds to what it gives and what it asks, across its whole range.

An optimiser that seeks profit finds every place where a behavioural model gives value away for
free, so these tests play the optimiser's part on the library's own scenarios, lever by lever.
The invariants:

1. Nothing for nothing: a design that gives customers nothing they value (points worth a millionth, tiers
   with no benefit) moves no purchase: its effect on orders is a small fraction of the
   default design's (the effects scale with what customers get, sim.mechanics.value).
2. No profit from giving more away: at ten times the default's generosity (point value, earn
   rate, tier discounts, easier thresholds, promotion depth, offer frequency, referral bonus,
   members' discount)
   the programme earns less than at the default: what it gives costs more than the behaviour
   it buys.
3. A paid membership is priced by what members get: profit as a function of the fee has an
   interior maximum; at that fee members get back at least 0.7 of it a year; at five times
   what members get, fewer than a tenth as many members remain after a year.

Every comparison is paired on common random numbers (the same customers and chance events,
sim.random), so the differences below are the levers' effects, not noise between runs.
"""
from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import SCENARIOS
from sim.studies.plan import run_variants

pytestmark = pytest.mark.slow

R = 2  # replications per design, paired on common random numbers


def outcomes(path, designs, customers=3000, days=365):
    """{design name: [Outcome per replication]} for one library scenario and its overrides."""
    base = sim.load(SCENARIOS / path, {"customers.initial": customers, "horizon_days": days,
                                       "customers.history_days": 365})
    names = list(designs)
    out, _ = run_variants([base.with_overrides(designs[n]) for n in names], R, workers=2)
    return {n: [out[(i, r)] for r in range(R)] for i, n in enumerate(names)}


def mean_lift(rows, metric):
    return float(np.mean([o.lift(metric) for o in rows]))


# lever: (scenario, default design, ten times as generous, the design that gives nothing or None)
LEVERS = {
    "points value": ("simple_points.yaml", {}, {"programme.points.point_value": 10.0},
                     {"programme.points.point_value": 1e-6}),
    "points earn rate": ("simple_points.yaml", {}, {"programme.points.earn_per_currency": 10.0}, None),
    "tier discounts": ("tiers.yaml", {}, {"programme.tiers.levels.1.discount": 0.2, "programme.tiers.levels.2.discount": 0.5},
                       {"programme.tiers.levels.1.discount": 0.0, "programme.tiers.levels.2.discount": 0.0,
                        "programme.tiers.levels.1.status_value": 0.0, "programme.tiers.levels.2.status_value": 0.0,
                        "programme.tiers.levels.2.free_delivery": False, "programme.tiers.levels.2.perk_cost_per_month": 0.0}),
    "tier thresholds": ("tiers.yaml", {}, {"programme.tiers.levels.1.threshold": 300.0,
                                           "programme.tiers.levels.2.threshold": 750.0}, None),
    "promotion depth": ("discounts.yaml", {}, {"programme.discounts.promotions.0.discount": 0.8,
                                               "programme.discounts.promotions.1.discount": 0.8,
                                               "programme.discounts.personal_offers.0.discount": 0.8}, None),
    "offer frequency": ("discounts.yaml", {}, {"programme.discounts.personal_offers.0.every_days": 3,
                                               "programme.discounts.personal_offers.1.every_days": 9}, None),
    "referral bonus": ("referrals.yaml", {}, {"programme.referrals.referrer_bonus": 500.0,
                                              "programme.referrals.friend_discount": 500.0}, None),
    "members' discount": ("subscription_vip.yaml", {}, {"programme.subscription.benefits.discount": 0.2}, None),
}


@pytest.mark.parametrize("lever", list(LEVERS))
def test_no_lever_pays_more_for_giving_ten_times_as_much(lever):
    path, default, generous, nothing = LEVERS[lever]
    designs = {"default": default, "generous": generous}
    if nothing is not None:
        designs["nothing"] = nothing
    got = outcomes(path, designs)
    profit = {k: mean_lift(v, "profit") for k, v in got.items()}
    # ten times the generosity buys less than it costs: paired on the same customers, the gap is the
    # lever's own effect (several times any replication noise at this size). Profit is IFRS 15's
    # (points are revenue deferred until redeemed), so a generous reward that few reach within
    # the horizon still counts what it owes
    assert profit["generous"] < profit["default"], (lever, profit)
    if nothing is not None:
        orders = {k: mean_lift(v, "orders") for k, v in got.items()}
        # nothing given, (almost) nothing moved: the default's effect on orders is hundreds of
        # orders at this size; what is left without value is noise and the enrolment itself
        assert abs(orders["nothing"]) < 0.2 * abs(orders["default"]), (lever, orders)


def test_paid_membership_is_priced_by_what_members_get():
    """The issue's check on scenarios/subscription_vip.yaml at 5,000 customers over its two years."""
    fees = [25.0, 49.0, 99.0, 149.0, 199.0, 299.0, 499.0, 999.0]
    got = outcomes("subscription_vip.yaml", {f: {"programme.subscription.fee": f} for f in fees},
                   customers=5000, days=730)
    profit = np.array([mean_lift(got[f], "profit") for f in fees])
    best = int(profit.argmax())
    assert 0 < best < len(fees) - 1, dict(zip(fees, profit.round()))  # an interior maximum
    members = {f: [o.programme.mechanics["subscription"] for o in got[f]] for f in fees}
    value = float(np.mean([m["value_per_member_year"] for m in members[fees[best]]]))
    assert value >= 0.7 * fees[best], (fees[best], value)

    # five times what members get at the scenario's own fee: few join, fewer stay
    own = float(np.mean([m["value_per_member_year"] for m in members[49.0]]))
    dear = 5 * own
    year = outcomes("subscription_vip.yaml", {"own": {}, "dear": {"programme.subscription.fee": dear}},
                    customers=5000, days=395)  # the 30-day trial and a paid year
    paid = {k: float(np.mean([o.programme.mechanics["subscription"]["paid_members_end"] for o in v]))
            for k, v in year.items()}
    assert paid["dear"] < 0.1 * paid["own"], (dear, paid)


def test_an_optimiser_searching_the_fee_finds_no_loophole():
    """The optimiser as adversary: over fees from 19 to 2,000 a year the best membership is inside
    the range (not at the top, where a model that anchored renewal to Prime's rates put it), and
    the verdict says nothing about a bound."""
    import json

    from conftest import invoke
    r = invoke("optimise", SCENARIOS / "subscription_vip.yaml", "--set", "customers.initial=3000",
               "--vary", "programme.subscription.fee=19:2000", "--budget", "12", "--initial", "2",
               "--finalists", "2", "--max-replications", "4", "--confirm", "2", "-j", "2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    design = doc["chosen"]["design"] or doc["best_programme"]["design"]
    fee = design["programme.subscription.fee"]
    # profit peaks near 200-300 at this size (test above); a search of 12 trials lands within a
    # few hundred of it, far from the 2,000 bound that a free lunch would push it to
    assert fee < 1000, doc["chosen"]
    assert not [b for b in doc["at_bound"] if b["bound"] == "high"], doc["at_bound"]


def test_a_head_start_buys_no_orders_outside_where_it_was_measured():
    """Endowed progress was measured on cards given two purchases' worth of a ten or twelve purchase
    card (Kivetz et al.; Nunes & Drèze). On the flagship at a 5% rebate, 50 welcome points are a
    fifteenth of what one of its large orders earns and the next order reaches the reward: the head
    start must carry a small share of the effect there. Before it was bounded it did not (an optimiser
    found a 5% rebate "paying" +276k EUR on it): at this size it added about 1.5% of the no-programme
    orders and turned a 149k loss into a 69k profit; bounded, it adds about 0.1%."""
    E = "programme.points.behaviour.endowed_progress"
    rich = {"programme.points.earn_per_currency": 0.5}
    got = outcomes("points_and_tiers.yaml", {"with": {**rich, E: 0.94}, "without": {**rich, E: 0.0}},
                   customers=5000, days=730)
    base_orders = float(np.mean([o.baseline.metrics["orders"] for o in got["with"]]))
    added = mean_lift(got["with"], "orders") - mean_lift(got["without"], "orders")
    # paired on the same customers and chance events, the two arms differ only by the effect; the
    # bound (0.5% of orders, ~140 at this size) is a third of the unbounded effect and four times the bounded
    assert added < 0.005 * base_orders, (added, base_orders)
    assert mean_lift(got["with"], "profit") < 0.0


def test_points_an_order_cannot_redeem_buy_nothing():
    """An order takes at most max_rewards_per_order rewards: points earned beyond that pile up unspent.
    Found by the optimiser on simple_points.yaml: 1.8 points per EUR at 0.019 each earns about 2,700
    points on a 1,500 order against one 500-point reward an order; customers were moved as by a 3.4%
    rebate while the business could be asked for 0.6%, and the design "paid" +322k EUR. Paired on the
    same customers, it must buy no more orders than a design that earns what an order can take (0.33
    points per EUR, one reward an order, the same money back), beyond the small pull of a balance held
    (switching cost): before, 986 orders against 104 at this size; now within a few dozen."""
    V, E = "programme.points.point_value", "programme.points.earn_per_currency"
    got = outcomes("simple_points.yaml", {"piles": {V: 0.019, E: 1.8}, "one_an_order": {V: 0.019, E: 0.33}},
                   customers=5000, days=730)
    base_orders = float(np.mean([o.baseline.metrics["orders"] for o in got["piles"]]))
    piles, one = mean_lift(got["piles"], "orders"), mean_lift(got["one_an_order"], "orders")
    assert piles < 1.5 * one + 0.002 * base_orders, (piles, one, base_orders)
    assert mean_lift(got["piles"], "profit") < mean_lift(got["one_an_order"], "profit")
