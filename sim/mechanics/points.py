"""Points: earn on what customers pay, redeem for rewards, expire, and sit on the
balance sheet as a liability until then.

Behaviour (each effect scaled by the customer's responsiveness: price
sensitivity, damped for heavy buyers, mean 1 over the base):

* goal gradient: purchase intensity rises as the balance nears a reward,
  intensity x (1 + goal_gradient * responsiveness * progress^shape). Kivetz,
  Urminsky & Zheng (2006, JMR) found inter-purchase times about 20% shorter
  between the first and the last stamp of a coffee card. Because heavy buyers,
  who place most orders, respond less, the default 0.6 is the value at which the
  order-weighted interval in scenarios/coffee_stamp_card.yaml shortens by about
  20% from the first to the last stamp (tests/test_goal_gradient.py holds it).
* head start: welcome points on joining (Nunes & Dreze 2006: endowed progress
  raised completion from 19% to 34%); it works through the goal gradient.
* post-reward reset: right after a reward, purchasing dips and defection risk
  peaks (Kivetz et al. 2006); sizes are seed assumptions, overridable.
* rewarded behaviour: after a first reward the customer buys a little more for
  good (Taylor & Neslin 2005; Dorotic et al. 2014); size a seed assumption.
* basket: members buy a little more per order to earn faster (Taylor & Neslin
  2005 found points pressure in spending); size a seed assumption.
* switching cost: an unspent balance is something to lose, so dropout hazard
  falls with it, x 1 / (1 + switching_cost * balance / threshold), the balance
  counted up to two rewards. Direction from Bolton, Kannan & Bramlett (2000,
  JAMS); size a seed assumption to calibrate against a pilot.

Economics: a reward costs its face value when it is money off an order, or
face x (1 - gross margin) when it is goods; the outstanding points are a
liability valued at value x cost ratio x (1 - expected breakage) (IFRS 15
B39-B43), expected breakage a third of points (Colloquy 2011). The change in
that liability is booked monthly, so profit is on an accrual basis.
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.base import Mechanic
from sim.schema import Bool, Choice, Int, Num, NonNeg, Pos, Prob, Section


class Points(Mechanic):
    name = "points"
    SCHEMA = Section(optional=True, doc="points: earn, redeem, expire", fields={
        "enabled": Bool(True),
        "enrolment": Prob(1.0, "share of customers who join (1: every identified customer earns)"),
        "earn_per_currency": NonNeg(1.0, "points per currency unit paid"),
        "earn_per_order": NonNeg(0.0, "points per order (a stamp card: 1)"),
        "welcome_points": NonNeg(0.0, "points granted on joining: a head start (Nunes & Dreze 2006)"),
        "point_value": Pos(1.0, "face value of one point in currency when redeemed"),
        "reward_type": Choice(("discount", "product"), "discount",
                              "discount: money off an order (costs its face value); product: goods (cost x (1 - margin))"),
        "reward_cost_ratio": Num(None, lo=0.0, hi=1.0, nullable=True, doc="override: cost to the business per unit of face value"),
        "redemption": Section(fields={
            "mode": Choice(("threshold", "choice"), "threshold",
                           "threshold: a reward is redeemed at the next order once the balance reaches it; choice: customers decide"),
            "threshold": Pos(500.0, "points per reward (500 points = 500 off, as many shops run it)"),
            "max_rewards_per_order": Int(1, lo=1, hi=1000, doc="rewards one order can take"),
            "choice_probability": Prob(0.6, "choice mode: chance a customer with enough points redeems at an order (assumption)"),
        }),
        "expiry": Section(fields={
            "months_after_earning": Int(None, lo=1, hi=120, nullable=True, doc="points expire this many months after the month earned (FIFO)"),
            "inactivity_days": Int(None, lo=1, hi=3650, nullable=True, doc="the whole balance expires after this many days without an order"),
        }),
        "pending_days": Int(0, lo=0, hi=365, doc="points become usable this many days after earning (returns window)"),
        "caps": Section(fields={
            "per_order": Num(None, lo=0.0, nullable=True, doc="most points one order earns"),
            "per_month": Num(None, lo=0.0, nullable=True, doc="most points a customer earns in a month"),
        }),
        "expected_breakage": Prob(1 / 3, "share of points never redeemed, for valuing the liability (Colloquy 2011)"),
        "behaviour": Section(fields={
            "goal_gradient": NonNeg(0.6, "intensity gain at a full card for an average-responsive customer; gives ~20% shorter "
                                          "order-weighted intervals first-to-last stamp (Kivetz, Urminsky & Zheng 2006), see module doc"),
            "goal_gradient_shape": Pos(1.0, "curvature of the gradient in progress (1: linear)"),
            "post_reward_dip": Prob(0.10, "intensity dip right after a reward (Kivetz et al. 2006 post-reward reset; size assumed)"),
            "post_reward_dropout": NonNeg(0.25, "extra dropout hazard right after a reward (Kivetz et al. 2006; size assumed)"),
            "post_reward_days": Int(21, lo=0, hi=365, doc="how long the post-reward reset lasts (assumption)"),
            "rewarded_behaviour": NonNeg(0.03, "lasting intensity gain after a first reward (Taylor & Neslin 2005; size assumed)"),
            "basket_gain": NonNeg(0.03, "members' baskets grow to earn faster (Taylor & Neslin 2005 points pressure; size a seed assumption)"),
            "switching_cost": NonNeg(0.20, "dropout falls by 1/(1+k) per reward's worth of balance (Bolton et al. 2000 direction; size assumed)"),
        }),
    })

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        if cfg.earn_per_currency == 0 and cfg.earn_per_order == 0 and cfg.welcome_points == 0:
            raise ScenarioError(file, f"{path}.earn_per_currency", "nothing earns points: set earn_per_currency or earn_per_order > 0")

    def __init__(self, config, model):
        super().__init__(config, model)
        cfg = config
        self.threshold = cfg.redemption.threshold
        self.value = cfg.point_value
        if cfg.reward_cost_ratio is not None:
            self.cost_ratio = cfg.reward_cost_ratio
        else:
            self.cost_ratio = 1.0 if cfg.reward_type == "discount" else 1.0 - self.economics.gross_margin
        self.behave = cfg.behaviour
        self.expire_months = cfg.expiry.months_after_earning
        n_lots = (self.expire_months + 1) if self.expire_months else 1
        self.n_lots = n_lots
        self.member = self.column("member", np.bool_, False)
        self.balance = self.column("balance", np.float64, 0.0)     # usable points
        self.pending = self.column("pending", np.float64, 0.0)     # earned, not yet usable
        self.month_earned = self.column("month_earned", np.float32, 0.0)
        self.rewards = self.column("rewards", np.int32, 0)         # rewards redeemed by the customer
        self.reset_until = self.column("reset_until", np.int32, -(2**30))
        self.intensity = self.factor("intensity")
        self.dropout = self.factor("dropout")
        self.basket = self.factor("basket")
        # points per customer per month earned (whole points: float32 is exact to 16.7 million)
        self.lots = np.zeros((n_lots, self.customers.capacity), dtype=np.float32) if self.expire_months else None
        self._launch_month = self.calendar.month_of(max(model.day, 0))
        self._releases: dict[int, list] = {}     # day -> [(idx, points)] pending points becoming usable
        self._reset_ends: dict[int, list] = {}   # day -> [idx] whose post-reward reset ends
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "points_issued", "points_redeemed", "points_expired", "points_outstanding", "rewards_redeemed",
            "liability", "members")}
        self._opening_liability = 0.0
        self._gg_sum = np.zeros(11)
        self._gg_n = np.zeros(11)
        self._launched = False

    def grow(self, capacity):
        super().grow(capacity)
        if self.lots is not None:
            new = np.zeros((self.n_lots, capacity), dtype=np.float32)
            new[:, : self.lots.shape[1]] = self.lots
            self.lots = new

    # ------------------------------------------------------------------ helpers
    def _enrol(self, idx):
        if self.config.enrolment >= 1.0:
            joined = idx  # everyone joins: no draw needed (u < 1 always)
        else:
            u = self.model.streams["points.enrolment"].uniform(self.customers.uid[idx], 0)
            joined = idx[u < self.config.enrolment]
        self.member[joined] = True
        if self.config.welcome_points and joined.size:
            self._issue(joined, np.full(joined.size, self.config.welcome_points), self.model.day)
        self._refresh(joined)

    def _lot_slot(self, day):
        return self.calendar.month_of(day) % self.n_lots

    def _issue(self, idx, pts, day):
        """Credit earned points: usable now, or after the pending period."""
        total = float(pts.sum())
        self.monthly["points_issued"][max(self.ledger.month, 0)] += total
        if self.config.pending_days:
            self.pending[idx] += pts
            self._releases.setdefault(day + self.config.pending_days, []).append((idx, pts))
        else:
            self._credit(idx, pts, day)

    def _credit(self, idx, pts, day):
        """Make points usable. ``idx`` holds distinct customers (one order batch, one release)."""
        self.balance[idx] += pts
        if self.lots is not None:
            self.lots[self._lot_slot(day), idx] += pts.astype(np.float32)

    def grant(self, idx, pts):
        """Bonus points from another mechanic (campaigns, anniversaries); repeated customers allowed."""
        idx = np.asarray(idx)
        pts = np.broadcast_to(np.asarray(pts, dtype=np.float64), idx.shape)
        if idx.size == 0:
            return
        uniq, inv = np.unique(idx, return_inverse=True)
        total = np.bincount(inv, weights=pts, minlength=uniq.size)
        member = self.member[uniq]
        uniq, total = uniq[member], total[member]
        if uniq.size:
            self._issue(uniq, total, self.model.day)
            self._refresh(uniq)

    def _debit_fifo(self, idx, pts):
        """Take redeemed points from the oldest lots first (they expire first)."""
        if self.lots is None:
            return
        left = pts.astype(np.float64).copy()
        m = self.calendar.month_of(self.model.day)
        oldest = min(self.n_lots - 1, m - self._launch_month)  # no lots before the launch month
        for age in range(oldest, -1, -1):  # oldest lot first
            slot = (m - age) % self.n_lots
            take = np.minimum(self.lots[slot, idx], left)
            self.lots[slot, idx] -= take
            left -= take

    def _live_lots(self, month):
        """Lot slots that can hold points: months since launch, at most all of them."""
        ages = min(self.n_lots - 1, month - self._launch_month)
        return [(month - a) % self.n_lots for a in range(ages + 1)]

    def progress(self, idx):
        return np.minimum((self.balance[idx] + self.pending[idx]) / self.threshold, 1.0)

    def _refresh(self, idx):
        """Recompute this mechanic's behaviour factors from the customers' points state."""
        if idx.size == 0:
            return
        b = self.behave
        resp = self.customers.responsiveness[idx]
        held = (self.balance[idx] + self.pending[idx]) / self.threshold  # rewards' worth held
        prog = np.minimum(held, 1.0)
        inten = 1.0 + b.goal_gradient * resp * (prog if b.goal_gradient_shape == 1.0 else prog ** b.goal_gradient_shape)
        if b.rewarded_behaviour:
            inten *= 1.0 + b.rewarded_behaviour * resp * (self.rewards[idx] > 0)
        drop = 1.0 / (1.0 + b.switching_cost * resp * np.minimum(held, 2.0))
        in_reset = self.reset_until[idx] > self.model.day
        if in_reset.any():
            inten *= np.where(in_reset, 1.0 - b.post_reward_dip * np.minimum(resp, 1.0 / max(b.post_reward_dip, 1e-9)), 1.0)
            drop *= np.where(in_reset, 1.0 + b.post_reward_dropout, 1.0)
        basket = 1.0 + b.basket_gain * resp
        if self.config.enrolment < 1.0:  # non-members are untouched
            member = self.member[idx]
            inten, drop, basket = np.where(member, inten, 1.0), np.where(member, drop, 1.0), np.where(member, basket, 1.0)
        self.intensity[idx] = np.maximum(inten, 0.0)
        self.dropout[idx] = drop
        self.basket[idx] = basket
        self.changed(idx)

    # ------------------------------------------------------------------ hooks
    def on_arrivals(self, idx):
        self._enrol(idx)

    def start_day(self, day):
        if not self._launched:
            self._launched = True
            c = self.customers
            # customers who arrived today were enrolled in on_arrivals already (welcome points once)
            base = np.flatnonzero(c.present[: c.n] & ~self.member[: c.n])
            self._enrol(base)
        rel = self._releases.pop(day, None)
        if rel:
            for idx, pts in rel:
                self.pending[idx] -= pts
                self._credit(idx, pts, day)
        ends = self._reset_ends.pop(day, None)
        if ends:
            self._refresh(np.unique(np.concatenate(ends)))

    def price_orders(self, orders):
        idx = orders.idx
        mem = self.member[idx]
        if not mem.any():
            return
        # goal-gradient diagnostics: the wait for this order by progress before it
        rep = mem & ~orders.first
        if rep.any() and orders.day >= 0:
            r = idx[rep]
            last = self.customers.last_order_day[r]
            ok = last >= 0
            gap = (orders.day - last[ok]).astype(np.float64)
            # stamps-style position: 0..9 tenths of the way to a reward, 10 = a reward is due
            bucket = np.minimum((self.progress(r[ok]) * 10 + 1e-9).astype(int), 10)
            self._gg_sum += np.bincount(bucket, weights=gap, minlength=11)
            self._gg_n += np.bincount(bucket, minlength=11)
        cfg = self.config.redemption
        eligible = mem & (self.balance[idx] >= self.threshold)
        if not eligible.any():
            return
        pos = np.flatnonzero(eligible)
        if cfg.mode == "choice":
            u = self.model.streams["points.redeem"].uniform(orders.uid[pos], self.customers.orders[idx[pos]])
            pos = pos[u < cfg.choice_probability]
        if pos.size == 0:
            return
        r = idx[pos]
        blocks = np.minimum(np.floor(self.balance[r] / self.threshold), cfg.max_rewards_per_order)
        face_per_block = self.threshold * self.value
        if self.config.reward_type == "discount":
            # money off cannot exceed what is left to pay
            payable = orders.gross[pos] - orders.discount[pos]
            blocks = np.minimum(blocks, np.floor(payable / face_per_block))
        keep = blocks > 0
        pos, r, blocks = pos[keep], r[keep], blocks[keep]
        if r.size == 0:
            return
        face = blocks * face_per_block
        pts = blocks * self.threshold
        if self.config.reward_type == "discount":
            orders.reward[pos] += face
        self.balance[r] -= pts
        self._debit_fifo(r, pts)
        self.rewards[r] += blocks.astype(np.int32)
        self.book("rewards", float(face.sum()) * self.cost_ratio)
        mo = max(self.ledger.month, 0)
        self.monthly["points_redeemed"][mo] += float(pts.sum())
        self.monthly["rewards_redeemed"][mo] += float(blocks.sum())
        days = self.behave.post_reward_days
        if days:
            self.reset_until[r] = orders.day + days
            self._reset_ends.setdefault(orders.day + days, []).append(r)

    def after_orders(self, orders):
        idx = orders.idx
        mem = self.member[idx]
        if not mem.any():
            return
        pos = np.flatnonzero(mem)
        r = idx[pos]
        pts = orders.paid[pos] * self.config.earn_per_currency
        tiers = self.model.mechanic("tiers")
        if tiers is not None:
            pts = pts * tiers.earn_multiplier(r)
        subscription = self.model.mechanic("subscription")
        if subscription is not None:  # a paid membership's points multiplier stacks on the tier's
            pts = pts * subscription.earn_multiplier(r)
        pts = pts + self.config.earn_per_order
        caps = self.config.caps
        if caps.per_order is not None:
            pts = np.minimum(pts, caps.per_order)
        if caps.per_month is not None:
            pts = np.clip(caps.per_month - self.month_earned[r], 0.0, pts)
        pts = np.floor(pts + 1e-9)  # whole points
        self.month_earned[r] += pts.astype(np.float32)
        self._issue(r, pts, orders.day)
        if tiers is not None:
            tiers.points_earned(r, pts)
        self._refresh(r)

    def end_month(self, month, day):
        c = self.customers
        n = c.n
        mo = max(month, 0)
        expired = 0.0
        inact = self.config.expiry.inactivity_days
        if inact:
            idle = np.flatnonzero((self.balance[:n] > 0) & (c.last_order_day[:n] <= day - inact))
            if idle.size:
                expired += float(self.balance[idle].sum())
                self.balance[idle] = 0.0
                if self.lots is not None:
                    for slot in self._live_lots(month):
                        self.lots[slot, idle] = 0.0
                self._refresh(idle)
        if self.lots is not None:
            # points earned E months ago expire now; their slot is next month's lot
            slot = (month + 1) % self.n_lots
            lot = self.lots[slot, :n]
            hit = np.flatnonzero(lot > 0)
            if hit.size:
                amount = lot[hit]
                expired += float(amount.sum())
                self.balance[hit] -= amount
                lot[hit] = 0.0
                self._refresh(hit)
        self.monthly["points_expired"][mo] += expired
        self.month_earned[:n] = 0.0
        outstanding = float(self.balance[:n].sum() + self.pending[:n].sum())
        liability = outstanding * self.value * self.cost_ratio * (1.0 - self.config.expected_breakage)
        self.monthly["points_outstanding"][mo] = outstanding
        self.monthly["liability"][mo] = liability
        self.monthly["members"][mo] = int(self.member[:n].sum())
        self.book("points_liability_change", liability - self._opening_liability)
        self._opening_liability = liability

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def summary(self):
        m = self.monthly
        issued = float(m["points_issued"].sum())
        expired = float(m["points_expired"].sum())
        redeemed = float(m["points_redeemed"].sum())
        gg = np.where(self._gg_n > 0, self._gg_sum / np.maximum(self._gg_n, 1), np.nan)
        return {
            "points_issued": issued,
            "points_redeemed": redeemed,
            "points_expired": expired,
            "points_outstanding_end": float(m["points_outstanding"][-1]),
            "liability_end": float(m["liability"][-1]),
            "breakage_realised": expired / issued if issued else 0.0,
            "redemption_rate": redeemed / issued if issued else 0.0,
            "goal_gradient_interval_by_progress": gg.tolist(),
            "goal_gradient_orders_by_progress": self._gg_n.tolist(),
        }
