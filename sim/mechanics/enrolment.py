"""Enrolment: who joins the programme, when, and why those who join are not like the rest.

Points and tiers act on members only. Not everyone joins: about half of a
grocer's customers and a fifth of a casual-apparel retailer's are enrolled
(Cigliano, Georgiadis, Pleasance & Whalley 2000, McKinsey Quarterly: 53% and
21%). Joining takes time after launch, and those who join are the heavier
buyers: "heavier buyers enrol earlier" (Meyer-Waarden & Benavent 2009; Zidda &
Demoulin 2009: loyal, committed shoppers adopt a card sooner), which is why a
member vs non-member comparison overstates a programme's effect about seven
times (Leenheer, van Heerde, Bijmolt & Smidts 2007).

The rule. Each customer, at launch (or on arrival, for a customer acquired
later), has a propensity to join

    score = selection x z + sqrt(1 - selection^2) x e,    e ~ N(0, 1)

where z is the customer's own expected spend (log of purchase rate x usual
basket) standardised over the launch base. The customer joins eventually if
the score is above the cut that puts ``share`` of the customers active at
launch above it (customers acquired later face the same cut), on their first
order on or after a join day drawn ``Exp`` with median ``months_to_half``
after launch (or arrival): enrolment happens at the till, so frequent buyers
also join sooner. ``selection`` is the correlation between the propensity and
log spend: 0 joins at random, 1 the top spenders exactly.

No money is booked here: the points and tiers mechanics cost what members get.
"""
from __future__ import annotations

import math

import numpy as np

from sim.mechanics.base import Column, Mechanic
from sim.schema import Effect, Section

NEVER = np.iinfo(np.int32).max
UNSET = np.iinfo(np.int32).min
DAYS_PER_MONTH = 365.25 / 12.0


class Enrolment(Mechanic):
    name = "enrolment"
    LABEL = "Enrolment"
    INTENSIVE = frozenset({"member_share_end"})
    LEDGER: dict = {}  # it books nothing itself
    SCHEMA = Section(doc="who joins the programme: points and tiers act on members only", fields={
        "share": Effect(0.5, 0.2, 0.8, hi=1.0,
                        grade="measured",
                        source="Cigliano et al. 2000 (McKinsey Quarterly): 53% of grocery and 21% of casual-apparel "
                               "customers enrolled",
                        doc="share of customers who eventually join"),
        "months_to_half": Effect(3.0, 1.0, 12.0, hi=120.0,
                                 grade="assumption",
                                 source="seed assumption (no published ramp; Zidda & Demoulin 2009: loyal shoppers adopt "
                                        "a card sooner)",
                                 doc="months after launch (or arrival) by which half of those who will join have joined; "
                                     "0: at their first order"),
        "selection": Effect(0.6, 0.3, 0.9, hi=1.0,
                            grade="direction",
                            source="Leenheer et al. 2007: the member vs non-member gap is about 7x the causal effect, "
                            "because heavier buyers join; Meyer-Waarden & Benavent 2009 (the correlation's size a "
                            "seed assumption)",
                            doc="correlation of the propensity to join with the customer's own expected spend"),
    })
    COLUMNS = (
        Column("member", np.bool_, False, doc="has joined"),
        Column("join_day", np.int32, UNSET, doc="the day from which the customer joins at an order (NEVER: does not)"),
    )

    @classmethod
    def active(cls, programme) -> bool:
        """Enrolment runs whenever a programme has something to join (points or tiers)."""
        return any(programme.get(k) is not None and programme[k].get("enabled", True) for k in ("points", "tiers"))

    def __init__(self, config, model):
        super().__init__(config, model)
        c = self.customers
        self._sel = config.selection
        self._scale = config.months_to_half * DAYS_PER_MONTH / math.log(2.0)
        # the launch base (a fresh cohort included: its first orders are on day 0) sets the scale of z
        n = c.n
        launch = np.flatnonzero(c.uid[:n] < np.uint64(model.n_initial))
        spend = self._log_spend(launch)
        self._mu = float(spend.mean()) if launch.size else 0.0
        self._sd = float(spend.std()) if launch.size > 1 and spend.std() > 0 else 1.0
        # ``share`` is of the customers active at launch: the cut is that quantile of their scores
        share = config.share
        active = np.flatnonzero(c.active_at_launch[:n])
        if share >= 1.0 or active.size == 0:
            self._cut = -math.inf if share > 0 else math.inf
        elif share <= 0.0:
            self._cut = math.inf
        else:
            self._cut = float(np.quantile(self._score(active), 1.0 - share))
        self._assign(np.arange(n), np.maximum(c.born_day[:n], 0))
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in ("members", "joins")}

    def _log_spend(self, idx):
        c = self.customers
        return np.log(np.maximum(c.lam[idx] * c.spend_shape[idx] / c.spend_rate[idx], 1e-30)).astype(np.float64)

    def _score(self, idx):
        uid = self.customers.uid[idx]
        z = (self._log_spend(idx) - self._mu) / self._sd
        taste = self.model.streams["enrolment.taste"].normal(uid, 0)
        return self._sel * z + math.sqrt(max(1.0 - self._sel ** 2, 0.0)) * taste

    def _assign(self, idx, start_day):
        """Decide once, from the customer's own traits and draws, whether and from when they join."""
        if idx.size == 0:
            return
        uid = self.customers.uid[idx]
        score = self._score(idx)
        delay = np.floor(self.model.streams["enrolment.delay"].exponential(uid, 0) * self._scale)
        day = np.minimum(np.asarray(start_day, dtype=np.float64) + delay, NEVER - 1)
        self.join_day[idx] = np.where(score > self._cut, day, NEVER).astype(np.int32)

    def membership(self):
        return self.member

    # ------------------------------------------------------------------ hooks
    def on_arrivals(self, idx):
        new = idx[self.join_day[idx] == UNSET]  # referred friends, created during the run
        self._assign(new, self.model.day)

    def after_orders(self, orders):
        idx = orders.idx
        joining = idx[~self.member[idx] & (self.join_day[idx] <= orders.day)]
        if joining.size == 0:
            return
        self.member[joining] = True
        if orders.day >= 0:
            self.monthly["joins"][max(self.ledger.month, 0)] += joining.size
        self.model.members_joined(joining)

    def end_month(self, month, day):
        self.monthly["members"][max(month, 0)] = int(self.member[: self.customers.n].sum())

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def summary(self):
        n = self.customers.n
        c = self.customers
        present = c.present[:n]
        return {"members_end": float(self.monthly["members"][-1]),
                "member_share_end": float(self.member[:n][present].mean()) if present.any() else 0.0,
                "joins": float(self.monthly["joins"].sum())}
