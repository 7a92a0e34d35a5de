"""The per-agent reference model: the readable specification of the engine's rules.

One ``mesa.Agent`` per customer, one ``mesa.Model.step`` per day, and every rule
written out per customer in scalar Python, top to bottom. It implements the
same behaviour as the fast engine (``sim.engine`` with ``sim.customers``,
``sim.mechanics.points`` and ``sim.mechanics.tiers``) from the same validated
``Scenario``, but it is an independent implementation: it draws from its own
seeded ``numpy.random.Generator`` (not ``sim.random``'s counter-based streams),
keeps state as plain attributes instead of arrays, folds effects every day
instead of event-driven, and draws BG/NBD dropout as one Bernoulli per repeat
order instead of an exponential budget. Where the two agree in distribution
(``tests/test_reference.py``) that is evidence both say what the design means.

It is slow (a few hundred thousand customer-days a second) and meant for a few
thousand customers: the engine is what runs scenarios.

The day, for each customer (the engine's order, docs/DESIGN.md#the-daily-loop):

1. arrival: a customer whose first order is today arrives (and, if the programme
   runs, gets their enrolment propensity and join day);
2. mechanics start the day: tier factors refreshed when the engine refreshes
   them, the rolling tier window moves on, pending points become usable, a
   post-reward reset ends;
3. effects: the mechanics' factors are multiplied into today's purchase
   intensity and dropout multipliers;
4. Pareto/NBD lifetime: today's hazard is used up; a customer whose lifetime
   ends today leaves part-way through the day (the fraction still alive);
5. purchase clock: today's intensity (times that fraction) is used up;
6. orders: the first order on the arrival day, then one order each time the
   clock has run past its exponential budget (so several a day are possible);
   each is priced (tier discount, then points redeemed as money off), recorded,
   the customer joins the programme if their join day has come, then rewarded
   (tier qualification, points earned); after a repeat order a BG/NBD customer
   drops out with probability p x dropout multiplier;
7. (no end-of-day work for points and tiers);
8. month end, for the whole base: tier downgrades, the rolling window moves on,
   status dilution, the requalification push, tier factors refreshed; points expiry.

Scope: the BG/NBD and Pareto/NBD baselines with Gamma-Gamma baskets, segments
and Poisson acquisition; self-selected enrolment (sim.mechanics.enrolment);
every effect sized by perceived value through the same functions
(sim.mechanics.value); points (earn on the paid amount, tier multiplier,
per-order and per-month caps, threshold or choice redemption, money off or
goods, pending period, expiry by age FIFO and by inactivity, goal gradient,
post-reward reset, rewarded behaviour, basket gain, switching cost) and tiers
(qualification on spend, orders or points over a rolling or calendar window,
immediate upgrade, monthly or yearly downgrade none / one_step / reevaluate
with grace months, tier discount, status effects on intensity, basket and
dropout with dilution, requalification push on the customer's own projected
drop for rolling windows, loss-averse demotion); the
scenario's response strengths. Ledger lines, perks and free delivery are money
only (no behaviour) and are left to the engine; the other mechanics
(discounts, subscription, referrals, campaigns, service) are not modelled here.
"""
from __future__ import annotations

import calendar as _cal
import datetime as _dt
import math

import mesa
import numpy as np

from sim.mechanics.value import perceived, response
from sim.time_units import TIME_UNITS
from sim.traits import TRAIT_NAMES

INF = math.inf


# ============================================================================ the calendar
class Days:
    """Day numbers (0 = launch) to dates and months since the launch month."""

    def __init__(self, start_date: _dt.date, horizon_days: int):
        self.start = start_date
        self.horizon_days = horizon_days

    def date(self, day):
        return self.start + _dt.timedelta(days=day)

    def month(self, day):
        d = self.date(day)
        return (d.year - self.start.year) * 12 + d.month - self.start.month

    def is_first_of_month(self, day):
        return day == 0 or self.date(day).day == 1

    def is_month_end(self, day):
        # the last day of a calendar month, or the last day of the horizon
        return day == self.horizon_days - 1 or self.date(day + 1).day == 1

    def days_left_in_month(self, day):
        d = self.date(day)
        return _cal.monthrange(d.year, d.month)[1] - d.day

    def days_to_year_end(self, day):
        d = self.date(day)
        return (_dt.date(d.year, 12, 31) - d).days


# ============================================================================ a customer
class Customer(mesa.Agent):
    """One customer: traits drawn once, state changed by the day's events."""

    def __init__(self, model, born_day, segment):
        super().__init__(model)
        rng = model.rng
        seg = model.segments[segment]
        p = seg.purchase
        unit_days = TIME_UNITS[model.cfg.customers.time_unit]
        self.segment = segment
        self.born_day = born_day
        # --- traits: lambda ~ Gamma(r, rate alpha) per time unit, turned into a rate per day
        self.lam = rng.gamma(p.r) / p.alpha / unit_days
        if p.model == "bgnbd":
            self.p_drop = rng.beta(p.a, p.b)   # dropout chance after each repeat order
            self.mu = 0.0
        else:
            self.p_drop = 0.0
            self.mu = rng.gamma(p.s) / p.beta / unit_days   # lifetime hazard per day
        # Gamma-Gamma: an order's value ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma)
        self.spend_shape = seg.spend.p
        self.spend_rate = rng.gamma(seg.spend.q) / seg.spend.gamma
        for t in TRAIT_NAMES:
            tc = seg.traits[t]
            setattr(self, t, rng.beta(tc.a, tc.b))
        self.responsiveness = 1.0   # set by the model once the launch base is drawn
        self.in_launch_base = True  # False for customers acquired during the horizon
        self.active_at_launch = False
        # --- state
        self.present = False        # has made a first order
        self.alive = True
        self.budget = INF           # intensity still to use up before the next order (no clock before the first)
        self.life = rng.exponential()  # Pareto/NBD: hazard still to use up before dropping out
        self.orders = 0             # orders in the customer's life
        self.last_order_day = None
        self.horizon_orders = 0
        self.horizon_spend = 0.0    # gross (list value) since launch
        self.horizon_paid = 0.0     # what the customer paid since launch
        self.intensity_mult = 1.0   # today's product of the programme's factors
        self.basket_mult = 1.0
        self.dropout_mult = 1.0
        self.reset_points()
        self.reset_tiers()

    # ------------------------------------------------------------------ programme state
    def reset_points(self):
        self.member = False
        self.join_day = None        # the day from which the customer joins at their next order (None: never)
        self.balance = 0.0          # usable points
        self.pending = []           # [(day usable, points)]
        self.lots = {}              # month earned -> points still held (expiry by age, FIFO)
        self.month_earned = 0.0
        self.rewards = 0            # rewards redeemed (blocks of threshold points)
        self.points_redeemed = 0.0  # points spent on rewards since launch
        self.reset_until = -(2 ** 30)
        self.points_intensity = 1.0
        self.points_dropout = 1.0
        self.points_basket = 1.0

    def reset_tiers(self):
        self.tier = 0
        self.lost_worth = 0.0       # the worth a demotion took away
        self.pushed_stake = 0.0     # the worth at stake while the requalification push is on
        self.qual = 0.0             # qualification value in the current window
        self.qual_by_month = {}     # month -> value added (rolling window)
        self.months_below = 0
        self.demoted_day = -(2 ** 30)
        self.tier_intensity = 1.0
        self.tier_dropout = 1.0
        self.tier_basket = 1.0

    def snapshot(self):
        """Everything but the mesa bookkeeping: to start each arm from the same launch base."""
        skip = {"model", "unique_id", "pos"}
        return {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k not in skip and not k.startswith("_")}

    @classmethod
    def restore(cls, model, snap):
        self = cls.__new__(cls)
        mesa.Agent.__init__(self, model)
        for k, v in snap.items():
            setattr(self, k, dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
        self.reset_points()  # the history ran without a programme
        self.reset_tiers()
        return self

    # ------------------------------------------------------------------ the day
    def live_day(self):
        m = self.model
        day = m.day
        arrived_today = False
        # 1. arrival: the first order is today
        if not self.present:
            if self.born_day != day:
                return
            self.present = True
            self.alive = True
            arrived_today = True
            if m.enrolling and self.born_day >= 0 and not self.in_launch_base:
                m.assign_join_day(self, day)
        # 2. mechanics start the day
        if m.tiers:
            self.tiers_start_day(day)
        if m.points:
            self.points_start_day(day)
        if not self.alive:
            return
        # 3. effects: today's multipliers (the engine folds changed rows; folding every
        #    customer every day gives the same numbers if every change is flagged)
        self.fold_effects()
        rate = self.lam * self.intensity_mult
        # 4. Pareto/NBD lifetime: today's hazard is used up (an arrival's lifetime starts
        #    with the first order, at the start of the arrival day)
        share_alive = 1.0
        dying = False
        if self.mu > 0:
            hazard = self.mu * self.dropout_mult
            self.life -= hazard
            if self.life <= 0:
                dying = True
                share_alive = 1.0 + self.life / hazard   # the moment in the day the lifetime ended
        # 5./6. the first order comes as the customer arrives, at the start of the day, and
        #    starts the purchase clock; the clock uses up today's intensity (while alive);
        #    every time it runs past its budget the customer orders again
        if arrived_today:
            self.place_order(day, first=True)
        self.budget -= rate * share_alive
        while self.alive and self.budget <= 0:
            self.place_order(day, first=False)
        if dying:
            self.drop_out()

    def fold_effects(self):
        inten = self.points_intensity * self.tier_intensity
        basket = self.points_basket * self.tier_basket
        drop = self.points_dropout * self.tier_dropout
        s = self.model.response
        if (s.intensity, s.basket, s.dropout) != (1.0, 1.0, 1.0):
            # calibrated response strengths scale each channel's deviation from no effect
            inten = max(1.0 + s.intensity * (inten - 1.0), 0.0)
            basket = max(1.0 + s.basket * (basket - 1.0), 0.01)
            drop = max(1.0 + s.dropout * (drop - 1.0), 0.0)
        self.intensity_mult, self.basket_mult, self.dropout_mult = inten, basket, drop

    def drop_out(self):
        self.alive = False
        self.budget = INF

    # ------------------------------------------------------------------ an order
    def place_order(self, day, first):
        m = self.model
        rng = m.rng
        # basket: Gamma(p, rate nu), times the programme's basket effects
        gross = rng.gamma(self.spend_shape) / self.spend_rate * self.basket_mult
        # price: the tier's discount first, then points redeemed on what is left
        discount = gross * m.tier_discount[self.tier] if m.tiers and self.member else 0.0
        reward = 0.0
        if m.points and self.member:
            reward = self.redeem(day, gross, discount)
        paid = max(gross - discount - reward, 0.0)
        # record
        self.orders += 1
        self.last_order_day = day
        if day >= 0:
            self.horizon_orders += 1
            self.horizon_spend += gross
            self.horizon_paid += paid
        # the next order's budget: Exp(1) of intensity from now on
        wait = rng.exponential()
        self.budget = wait if first else self.budget + wait
        # the customer joins at the till once their join day has come (and earns on this order)
        if m.enrolling and not self.member and self.join_day is not None and day >= self.join_day:
            self.join(day)
        # reward the order: tiers qualify first (so an upgrade earns at the new multiplier)
        if m.tiers and self.member:
            self.tiers_after_order(day, paid)
        if m.points and self.member:
            self.earn(day, paid)
        # BG/NBD: after a repeat order (not the first) the customer leaves with chance p,
        # times the dropout multiplier folded at the start of the day. Engine design choice,
        # mirrored: under a programme p is also divided by the intensity multiplier, so that
        # buying more often does not by itself shorten a life in calendar time.
        if not first and self.p_drop > 0:
            p = self.p_drop * self.dropout_mult
            if m.points or m.tiers:
                p /= max(self.intensity_mult, 1e-6)
            p = min(p, 1.0)
            if rng.random() < p:
                self.drop_out()

    # ------------------------------------------------------------------ points
    def join(self, day):
        m = self.model
        self.member = True
        if m.points and m.points.welcome_points:
            self.issue(day, m.points.welcome_points)
        if m.points:
            self.points_refresh()
        if m.tiers and m.entry_tier_worth:
            self.tiers_refresh(stake=0.0)

    def issue(self, day, pts):
        """Credit earned points: usable now, or after the pending period."""
        if self.model.points.pending_days:
            self.pending.append((day + self.model.points.pending_days, pts))
        else:
            self.credit(day, pts)

    def credit(self, day, pts):
        self.balance += pts
        if self.model.expire_months:
            mo = self.model.month
            self.lots[mo] = self.lots.get(mo, 0.0) + pts

    def points_start_day(self, day):
        if self.pending:
            due = [x for x in self.pending if x[0] == day]
            if due:
                self.pending = [x for x in self.pending if x[0] != day]
                for _, pts in due:
                    self.credit(day, pts)
        if self.member and self.reset_until == day:
            self.points_refresh()   # the post-reward reset ends today

    def redeem(self, day, gross, discount):
        """Threshold redemption: whole rewards off this order; returns the money off."""
        m = self.model
        cfg = m.points
        thr = cfg.redemption.threshold
        if self.balance < thr:
            return 0.0
        if cfg.redemption.mode == "choice" and not m.rng.random() < cfg.redemption.choice_probability:
            return 0.0
        blocks = min(math.floor(self.balance / thr), cfg.redemption.max_rewards_per_order)
        face_per_block = thr * cfg.point_value
        if cfg.reward_type == "discount":
            # money off cannot exceed what is left to pay
            blocks = min(blocks, math.floor((gross - discount) / face_per_block))
        if blocks <= 0:
            return 0.0
        pts = blocks * thr
        self.balance -= pts
        left = pts
        for mo in sorted(self.lots):   # oldest points first: they expire first
            take = min(self.lots[mo], left)
            self.lots[mo] -= take
            left -= take
        self.rewards += blocks
        if day >= 0:
            self.points_redeemed += pts
        if cfg.behaviour.post_reward_days:
            self.reset_until = day + cfg.behaviour.post_reward_days
        return blocks * face_per_block if cfg.reward_type == "discount" else 0.0

    def earn(self, day, paid):
        m = self.model
        cfg = m.points
        pts = paid * cfg.earn_per_currency
        if m.tiers:
            pts *= m.tier_multiplier[self.tier]
        pts += cfg.earn_per_order
        if cfg.caps.per_order is not None:
            pts = min(pts, cfg.caps.per_order)
        if cfg.caps.per_month is not None:
            pts = min(max(cfg.caps.per_month - self.month_earned, 0.0), pts)
        pts = math.floor(pts + 1e-9)   # whole points
        self.month_earned += pts
        self.issue(day, pts)
        if m.tiers and m.tiers.qualify_on == "points":
            self.add_qual(day, pts)
        self.points_refresh()

    def points_earned_per_order(self, mult):
        """Points this customer's usual order earns at a multiplier, within the caps."""
        cfg = self.model.points
        pts = cfg.earn_per_currency * mult * self.spend_shape / self.spend_rate + cfg.earn_per_order
        if cfg.caps.per_order is not None:
            pts = min(pts, cfg.caps.per_order)
        if cfg.caps.per_month is not None:   # the month's cap over the month's orders, one at least
            pts = min(pts, cfg.caps.per_month / max(self.lam * 365.25 / 12.0, 1.0))
        return pts

    def points_rate(self, mult):
        """(face value back per currency spent, what an order can redeem; days to a reward)."""
        cfg = self.model.points
        basket = self.spend_shape / self.spend_rate
        pts = self.points_earned_per_order(mult)
        usable = min(pts, cfg.redemption.max_rewards_per_order * cfg.redemption.threshold)
        orders = max(cfg.redemption.threshold / max(pts, 1e-12), 1.0)   # a reward is at least an order away
        return usable * cfg.point_value / basket, orders / max(self.lam, 1e-12)

    def points_value(self):
        """f(v) of the points for this customer (sim.mechanics.value), at their tier's multiplier."""
        m = self.model
        mult = m.tier_multiplier[self.tier] if m.tiers else 1.0
        rate, days = self.points_rate(mult)
        v = perceived(rate, days, self.responsiveness, m.cfg.response.delay_half_days)
        return float(response(v, m.cfg.response.value_half))

    def points_refresh(self):
        """The points factors from the customer's points state (goal gradient, reset, habit, switching cost)."""
        if not self.member:
            self.points_intensity = self.points_dropout = self.points_basket = 1.0
            return
        m = self.model
        b = m.points.behaviour
        thr = m.points.redemption.threshold
        held = self.balance + sum(p for _, p in self.pending)
        f = self.points_value()
        # a pile beyond what the next order takes and a full card more has no reward ahead: neutral
        piled = held / thr >= m.points.redemption.max_rewards_per_order + 1.0
        progress = min(held / thr, 1.0)
        g = b.goal_gradient * f   # averaging 1 over a card's progress (sim.mechanics.points)
        inten = 1.0 if piled else (1.0 + g * progress ** b.goal_gradient_shape) / (1.0 + g / (b.goal_gradient_shape + 1.0))
        if self.rewards > 0:
            inten *= 1.0 + b.rewarded_behaviour * f
        elif m.points.welcome_points:   # endowed progress: a first card begun with given points
            mult = m.tier_multiplier[self.tier] if m.tiers else 1.0
            per_order = self.points_earned_per_order(mult)
            given = m.points.welcome_points / max(per_order, 1e-12) / 2.0   # purchases' worth given, of 2
            card = 12.0 * per_order / thr                                   # 12 over the purchases it needs
            inten *= 1.0 + b.endowed_progress * f * min(given, 1.0) * min(card, 1.0)
        in_reset = self.reset_until > m.day
        if in_reset:
            inten *= 1.0 - min(b.post_reward_dip * f, 0.95)
        drop = 1.0 / (1.0 + b.switching_cost * f * min(held / thr, 2.0))
        if in_reset:
            drop *= 1.0 + b.post_reward_dropout * f
        self.points_intensity = max(inten, 0.0)
        self.points_dropout = drop
        self.points_basket = 1.0 + b.basket_gain * f   # members buy a little more to earn faster

    def points_end_month(self, month, day):
        m = self.model
        cfg = m.points
        changed = False
        if cfg.expiry.inactivity_days and self.balance > 0 and self.last_order_day is not None \
                and self.last_order_day <= day - cfg.expiry.inactivity_days:
            self.balance = 0.0
            self.lots = {}
            changed = True
        if m.expire_months:
            old = self.lots.pop(month - m.expire_months, 0.0)   # earned E months ago
            if old > 0:
                self.balance -= old
                changed = True
        self.month_earned = 0.0
        if changed:
            self.points_refresh()

    # ------------------------------------------------------------------ tiers
    def add_qual(self, day, value):
        self.qual += value
        if self.model.tiers.window == "rolling":
            mo = self.model.month
            self.qual_by_month[mo] = self.qual_by_month.get(mo, 0.0) + value

    def qualified_level(self):
        lv = 0
        for i, th in enumerate(self.model.tier_thresholds):
            if self.qual + 1e-9 >= th:
                lv = i
        return lv

    def tiers_start_day(self, day):
        if self.model.tiers_refresh_today and self.member:
            # calendar windows: the push switches on or off for everyone close to a threshold
            self.tiers_refresh(stake=self.stake() if self.close_to_threshold() else 0.0)

    def tiers_after_order(self, day, paid):
        m = self.model
        if m.tiers.qualify_on == "spend":
            self.add_qual(day, paid)
        elif m.tiers.qualify_on == "orders":
            self.add_qual(day, 1.0)
        new = self.qualified_level()
        if new > self.tier:   # upgrades are immediate
            self.tier = new
            self.months_below = 0
            # mid-month only closeness to the next tier can push (keeping a tier is judged at month ends)
            self.tiers_refresh(stake=self.stake() if self.close_to_next() else 0.0)

    def tiers_end_month(self, day, evaluate):
        m = self.model
        cfg = m.tiers
        if evaluate and cfg.downgrade != "none" and self.tier > 0:
            qualified = self.qualified_level()
            if qualified < self.tier:
                self.months_below += 1
                if self.months_below > cfg.grace_months:
                    new = self.tier - 1 if cfg.downgrade == "one_step" else qualified
                    worth = self.tier_worth()
                    self.lost_worth = max(worth[self.tier] - worth[new], 0.0)
                    self.tier = new
                    self.months_below = 0
                    self.demoted_day = day
            else:
                self.months_below = 0
        if cfg.window == "calendar" and evaluate:
            self.qual = 0.0

    def roll_window(self, month):
        """Rolling window, at the end of ``month``: the oldest month leaves it for the next one."""
        self.qual -= self.qual_by_month.pop(month + 1 - self.model.tiers.window_months, 0.0)
        self.qual = max(self.qual, 0.0)

    def tier_worth(self):
        """Perceived worth of every level to this customer (sim.mechanics.value), a list."""
        m = self.model
        b = m.tiers.behaviour
        basket = self.spend_shape / self.spend_rate
        w = self.responsiveness
        fee = m.cfg.economics.delivery_fee
        out = []
        base_points = None
        for i in range(len(m.tier_thresholds)):
            x = w * (m.tier_discount[i] + (fee / basket if m.tier_free_delivery[i] else 0.0))
            if m.points and any(mu != 1.0 for mu in m.tier_multiplier):
                rate, days = self.points_rate(m.tier_multiplier[i])
                pv = perceived(rate, days, w, m.cfg.response.delay_half_days)
                base_points = pv if base_points is None else base_points
                x += pv - base_points
            x += self.status_seeking / m.status_seek_mean * m.tier_status[i] * m.dilution[i] * b.status_worth
            out.append(float(x))
        return out

    def stake(self):
        """The worth at stake when close to a threshold: keeping this tier, or reaching the next."""
        m = self.model
        worth = self.tier_worth()
        t = self.tier
        if self.qual < m.tier_thresholds[t]:
            return max(worth[t] - worth[max(t - 1, 0)], 0.0)
        return max(worth[min(t + 1, len(worth) - 1)] - worth[t], 0.0)

    def tiers_refresh(self, stake=None):
        """Tier factors: the tier's worth (status diluted), loss-averse demotion, requalification push.
        ``stake``: the worth at stake for a pushed customer (None keeps the current push)."""
        m = self.model
        b = m.tiers.behaviour
        h = m.cfg.response.value_half
        if stake is not None:
            self.pushed_stake = stake
        if not self.member:
            self.tier_intensity = self.tier_dropout = self.tier_basket = 1.0
            return
        f = float(response(self.tier_worth()[self.tier], h))
        inten = 1.0 + b.status_intensity * f
        drop = max(1.0 - b.status_retention * f, 0.05)
        if self.demoted_day > m.day - b.demotion_memory_days:
            lost = float(response(self.lost_worth, h))
            inten *= max(1.0 - b.loss_aversion * b.status_intensity * lost, 0.0)
            drop *= 1.0 + b.loss_aversion * b.status_retention * lost
        if b.requalify_push and self.pushed_stake > 0:
            inten *= 1.0 + b.requalify_push * float(response(self.pushed_stake, h))
        self.tier_intensity = inten
        self.tier_dropout = drop
        self.tier_basket = 1.0 + b.status_basket * f

    def close_to_next(self):
        m = self.model
        th = m.tier_thresholds
        t = self.tier
        nxt = th[min(t + 1, len(th) - 1)]
        return t < len(th) - 1 and nxt * (1 - m.tiers.behaviour.push_gap) <= self.qual < nxt

    def close_to_threshold(self):
        """Calendar windows, while the push is on: within push_gap of keeping the tier or of the next."""
        m = self.model
        if not m.push_active:
            return False
        keep = m.tier_thresholds[self.tier]
        at_risk = self.tier > 0 and keep * (1 - m.tiers.behaviour.push_gap) <= self.qual < keep
        return at_risk or self.close_to_next()

    def at_risk_rolling(self, day):
        """Rolling windows, at a month end after the window moved: will the customer's own
        qualifying value, without new orders, fall within push_gap below their tier's
        threshold at one of their evaluations within push_days, as old months leave?"""
        m = self.model
        if self.tier == 0:
            return False
        keep = m.tier_thresholds[self.tier]
        gap = m.tiers.behaviour.push_gap
        month = m.days.month(day)
        width = m.tiers.window_months
        projected = self.qual
        d = m.days.date(day)
        for j in range(1, width + 1):
            y, mo = divmod(d.year * 12 + d.month - 1 + j, 12)
            end = _dt.date(y, mo + 1, _cal.monthrange(y, mo + 1)[1])
            if (end - d).days > m.tiers.behaviour.push_days:
                break
            if j >= 2:
                projected -= self.qual_by_month.get(month - width + j, 0.0)
            if keep * (1 - gap) <= projected < keep:
                return True
        return False


# ============================================================================ the model
class ReferenceModel(mesa.Model):
    """One arm: ``programme`` None for the baseline. ``base`` is a launch base from
    ``launch_base`` (a list of customer snapshots), or None to draw a fresh cohort
    (or, with ``first_day`` < 0, a mature base living its history)."""

    def __init__(self, scenario, seed, programme=None, base=None, first_day=0, last_day=None):
        super().__init__(seed=seed)   # self.rng: the model's own numpy Generator
        cfg = self.cfg = scenario.cfg
        self.days = Days(cfg.start_date, cfg.horizon_days)
        self.day = first_day
        self.last_day = cfg.horizon_days if last_day is None else last_day
        self.segments = cfg.customers.segments
        self.window = cfg.metrics.activity_window_days
        self.acquisition_rate = cfg.customers.acquisition.per_day
        self.response = cfg.response
        self._setup_programme(programme)
        if base is None:
            self._draw_base(first_day)
        else:
            self.resp = base["resp"]
            for snap in base["customers"]:
                Customer.restore(self, snap)
        customers = list(self.agents)
        # tiers weigh status seeking against the base's mean at launch
        self.status_seek_mean = (float(np.mean([x.status_seeking for x in customers])) or 1.0) if customers else 1.0
        self.tiers_started = False
        self.push_active = False
        self.tiers_refresh_today = False
        if self.enrolling:
            self._enrolment_at_launch(customers)

    # ------------------------------------------------------------------ enrolment (sim.mechanics.enrolment)
    def _log_spend(self, x):
        return math.log(max(x.lam * x.spend_shape / x.spend_rate, 1e-30))

    def _score(self, x):
        e = self.enrol
        z = (self._log_spend(x) - self.spend_mu) / self.spend_sd
        return e.selection * z + math.sqrt(max(1.0 - e.selection ** 2, 0.0)) * self.rng.normal()

    def _enrolment_at_launch(self, customers):
        """Each launch-base customer's propensity to join, the cut that puts ``share`` of the
        customers active at launch above it, and their join days."""
        base = [x for x in customers if x.in_launch_base]
        spend = np.array([self._log_spend(x) for x in base])
        self.spend_mu = float(spend.mean()) if base else 0.0
        self.spend_sd = float(spend.std()) if len(base) > 1 and spend.std() > 0 else 1.0
        scores = {id(x): self._score(x) for x in base}
        active = [scores[id(x)] for x in base if x.active_at_launch]
        share = self.enrol.share
        if share >= 1.0 or not active:
            self.join_cut = -INF if share > 0 else INF
        elif share <= 0.0:
            self.join_cut = INF
        else:
            self.join_cut = float(np.quantile(active, 1.0 - share))
        for x in base:
            self._set_join_day(x, scores[id(x)], max(x.born_day, 0))

    def _set_join_day(self, x, score, start):
        scale = self.enrol.months_to_half * (365.25 / 12.0) / math.log(2.0)
        delay = math.floor(self.rng.exponential() * scale)
        x.join_day = start + delay if score > self.join_cut else None

    def assign_join_day(self, x, day):
        """A customer acquired during the horizon faces the launch base's cut."""
        self._set_join_day(x, self._score(x), day)

    def _setup_programme(self, programme):
        def on(name):
            block = (programme or {}).get(name)
            return block if block is not None and block.get("enabled", True) else None
        self.points = on("points")
        self.tiers = on("tiers")
        self.enrolling = bool(self.points or self.tiers)
        self.enrol = programme.enrolment if self.enrolling else None
        self.expire_months = self.points.expiry.months_after_earning if self.points else None
        self.entry_tier_worth = False
        if self.tiers:
            lv = self.tiers.levels
            self.tier_thresholds = [x.threshold for x in lv]
            self.tier_multiplier = [x.earn_multiplier for x in lv]
            self.tier_discount = [x.discount for x in lv]
            self.tier_free_delivery = [bool(x.free_delivery) for x in lv]
            self.tier_status = [x.status_value for x in lv]
            self.dilution = [1.0] * len(lv)
            self.entry_tier_worth = bool(self.tier_status[0] > 0 or self.tier_discount[0] > 0
                                         or self.tier_free_delivery[0])

    def _draw_base(self, first_day):
        c = self.cfg.customers
        n = c.initial
        shares = np.cumsum([s.share for s in self.segments])
        for i in range(n):
            born = 0 if (c.start == "fresh" or c.history_days == 0) else -c.history_days + (i * c.history_days) // n
            seg = min(int(np.searchsorted(shares, self.rng.random(), side="right")), len(shares) - 1)
            Customer(self, born, seg)
        customers = list(self.agents)
        # Who responds to money incentives (engine: Customers.set_responsiveness): price-
        # sensitive, light and moderate buyers, w = (ps / mean ps) * 2 / (1 + lam / mean lam),
        # normalised to mean 1 over the launch base. Mirrors the engine's design choice:
        # the means are taken once, over the whole base drawn at the start (not yet born
        # customers of a mature base included), and reused for later arrivals.
        mean_ps = float(np.mean([x.price_sensitivity for x in customers]))
        mean_lam = float(np.mean([x.lam for x in customers]))
        raw = [self._raw_responsiveness(x, mean_ps, mean_lam) for x in customers]
        self.resp = (mean_ps, mean_lam, float(np.mean(raw)) or 1.0)
        for x, w in zip(customers, raw):
            x.responsiveness = w / self.resp[2]

    @staticmethod
    def _raw_responsiveness(x, mean_ps, mean_lam):
        return (x.price_sensitivity / max(mean_ps, 1e-9)) * 2.0 / (1.0 + x.lam / max(mean_lam, 1e-12))

    def _acquire(self, day):
        k = int(self.rng.poisson(self.acquisition_rate))
        shares = np.cumsum([s.share for s in self.segments])
        for _ in range(k):
            seg = min(int(np.searchsorted(shares, self.rng.random(), side="right")), len(shares) - 1)
            x = Customer(self, day, seg)
            x.in_launch_base = False
            x.responsiveness = self._raw_responsiveness(x, self.resp[0], self.resp[1]) / self.resp[2]

    # ------------------------------------------------------------------ one day
    def step(self):
        day = self.day
        if day >= 0 and self.acquisition_rate > 0 and day < self.cfg.horizon_days:
            self._acquire(day)
        self.month = self.days.month(day)
        self.first_of_month = self.days.is_first_of_month(day)
        # calendar windows: the push switches on for the last push_days of the year, for everyone
        self.tiers_refresh_today = False
        if self.tiers and self.tiers.window == "calendar":
            push = self.days.days_to_year_end(day) < self.tiers.behaviour.push_days
            self.tiers_refresh_today = not self.tiers_started or push != self.push_active
            self.tiers_started = True
            self.push_active = push
        # every customer lives the day (independently: the order does not matter)
        self.agents.shuffle_do("live_day")
        # month end, for the whole base
        if day >= 0 and (self.points or self.tiers) and self.days.is_month_end(day):
            self._end_month(day)
        self.day += 1

    def _end_month(self, day):
        month = self.days.month(day)
        present = [x for x in self.agents if x.present]
        if self.tiers:
            d = self.days.date(day)
            rolling = self.tiers.window == "rolling"
            evaluate = rolling or (d.month == 12 and d.day == 31)
            members = [x for x in present if x.member]
            for x in members:
                x.tiers_end_month(day, evaluate)
                if rolling:
                    x.roll_window(month)
            # a bigger top tier dilutes status: share of active members at or above each tier
            active = [x.tier for x in members if x.last_order_day is not None and x.last_order_day > day - self.window]
            if active:
                n_levels = len(self.tier_thresholds)
                share = [0.0] + [sum(t >= i for t in active) / len(active) for i in range(1, n_levels)]
                self.dilution = [1.0 - self.tiers.behaviour.dilution * s for s in share]
            push = self.tiers.behaviour.requalify_push
            for x in members:
                if rolling:
                    close = push and (x.at_risk_rolling(day) or x.close_to_next())
                else:
                    close = push and x.close_to_threshold()
                x.tiers_refresh(stake=x.stake() if close else 0.0)
        if self.points:
            for x in present:
                x.points_end_month(month, day)

    def run(self):
        while self.day < self.last_day:
            self.step()
        return self

    # ------------------------------------------------------------------ results
    def outcomes(self) -> dict:
        """Per customer present at the end (launch base and arrivals), as arrays."""
        xs = [x for x in self.agents if x.present]
        return {
            "orders": np.array([x.horizon_orders for x in xs]),
            "spend": np.array([x.horizon_spend for x in xs]),
            "paid": np.array([x.horizon_paid for x in xs]),
            "alive": np.array([x.alive for x in xs]),
            "points_redeemed": np.array([x.points_redeemed for x in xs]),
            "tier": np.array([x.tier for x in xs]),
        }


# ============================================================================ running arms
def launch_base(scenario, seed):
    """The launch-day base: a fresh cohort as drawn, or a mature base after its history."""
    c = scenario.cfg.customers
    if c.start == "twin":
        from sim.errors import UserError
        raise UserError("customers.start: twin: the reference model draws its own base (mature or fresh); a twin "
                        "runs on the engine only")
    first = 0 if c.start == "fresh" or c.history_days == 0 else -c.history_days
    history = ReferenceModel(scenario, seed, programme=None, first_day=first, last_day=0).run()
    window = scenario.cfg.metrics.activity_window_days
    for x in history.agents:  # who counts as a customer at launch (as LoyaltyModel.mark_launch)
        recent = x.present and x.last_order_day is not None and x.last_order_day > -window
        x.active_at_launch = x.in_launch_base and (recent or x.born_day == 0)
    return {"resp": history.resp, "customers": [x.snapshot() for x in history.agents]}


def run_reference(scenario, seed, arms=("baseline", "programme")) -> dict:
    """Run the baseline and/or programme arm from one launch base; per-customer outcomes per arm.

    Outcomes: orders in the horizon, gross spend, amount paid, alive at the end,
    points redeemed, tier at the end (0 without tiers).
    """
    seq = np.random.SeedSequence(int(seed))
    base_seed, *arm_seeds = (int(s.generate_state(1)[0]) for s in seq.spawn(1 + len(arms)))
    base = launch_base(scenario, base_seed)
    out = {}
    for arm, s in zip(arms, arm_seeds):
        programme = None if arm == "baseline" else scenario.cfg.programme
        out[arm] = ReferenceModel(scenario, s, programme=programme, base=base).run().outcomes()
    return out


def engine_outcomes(scenario, seed, arm="programme") -> dict:
    """The same per-customer outcomes from the fast engine (driven as sim.work does)."""
    from sim.engine import LoyaltyModel
    from sim.work import launch_base as engine_launch_base
    base = engine_launch_base(scenario, seed)
    programme = None if arm == "baseline" else scenario.cfg.programme
    model = LoyaltyModel(scenario, seed, programme=programme, customers=base).run()
    c = model.customers
    idx = np.flatnonzero(c.present[: c.n])
    points, tiers = model.mechanic("points"), model.mechanic("tiers")
    return {
        "orders": c.horizon_orders[idx].astype(np.int64),
        "spend": c.horizon_spend[idx].astype(np.float64),
        "alive": c.alive[idx].copy(),
        # rewards are whole blocks of threshold points (mechanic's per-customer count)
        "points_redeemed": (points.rewards[idx] * points.threshold).astype(np.float64) if points
        else np.zeros(idx.size),
        "tier": tiers.tier[idx].astype(np.int64) if tiers else np.zeros(idx.size, dtype=np.int64),
    }
