"""Discounts: a welcome discount, calendar promotions and personal offers, and
what discounting does to customers over time.

Behaviour (each effect weighted per customer by w = responsiveness x deal
proneness / the launch base's mean deal proneness, so the documented size holds
for the average customer; w is clipped at 5):

* promotion response: while a deal runs for a customer (a calendar promotion
  for their segment, or a personal offer they hold), purchase intensity
  x (1 + elasticity x 0.1 x f(w x depth)) and basket x (1 + basket_elasticity x
  0.1 x f(w x depth)): the value form every effect follows (sim.mechanics.value),
  which equals elasticity x depth x w at a 10% deal and saturates for deeper
  ones (deep discounts are "discounted" by consumers: Gupta & Cooper 1992, JCR;
  Leenheer et al. 2002: high discounts do not raise share of wallet).
  The default elasticity, 1.75, is the mean price elasticity of -2.62 in
  Bijmolt, van Heerde & Pieters' (2005, JMR) meta-analysis less the third of a
  promotion bump that is brand switching inside the shop (van Heerde, Gupta &
  Wittink 2003, JMR), which moves no money to the retailer. Customers buy more
  when they do buy on deal (Bell, Chiang & Padmanabhan 1999; Mela, Jedidi &
  Bowman 1998); the basket size is a seed assumption.
* post-promotion dip: part of the bump is purchases borrowed from the weeks
  after (stockpiling, acceleration; van Heerde, Leeflang & Wittink 2000, JMR).
  When a promotion ends, each customer's intensity dips for dip_days by enough
  to give back pull_forward of their extra orders of the last dip_days on deal
  (a pantry holds only so much): about a third, the cross-period share in van
  Heerde, Gupta & Wittink (2003).
* discount conditioning: every discount a customer receives raises their deal
  proneness (state, bounded below 1): dp += conditioning x depth x (1 - dp).
  With the default 0.48 the average customer (dp 0.3) gains 0.10 from a 30% and
  0.034 from a 10% discount; the difference, 22% of the mean, is Elberg et al.'s
  (2019, QME) field result: customers given ~30% instead of ~10% discounts were
  22.4% more likely to buy on promotion afterwards. Promotion sensitivity thus
  grows with promotion frequency (Mela, Gupta & Lehmann 1997, JMR). Higher deal
  proneness raises the response to the next deal (through w) and lowers
  full-price purchase intensity, x 1 / (1 + waiting x gain / mean dp): customers
  "lie in wait" for deals (Mela, Jedidi & Bowman 1998, JMR; Anderson & Simester
  2004, Marketing Science, find deep discounts lower established customers' later
  buying): the sign is known; the size is bounded by the long-run evidence that
  promotions' effects on category demand die out (Nijs et al. 2001; Pauwels,
  Hanssens & Siddarth 2002), so the default is small (0.02 of a range 0-0.1)
  and a verdict that hinges on it says so. The gain fades with a
  half-life (seed assumption).
* reach: a personal offer needs an address the business may use, so it reaches
  members (of the programme or a paid membership) and the customers who opted
  in to e-mail (``customers.contact.email_opt_in``, sim.mechanics.contact);
  calendar promotions reach everyone in the shop.

Economics: every discount is money off the order (its face value), split into
two ledger lines. ``discounts_subsidised`` is the part given on orders that
would have happened anyway, ``discounts_incremental`` the part on orders the
deal brought. On common random numbers an order is subsidised if it would have
happened without the deal's intensity boost; the split is estimated from the
intensity ratio: of a deal-day order rate boosted by b, the baseline share is
1 / b, so that share of the discount is subsidised. A welcome discount is wholly
subsidised (acquisition does not respond to it in this model). A monthly budget
stops all discounting once spent: running promotions and offers are suspended
until the next month (the promotion is pulled, not merely unpaid).
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.contact import reachable
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import V_REF, response
from sim.schema import Bool, Choice, Date, Effect, Int, ListOf, Num, NonNeg, Prob, Section, Str

W_MAX = 5.0          # response weights are clipped: a few extreme customers must not dominate
FAR_PAST = -(2**30)  # "never" for day columns


def rankdata(x):
    """Ranks 1..n, ties given their average rank (as scipy.stats.rankdata, without importing scipy.stats)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]] if xs.size else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, xs.size])
    ranks = np.empty(x.size)
    ranks[order] = (starts + (counts + 1) / 2.0)[np.cumsum(new) - 1]
    return ranks


def _distinct(idx):
    """Sorted distinct rows: sort and compare neighbours (numpy 2.x's hash-based unique is far slower)."""
    idx = np.sort(idx)
    return idx[np.r_[True, idx[1:] != idx[:-1]]] if idx.size else idx

PROMOTION = Section(doc="a calendar promotion", fields={
    "name": Str(doc="promotion name"),
    "start": Date(doc="first day (YYYY-MM-DD)"),
    "end": Date(doc="last day, inclusive (YYYY-MM-DD)"),
    "discount": Num(doc="share off every order (0.2 = 20% off)", lo=0.0, hi=1.0, lo_open=True),
    "segment": Str("all", "a segment name from customers.segments, or all"),
})

OFFER = Section(doc="a personal offer sent to targeted customers", fields={
    "name": Str(doc="offer name"),
    "target": Choice(("all", "segment", "rfm", "churn_risk"), "churn_risk",
                     "who gets it: everyone, a segment, an RFM score band, or customers overdue against their own purchase rate"),
    "segment": Str(None, "target segment: a segment name from customers.segments", nullable=True),
    "rfm_min": Int(3, lo=3, hi=15, doc="target rfm: lowest RFM score (recency + frequency + monetary quintiles, 3..15)"),
    "rfm_max": Int(15, lo=3, hi=15, doc="target rfm: highest RFM score"),
    "risk_min": Num(2.0, lo=0.0, lo_open=True,
                    doc="target churn_risk: days since the last order over the customer's own usual gap (2: twice overdue)"),
    "risk_max": Num(None, lo=0.0, lo_open=True, nullable=True, doc="target churn_risk: skip customers more overdue than this"),
    "discount": Num(doc="share off one order (0.15 = 15% off)", lo=0.0, hi=1.0, lo_open=True),
    "cap": Num(None, lo=0.0, nullable=True, doc="most money off the order"),
    "valid_days": Int(14, lo=1, hi=365, doc="days the offer can be used"),
    "every_days": Int(30, lo=1, hi=3650, doc="the targeting runs every this many days"),
    "first_day": Int(0, lo=0, hi=36500, doc="horizon day of the first send"),
    "cooldown_days": Int(90, lo=0, hi=3650, doc="a customer gets this offer at most once in this many days"),
    "contact_cost": NonNeg(0.0, "cost of sending one offer (e-mail, app push, print)"),
})


class Discounts(Mechanic):
    name = "discounts"
    LABEL = "Discounts"
    INTENSIVE = frozenset({"subsidised_share", "deal_proneness_gain_mean", "deal_proneness_gain_end",
                           "budget_suspended_days"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "discounts_incremental": "Discounts on extra orders",
        "discounts_subsidised": "Discounts on orders that would have happened anyway",
        "offer_contacts": "Offer contacts (messages sent)",
    }
    SCHEMA = Section(optional=True, doc="discounts: welcome, calendar promotions, personal offers", fields={
        "enabled": Bool(True),
        "welcome": Section(optional=True, doc="a discount on a new customer's first order", fields={
            "discount": Prob(0.10, "share off the first order (seed: the common 10% welcome offer)"),
            "cap": Num(None, lo=0.0, nullable=True, doc="most money off the first order"),
        }),
        "promotions": ListOf(item=PROMOTION, doc="calendar promotions"),
        "personal_offers": ListOf(item=OFFER, doc="personal offers"),
        "budget_per_month": Num(None, lo=0.0, nullable=True,
                                doc="most money given away in discounts a month; then discounting stops until the next month"),
        "behaviour": Section(fields={
            "elasticity": Effect(1.75, 1.0, 2.5, grade="measured",
                                 source="Bijmolt, van Heerde & Pieters 2005: mean price elasticity -2.62, "
                                 "less the brand-switching third (van Heerde, Gupta & Wittink 2003); "
                                 "range: the meta-analysis' spread",
                                 doc="intensity gain per unit of depth at a 10% deal (saturating for deeper ones)"),
            "basket_elasticity": Effect(0.5, 0.0, 1.0, grade="direction",
                                        source="Bell, Chiang & Padmanabhan 1999 direction (size a seed assumption)",
                                        doc="basket gain per unit of depth at a 10% deal"),
            "pull_forward": Effect(1 / 3, 0.1, 0.5, hi=1.0, grade="measured",
                                   source="van Heerde, Gupta & Wittink 2003; van Heerde, Leeflang & "
                                   "Wittink 2000: about a third of a promotion bump is borrowed from later weeks",
                                   doc="share of the extra orders given back after a promotion"),
            "dip_days": Int(28, lo=1, hi=365, grade="assumption", doc="length of the post-promotion dip (seed assumption)"),
            "max_dip": Effect(0.8, 0.5, 0.95, hi=1.0, grade="assumption",
                              source="seed assumption (bounds the post-promotion dip of "
                              "van Heerde et al. 2000 for very deep, long deals)",
                              doc="deepest post-promotion dip in intensity"),
            "conditioning": Effect(0.48, 0.2, 0.7, hi=1.0, grade="measured",
                                   source="Elberg et al. 2019: +22.4% promotion buying after ~30% vs "
                                   "~10% discounts; 0.48 reproduces it; Mela, Gupta & Lehmann 1997",
                                   doc="deal proneness gain per discount: dp += k x depth x (1 - dp)"),
            "conditioning_half_life_days": Int(365, lo=1, hi=36500, nullable=True, grade="assumption",
                                               doc="the gain halves in this many days; null: never fades (seed assumption)"),
            "waiting": Effect(0.02, 0.0, 0.1, grade="direction",
                              source="Mela, Jedidi & Bowman 1998: promotion exposure makes households wait for deals; "
                                     "Anderson & Simester 2004: deep discounts lower established customers' later "
                                     "buying (both the sign); the size bounded by Nijs, Dekimpe, Steenkamp & "
                                     "Hanssens 2001 and Pauwels, Hanssens & Siddarth 2002: price promotions' effects "
                                     "on category demand are temporary (persistent in about 2% of 560 categories), "
                                     "so a year of promotions must not take back more than a part of their net lift (the size "
                                     "within that bound a seed assumption); "
                                     "at 0.1 a drugstore's quarterly promotions lowered two years' orders below none",
                              doc="full-price intensity x 1/(1 + waiting x gain / mean dp): lie in wait for deals"),
        }),
    })

    uses = ("enrolment", "subscription")  # personal offers reach members, and others who opted in (sim.mechanics.contact)
    FACTORS = ("intensity", "basket")
    COLUMNS = (
        Column("gain", np.float32, 0.0, doc="conditioning: deal proneness gained from discounts"),
        Column("gain_day", np.int32, 0, doc="when gain was last brought up to date"),
        Column("promo_depth", np.float32, 0.0),
        Column("promo_since", np.int32, 0, doc="first day of the customer's current promotion run"),
        Column("dip", np.float32, 0.0),
        Column("dip_until", np.int32, FAR_PAST, doc="first day without the dip"),
        Column("offer_kind", np.int16, -1),
        Column("offer_until", np.int32, FAR_PAST, doc="last valid day"),
        Column("offer_sent", np.int32, FAR_PAST, rows=lambda cfg: len(cfg.personal_offers),
               doc="day each personal offer was last sent (one row per offer)"),
    )

    # ------------------------------------------------------------------ set-up
    @classmethod
    def reaches(cls, config) -> bool:
        return bool(config.personal_offers)

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        names = [s.name for s in scenario_cfg.customers.segments] or ["all"]
        # a promotion calendar may run past the horizon (a shorter run of the same plan): days outside are ignored
        for i, p in enumerate(cfg.promotions):
            where = f"{path}.promotions[{i}]"
            if p.end < p.start:
                raise ScenarioError(file, f"{where}.end", f"got {p.end}; allowed: on or after start ({p.start})")
            if p.segment != "all" and p.segment not in names:
                raise ScenarioError(file, f"{where}.segment", f"got {p.segment!r}; allowed: all or one of {', '.join(names)}")
        for i, o in enumerate(cfg.personal_offers):
            where = f"{path}.personal_offers[{i}]"
            if o.target == "segment":
                if o.segment is None:
                    raise ScenarioError(file, f"{where}.segment", "is required for target: segment")
                if o.segment not in names:
                    raise ScenarioError(file, f"{where}.segment", f"got {o.segment!r}; allowed: one of {', '.join(names)}")
            if o.rfm_min > o.rfm_max:
                raise ScenarioError(file, f"{where}.rfm_min", f"got {o.rfm_min}; allowed: at most rfm_max ({o.rfm_max})")
            if o.risk_max is not None and o.risk_max < o.risk_min:
                raise ScenarioError(file, f"{where}.risk_max", f"got {o.risk_max:g}; allowed: at least risk_min ({o.risk_min:g})")
        if len(cfg.personal_offers) > 100:
            raise ScenarioError(file, f"{path}.personal_offers", "at most 100 personal offers")

    def __init__(self, config, model):
        super().__init__(config, model)
        c = self.customers
        self.b = config.behaviour
        self.welcome = config.welcome
        # a monthly budget is the business's: a run of a sample scaled up (customers.scale_to) spends its share
        self.budget = None if config.budget_per_month is None else config.budget_per_month * model.sample_share
        # The launch base's mean deal proneness: the reference for weights (fixed, so conditioning shows).
        launch = c.born_day[: c.n] <= 0
        self.dp_mean = float(c.deal_proneness[: c.n][launch].mean()) if launch.any() else 0.3
        self.dp_mean = max(self.dp_mean, 1e-3)
        self.offer_depth = np.array([o.discount for o in config.personal_offers] + [0.0])
        self.offer_cap = np.array([np.inf if o.cap is None else o.cap for o in config.personal_offers] + [np.inf])
        # Promotions as horizon days; segment -1 = everyone.
        seg_names = [s.name for s in model.scenario.cfg.customers.segments]
        self.promos = []
        for p in config.promotions:
            lo = max(self.calendar.day_of(p.start), 0)
            hi = min(self.calendar.day_of(p.end), model.scenario.cfg.horizon_days - 1)
            if hi < lo:
                continue
            seg = -1 if p.segment == "all" else seg_names.index(p.segment)
            self.promos.append((lo, hi, float(p.discount), seg, p.name))
        self._event_days = sorted({d for lo, hi, *_ in self.promos for d in (lo, hi + 1)})
        for line in ("discounts_subsidised", "discounts_incremental"):
            self.ledger.open_line(self.name, line, "cost")  # both lines always show, zero or not
        self._refresh_on: dict[int, list] = {}   # day -> [idx] whose factors change that day
        self._suspended = False
        self._spent = 0.0
        self._month = None
        self._started = False
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "discounts_given", "discounts_subsidised", "discounts_incremental", "discounted_orders",
            "welcome_discounts", "promotion_discounts", "offer_discounts", "offers_sent", "offers_used",
            "deal_proneness_gain_mean", "budget_suspended_days")}

    # ------------------------------------------------------------------ state helpers
    def gain_now(self, idx, day=None):
        """Deal proneness gained from discounts, faded to today."""
        day = self.model.day if day is None else day
        g = self.gain[idx]
        hl = self.b.conditioning_half_life_days
        if hl is None:
            return g.astype(np.float64)
        return g * np.exp2(-(day - self.gain_day[idx]) / hl)

    def deal_proneness(self, idx):
        """The customer's deal proneness now: the trait plus what discounts taught them (campaigns read this)."""
        return np.minimum(self.customers.deal_proneness[idx] + self.gain_now(idx), 1.0)

    def weight(self, idx, gain=None):
        """Response weight: responsiveness x deal proneness relative to the launch base (mean about 1)."""
        c = self.customers
        dp = np.minimum(c.deal_proneness[idx] + (self.gain_now(idx) if gain is None else gain), 1.0)
        return np.minimum(c.responsiveness[idx] * dp / self.dp_mean, W_MAX)

    def receive(self, idx, depth):
        """These customers got a discount of this depth: conditioning (any mechanic's discount counts)."""
        if idx.size == 0 or self.b.conditioning == 0:
            return
        day = self.model.day
        g = self.gain_now(idx, day)
        dp = np.minimum(self.customers.deal_proneness[idx] + g, 1.0)
        g = g + self.b.conditioning * np.asarray(depth) * (1.0 - dp)
        self.gain[idx] = g
        self.gain_day[idx] = day
        self._refresh(idx)

    def deal_gain(self, depth, weight, elasticity=None):
        """Intensity gain of a deal of this depth to customers of this weight: elasticity x 0.1 x f(w x depth)."""
        e = self.b.elasticity if elasticity is None else elasticity
        return e * V_REF * response(np.asarray(depth) * weight, self.value_half)

    def _deal_depth(self, idx, day):
        if self._suspended:
            return np.zeros(idx.size)
        kind = self.offer_kind[idx]
        offer = np.where((kind >= 0) & (self.offer_until[idx] >= day), self.offer_depth[kind], 0.0)
        return np.maximum(self.promo_depth[idx], offer)

    def _refresh(self, idx):
        """Recompute this mechanic's intensity and basket factors from the customers' state."""
        if idx.size == 0:
            return
        day = self.model.day
        b = self.b
        gain = self.gain_now(idx, day)
        w = self.weight(idx, gain)
        depth = self._deal_depth(idx, day)
        on_deal = depth > 0
        inten = np.where(on_deal, 1.0 + self.deal_gain(depth, w), 1.0 / (1.0 + b.waiting * gain / self.dp_mean))
        dip_on = self.dip_until[idx] > day
        inten = np.where(dip_on, inten * (1.0 - self.dip[idx]), inten)
        self.intensity[idx] = inten
        self.basket[idx] = 1.0 + self.deal_gain(depth, w, b.basket_elasticity)
        self.changed(idx)

    def _refresh_at(self, day, idx):
        self._refresh_on.setdefault(day, []).append(idx)

    # ------------------------------------------------------------------ promotions (event-driven)
    def _promo_depth_by_segment(self, day):
        n_seg = max(len(self.customers.segment_names), 1)
        depth = np.zeros(n_seg)
        for lo, hi, d, seg, _ in self.promos:
            if lo <= day <= hi:
                if seg < 0:
                    depth = np.maximum(depth, d)
                else:
                    depth[seg] = max(depth[seg], d)
        return depth

    def _apply_promotions(self, day):
        """A promotion starts or ends today: reset everyone's promotion depth (only on these days)."""
        c = self.customers
        n = c.n
        rows = np.flatnonzero(c.present[:n])
        new = self._promo_depth_by_segment(day)[c.segment[rows]].astype(np.float32)
        old = self.promo_depth[rows]
        moved = new != old
        rows, new, old = rows[moved], new[moved], old[moved]
        if rows.size == 0:
            return
        ended = new < old
        if ended.any() and self.b.pull_forward > 0 and not self._suspended:
            # The post-promotion dip gives back pull_forward of the extra orders the deal brought:
            # dip x dip_days = pull_forward x gain x (days the deal ran), the days counted up to
            # dip_days (a pantry holds only so much: earlier extra purchases were used up meanwhile).
            e = rows[ended]
            length = np.minimum(day - self.promo_since[e], self.b.dip_days)
            w = self.weight(e)
            gain = self.deal_gain(old[ended], w) - self.deal_gain(new[ended], w)
            dip = np.minimum(self.b.pull_forward * gain * length / self.b.dip_days, self.b.max_dip)
            held = self.dip_until[e] > day
            self.dip[e] = np.where(held, np.maximum(self.dip[e], dip), dip)
            self.dip_until[e] = day + self.b.dip_days
            self._refresh_at(day + self.b.dip_days, e)
        began = (old == 0) & (new > 0)
        self.promo_since[rows[began]] = day
        self.promo_depth[rows] = new
        self._refresh(rows)

    def _suspend(self, on):
        """The month's budget is spent (on) or renewed (off): deals stop or resume for their holders."""
        if self._suspended == on:
            return
        self._suspended = on
        c = self.customers
        n = c.n
        day = self.model.day
        holders = np.flatnonzero((self.promo_depth[:n] > 0) | (self.offer_until[:n] >= day))
        self._refresh(holders)

    # ------------------------------------------------------------------ personal offers
    def _targets(self, k, offer, day):
        c = self.customers
        n = c.n
        rows = np.flatnonzero(c.present[:n])
        if offer.target == "segment":
            seg = c.segment_names.index(offer.segment)
            rows = rows[c.segment[rows] == seg]
        elif offer.target == "rfm":
            score = self.rfm_score(rows, day)
            rows = rows[(score >= offer.rfm_min) & (score <= offer.rfm_max)]
        elif offer.target == "churn_risk":
            risk = self.churn_risk(rows, day)
            keep = risk >= offer.risk_min
            if offer.risk_max is not None:
                keep &= risk <= offer.risk_max
            rows = rows[keep]
        # one personal offer at a time, and not again within the cooldown
        free = (self.offer_until[rows] < day) & (self.offer_sent[k][rows] <= day - offer.cooldown_days)
        return rows[free]

    def rfm_score(self, rows, day):
        """RFM score 3..15: quintiles of recency (recent = 5), trailing-year orders and spend, over these customers."""
        c = self.customers
        if rows.size == 0:
            return np.zeros(0, dtype=int)
        recency = -(day - c.last_order_day[rows]).astype(np.float64)
        freq = c.year_orders[rows].astype(np.float64)  # the ring's twelve months, kept as a running count
        money = c.month_spend[:, rows].sum(axis=0, dtype=np.float64)

        def quintile(x):
            return np.minimum((rankdata(x) - 0.5) * 5 // rows.size + 1, 5).astype(int)
        return quintile(recency) + quintile(freq) + quintile(money)

    def churn_risk(self, rows, day):
        """Days since the last order over the customer's own usual gap between orders (what a CRM sees).

        The usual gap is the customer's observed mean inter-order time; for one-order
        customers it is the median of the repeat buyers'.
        """
        c = self.customers
        if rows.size == 0:
            return np.zeros(0)
        since = (day - c.last_order_day[rows]).astype(np.float64)
        k = c.orders[rows]
        rep = k >= 2
        gap = np.empty(rows.size)
        gap[rep] = (c.last_order_day[rows[rep]] - c.born_day[rows[rep]]) / (k[rep] - 1)
        gap[rep] = np.maximum(gap[rep], 1.0)
        gap[~rep] = float(np.median(gap[rep])) if rep.any() else 365.0
        return since / gap

    def _send_offers(self, day):
        for k, offer in enumerate(self.config.personal_offers):
            if day < offer.first_day or (day - offer.first_day) % offer.every_days:
                continue
            if self._suspended:
                continue
            rows = self._targets(k, offer, day)
            rows = rows[reachable(self, rows)]  # an offer needs an address: members, or customers who opted in
            if rows.size == 0:
                continue
            self.offer_kind[rows] = k
            self.offer_until[rows] = day + offer.valid_days - 1
            self.offer_sent[k][rows] = day
            self._refresh_at(day + offer.valid_days, rows)
            self._refresh(rows)
            self.book("offer_contacts", offer.contact_cost * rows.size)
            self.monthly["offers_sent"][max(self.ledger.month, 0)] += rows.size

    # ------------------------------------------------------------------ hooks
    def on_arrivals(self, idx):
        if self.promos and self.model.day >= 0:
            depth = self._promo_depth_by_segment(self.model.day)[self.customers.segment[idx]]
            self.promo_depth[idx] = depth
            self.promo_since[idx] = self.model.day
            if depth.any():
                self._refresh(idx[depth > 0])

    def start_day(self, day):
        month = self.calendar.month_of(day)
        if month != self._month:
            self._month = month
            self._spent = 0.0
            if self._suspended:
                self._suspend(False)
        if not self._started:
            self._started = True
            if self.promos:
                self._apply_promotions(day)
        elif day in self._event_days:
            self._apply_promotions(day)
        due = self._refresh_on.pop(day, None)
        if due:
            self._refresh(_distinct(np.concatenate(due)))
        if self.config.personal_offers:
            self._send_offers(day)
        if self._suspended:
            self.monthly["budget_suspended_days"][max(month, 0)] += 1

    def price_orders(self, orders):
        day = orders.day
        if day < 0:
            return
        idx = orders.idx
        payable = np.maximum(orders.gross - orders.discount - orders.reward, 0.0)
        depth = np.zeros(idx.size)
        source = np.zeros(idx.size, dtype=np.int8)  # 0 none, 1 welcome, 2 promotion, 3 personal offer
        cap = np.full(idx.size, np.inf)
        if not self._suspended:
            promo = self.promo_depth[idx].astype(np.float64)
            kind = self.offer_kind[idx]
            valid = (kind >= 0) & (self.offer_until[idx] >= day)
            offer = np.where(valid, self.offer_depth[kind], 0.0)
            depth = np.maximum(promo, offer)
            source[promo > 0] = 2
            use_offer = offer > promo
            source[use_offer] = 3
            cap[use_offer] = self.offer_cap[kind[use_offer]]
            if self.welcome is not None and orders.first.any():
                new = orders.first & self._is_new(idx)
                wel = new & (self.welcome.discount > depth)
                depth[wel] = self.welcome.discount
                source[wel] = 1
                cap[wel] = np.inf if self.welcome.cap is None else self.welcome.cap
        off = np.minimum(payable * depth, cap)
        if not off.any():
            return
        if self.budget is not None:
            room = self.budget - self._spent
            over = np.cumsum(off) > room + 1e-9
            if over.any():
                off[over] = 0.0  # the budget is spent: these orders pay full price, and discounting stops
                self._suspend(True)
        given = off > 0
        if not given.any():
            return
        pos = np.flatnonzero(given)
        r = idx[pos]
        off_g = off[pos]
        orders.discount[pos] += off_g
        self._spent += float(off_g.sum())
        # subsidised share: the share of the deal-day order rate the customer had without the deal
        boost = 1.0 + self.deal_gain(depth[pos], self.weight(r))
        sub_share = np.where(source[pos] == 1, 1.0, 1.0 / boost)
        sub = float((off_g * sub_share).sum())
        total = float(off_g.sum())
        self.book("discounts_subsidised", sub)
        self.book("discounts_incremental", total - sub)
        mo = max(self.ledger.month, 0)
        s = self.monthly
        s["discounts_given"][mo] += total
        s["discounts_subsidised"][mo] += sub
        s["discounts_incremental"][mo] += total - sub
        s["discounted_orders"][mo] += r.size
        src = source[pos]
        s["welcome_discounts"][mo] += float(off_g[src == 1].sum())
        s["promotion_discounts"][mo] += float(off_g[src == 2].sum())
        s["offer_discounts"][mo] += float(off_g[src == 3].sum())
        used = r[src == 3]
        if used.size:
            # a personal offer is used once
            self.offer_kind[used] = -1
            self.offer_until[used] = FAR_PAST
            s["offers_used"][mo] += used.size
        # every discount received conditions the customer (and refreshes their factors)
        self.receive(r, depth[pos])
        if used.size and self.b.conditioning == 0:
            self._refresh(used)

    def _is_new(self, idx):
        """Acquired during the horizon (the launch base already had its first order)."""
        is_new = getattr(self.model, "is_new", None)
        if is_new is not None:
            return is_new(idx)
        return self.customers.born_day[idx] > 0

    def end_month(self, month, day):
        c = self.customers
        n = c.n
        if self.b.conditioning_half_life_days is not None:
            # the conditioning fades: bring the full-price factor of conditioned customers up to date monthly
            rows = np.flatnonzero(self.gain[:n] > 1e-4)
            self._refresh(rows)
        present = c.present[:n]
        if present.any():
            self.monthly["deal_proneness_gain_mean"][max(month, 0)] = float(
                self.gain_now(np.flatnonzero(present), day).mean())

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def summary(self):
        m = self.monthly
        given = float(m["discounts_given"].sum())
        sub = float(m["discounts_subsidised"].sum())
        return {
            "discounts_given": given,
            "discounts_subsidised": sub,
            "discounts_incremental": given - sub,
            "subsidised_share": sub / given if given else 0.0,
            "discounted_orders": float(m["discounted_orders"].sum()),
            "welcome_discounts": float(m["welcome_discounts"].sum()),
            "promotion_discounts": float(m["promotion_discounts"].sum()),
            "offer_discounts": float(m["offer_discounts"].sum()),
            "offers_sent": float(m["offers_sent"].sum()),
            "offers_used": float(m["offers_used"].sum()),
            "deal_proneness_gain_end": float(m["deal_proneness_gain_mean"][-1]),
            "budget_suspended_days": float(m["budget_suspended_days"].sum()),
        }
