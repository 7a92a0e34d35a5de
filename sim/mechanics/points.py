"""Points: earn on what customers pay, redeem for rewards, expire; in the accounts, a
separate performance obligation (IFRS 15).

Who: members only (``sim.mechanics.enrolment`` decides who joins and when).

Behaviour. Every effect is sized by what the points are worth to the customer
(``sim.mechanics.value``): the face value they get back per unit of their own
spend (point value x points per currency, tier and subscription multipliers
included, plus points per order over their usual basket), counting only what
an order can redeem (at most max_rewards_per_order rewards an order, within the
earn caps: points an order earns beyond that pile up and give nothing back),
discounted for the time their own buying takes to reach a reward (one order at
the soonest), weighted by their price sensitivity (damped for heavy buyers). Each default size is the effect at the
reference value (a 10% reward received at once) and shrinks with the value:

* goal gradient: purchase intensity x (1 + g progress^shape) / (1 + g / (shape + 1)),
  g = goal_gradient x f(v), progress = balance / reward threshold: faster near a
  reward and slower just after one, averaging 1 over a card (so it moves when
  customers buy, and adds no lift by itself). Kivetz, Urminsky & Zheng (2006, JMR)
  found inter-purchase times about 20% shorter from the first to the last stamp
  of a ten-stamp coffee card (a free coffee, worth about 0.04 on this scale);
  the default size reproduces that on scenarios/coffee_stamp_card.yaml
  (tests/test_goal_gradient.py). That is acceleration within a card among
  members, a mechanism, not a lift over no programme: at a "1%" retailer's
  value the same form gives a small fraction of it.
* head start and endowed progress: welcome points on joining put customers further
  along their first card (the goal gradient), and a card begun with given points is
  a task already under way: until its first reward, intensity x (1 + endowed_progress
  x f(v) x min(1, purchases' worth given / 2) x min(1, 12 / purchases the card needs)).
  Kivetz, Urminsky & Zheng (2006) found a
  12-stamp coffee card with 2 stamps given completed in about two thirds of the time
  of a 10-stamp card (the same ten purchases); the default reproduces that on the
  coffee card (tests/test_goal_gradient.py). Nunes & Dreze's (2006) car wash (19% vs
  34% of cards completed) is held out to test it (``loyalsim evidence``). Both gave
  two purchases' worth on a card of ten or twelve; a smaller head start (welcome points
  worth a fraction of one order's points) carries less of the effect, and on a longer
  card the same pull, some three purchases, is shared over its length.
* post-reward reset: right after a reward, intensity x (1 - post_reward_dip x f(v))
  and dropout x (1 + post_reward_dropout x f(v)) for post_reward_days (Kivetz
  et al. 2006: activity drops and defection risk peaks after a reward).
* rewarded behaviour: after a first reward, intensity x (1 + rewarded_behaviour x f(v))
  for good (Taylor & Neslin 2005; Dorotic et al. 2014).
* basket: members' baskets x (1 + basket_gain x f(v)) (Taylor & Neslin 2005, points
  pressure on spending).
* switching cost: an unspent balance is something to lose, so the dropout hazard
  x 1 / (1 + switching_cost x f(v) x held), held = balance in rewards' worth, up
  to two (Bolton, Kannan & Bramlett 2000, direction; Gopalakrishnan et al. 2021:
  most of a programme's value comes from lower attrition).

The sizes are set so that the flagship "1%" programme with tiers lifts members'
sales by a few percent (Leenheer et al. 2007; Zhang & Breugelmans 2012: ~4%;
Nastasoiu et al. 2021: 1.7% of sales incentive-driven; about half of grocery
programmes show no effect at all, Bombaij & Dekimpe 2020): each default and its
range is in the schema below and in ``loyalsim validate --explain``.

Economics (IFRS 15, B39-B43). A sale that earns points is two promises: the
goods, and the points. The price paid is allocated between them by relative
stand-alone selling price: the points' is their face value x (1 - expected
breakage) (Colloquy 2011: about a third of points are never redeemed), so
revenue paid x SSP / (paid + SSP) is deferred as a contract liability
(``points.revenue_deferred``, negative revenue). When points are redeemed or
expire, their share of the liability is recognised as revenue
(``points.revenue_released``; weighted average over all points outstanding;
points granted without a sale, such as welcome points, carry none). A reward
itself costs its face value when it is money off an order, or face x (1 - gross
margin) when it is goods (``points.rewards``). The cash view (profit without
the two deferral lines) is reported beside it.
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.time_units import TIME_UNITS
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import perceived, response
from sim.schema import Bool, Choice, Effect, Int, Num, NonNeg, Pos, Section

# The head-start studies gave two purchases' worth of progress on cards of 10 and 12 purchases
# (Nunes & Dreze's car wash: 2 of 10 stamps given; Kivetz et al.'s coffee card: 2 of 12). Their effect,
# a first card finished in about two thirds of the time, is taken at its measured size for a head start
# like theirs and not let grow outside it: it shrinks in proportion to a smaller head start (in the
# purchases the customer's own buying takes to earn it: 50 welcome points where an order earns 150 are a
# third of one) and to a longer card (its pull of some three purchases shared over all the card needs).
MEASURED_HEAD_START = 2.0        # purchases' worth given
MEASURED_CARD_PURCHASES = 12.0   # purchases the card needs


def head_start_share(given_points, points_per_order, threshold):
    """The share of the measured head-start effect a first card carries."""
    per_order = np.maximum(points_per_order, 1e-12)
    return (np.minimum(1.0, given_points / per_order / MEASURED_HEAD_START)
            * np.minimum(1.0, MEASURED_CARD_PURCHASES * per_order / threshold))


class Points(Mechanic):
    name = "points"
    LABEL = "Points"
    INTENSIVE = frozenset({"breakage_realised", "redemption_rate", "goal_gradient_interval_by_progress"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "rewards": "Points rewards redeemed",
        "revenue_deferred": "Sales revenue deferred for points earned (IFRS 15)",
        "revenue_released": "Deferred revenue recognised as points are redeemed or expire",
    }
    SCHEMA = Section(optional=True, doc="points: earn, redeem, expire", fields={
        "enabled": Bool(True),
        "earn_per_currency": NonNeg(1.0, "points per currency unit paid"),
        "earn_per_order": NonNeg(0.0, "points per order (a stamp card: 1)"),
        "welcome_points": NonNeg(0.0, "points granted on joining: a head start (Nunes & Dreze 2006)"),
        "point_value": Pos(1.0, "face value of one point in currency when redeemed"),
        "reward_type": Choice(("discount", "product"), "discount",
                              "discount: money off an order (costs its face value); product: goods (cost x (1 - margin))"),
        "reward_cost_ratio": Num(None, lo=0.0, hi=1.0, nullable=True,
                                 doc="override: cost to the business per unit of face value"),
        "redemption": Section(fields={
            "mode": Choice(("threshold", "choice"), "threshold",
                           "threshold: a reward is redeemed at the next order once the balance reaches it; "
                           "choice: customers decide"),
            "threshold": Pos(500.0, "points per reward (500 points = 500 off, as many shops run it)"),
            "max_rewards_per_order": Int(1, lo=1, hi=1000, doc="rewards one order can take"),
            "choice_probability": Effect(0.6, 0.3, 0.9, hi=1.0, grade="assumption",
                                         source="seed assumption (Stourm, Bradlow & Fader 2015: "
                                         "customers stockpile points for psychological reasons)",
                                         doc="choice mode: chance a customer with enough points redeems at an order"),
        }),
        "expiry": Section(fields={
            "months_after_earning": Int(None, lo=1, hi=120, nullable=True,
                                        doc="points expire this many months after the month earned (FIFO)"),
            "inactivity_days": Int(None, lo=1, hi=3650, nullable=True,
                                   doc="the whole balance expires after this many days without an order"),
        }),
        "pending_days": Int(0, lo=0, hi=365, doc="points become usable this many days after earning (returns window)"),
        "caps": Section(fields={
            "per_order": Num(None, lo=0.0, nullable=True, doc="most points one order earns"),
            "per_month": Num(None, lo=0.0, nullable=True, doc="most points a customer earns in a month"),
        }),
        "expected_breakage": Effect(1 / 3, 0.2, 0.45, hi=1.0, grade="measured",
                                    source="Colloquy 2011: at least a third of the value of points issued ($16bn of $48bn "
                                    "a year) is never redeemed; range: programme designs vary",
                                    doc="share of points never redeemed, for the points' stand-alone selling price "
                                        "under IFRS 15"),
        "behaviour": Section(doc="sizes at the reference value (a 10% reward received at once); each scales with f(v)", fields={
            "goal_gradient": Effect(0.8, 0.5, 1.2, grade="measured",
                                    source="Kivetz, Urminsky & Zheng 2006: ~20% shorter intervals from the "
                                    "first to the last stamp of a coffee card; this size reproduces it on "
                                    "scenarios/coffee_stamp_card.yaml; range: their estimate's uncertainty and card designs",
                                    doc="intensity gain at a full card, x f(v)"),
            "goal_gradient_shape": Effect(1.0, 0.7, 1.5, lo=0.05, hi=10.0, grade="direction",
                                          source="Kivetz, Urminsky & Zheng 2006 fit purchase speed as a steady (about "
                                          "linear) rise with progress; the curvature and its range a seed assumption",
                                          doc="curvature of the gradient in progress (1: linear)"),
            "endowed_progress": Effect(0.94, 0.4, 1.5, grade="measured",
                                       source="Kivetz, Urminsky & Zheng 2006, illusionary goal progress: a 12-stamp "
                                       "coffee card with 2 stamps given was completed in about two thirds of the "
                                       "time of a 10-stamp card (the same 10 purchases; median about 10 vs 15 days); "
                                       "this size gives x1.5 at the coffee card's value (f about 0.53); range: "
                                       "x1.2 to x1.8. Nunes & Drèze 2006 (car wash) is held out to test it",
                                       doc="first card's intensity x (1 + size x f(v) x min(1, purchases' worth given / 2) "
                                           "x min(1, 12 / purchases the card needs)) when the card starts with "
                                           "given points: a task already begun"),
            "post_reward_dip": Effect(0.15, 0.0, 0.3, hi=1.0, grade="direction",
                                      source="Kivetz et al. 2006: post-reward resetting (size a seed "
                                      "assumption)", doc="intensity dip right after a reward, x f(v)"),
            "post_reward_dropout": Effect(0.25, 0.0, 0.5, grade="direction",
                                          source="Kivetz et al. 2006: defection risk peaks after a reward "
                                          "(size a seed assumption)", doc="extra dropout hazard right after a reward, x f(v)"),
            "post_reward_days": Int(21, lo=0, hi=365, grade="assumption",
                                    doc="how long the post-reward reset lasts (seed assumption)"),
            "rewarded_behaviour": Effect(0.06, 0.0, 0.12, grade="direction",
                                         source="Taylor & Neslin 2005: sales stay higher after the reward; Dorotic et al. "
                                         "2014 (size a seed assumption)",
                                         doc="lasting intensity gain after a first reward, x f(v)"),
            "basket_gain": Effect(0.04, 0.0, 0.08, grade="direction",
                                  source="Taylor & Neslin 2005: points pressure raises spending; Zhang & Breugelmans 2012: "
                                  "~4% higher revenue (orders and baskets together: the basket's own size a seed "
                                  "assumption)", doc="members' basket growth, x f(v)"),
            "switching_cost": Effect(0.6, 0.0, 1.2, grade="direction",
                                     source="Bolton, Kannan & Bramlett 2000 (direction); Gopalakrishnan et al. 2021: most of "
                                     "a programme's value is lower attrition (size a seed assumption, set for a few "
                                     "percent lift at a 1% programme)",
                                     doc="dropout x 1/(1 + k f(v) held), held = balance in rewards' worth (up to 2)"),
        }),
    })

    requires = ("enrolment",)          # points are for members
    uses = ("tiers", "subscription")   # their earn multipliers stack on the points'
    # members who join at an order earn on it; rewards are redeemed on what is left to pay after
    # every price reduction; an order earns at the tier it qualified for
    after = ("enrolment", "discounts", "subscription", "tiers")
    FACTORS = ("intensity", "dropout", "basket")
    COLUMNS = (
        Column("balance", np.float64, 0.0, doc="usable points"),
        Column("pending", np.float64, 0.0, doc="earned, not yet usable"),
        Column("month_earned", np.float32, 0.0),
        Column("rewards", np.int32, 0, doc="rewards redeemed by the customer"),
        Column("reset_until", np.int32, -(2**30)),
        # points per customer per month earned (whole points: float32 is exact to 16.7 million)
        Column("lots", np.float32, 0.0, rows=lambda cfg: cfg.expiry.months_after_earning + 1,
               when=lambda cfg: bool(cfg.expiry.months_after_earning), doc="points by the month they were earned"),
        # f(v) depends on fixed traits and the earn multiplier: kept per customer, recomputed when
        # the multiplier moves (a tier or a paid membership changes it)
        Column("_f", np.float64, 0.0),
        Column("_f_mult", np.float64, np.nan),
        # the share of the measured head-start effect a customer's first card carries (head_start_share),
        # on the same traits and multiplier as f
        Column("_head_start", np.float64, 0.0),
    )

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        if cfg.earn_per_currency == 0 and cfg.earn_per_order == 0 and cfg.welcome_points == 0:
            raise ScenarioError(file, f"{path}.earn_per_currency",
                                "nothing earns points: set earn_per_currency or earn_per_order > 0")

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
        # endowed progress: a first card begun with given points (its share per customer: head_start_share)
        self._endowed = cfg.behaviour.endowed_progress if cfg.welcome_points > 0 and self.threshold > 0 else 0.0
        self.expire_months = cfg.expiry.months_after_earning
        n_lots = (self.expire_months + 1) if self.expire_months else 1
        self.n_lots = n_lots
        self._launch_month = self.calendar.month_of(max(model.day, 0))
        self._releases: dict[int, list] = {}     # day -> [(idx, points)] pending points becoming usable
        self._reset_ends: dict[int, list] = {}   # day -> [idx] whose post-reward reset ends
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "points_issued", "points_redeemed", "points_expired", "points_outstanding", "rewards_redeemed",
            "liability", "revenue_deferred", "revenue_released_redeemed", "revenue_released_expired", "members")}
        # IFRS 15 contract liability: revenue deferred on points outstanding (a weighted-average pool)
        self._liability = 0.0
        self._outstanding = 0.0
        self._ssp_per_point = self.value * (1.0 - cfg.expected_breakage)
        self._gg_sum = np.zeros(11)
        self._gg_n = np.zeros(11)

    # ------------------------------------------------------------------ helpers
    @property
    def member(self):
        return self.enrolment.member

    def _lot_slot(self, day):
        return self.calendar.month_of(day) % self.n_lots

    def _issue(self, idx, pts, day, paid=None):
        """Credit points: usable now, or after the pending period. ``paid``: the sale that earned
        them, whose price is partly deferred as a contract liability (IFRS 15)."""
        total = float(pts.sum())
        mo = max(self.ledger.month, 0)
        self.monthly["points_issued"][mo] += total
        if paid is not None and total:
            ssp = pts * self._ssp_per_point
            with np.errstate(invalid="ignore", divide="ignore"):
                alloc = np.where(paid + ssp > 0, paid * ssp / (paid + ssp), 0.0)
            deferred = float(alloc.sum())
            self._liability += deferred
            self.book("revenue_deferred", -deferred, "revenue")
            self.monthly["revenue_deferred"][mo] += deferred
        self._outstanding += total
        if self.config.pending_days:
            self.pending[idx] += pts
            self._releases.setdefault(day + self.config.pending_days, []).append((idx, pts))
        else:
            self._credit(idx, pts, day)

    def _release(self, points, why):
        """Points leave (redeemed or expired): their share of the contract liability becomes revenue."""
        if points <= 0:
            return
        share = min(points / self._outstanding, 1.0) if self._outstanding > 0 else 1.0
        amount = self._liability * share
        self._liability -= amount
        self._outstanding = max(self._outstanding - points, 0.0)
        self.book("revenue_released", amount, "revenue")
        self.monthly[f"revenue_released_{why}"][max(self.ledger.month, 0)] += amount

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

    def multiplier(self, idx):
        """Points per currency multiplier: the tier's and a paid membership's, stacked."""
        if self.tiers is None and self.subscription is None:
            return np.ones(len(idx))
        mult = self.tiers.earn_multiplier(idx) if self.tiers is not None else np.ones(len(idx))
        if self.subscription is not None:
            mult = mult * self.subscription.earn_multiplier(idx)
        return mult

    def points_per_order(self, idx, multiplier=None):
        """(points a customer's usual order earns, within the caps; that order's basket)."""
        c = self.customers
        cfg = self.config
        basket = (c.spend_shape[idx] / c.spend_rate[idx]).astype(np.float64)
        mult = self.multiplier(idx) if multiplier is None else multiplier
        per_order = cfg.earn_per_currency * mult * basket + cfg.earn_per_order
        if cfg.caps.per_order is not None:
            per_order = np.minimum(per_order, cfg.caps.per_order)
        if cfg.caps.per_month is not None:   # a month's cap shared by the month's orders (one at least)
            per_order = np.minimum(per_order, cfg.caps.per_month / np.maximum(c.lam[idx] * TIME_UNITS["month"], 1.0))
        return per_order, basket

    def reward_rate(self, idx, multiplier=None):
        """(face value back per currency spent, days a customer's own buying takes to reach a reward).

        What comes back is what can be redeemed: an order takes at most max_rewards_per_order rewards,
        so points an order earns beyond that pile up unspent and are worth nothing to the customer's
        rate (a design earning 2,700 points an order against one 500-point reward an order gives back
        a fifth of what its earn rate says), and a reward is at least one order away."""
        per_order, basket = self.points_per_order(idx, multiplier)
        usable = np.minimum(per_order, self.config.redemption.max_rewards_per_order * self.threshold)
        rate = usable * self.value / basket
        # a reward is taken at an order: the next one at the soonest, however fast the points come
        orders = np.maximum(self.threshold / np.maximum(per_order, 1e-12), 1.0)
        days = orders / np.maximum(self.customers.lam[idx], 1e-12)
        return rate, days

    def value_of(self, idx):
        """f(v): the response the points' perceived value moves (sim.mechanics.value)."""
        mult = self.multiplier(idx)
        stale = mult != self._f_mult[idx]
        if stale.any():
            s = idx[stale]
            rate, days = self.reward_rate(s, multiplier=mult[stale])
            v = perceived(rate, days, self.customers.responsiveness[s], self.delay_half_days)
            self._f[s] = response(v, self.value_half)
            if self._endowed:
                per_order, _ = self.points_per_order(s, multiplier=mult[stale])
                self._head_start[s] = head_start_share(self.config.welcome_points, per_order, self.threshold)
            self._f_mult[s] = mult[stale]
        return self._f[idx]

    def _refresh(self, idx):
        """Recompute this mechanic's behaviour factors from the customers' points state."""
        if idx.size == 0:
            return
        b = self.behave
        f = self.value_of(idx)
        held = (self.balance[idx] + self.pending[idx]) / self.threshold  # rewards' worth held
        # progress toward a reward; a balance that piles up beyond what the next order can take and a
        # full card more (an order earns more than it may redeem) has no reward ahead to speed up
        # toward: its gradient is neutral (1)
        piled = held >= self.config.redemption.max_rewards_per_order + 1.0
        prog = np.minimum(held, 1.0)
        # the gradient moves purchases across a card (faster near a reward, slower just after it),
        # normalised to 1 on average over a card's progress: it reproduces Kivetz et al.'s
        # acceleration without adding a lift they did not measure
        g = b.goal_gradient * f
        shape = b.goal_gradient_shape
        inten = (1.0 + g * (prog if shape == 1.0 else prog ** shape)) / (1.0 + g / (shape + 1.0))
        if piled.any():
            inten = np.where(piled, 1.0, inten)
        if b.rewarded_behaviour:
            inten *= 1.0 + b.rewarded_behaviour * f * (self.rewards[idx] > 0)
        if self._endowed:  # a first card begun with given points is a task already under way
            inten *= 1.0 + self._endowed * f * self._head_start[idx] * (self.rewards[idx] == 0)
        drop = 1.0 / (1.0 + b.switching_cost * f * np.minimum(held, 2.0))
        in_reset = self.reset_until[idx] > self.model.day
        if in_reset.any():
            inten *= np.where(in_reset, 1.0 - np.minimum(b.post_reward_dip * f, 0.95), 1.0)
            drop *= np.where(in_reset, 1.0 + b.post_reward_dropout * f, 1.0)
        basket = 1.0 + b.basket_gain * f
        member = self.member[idx]
        if not member.all():  # non-members are untouched
            inten, drop, basket = np.where(member, inten, 1.0), np.where(member, drop, 1.0), np.where(member, basket, 1.0)
        self.intensity[idx] = np.maximum(inten, 0.0)
        self.dropout[idx] = drop
        self.basket[idx] = basket
        self.changed(idx)

    # ------------------------------------------------------------------ hooks
    def on_joins(self, idx):
        if self.config.welcome_points:
            self._issue(idx, np.full(idx.size, float(self.config.welcome_points)), self.model.day)
        self._refresh(idx)

    def start_day(self, day):
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
        self._release(float(pts.sum()), "redeemed")
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
        paid = orders.paid[pos]
        pts = paid * self.config.earn_per_currency * self.multiplier(r) + self.config.earn_per_order
        caps = self.config.caps
        if caps.per_order is not None:
            pts = np.minimum(pts, caps.per_order)
        if caps.per_month is not None:
            pts = np.clip(caps.per_month - self.month_earned[r], 0.0, pts)
        pts = np.floor(pts + 1e-9)  # whole points
        self.month_earned[r] += pts.astype(np.float32)
        orders.points[pos] = pts
        self._issue(r, pts, orders.day, paid=paid)
        if self.tiers is not None:
            self.tiers.points_earned(r, pts)
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
        self._release(expired, "expired")
        self.month_earned[:n] = 0.0
        outstanding = float(self.balance[:n].sum() + self.pending[:n].sum())
        self._outstanding = outstanding  # whole points: the running count, re-read exactly
        self.monthly["points_outstanding"][mo] = outstanding
        self.monthly["liability"][mo] = self._liability
        self.monthly["members"][mo] = int(self.member[:n].sum())

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
            "revenue_deferred": float(m["revenue_deferred"].sum()),
            "revenue_released": float(m["revenue_released_redeemed"].sum() + m["revenue_released_expired"].sum()),
            "breakage_realised": expired / issued if issued else 0.0,
            "redemption_rate": redeemed / issued if issued else 0.0,
            "goal_gradient_interval_by_progress": gg.tolist(),
            "goal_gradient_orders_by_progress": self._gg_n.tolist(),
        }
