"""Tiers: status levels earned over a qualification window, with benefits that cost money.

Behaviour (weights: each customer's status seeking over the base's mean, so
the documented size holds for the average customer):

* status: a tier's status value raises purchase intensity and lowers dropout
  (Kopalle et al. 2012 found tier rewards lift purchasing; sizes are seed
  assumptions to calibrate). A bigger top tier dilutes status (Dreze & Nunes
  2009): a tier's status is scaled by 1 - dilution x share of active customers
  at or above it.
* requalification push: near an evaluation, customers close to keeping or
  reaching a tier buy more (Kopalle et al. 2012 "points pressure" for tiers).
* demotion: demoted customers end up less loyal than never-promoted ones
  (Wagner, Hennig-Thurau & Rudolph 2009, J. Marketing), so the penalty is set
  larger than the top status gain: for a year after a demotion, intensity
  x (1 - demotion_intensity) and dropout x (1 + demotion_dropout).

Economics: every benefit is booked: tier discounts as money off orders, free
delivery as the fee given up, perks per member-month, and the earn
multiplier through the points it issues (in the points mechanic's lines).
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.base import Mechanic
from sim.schema import Bool, Choice, Int, ListOf, NonNeg, Num, Prob, Section, Str

LEVEL = Section(doc="a tier", fields={
    "name": Str(doc="tier name"),
    "threshold": NonNeg(doc="qualification value needed over the window (spend, orders or points)"),
    "earn_multiplier": Num(1.0, lo=0.0, doc="points earned x this (needs points)"),
    "discount": Prob(0.0, "share off every order"),
    "free_delivery": Bool(False),
    "perk_cost_per_month": NonNeg(0.0, "cost of other perks per member per month"),
    "status_value": NonNeg(0.0, "perceived status, 0 (none) to 1 (top tier of a typical programme)"),
})


class Tiers(Mechanic):
    name = "tiers"
    SCHEMA = Section(optional=True, doc="status tiers", fields={
        "enabled": Bool(True),
        "qualify_on": Choice(("spend", "orders", "points"), "spend", "what counts towards a tier"),
        "window": Choice(("rolling", "calendar"), "rolling",
                         "rolling: the trailing window_months, evaluated monthly; calendar: the calendar year, evaluated on 31 December"),
        "window_months": Int(12, lo=1, hi=36, doc="rolling window length"),
        "levels": ListOf(item=LEVEL, min_len=2, doc="from the entry tier (threshold 0) up"),
        "downgrade": Choice(("none", "one_step", "reevaluate"), "one_step",
                            "none: tiers are kept; one_step: down one level; reevaluate: to the level qualified for"),
        "grace_months": Int(0, lo=0, hi=24, doc="months below the threshold before a downgrade"),
        "behaviour": Section(fields={
            "status_intensity": NonNeg(0.10, "intensity gain at status value 1 (seed assumption; Kopalle et al. 2012 direction)"),
            "status_basket": NonNeg(0.05, "basket growth at status value 1 (seed assumption; Kopalle et al. 2012 direction)"),
            "status_retention": Prob(0.15, "dropout reduction at status value 1 (seed assumption)"),
            "dilution": Prob(0.5, "status lost per share of customers at or above a tier (Dreze & Nunes 2009 direction)"),
            "requalify_push": NonNeg(0.15, "intensity gain when close to keeping or reaching a tier before evaluation (assumption)"),
            "push_days": Int(60, lo=0, hi=365, doc="days before an evaluation when the push acts"),
            "push_gap": Prob(0.3, "close = within this share of the threshold"),
            "demotion_intensity": Prob(0.15, "intensity loss after demotion, larger than the status gain (Wagner et al. 2009)"),
            "demotion_dropout": NonNeg(0.30, "extra dropout after demotion, larger than the status protection (Wagner et al. 2009)"),
            "demotion_memory_days": Int(365, lo=0, hi=3650, doc="how long a demotion weighs"),
        }),
    })

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        th = [lv.threshold for lv in cfg.levels]
        if th[0] != 0:
            raise ScenarioError(file, f"{path}.levels[0].threshold", f"got {th[0]:g}; allowed: 0 (the entry tier everyone starts in)")
        for i in range(1, len(th)):
            if th[i] <= th[i - 1]:
                raise ScenarioError(file, f"{path}.levels[{i}].threshold", f"got {th[i]:g}; allowed: greater than the tier below ({th[i - 1]:g})")
        if cfg.qualify_on == "points" and scenario_cfg.programme.get("points") is None:
            raise ScenarioError(file, f"{path}.qualify_on", "'points' needs a points block in the programme")
        if any(lv.earn_multiplier != 1.0 for lv in cfg.levels) and scenario_cfg.programme.get("points") is None:
            raise ScenarioError(file, f"{path}.levels", "earn_multiplier needs a points block in the programme")

    def __init__(self, config, model):
        super().__init__(config, model)
        cfg = config
        lv = cfg.levels
        self.thresholds = np.array([x.threshold for x in lv])
        self.multiplier = np.array([x.earn_multiplier for x in lv], dtype=np.float64)
        self.discount = np.array([x.discount for x in lv])
        self.free_delivery = np.array([x.free_delivery for x in lv])
        self.perk_cost = np.array([x.perk_cost_per_month for x in lv])
        self.status = np.array([x.status_value for x in lv])
        self.n_levels = len(lv)
        self.b = cfg.behaviour
        self.tier = self.column("tier", np.int8, 0)
        self.months_below = self.column("months_below", np.int16, 0)
        self.demoted_day = self.column("demoted_day", np.int32, -(2**30))
        self.ever_promoted = self.column("ever_promoted", np.bool_, False)
        self.pushed = self.column("pushed", np.bool_, False)  # the requalification push is on for them
        self.qual = self.column("qual", np.float64, 0.0)  # value in the current window
        self.intensity = self.factor("intensity")
        self.dropout = self.factor("dropout")
        self.basket = self.factor("basket")
        self.ring = None
        if cfg.window == "rolling":
            self.ring = np.zeros((cfg.window_months, self.customers.capacity), dtype=np.float32)
        self.dilution_factor = np.ones(self.n_levels)
        self._status_seek_mean = float(self.customers.status_seeking[: self.customers.n].mean() or 1.0)
        months = model.n_months
        self.monthly = {f"tier_{x.name}": np.zeros(months) for x in lv}
        self.monthly.update(upgrades=np.zeros(months), downgrades=np.zeros(months))
        self._push_active = False
        self._started = False

    def grow(self, capacity):
        super().grow(capacity)
        if self.ring is not None:
            new = np.zeros((self.ring.shape[0], capacity), dtype=np.float32)
            new[:, : self.ring.shape[1]] = self.ring
            self.ring = new

    # ------------------------------------------------------------------ helpers used by other mechanics
    def earn_multiplier(self, idx):
        return self.multiplier[self.tier[idx]]

    def grants_free_delivery(self, idx):
        return self.free_delivery[self.tier[idx]]

    def points_earned(self, idx, pts):
        if self.config.qualify_on == "points":
            self._add_qual(idx, pts)

    def _add_qual(self, idx, value):
        self.qual[idx] += value
        if self.ring is not None:
            slot = self.calendar.month_of(self.model.day) % self.ring.shape[0]
            self.ring[slot, idx] += value.astype(np.float32)

    def qualified_level(self, idx):
        return (np.searchsorted(self.thresholds, self.qual[idx] + 1e-9, side="right") - 1).astype(np.int8)

    # ------------------------------------------------------------------ behaviour
    def _refresh(self, idx, close=None):
        if idx.size == 0:
            return
        b = self.b
        t = self.tier[idx]
        w = self.customers.status_seeking[idx] / self._status_seek_mean
        status = (self.status * self.dilution_factor)[t] * w
        inten = 1.0 + b.status_intensity * status
        drop = np.maximum(1.0 - b.status_retention * status, 0.05)
        demoted = self.demoted_day[idx] > self.model.day - b.demotion_memory_days
        inten = np.where(demoted, inten * (1.0 - b.demotion_intensity), inten)
        drop = np.where(demoted, drop * (1.0 + b.demotion_dropout), drop)
        if self._push_active and b.requalify_push:
            close = self._close_to_threshold(idx) if close is None else close.astype(np.float64)
            inten *= 1.0 + b.requalify_push * w * close
            self.pushed[idx] = close > 0
        else:
            self.pushed[idx] = False
        self.intensity[idx] = inten
        self.dropout[idx] = drop
        self.basket[idx] = 1.0 + b.status_basket * status
        self.changed(idx)

    def _close_to_threshold(self, idx):
        """Close to keeping the current tier or to reaching the next one."""
        q = self.qual[idx]
        t = self.tier[idx].astype(int)
        keep = self.thresholds[t]
        nxt = self.thresholds[np.minimum(t + 1, self.n_levels - 1)]
        gap = self.b.push_gap
        at_risk = (t > 0) & (q < keep) & (q >= keep * (1 - gap))
        reach = (t < self.n_levels - 1) & (q < nxt) & (q >= nxt * (1 - gap))
        return (at_risk | reach).astype(np.float64)

    def _days_to_evaluation(self, day):
        if self.config.window == "calendar":
            return self.calendar.days_until_year_end(day)
        d = self.calendar.date(day)
        import calendar as _cal
        return _cal.monthrange(d.year, d.month)[1] - d.day

    # ------------------------------------------------------------------ hooks
    def start_day(self, day):
        push = self._days_to_evaluation(day) < self.b.push_days
        if not self._started or push != self._push_active:
            # the push switches on or off (calendar windows): everyone's factors change
            self._started = True
            self._push_active = push
            c = self.customers
            self._refresh(np.flatnonzero(c.present[: c.n]))

    def price_orders(self, orders):
        t = self.tier[orders.idx]
        disc = self.discount[t]
        if disc.any():
            off = (orders.gross - orders.discount) * disc
            orders.discount += off
            self.book("discounts", float(off.sum()))
        fee = self.economics.delivery_fee
        if fee and self.free_delivery.any():
            free = self.free_delivery[t] & ~orders.free_delivery
            if free.any():
                orders.free_delivery |= free
                self.book("free_delivery", fee * int(free.sum()))

    def after_orders(self, orders):
        idx = orders.idx
        if self.config.qualify_on == "spend":
            self._add_qual(idx, orders.paid)
        elif self.config.qualify_on == "orders":
            self._add_qual(idx, np.ones(idx.size))
        new = self.qualified_level(idx)
        up = new > self.tier[idx]
        if up.any():
            r = idx[up]
            self.tier[r] = new[up]
            self.ever_promoted[r] = True
            self.months_below[r] = 0
            self.monthly["upgrades"][max(self.ledger.month, 0)] += r.size
            self._refresh(r)

    def end_month(self, month, day):
        c = self.customers
        n = c.n
        mo = max(month, 0)
        present = c.present[:n]
        tier_all = self.tier[:n]
        # customers above the entry tier are few; everyone else (arrived or not) sits at level 0
        above = np.flatnonzero(tier_all > 0)
        counts = np.bincount(tier_all[above], minlength=self.n_levels)
        counts[0] = int(present.sum()) - above.size
        # perks cost per member-month
        if self.perk_cost.any():
            self.book("perks", float(counts @ self.perk_cost))
        for i, lv in enumerate(self.config.levels):
            self.monthly[f"tier_{lv.name}"][mo] = int(counts[i])
        evaluate = self.config.window == "rolling" or self.calendar.date(day).month == 12 and self.calendar.date(day).day == 31
        if evaluate and self.config.downgrade != "none":
            members = above  # the entry tier cannot go lower
            tier = tier_all[members]
            qualified = self.qualified_level(members)
            below = qualified < tier
            self.months_below[members[below]] += 1
            self.months_below[members[~below]] = 0
            due = below & (self.months_below[members] > self.config.grace_months)
            if due.any():
                r = members[due]
                if self.config.downgrade == "one_step":
                    self.tier[r] = self.tier[r] - 1
                else:
                    self.tier[r] = qualified[due]
                self.months_below[r] = 0
                self.demoted_day[r] = day
                self.monthly["downgrades"][mo] += r.size
        if self.config.window == "calendar" and evaluate:
            self.qual[:n] = 0.0
        if self.ring is not None:
            # the rolling window moves on: the month that leaves it for next month stops
            # counting (before the refresh, so the push sees next month's window)
            slot = (month + 1) % self.ring.shape[0]
            self.qual[:n] -= self.ring[slot, :n]
            np.maximum(self.qual[:n], 0.0, out=self.qual[:n])
            self.ring[slot, :n] = 0.0
        # status dilution: the share of active customers at or above each tier
        recent = day - self.model.window
        n_active = int((c.last_order_day[:n] > recent).sum())  # not-yet-arrived rows have no order
        if n_active:
            above = np.flatnonzero(tier_all > 0)  # after this month's downgrades
            counts = np.bincount(tier_all[above][c.last_order_day[above] > recent], minlength=self.n_levels)
            counts[0] = n_active - counts[1:].sum()
            share = counts[::-1].cumsum()[::-1] / n_active
            share[0] = 0.0
            self.dilution_factor = 1.0 - self.b.dilution * share
        # refresh whoever's factors can have changed: members above the entry tier (status,
        # dilution), customers pushed or close to a threshold, demotions within memory
        # (and their expiry); everyone if the entry tier itself carries status
        self._push_active = self._days_to_evaluation(day + 1) < self.b.push_days
        close_all = None
        if self._push_active:
            # only customers with some qualifying value in the window can be close to a threshold
            close_all = np.zeros(n, dtype=bool)
            some = np.flatnonzero(self.qual[:n] > 0) if self.b.push_gap < 1.0 else np.arange(n)
            close_all[some] = self._close_to_threshold(some) > 0
        if self.status[0] > 0:
            rows = np.flatnonzero(present)
        else:
            cand = (tier_all > 0) | self.pushed[:n] | (self.demoted_day[:n] > day - self.b.demotion_memory_days - 32)
            if close_all is not None:
                cand |= close_all
            rows = np.flatnonzero(present & cand)
        self._refresh(rows, close=None if close_all is None else close_all[rows])

    def series(self):
        return dict(self.monthly)

    def summary(self):
        return {"members_by_tier_end": {lv.name: float(self.monthly[f"tier_{lv.name}"][-1]) for lv in self.config.levels},
                "upgrades": float(self.monthly["upgrades"].sum()), "downgrades": float(self.monthly["downgrades"].sum())}
