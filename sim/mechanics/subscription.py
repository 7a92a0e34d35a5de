"""Paid VIP subscription: a fee per month or year (optionally after a free trial)
buys free delivery, an extra discount, a points multiplier and early access.

Joining. A customer considers the offer at checkout in a month when they are
aware of it (``awareness_per_month``: limited awareness, one draw per customer
and month). They weigh what they expect to get over a term from their own
behaviour -- expected orders (their purchase rate x term length) x (delivery
fee saved + discount x their usual basket), in money, plus the early-access
value weighted by their status seeking -- against the fee (against
``trial_hurdle`` x fee when the first month is a free trial), with log-normal
taste noise. Heavy buyers join first, which is the self-selection the
literature corrects for.

Renewal at each term end, by what the member got against what they pay. Each
member's realised value over the term (money saved on discounts and free
deliveries, the extra points at their face value, early access at its stated
worth for their status seeking; scaled to a full term) over the fee is their
value ratio rho. Members value what they got with personal taste: the log of
their own valuation is log rho + ``value_noise`` x N(0, 1), so the share who
find it worth the fee is Phi(log rho / value_noise). Those who do renew at the
published anchors, measured where members get far more than they pay: 73% of
free-trial members convert, 91% renew after the first paid year, 96% after the
second (CIRP Amazon Prime survey, 2016; Costco's 86-92% sits in the same
range). Those who do not still renew by inertia: an annual plan (or a trial
that converts itself) renews for ``inertia`` of them, the share kept by not
acting (Einav, Klopack & Mahoney 2023: a forced active renewal, when a payment
card is replaced, takes a monthly cohort from about 75% to 52%, so about 30% of
those paying stay by inertia; an annual renewal, noticed and charged
at once, keeps fewer: 0.2; direction); on a monthly plan ``act_per_month`` of
them cancel each month (DellaVigna & Malmendier 2006: gym members keep paying
2.31 months on average after their last visit, about 0.43 a month). So

    P(renew) = anchor x Phi(log rho / s) + inertia x (1 - Phi(log rho / s)),

the anchors hold where value is well above the fee, renewal falls as the fee
approaches and exceeds what members get, and nobody keeps paying for long for
less than they get back beyond what the inertia says. Monthly plans spread the
annual anchors over twelve renewals (p^(1/12)). A customer who stopped buying
still decides (forgotten subscriptions are the inertia), with rho near zero.

Behaviour while a member (trial or paid), each effect sized by what the
membership gives the customer (``sim.mechanics.value``): the delivery fee saved
over their usual basket, the discount, the extra points, and early access
(over their spend in a term, weighted by status seeking), so a membership that
gives nothing moves nothing; each size below is at the reference value (10%):
* purchase intensity x (1 + membership_lift x f(v)) x (1 + savings_lift x f(v)):
  Iyengar, Park & Yu (2022, JMR) found a large, persistent purchase lift, one
  third from the economic benefits and two thirds from membership itself (sunk
  cost), hence the 0.20 / 0.10 split; the total is a seed assumption to
  calibrate (sanity range: Prime members shop about 25 vs 14 times a year,
  CIRP, which includes self-selection);
* order splitting under free delivery: orders x (1 + order_splitting), each
  basket / (1 + order_splitting), so spend is unchanged by splitting alone
  (Guo & Liu 2023, J. Marketing: at enrolment members break large orders into
  smaller ones and spend does not rise at first; Sun et al. 2026 measure a
  smaller average order value for members);
* dropout x (1 - churn_reduction x f(v)): membership reduces churn (Guo & Liu
  2023; size a seed assumption).

Economics: fees are income when charged (cash basis, a year's fee at once for
annual plans); free delivery costs ``delivery_cost`` per member order (default
the delivery fee: the engine treats delivery as a pass-through customers pay,
so a free one is paid by the business; split orders each need a delivery);
discounts at face value; perks per member-month. The points multiplier costs
through the points mechanic's lines. When tiers also grant free delivery, this
mechanic (earlier in the day) books it once and marks ``orders.free_delivery``.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from sim.errors import ScenarioError
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import perceived, response
from sim.schema import Bool, Choice, Effect, Int, Num, NonNeg, Pos, Prob, Section

TERM_DAYS = {"month": 30, "year": 365}
CLASSES = ("trial", "first_year", "later_years")
NONE, TRIAL, PAID = 0, 1, 2
NEVER = -(2**30)


class Subscription(Mechanic):
    name = "subscription"
    LABEL = "Paid membership"
    INTENSIVE = frozenset({"trial_conversion_rate", "first_year_renewal_rate", "later_renewal_rate",
                           "orders_per_member_year", "orders_per_other_active_year", "average_check_members",
                           "average_check_others", "fee_per_member_year", "value_per_member_year"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "fees": "Membership fees",
        "discounts": "Membership discounts",
        "free_delivery": "Free delivery for members",
        "perks": "Membership perks",
    }
    SCHEMA = Section(optional=True, doc="paid VIP subscription", fields={
        "enabled": Bool(True),
        "fee": Pos(99.0, "fee per term, currency"),
        "term": Choice(tuple(TERM_DAYS), "year", "billing term: year (365 days) or month (30 days)"),
        "trial_days": Int(30, lo=0, hi=364, doc="free trial before the first paid term (0: none; CIRP measures 30-day trials)"),
        "delivery_cost": Num(None, lo=0.0, nullable=True,
                             doc="cost of a delivery to the business per member order; null: the delivery fee (pass-through)"),
        "benefits": Section(fields={
            "free_delivery": Bool(True, "members pay no delivery fee"),
            "discount": Prob(0.0, "share off every member order"),
            "earn_multiplier": Num(1.0, lo=0.0, doc="points earned x this while a member (needs points)"),
            "early_access_value": NonNeg(0.0, "money value per term of early access and status to a customer of average "
                                              "status seeking (seed assumption)"),
            "perk_cost_per_month": NonNeg(0.0, "cost of other perks (early access, events) per member per month"),
        }),
        "join": Section(fields={
            "awareness_per_month": Effect(0.25, 0.1, 0.5, hi=1.0, grade="assumption", source="seed assumption",
                                          doc="share of non-members who consider the offer in a month, at checkout"),
            "noise": Effect(0.6, 0.3, 1.0, hi=10.0, grade="assumption", source="seed assumption",
                            doc="sd of the log perceived value: idiosyncratic taste"),
            "trial_hurdle": Effect(0.5, 0.3, 1.0, lo=0.01, hi=10.0, grade="assumption", source="seed assumption",
                                   doc="with a free trial, the perceived value must beat this share of the fee"),
            "rejoin_after_days": Int(180, lo=0, hi=3650, grade="assumption",
                                     doc="a lapsed member considers again only after this many days (seed assumption)"),
        }),
        "renewal": Section(fields={
            "after_trial": Effect(0.73, 0.6, 0.85, hi=1.0, grade="measured",
                                  source="CIRP 2016 (Amazon Prime): 73% of free trials convert; "
                                  "range: other retailers' paid programmes",
                                  doc="share of free-trial members who convert to paid"),
            "after_first_year": Effect(0.91, 0.8, 0.95, hi=1.0, grade="measured",
                                       source="CIRP 2016: 91% renew after the first paid year",
                                       doc="share renewing after the first paid year"),
            "after_later_years": Effect(0.96, 0.9, 0.98, hi=1.0, grade="measured",
                                        source="CIRP 2016: 96% after two or more years",
                                        doc="share renewing after two or more paid years"),
            "value_noise": Effect(0.6, 0.3, 1.0, lo=0.05, hi=10.0, grade="assumption", source="seed assumption "
                                  "(the join decision's taste spread)",
                                  doc="sd of the log of a member's own valuation of what they got, around its money value"),
            "inertia": Effect(0.2, 0.1, 0.5, hi=1.0, grade="direction",
                              source="Einav, Klopack & Mahoney 2023 (NBER w31547): when a replaced card forces an active "
                                     "renewal, a monthly cohort's retention falls from about 75% to 52%, so about 30% "
                                     "of those paying were kept by inertia; an annual renewal comes with a notice and "
                                     "a visible charge, so fewer: the size an assumption, kept at the low side",
                              doc="annual plans and trials: share of members who got less than the fee who renew anyway"),
            "act_per_month": Effect(0.43, 0.1, 0.6, lo=0.01, hi=1.0, grade="direction",
                                    source="DellaVigna & Malmendier 2006: gym members keep paying 2.31 months after "
                                           "their last visit (1/2.31 a month); Einav et al. 2023's inattention implies "
                                           "slower (the low end); the transfer to retail an assumption",
                                    doc="monthly plans: share of members who got less than the fee who cancel each month"),
        }),
        "behaviour": Section(doc="sizes at the reference value (a 10% benefit received at once); each scales with f(v)", fields={
            "membership_lift": Effect(0.20, 0.05, 0.4, grade="direction",
                                      source="Iyengar, Park & Yu 2022: two thirds of a paid membership's "
                                      "lift comes from membership itself (total a seed assumption)",
                                      doc="intensity gain from membership itself, x f(v)"),
            "savings_lift": Effect(0.10, 0.0, 0.2, grade="direction",
                                   source="Iyengar, Park & Yu 2022: one third of the lift is the economic benefit (the "
                                   "split measured; the total, and so this size, a seed assumption)",
                                   doc="intensity gain from the savings, x f(v)"),
            "order_splitting": Effect(0.10, 0.0, 0.2, grade="direction",
                                      source="Guo & Liu 2023: members split orders under free delivery "
                                      "(size a seed assumption)", doc="with free delivery, orders x (1+s), baskets / (1+s)"),
            "churn_reduction": Effect(0.30, 0.1, 0.5, hi=1.0, grade="direction",
                                      source="Guo & Liu 2023 direction; CIRP renewal rates "
                                      "(size a seed assumption)", doc="dropout hazard x (1 - this x f(v)) while a member"),
        }),
    })
    uses = ("points",)      # a membership that multiplies points is worth those extra points
    after = ("discounts",)  # the members' discount applies to the price after any promotion
    FACTORS = ("intensity", "basket", "dropout")
    COLUMNS = (
        Column("state", np.int8, NONE),
        Column("term_end", np.int32, NEVER),
        Column("term_start", np.int32, NEVER),
        Column("paid_terms", np.int16, 0, doc="paid terms started"),
        Column("term_value", np.float64, 0.0, doc="savings realised this term"),
        Column("considered_month", np.int32, NEVER),
        Column("left_day", np.int32, NEVER),
        Column("trialled", np.bool_, False),
    )

    @classmethod
    def unfelt(cls, config) -> tuple[str, ...]:
        # an annual plan never meets the monthly chance of acting; a monthly plan without a
        # trial never meets the inertia of a once-a-year (or end-of-trial) decision
        if config.term == "year":
            return ("renewal.act_per_month",)
        return ("renewal.inertia",) if config.trial_days == 0 else ()

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        b = cfg.benefits
        if b.earn_multiplier != 1.0 and scenario_cfg.programme.get("points") is None:
            raise ScenarioError(file, f"{path}.benefits.earn_multiplier", "needs a points block in the programme")
        if b.free_delivery and scenario_cfg.economics.delivery_fee <= 0:
            raise ScenarioError(file, f"{path}.benefits.free_delivery",
                                "members would save nothing: set economics.delivery_fee > 0 (the fee customers normally pay)")
        if not b.free_delivery and b.discount == 0 and b.earn_multiplier == 1.0 and b.early_access_value == 0:
            raise ScenarioError(file, f"{path}.benefits",
                                "no benefit: set free_delivery, discount, earn_multiplier or early_access_value")

    def __init__(self, config, model):
        super().__init__(config, model)
        cfg = config
        c = self.customers
        self.fee = cfg.fee
        self.term_days = TERM_DAYS[cfg.term]
        self.monthly_plan = cfg.term == "month"
        self.b = cfg.benefits
        self.beh = cfg.behaviour
        self.delivery_fee = self.economics.delivery_fee if self.b.free_delivery else 0.0
        self.delivery_cost = (cfg.delivery_cost if cfg.delivery_cost is not None else self.economics.delivery_fee) \
            if self.b.free_delivery else 0.0
        # weights are relative to the launch base, so documented sizes hold for the average customer
        launch = np.flatnonzero(c.present[: c.n]) if c.present[: c.n].any() else np.arange(c.n)
        self._ps_mean = float(c.resp_ps) or 1.0
        self._ss_mean = float(c.status_seeking[launch].mean()) or 1.0
        self._ends: dict[int, list] = {}
        self._n_members = 0
        self._n_paid = 0
        # what paying members got, in money, against the fee they paid (the report's fee vs value line)
        self._paid_value = 0.0
        self._paid_days = 0.0
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "members_paid", "members_trial", "joins", "trials_started", "paid_starts", "cancellations",
            "fee_income", "member_orders", "member_days")}
        self.decisions = {k: np.zeros(2) for k in CLASSES}  # [decided, renewed]
        self._member_gross = 0.0
        self._member_orders = 0
        self._other_gross = 0.0
        self._other_orders = 0

    # ------------------------------------------------------------------ helpers used by other mechanics
    def is_member(self, idx):
        return self.state[idx] != NONE

    def earn_multiplier(self, idx):
        return np.where(self.state[idx] != NONE, self.b.earn_multiplier, 1.0)

    def grants_free_delivery(self, idx):
        return (self.state[idx] != NONE) & bool(self.b.free_delivery)

    # ------------------------------------------------------------------ behaviour
    def value_of(self, idx):
        """f(v) of the membership for these customers: its benefits over their own spend."""
        c = self.customers
        w = c.responsiveness[idx].astype(np.float64)
        basket = (c.spend_shape[idx] / c.spend_rate[idx]).astype(np.float64)
        v = w * (self.delivery_fee / basket + self.b.discount)
        points = self.points
        if points is not None and self.b.earn_multiplier != 1.0:
            plain = perceived(*points.reward_rate(idx, multiplier=np.ones(idx.size)), w, self.delay_half_days)
            more = perceived(*points.reward_rate(idx, multiplier=np.full(idx.size, self.b.earn_multiplier)), w,
                             self.delay_half_days)
            v = v + more - plain
        if self.b.early_access_value:
            spend_per_term = np.maximum(c.lam[idx] * basket * self.term_days, 1e-9)
            v = v + self._weights(idx)[1] * self.b.early_access_value / spend_per_term
        return response(v, self.value_half)

    def _refresh(self, idx):
        if idx.size == 0:
            return
        beh = self.beh
        member = self.state[idx] != NONE
        f = self.value_of(idx)
        split = beh.order_splitting if self.b.free_delivery else 0.0
        inten = (1.0 + beh.membership_lift * f) * (1.0 + beh.savings_lift * f) * (1.0 + split)
        self.intensity[idx] = np.where(member, inten, 1.0)
        self.basket[idx] = np.where(member, 1.0 / (1.0 + split), 1.0)
        self.dropout[idx] = np.where(member, np.maximum(1.0 - beh.churn_reduction * f, 0.05), 1.0)
        self.changed(idx)

    def ever_joined(self):
        """Who has been a member (trial or paid) at some point."""
        return self.trialled | (self.paid_terms > 0)

    def membership(self):
        return self.ever_joined()

    def _weights(self, idx):
        c = self.customers
        return c.price_sensitivity[idx] / self._ps_mean, c.status_seeking[idx] / self._ss_mean

    def _saving_per_order(self, idx):
        """What a member would save on one of their usual orders."""
        c = self.customers
        basket = c.spend_shape[idx] / c.spend_rate[idx] * c.basket_mult[idx]
        return self.delivery_fee + self.b.discount * basket

    # ------------------------------------------------------------------ joining and renewing
    def _consider(self, idx, day):
        """Non-members at checkout this month decide whether to join (returns who joined)."""
        if idx.size == 0:
            return idx
        month = self.calendar.month_of(day)
        idx = idx[(self.considered_month[idx] != month) & (self.left_day[idx] + self.config.join.rejoin_after_days <= day)]
        if idx.size == 0:
            return idx
        uid = self.customers.uid[idx]
        at_month = np.full(idx.size, month, np.uint64)
        aware = self.model.streams["subscription.aware"].uniform(uid, at_month) < self.config.join.awareness_per_month
        idx, uid, at_month = idx[aware], uid[aware], at_month[aware]
        if idx.size == 0:
            return idx
        self.considered_month[idx] = month
        value = self.expected_value(idx)
        z = self.model.streams["subscription.join"].normal(uid, at_month)
        trial = (self.config.trial_days > 0) & ~self.trialled[idx]
        hurdle = np.where(trial, self.config.join.trial_hurdle, 1.0) * self.fee
        with np.errstate(divide="ignore"):
            joins = np.log(np.maximum(value, 1e-12)) + self.config.join.noise * z > np.log(hurdle)
        idx, trial = idx[joins], trial[joins]
        if idx.size == 0:
            return idx
        mo = max(month, 0)
        self.monthly["joins"][mo] += idx.size
        t = idx[trial]
        if t.size:
            self.state[t] = TRIAL
            self.trialled[t] = True
            self._start_term(t, day, self.config.trial_days)
            self.monthly["trials_started"][mo] += t.size
        p = idx[~trial]
        if p.size:
            self._start_paid(p, day)
        self._n_members += idx.size
        self._refresh(idx)
        return idx

    def expected_value(self, idx):
        """What these customers expect a term to give them, in money, from their own buying: their
        purchase rate x term length x what one of their usual orders would save, plus early access
        at its worth to their status seeking. Heavy buyers expect more, and join first."""
        expected_orders = self.customers.rate[idx].astype(np.float64) * self.term_days
        return expected_orders * self._saving_per_order(idx) + self.b.early_access_value * self._weights(idx)[1]

    def _start_term(self, idx, day, length):
        self.term_start[idx] = day
        self.term_end[idx] = day + length
        self.term_value[idx] = 0.0
        self._ends.setdefault(day + length, []).append(idx)

    def _start_paid(self, idx, day):
        self._n_paid += int((self.state[idx] != PAID).sum())
        self.state[idx] = PAID
        self.paid_terms[idx] += 1
        self._start_term(idx, day, self.term_days)
        fees = self.fee * idx.size
        self.book("fees", fees, "income")
        if self.b.early_access_value and day >= 0:  # early access, at its stated worth to each member, per paid term
            self._paid_value += float(self.b.early_access_value * self._weights(idx)[1].sum())
        mo = max(self.calendar.month_of(day), 0)
        self.monthly["fee_income"][mo] += fees
        self.monthly["paid_starts"][mo] += idx.size

    def _renewals(self, day):
        due = self._ends.pop(day, None)
        if not due:
            return
        idx = np.unique(np.concatenate(due))
        idx = idx[(self.term_end[idx] == day) & (self.state[idx] != NONE)]
        if idx.size == 0:
            return
        r = self.config.renewal
        trial = self.state[idx] == TRIAL
        first_year = ~trial & (self.paid_terms[idx] <= (12 if self.monthly_plan else 1))
        later = ~trial & ~first_year
        rho = self.value_ratio(idx, day)
        p = np.empty(idx.size)
        for m, anchor in ((trial, r.after_trial), (first_year, r.after_first_year), (later, r.after_later_years)):
            if not m.any():
                continue
            if self.monthly_plan and m is not trial:
                # the annual anchor spread over twelve monthly renewals; a member who got less
                # than the fee cancels this month with the monthly chance of acting
                p[m] = self.renewal_probability(rho[m], anchor ** (1.0 / 12.0), 1.0 - r.act_per_month, r.value_noise)
            else:
                p[m] = self.renewal_probability(rho[m], anchor, r.inertia, r.value_noise)
        u = self.model.streams["subscription.renew"].uniform(self.customers.uid[idx], np.full(idx.size, day, np.uint64))
        renew = u < p
        for key, m in (("trial", trial), ("first_year", first_year), ("later_years", later)):
            self.decisions[key] += (m.sum(), (m & renew).sum())
        if renew.any():
            self._start_paid(idx[renew], day)
        gone = idx[~renew]
        if gone.size:
            self._n_paid -= int((self.state[gone] == PAID).sum())
            self.state[gone] = NONE
            self.term_end[gone] = NEVER
            self.left_day[gone] = day
            self._n_members -= gone.size
            self.monthly["cancellations"][max(self.calendar.month_of(day), 0)] += gone.size
            self._refresh(gone)

    def value_ratio(self, idx, day):
        """What these members got over the term that ends today (scaled to a full term; the order at
        which they joined left out, so a short term is not judged by it), over the fee. A free trial
        is too short to judge by its few orders: trial members judge by what they expect from their
        own buying, as when they joined."""
        length = np.maximum(day - self.term_start[idx], 1).astype(np.float64)
        value = self.term_value[idx] * (self.term_days / length) + self.b.early_access_value * self._weights(idx)[1]
        trial = self.state[idx] == TRIAL
        if trial.any():
            value[trial] = self.expected_value(idx[trial])
        return value / self.fee

    @staticmethod
    def renewal_probability(rho, anchor, inertia, noise):
        """P(renew) = anchor x Phi(log rho / s) + inertia x (1 - Phi(log rho / s)).

        Phi(log rho / s) is the share of members with value ratio rho whose own valuation
        (log-normal with sd ``noise`` around rho) reaches the fee: they renew at the
        published anchor; the others renew only by not acting (``inertia``).
        """
        with np.errstate(divide="ignore"):
            worth = ndtr(np.log(np.maximum(rho, 0.0)) / noise)
        return anchor * worth + inertia * (1.0 - worth)

    # ------------------------------------------------------------------ hooks
    def start_day(self, day):
        self._renewals(day)

    def price_orders(self, orders):
        idx = orders.idx
        state = self.state[idx]
        non = state == NONE
        joined = idx[:0]
        if non.any():
            joined = self._consider(idx[non], orders.day)
            if joined.size:
                state = self.state[idx]
        mem = state != NONE
        if orders.day >= 0:
            self._other_orders += int((~mem).sum())
            self._other_gross += float(orders.gross[~mem].sum())
        if not mem.any():
            return
        pos = np.flatnonzero(mem)
        r = idx[pos]
        saved = np.zeros(pos.size)
        if self.b.discount:
            off = (orders.gross[pos] - orders.discount[pos]) * self.b.discount
            orders.discount[pos] += off
            saved += off
            self.book("discounts", float(off.sum()))
        if self.b.free_delivery:
            free = ~orders.free_delivery[pos]
            orders.free_delivery[pos] = True
            saved += self.delivery_fee * free
            self.book("free_delivery", self.delivery_cost * int(free.sum()))
        points = self.points
        if points is not None and self.b.earn_multiplier != 1.0:
            paid = orders.gross[pos] - orders.discount[pos]
            extra = (self.b.earn_multiplier - 1.0) * (points.config.earn_per_currency * paid + points.config.earn_per_order)
            saved += np.maximum(extra, 0.0) * points.value * points.member[r]  # only points members earn them
        first = np.isin(r, joined) if joined.size else None
        self.term_value[r] += saved if first is None else np.where(first, 0.0, saved)  # not the joining order
        if orders.day >= 0:
            self._paid_value += float(saved[self.state[r] == PAID].sum())
        if orders.day >= 0:
            self.monthly["member_orders"][max(self.ledger.month, 0)] += pos.size
            self._member_orders += pos.size
            self._member_gross += float(orders.gross[pos].sum())

    def end_day(self, day):
        if day >= 0:
            self.monthly["member_days"][self.calendar.month_of(day)] += self._n_members
            self._paid_days += float(self._n_paid)

    def end_month(self, month, day):
        mo = max(month, 0)
        n = self.customers.n
        st = self.state[:n]
        paid = int((st == PAID).sum())
        trial = int((st == TRIAL).sum())
        self.monthly["members_paid"][mo] = paid
        self.monthly["members_trial"][mo] = trial
        if self.b.perk_cost_per_month:
            self.book("perks", self.b.perk_cost_per_month * (paid + trial))

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def summary(self):
        m = self.monthly

        def rate(key):
            d, r = self.decisions[key]
            return float(r / d) if d else float("nan")
        member_years = float(m["member_days"].sum()) / 365.0
        model = self.model
        active_years = float(model.monthly["active_end"].mean()) * model.scenario.cfg.horizon_days / 365.0
        other_years = max(active_years - member_years, 1e-9)
        return {
            "members_end": float(m["members_paid"][-1] + m["members_trial"][-1]),
            "paid_members_end": float(m["members_paid"][-1]),
            "joins": float(m["joins"].sum()),
            "trials_started": float(m["trials_started"].sum()),
            "cancellations": float(m["cancellations"].sum()),
            "fee_income": float(m["fee_income"].sum()),
            "trial_conversion_rate": rate("trial"),
            "first_year_renewal_rate": rate("first_year") ** (12 if self.monthly_plan else 1),
            "later_renewal_rate": rate("later_years") ** (12 if self.monthly_plan else 1),
            "renewal_decisions": {k: float(v[0]) for k, v in self.decisions.items()},
            "orders_per_member_year": self._member_orders / member_years if member_years else float("nan"),
            "orders_per_other_active_year": self._other_orders / other_years,
            "average_check_members": self._member_gross / self._member_orders if self._member_orders else float("nan"),
            "average_check_others": self._other_gross / self._other_orders if self._other_orders else float("nan"),
            # per paid member-year: the fee (at the plan's price) against what members got back in money
            "fee_per_member_year": self.fee * 365.0 / self.term_days,
            "value_per_member_year": self._paid_value / (self._paid_days / 365.0) if self._paid_days else float("nan"),
            "paid_member_years": self._paid_days / 365.0,
        }
