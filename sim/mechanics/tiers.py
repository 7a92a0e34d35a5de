"""Tiers: status levels earned over a qualification window, with benefits that cost money.

Who: members only (``sim.mechanics.enrolment``); non-members stay outside the
ladder and get none of its benefits.

What a tier is worth to a customer (``sim.mechanics.value``): its money
benefits as a share of their own spend (the tier discount, the delivery fee
given up over their usual basket, the extra points its earn multiplier brings,
at the points' delayed value), weighted by their price sensitivity, plus its
status: status_value x status_worth, weighted by their status seeking over the
base's mean and diluted by how many share it. Every effect scales with f(v) of
that worth, so a tier that gives nothing moves nothing:

* status: intensity x (1 + status_intensity x f(v)), basket x (1 + status_basket x f(v)),
  dropout x (1 - status_retention x f(v)) (Kopalle et al. 2012: the tier component
  of a hotel programme generated incremental sales; sizes are seed assumptions
  with ranges). A bigger top tier dilutes status (Dreze & Nunes 2009): a tier's
  status is scaled by 1 - dilution x the share of active members at or above it.
* requalification push: a member about to lose their tier, or close to the next
  one, buys more: intensity x (1 + requalify_push x f(value at stake)), the value
  at stake being the tier's worth over the one below (or the next one's over
  this one) (Kopalle et al. 2012: points pressure for tiers). Close means within
  push_gap of the threshold. When: calendar windows, in the last push_days of the
  year; rolling windows, when the customer's own qualifying value will fall below
  their tier's threshold within push_days as old months leave the window (their
  own next drop, projected without new orders); closeness to the next tier acts
  at any time (an upgrade is immediate).
* demotion: demoted customers end up less loyal than never-promoted ones (Wagner,
  Hennig-Thurau & Rudolph 2009, J. Marketing): for demotion_memory_days after a
  demotion the worth lost weighs loss_aversion times as much as the same worth
  gained (Tversky & Kahneman 1992: about 2.25), intensity x (1 - loss_aversion x
  status_intensity x f(lost)) and dropout x (1 + loss_aversion x status_retention x f(lost)).

Economics: every benefit is booked: tier discounts as money off orders, free
delivery as the fee given up, perks per member-month, and the earn multiplier
through the points it issues (in the points mechanic's lines).
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import perceived, response
from sim.schema import Bool, Choice, Effect, Int, ListOf, NonNeg, Num, Prob, Section, Str

LEVEL = Section(doc="a tier", fields={
    "name": Str(doc="tier name"),
    "threshold": NonNeg(doc="qualification value needed over the window (spend, orders or points)"),
    "earn_multiplier": Num(1.0, lo=0.0, hi=100.0, doc="points earned x this (needs points)"),
    "discount": Prob(0.0, "share off every order"),
    "free_delivery": Bool(False),
    "perk_cost_per_month": NonNeg(0.0, "cost of other perks per member per month"),
    "status_value": Num(0.0, lo=0.0, hi=1.0, doc="perceived status, 0 (none) to 1 (the top tier of a typical programme)"),
})

NEVER = -(2**30)


def _has_money(cfg) -> bool:
    """Does some level give money's worth (a discount, free delivery, extra points), not status only?"""
    return any(lv.discount or lv.free_delivery or lv.earn_multiplier != 1.0 for lv in cfg.levels)


class Tiers(Mechanic):
    name = "tiers"
    LABEL = "Tiers"
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "discounts": "Tier discounts",
        "free_delivery": "Free delivery for top tiers",
        "perks": "Tier perks",
    }
    SCHEMA = Section(optional=True, doc="status tiers", fields={
        "enabled": Bool(True),
        "qualify_on": Choice(("spend", "orders", "points"), "spend", "what counts towards a tier"),
        "window": Choice(("rolling", "calendar"), "rolling",
                         "rolling: the trailing window_months, evaluated monthly; "
                         "calendar: the calendar year, evaluated on 31 December"),
        "window_months": Int(12, lo=1, hi=36, doc="rolling window length"),
        "count_history": Bool(False, "qualify_on spend: the spend customers made before launch counts toward their "
                                     "first qualification (the months of it inside the window that the base carries: "
                                     "a twin's own), so each customer's first order as a member places them where "
                                     "their own spend puts them; off: everyone starts from zero"),
        "levels": ListOf(item=LEVEL, min_len=2, doc="from the entry tier (threshold 0) up"),
        "downgrade": Choice(("none", "one_step", "reevaluate"), "one_step",
                            "none: tiers are kept; one_step: down one level; reevaluate: to the level qualified for"),
        "grace_months": Int(0, lo=0, hi=24, doc="months below the threshold before a downgrade"),
        "behaviour": Section(doc="sizes at the reference value (a 10% benefit received at once); each scales with f(v)", fields={
            "status_intensity": Effect(0.10, 0.0, 0.2, grade="direction",
                                       source="Kopalle et al. 2012: tier benefits lift purchasing (size a "
                                       "seed assumption)", doc="intensity gain from a tier's worth, x f(v)"),
            "status_basket": Effect(0.05, 0.0, 0.1, grade="direction",
                                    source="Kopalle et al. 2012 direction (size a seed assumption)",
                                    doc="basket growth from a tier's worth, x f(v)"),
            "status_retention": Effect(0.15, 0.0, 0.3, hi=1.0, grade="direction",
                                       source="Kopalle et al. 2012; Gopalakrishnan et al. 2021: "
                                       "programmes work mostly through attrition (size a seed assumption)",
                                       doc="dropout reduction from a tier's worth, x f(v)"),
            "status_worth": Effect(0.02, 0.0, 0.05, grade="direction",
                                   source="seed assumption: full status (value 1) is worth about 2% of "
                                   "spend to an average status seeker; Dreze & Nunes 2009: status is valued beyond money",
                                   doc="what status value 1 is worth, as a share of the customer's spend"),
            "dilution": Effect(0.5, 0.0, 1.0, hi=1.0, grade="direction",
                               source="Dreze & Nunes 2009: a bigger top tier dilutes status (size a "
                               "seed assumption)", doc="status lost per share of active members at or above a tier"),
            "requalify_push": Effect(0.15, 0.0, 0.3, grade="direction", source="Kopalle et al. 2012: points pressure before tier "
                                     "qualification (size a seed assumption)",
                                     doc="intensity gain when close to keeping or reaching a tier, x f(value at stake)"),
            "push_days": Int(60, lo=0, hi=365, grade="assumption",
                             doc="days before a customer's own evaluation when the push acts (seed)"),
            "push_gap": Effect(0.3, 0.1, 0.5, hi=1.0, grade="assumption",
                               source="seed assumption (Kopalle et al. 2012 find points "
                               "pressure near tier thresholds without a measured width)",
                               doc="close = within this share of the threshold"),
            "loss_aversion": Effect(2.25, 1.5, 2.5, lo=1.0, hi=10.0,
                                    grade="measured",
                                    source="Tversky & Kahneman 1992: losses weigh about 2.25 times equal gains; Wagner, "
                                           "Hennig-Thurau & Rudolph 2009: demoted customers end up less loyal than "
                                           "never-promoted ones", doc="weight of the worth lost at a demotion"),
            "demotion_memory_days": Int(365, lo=0, hi=3650, grade="assumption", doc="how long a demotion weighs (seed)"),
        }),
    })

    requires = ("enrolment",)  # tiers are for members
    uses = ("points",)         # qualifying on points, and a level's extra points are part of its worth
    # members who join at an order qualify on it; the tier discount applies to the price after
    # promotions and a membership's discount; when both grant free delivery, the membership books it
    after = ("enrolment", "discounts", "subscription")
    FACTORS = ("intensity", "dropout", "basket")
    COLUMNS = (
        Column("tier", np.int8, 0),
        Column("months_below", np.int16, 0),
        Column("demoted_day", np.int32, NEVER),
        Column("lost_worth", np.float32, 0.0, doc="the worth a demotion took away"),
        Column("ever_promoted", np.bool_, False),
        Column("pushed", np.bool_, False, doc="the requalification push is on for them"),
        Column("qual", np.float64, 0.0, doc="value in the current window"),
        Column("ring", np.float32, 0.0, rows=lambda cfg: cfg.window_months, when=lambda cfg: cfg.window == "rolling",
               doc="qualifying value by month of the rolling window"),
        Column("_money_worth", np.float64, np.nan, rows=lambda cfg: len(cfg.levels), when=_has_money,
               doc="each level's money benefits to the customer, from fixed traits (NaN: not yet known)"),
    )

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        th = [lv.threshold for lv in cfg.levels]
        if not th:  # e.g. a --set programme.tiers.FIELD=... on a scenario without tiers
            raise ScenarioError(file, f"{path}.levels", "no levels; allowed: a list of at least one level, the first "
                                                        "with threshold 0 (e.g. - {name: Bronze, threshold: 0})")
        if th[0] != 0:
            raise ScenarioError(file, f"{path}.levels[0].threshold",
                                f"got {th[0]:g}; allowed: 0 (the entry tier everyone starts in)")
        for i in range(1, len(th)):
            if th[i] <= th[i - 1]:
                raise ScenarioError(file, f"{path}.levels[{i}].threshold",
                                    f"got {th[i]:g}; allowed: greater than the tier below ({th[i - 1]:g})")
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
        self.dilution_factor = np.ones(self.n_levels)
        self._status_seek_mean = float(self.customers.status_seeking[: self.customers.n].mean() or 1.0)
        self._money = _has_money(cfg)
        months = model.n_months
        self.monthly = {f"tier_{x.name}": np.zeros(months) for x in lv}
        self.monthly.update(upgrades=np.zeros(months), downgrades=np.zeros(months))
        self._push_active = False  # calendar windows: the last push_days of the year
        self._started = False
        if cfg.count_history and cfg.qualify_on == "spend" and model.day == 0:
            self._count_history()

    def _count_history(self):
        """Seed the qualifying value with the spend of the months before launch that fall inside the window
        (the customers' trailing-year ring holds the eleven months before the launch month)."""
        c = self.customers
        n = c.n
        launch = self.calendar.month_of(0)
        start = self.calendar.date(0)
        # rolling: the window's months before the launch month (the launch month is the window's last);
        # calendar: the months of the launch year before launch
        months = self.config.window_months - 1 if self.config.window == "rolling" else start.month - 1
        for k in range(1, min(months, 11) + 1):
            spent = c.month_spend[(launch - k) % 12, :n]
            self.qual[:n] += spent
            if self.ring is not None:
                self.ring[(launch - k) % self.ring.shape[0], :n] += spent

    # ------------------------------------------------------------------ helpers used by other mechanics
    def earn_multiplier(self, idx):
        return self.multiplier[self.tier[idx]]

    def grants_free_delivery(self, idx):
        return self.free_delivery[self.tier[idx]] & self.enrolment.member[idx]

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

    # ------------------------------------------------------------------ what tiers are worth
    def worth(self, idx):
        """Perceived worth of every level to these customers: an array (customers x levels)."""
        c = self.customers
        out = np.zeros((idx.size, self.n_levels))
        if self._money:
            # each customer's the first time they are asked about (a pure function of fixed traits, so it is
            # the same whenever it is computed): a run asks about the members who move, not the whole base
            known = self._money_worth[:, idx].T  # customers x levels (a copy)
            todo = np.isnan(known[:, 0])
            if todo.any():
                known[todo] = self._money_worth_of(idx[todo])
                self._money_worth[:, idx[todo]] = known[todo].T
            out += known
        if self.status.any():
            s = c.status_seeking[idx].astype(np.float64) / self._status_seek_mean
            out += s[:, None] * (self.status * self.dilution_factor)[None, :] * self.b.status_worth
        return out

    def _money_worth_of(self, idx):
        """The levels' money benefits to these customers (discount, delivery, extra points), from fixed traits."""
        c = self.customers
        w = c.responsiveness[idx].astype(np.float64)
        basket = (c.spend_shape[idx] / c.spend_rate[idx]).astype(np.float64)
        fee = self.economics.delivery_fee
        out = w[:, None] * (self.discount[None, :] + self.free_delivery[None, :] * (fee / basket)[:, None])
        points = self.points
        if points is not None and (self.multiplier != 1.0).any():
            # the extra points a level earns, at the points' own (delayed) value
            at = np.stack([perceived(*points.reward_rate(idx, multiplier=np.full(idx.size, m)), w,
                                     self.delay_half_days) for m in self.multiplier], axis=1)
            out += at - at[:, :1]
        return out

    # ------------------------------------------------------------------ behaviour
    def _refresh(self, idx, stake=None):
        """Factors from the customers' tier, demotion and push; ``stake``: worth at stake for pushed
        customers (computed at month ends; None keeps last month's push)."""
        if idx.size == 0:
            return
        b = self.b
        h = self.value_half
        t = self.tier[idx].astype(np.int64)
        worth = self.worth(idx)
        f = response(worth[np.arange(idx.size), t], h)
        inten = 1.0 + b.status_intensity * f
        drop = np.maximum(1.0 - b.status_retention * f, 0.05)
        basket = 1.0 + b.status_basket * f
        demoted = self.demoted_day[idx] > self.model.day - b.demotion_memory_days
        if demoted.any():
            lost = response(self.lost_worth[idx].astype(np.float64), h)
            inten = np.where(demoted, inten * np.maximum(1.0 - b.loss_aversion * b.status_intensity * lost, 0.0), inten)
            drop = np.where(demoted, drop * (1.0 + b.loss_aversion * b.status_retention * lost), drop)
        if stake is None:
            stake = np.where(self.pushed[idx], self._stake_worth(idx, worth), 0.0)
        if b.requalify_push:
            inten *= 1.0 + b.requalify_push * response(stake, h)
        self.pushed[idx] = stake > 0
        member = self.enrolment.member[idx]
        if not member.all():
            inten, drop, basket = np.where(member, inten, 1.0), np.where(member, drop, 1.0), np.where(member, basket, 1.0)
        self.intensity[idx] = inten
        self.dropout[idx] = drop
        self.basket[idx] = basket
        self.changed(idx)

    def _stake_worth(self, idx, worth):
        """The worth at stake for a customer close to a threshold: keeping this tier, or reaching the next."""
        t = self.tier[idx].astype(np.int64)
        rows = np.arange(idx.size)
        keep = worth[rows, t] - worth[rows, np.maximum(t - 1, 0)]
        reach = worth[rows, np.minimum(t + 1, self.n_levels - 1)] - worth[rows, t]
        q = self.qual[idx]
        return np.where(q < self.thresholds[t], keep, reach).clip(0.0)

    def _close(self, idx, day, month_end=True):
        """Who the push acts on now: close to keeping their tier before their own next evaluation,
        or close to the next tier. Returns a bool array. Keeping a rolling-window tier is
        judged at month ends (after the window moves); mid-month only the next tier counts."""
        q = self.qual[idx]
        t = self.tier[idx].astype(np.int64)
        keep = self.thresholds[t]
        nxt = self.thresholds[np.minimum(t + 1, self.n_levels - 1)]
        gap = self.b.push_gap
        reach = (t < self.n_levels - 1) & (q < nxt) & (q >= nxt * (1 - gap))
        if self.config.window == "calendar":
            if not self._push_active:
                return np.zeros(idx.size, dtype=bool)
            at_risk = (t > 0) & (q < keep) & (q >= keep * (1 - gap))
            return at_risk | reach
        if not month_end:
            return reach
        return self._keep_at_risk_rolling(idx, t, q, keep, day) | reach

    def _keep_at_risk_rolling(self, idx, t, q, keep, day):
        """Rolling window, at a month end after the window moved: the customer's qualifying value,
        without new orders, at each of their next evaluations within push_days, as old months leave."""
        gap = self.b.push_gap
        month = self.calendar.month_of(day)
        width = self.ring.shape[0]
        at_risk = np.zeros(idx.size, dtype=bool)
        projected = q.copy()
        for j in range(1, width + 1):
            if self.calendar.days_until_month_end(day, j) > self.b.push_days:
                break
            if j >= 2:  # the oldest month still in the window leaves before the j-th evaluation
                projected = projected - self.ring[(month + j) % width, idx]
            at_risk |= (t > 0) & (projected < keep) & (projected >= keep * (1 - gap))
        return at_risk

    def _days_to_year_end(self, day):
        return self.calendar.days_until_year_end(day)

    # ------------------------------------------------------------------ hooks
    def on_joins(self, idx):
        if self.status[0] > 0 or self.discount[0] > 0 or self.free_delivery[0]:
            self._refresh(idx, stake=np.zeros(idx.size))

    def start_day(self, day):
        if self.config.window != "calendar":
            return
        push = self._days_to_year_end(day) < self.b.push_days
        if not self._started or push != self._push_active:
            # the push switches on or off for everyone close to a threshold
            self._started = True
            self._push_active = push
            c = self.customers
            rows = np.flatnonzero(c.present[: c.n] & self.enrolment.member[: c.n])
            worth = self.worth(rows)
            self._refresh(rows, stake=np.where(self._close(rows, day), self._stake_worth(rows, worth), 0.0))

    def price_orders(self, orders):
        member = self.enrolment.member[orders.idx]
        t = self.tier[orders.idx]
        disc = self.discount[t] * member
        if disc.any():
            off = (orders.gross - orders.discount) * disc
            orders.discount += off
            self.book("discounts", float(off.sum()))
        fee = self.economics.delivery_fee
        if fee and self.free_delivery.any():
            free = self.free_delivery[t] & member & ~orders.free_delivery
            if free.any():
                orders.free_delivery |= free
                self.book("free_delivery", fee * int(free.sum()))

    def after_orders(self, orders):
        idx = orders.idx
        member = self.enrolment.member[idx]
        if not member.any():
            return
        if not member.all():
            idx = idx[member]
        if self.config.qualify_on == "spend":
            self._add_qual(idx, orders.paid[member] if not member.all() else orders.paid)
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
            worth = self.worth(r)
            self._refresh(r, stake=np.where(self._close(r, orders.day, month_end=False), self._stake_worth(r, worth), 0.0))

    def end_month(self, month, day):
        c = self.customers
        n = c.n
        mo = max(month, 0)
        member = self.enrolment.member[:n]
        present = c.present[:n] & member
        tier_all = self.tier[:n]
        # members above the entry tier are few; every other member sits at level 0
        above = np.flatnonzero(tier_all > 0)
        counts = np.bincount(tier_all[above], minlength=self.n_levels)
        counts[0] = int(present.sum()) - above.size
        if self.perk_cost.any():
            self.book("perks", float(counts @ self.perk_cost))
        for i, lv in enumerate(self.config.levels):
            self.monthly[f"tier_{lv.name}"][mo] = int(counts[i])
        date = self.calendar.date(day)
        evaluate = self.config.window == "rolling" or (date.month == 12 and date.day == 31)
        demoted = np.empty(0, dtype=np.int64)
        if evaluate and self.config.downgrade != "none":
            members = above  # the entry tier cannot go lower
            tier = tier_all[members]
            qualified = self.qualified_level(members)
            below = qualified < tier
            self.months_below[members[below]] += 1
            self.months_below[members[~below]] = 0
            due = below & (self.months_below[members] > self.config.grace_months)
            if due.any():
                demoted = members[due]
                old = self.tier[demoted].astype(np.int64)
                new = old - 1 if self.config.downgrade == "one_step" else qualified[due].astype(np.int64)
                worth = self.worth(demoted)
                rows = np.arange(demoted.size)
                self.lost_worth[demoted] = (worth[rows, old] - worth[rows, new]).clip(0.0)
                self.tier[demoted] = new
                self.months_below[demoted] = 0
                self.demoted_day[demoted] = day
                self.monthly["downgrades"][mo] += demoted.size
        if self.config.window == "calendar" and evaluate:
            self.qual[:n] = 0.0
        if self.ring is not None:
            # the rolling window moves on: the month that leaves it for next month stops
            # counting (before the refresh, so the push sees next month's window)
            slot = (month + 1) % self.ring.shape[0]
            self.qual[:n] -= self.ring[slot, :n]
            np.maximum(self.qual[:n], 0.0, out=self.qual[:n])
            self.ring[slot, :n] = 0.0
        # status dilution: the share of active members at or above each tier
        recent = day - self.model.window
        active = member & (c.last_order_day[:n] > recent)
        n_active = int(active.sum())
        if n_active:
            above = np.flatnonzero(tier_all > 0)  # after this month's downgrades
            counts = np.bincount(tier_all[above][active[above]], minlength=self.n_levels)
            counts[0] = n_active - counts[1:].sum()
            share = counts[::-1].cumsum()[::-1] / n_active
            share[0] = 0.0
            self.dilution_factor = 1.0 - self.b.dilution * share
        # refresh whoever's factors can have changed: members above the entry tier (status,
        # dilution), customers pushed last month or close now, demotions within memory (and
        # their expiry); every member if the entry tier itself is worth something
        if self.status[0] > 0 or self.discount[0] > 0 or self.free_delivery[0]:
            rows = np.flatnonzero(present)
        else:
            cand = (tier_all > 0) | self.pushed[:n] | (self.demoted_day[:n] > day - self.b.demotion_memory_days - 32)
            if self.b.requalify_push:
                # only members with some qualifying value can be close to a threshold
                some = np.flatnonzero(present & (self.qual[:n] > 0))
                cand[some] |= self._close(some, day)
            rows = np.flatnonzero(present & cand)
        worth = self.worth(rows)
        close = self._close(rows, day) if self.b.requalify_push else np.zeros(rows.size, dtype=bool)
        self._refresh(rows, stake=np.where(close, self._stake_worth(rows, worth), 0.0))

    def series(self):
        return dict(self.monthly)

    def summary(self):
        return {"members_by_tier_end": {lv.name: float(self.monthly[f"tier_{lv.name}"][-1]) for lv in self.config.levels},
                "upgrades": float(self.monthly["upgrades"].sum()), "downgrades": float(self.monthly["downgrades"].sum())}
