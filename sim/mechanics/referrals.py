"""Referrals: customers bring friends; the referrer earns a bonus, the friend a
discount on the first order; the referral tree is kept.

Who refers. At each order a customer may bring a friend who joins (a
successful referral) the programme caused, with probability ``rate_per_order``
x advocacy weight (the customer's advocacy trait over the base's mean) x
exp(satisfaction_effect x satisfaction) (promoters refer and detractors do
not, Reichheld 2003; satisfaction is written by the service desk, neutral 0
without it) x f(v), v = the incentives on offer (bonus + friend discount) over
the average check, weighted by price sensitivity: the value form every effect
follows (sim.mechanics.value; rewards raise referral likelihood, Ryu & Feick
2007). A programme whose incentives are worth nothing brings no referrals:
word of mouth without one is already in the base's own acquisition, in both
arms. ``rate_per_order`` is the rate at incentives worth 10% of an order, x
the scenario's ``response.referrals`` strength.

Who arrives. The friend is a new customer the next day, with a uid that is a
hash of the referrer's uid and referral count (top bit set: never an organic
uid), the referrer's segment, and traits drawn as usual then blended
``similarity`` of the way toward the referrer's (homophily: referrer-referral
dyads share unobservables, Van den Bulte, Bayer, Skiera & Schmitt 2018):
purchase rate, spend and the behavioural traits, but not the dropout hazard,
which stays the friend's own (their retention edge is the referrer's social
enrichment, below, not matching).

What a referred customer is worth (Schmitt, Skiera & Van den Bulte 2011, J.
Marketing: referred customers are at least 16% more valuable; their margins
start about 25% higher and the edge erodes; they are 18% less likely to leave,
and that edge persists):
* margin edge: basket x (1 + margin_edge x exp(-age / margin_fade_days));
* retention edge: dropout hazard x (1 - retention_edge), but only while the
  referrer is still a customer (alive): referrals churn less only as long as
  their referrer has not churned (Van den Bulte et al. 2018, social
  enrichment). The edge goes when the referrer drops out and returns if the
  referrer is won back.

Abuse: a share ``abuse_rate`` of referrals are self-referrals: the bonus and
the friend discount are paid, and the "friend" is a fake account that buys
once and never again (Schmitt et al. 2011 note abuse by opportunistic
referrers).

Economics: bonuses and friend discounts at face value. The paid-acquisition
cost the referred customers would otherwise have needed
(``customers.acquisition.cost_per_customer``) is reported in the summary as a
saving, not booked: the baseline never paid it.
"""
from __future__ import annotations

import numpy as np

from sim.customers import TRAIT_NAMES
from sim.errors import ScenarioError
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import response
from sim.schema import Bool, Effect, Int, NonNeg, Section

TOP_BIT = np.uint64(1 << 63)  # referred customers' uids: disjoint from organic uids (< 2^63)
BLENDED = ("lam", "spend_rate") + TRAIT_NAMES  # dropout hazards are the friend's own (see _refer)


class Referrals(Mechanic):
    name = "referrals"
    LABEL = "Referrals"
    INTENSIVE = frozenset({"cost_per_referred_customer", "max_generation", "spend_per_year_referred", "spend_per_year_acquired",
                           "spend_ratio_referred_vs_acquired", "alive_share_referred", "alive_share_acquired"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "referrer_bonuses": "Referrer bonuses",
        "friend_discounts": "Discounts for referred friends",
    }
    SCHEMA = Section(optional=True, doc="customer referral programme", fields={
        "enabled": Bool(True),
        "referrer_bonus": NonNeg(50.0, "paid to the referrer when the friend places a first order, currency"),
        "friend_discount": NonNeg(50.0, "money off the friend's first order, currency"),
        "rate_per_order": Effect(0.02, 0.005, 0.04, hi=1.0, grade="assumption",
                                 source="seed assumption (no published dose-response of referral "
                                 "incentives; Ryu & Feick 2007: rewards raise referral likelihood)",
                                 doc="chance an order brings a friend, for average advocacy, neutral satisfaction and "
                                     "incentives worth 10% of an order"),
        "max_per_customer": Int(None, lo=1, hi=100000, nullable=True,
                                doc="most referrals one customer can make (a cap on bonuses)"),
        "abuse_rate": Effect(0.03, 0.0, 0.1, hi=1.0, grade="assumption",
                             source="seed assumption (Schmitt et al. 2011 note opportunistic referrers)",
                             doc="share of referrals that are self-referrals: paid, but a fake customer who never buys again"),
        "behaviour": Section(fields={
            "satisfaction_effect": Effect(1.0, 0.0, 2.0, grade="direction",
                                          source="Reichheld 2003 direction (size a seed assumption)",
                                          doc="referral rate x exp(k x satisfaction): promoters refer, detractors do not"),
            "similarity": Effect(0.5, 0.2, 0.8, hi=1.0, grade="direction",
                                 source="Van den Bulte et al. 2018: referrer and referral share "
                                 "unobservables (homophily; size a seed assumption)",
                                 doc="friend's traits blended this far toward the referrer's"),
            "retention_edge": Effect(0.18, 0.1, 0.26, hi=1.0, grade="direction",
                                     source="Schmitt, Skiera & Van den Bulte 2011: referred customers have a higher "
                                     "retention rate, and the gap persists (82% vs 79.2% still customers; in this model's form, "
                                     "where the edge lasts only while the referrer stays, the size an assumption); "
                                     "Van den Bulte et al. 2018: only while the referrer stays",
                                     doc="dropout hazard x (1 - edge) while the referrer stays"),
            "margin_edge": Effect(0.25, 0.1, 0.4, grade="direction",
                                  source="Schmitt et al. 2011: higher contribution margins at first, eroding; referred "
                                  "customers at least 16% more valuable, margin and retention together, so the initial "
                                  "margin edge's size a seed assumption",
                                  doc="basket x (1 + edge), fading"),
            "margin_fade_days": Effect(365.0, 180.0, 900.0, lo=1.0, hi=36500.0,
                                       grade="direction",
                                       source="Schmitt et al. 2011: the margin edge erodes over their 33 months (the "
                                              "e-folding time a seed assumption)",
                                       doc="e-folding time of the margin edge, days"),
        }),
    })
    # the friend's discount is what is left of it after every other price reduction
    after = ("discounts", "subscription", "tiers", "points", "campaigns")
    FACTORS = ("dropout", "basket")
    COLUMNS = (
        Column("referrer", np.int64, -1, doc="slot of the customer who referred this one"),
        Column("made", np.int32, 0, doc="referrals this customer has made"),
        Column("fake", np.bool_, False),
    )

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        if cfg.rate_per_order == 0:
            raise ScenarioError(file, f"{path}.rate_per_order", "got 0; nobody would refer (disable the block instead)")

    def __init__(self, config, model):
        super().__init__(config, model)
        c = self.customers
        self.b = config.behaviour
        self._kids = np.empty(1024, dtype=np.int64)              # referred customers' slots ...
        self._kid_ref = np.empty(1024, dtype=np.int64)           # ... and their referrers' slots
        self._n_kids = 0
        launch = np.flatnonzero(c.present[: c.n]) if c.present[: c.n].any() else np.arange(c.n)
        self._adv_mean = float(c.advocacy[launch].mean()) or 1.0
        self._ps_mean = float(c.resp_ps) or 1.0
        self.average_check = float(c.mean_order_value(launch).mean()) if launch.size else 1.0
        self.strength = model.scenario.cfg.response.referrals  # the scenario's response strength for referrals
        self.n_launch = model.scenario.cfg.customers.initial  # organic uids below this are the launch base
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "referrals", "referred_arrivals", "fake_arrivals", "referrer_bonuses", "friend_discounts")}

    # ------------------------------------------------------------------ who refers
    def _propensity(self, idx):
        c = self.customers
        b = self.b
        p = self.config.rate_per_order * self.strength * c.advocacy[idx] / self._adv_mean
        if b.satisfaction_effect:
            p = p * np.exp(b.satisfaction_effect * c.satisfaction[idx])
        incentive = self.config.referrer_bonus + self.config.friend_discount
        v = incentive / self.average_check * c.price_sensitivity[idx] / self._ps_mean
        return np.minimum(p * response(v, self.value_half), 1.0)

    def _refer(self, r, day):
        """Customers r each bring one friend, who arrives tomorrow."""
        c = self.customers
        model = self.model
        count = self.made[r].astype(np.uint64)
        self.made[r] += 1
        ref_uid = c.uid[r]
        uids = model.streams["referrals.uid"].bits(ref_uid, count) | TOP_BIT
        fake = model.streams["referrals.abuse"].uniform(ref_uid, count) < self.config.abuse_rate
        seg = c.segment[r]
        new = model.new_customers(uids, segment_of=seg)  # may grow the arrays: read them afterwards
        c = self.customers
        c.born_day[new] = day + 1
        s = self.b.similarity
        if s:
            # Homophily shapes what friends buy (better matching: Van den Bulte et al. 2018 find
            # shared unobservables in margins), not how soon they leave: their retention edge is
            # social enrichment, below. So the friend keeps their own calendar dropout hazard;
            # BG/NBD dropout is per order, so p is rescaled to the blended purchase rate.
            hazard = c.p_drop[new] * c.lam[new]
            for name in BLENDED:
                col = getattr(c, name)
                col[new] = (1.0 - s) * col[new] + s * col[r]
            bg = c.lam[new] > 0
            c.p_drop[new[bg]] = np.minimum(hazard[bg] / c.lam[new[bg]], 1.0)
            c.set_responsiveness(new, c.resp_ps, c.resp_lam)
            c.responsiveness[new] /= c.resp_norm
        c.lam[new[fake]] = 0.0  # a fake account: one (discounted) order, never another
        self.referrer[new] = r
        self.fake[new] = fake
        self._add_kids(new, r)
        model.add_arrivals(new)
        mo = max(self.ledger.month, 0)
        self.monthly["referrals"][mo] += r.size

    def _add_kids(self, kids, refs):
        k = self._n_kids + kids.size
        if k > self._kids.size:
            cap = max(k, 2 * self._kids.size)
            self._kids = np.resize(self._kids, cap)
            self._kid_ref = np.resize(self._kid_ref, cap)
        self._kids[self._n_kids:k] = kids
        self._kid_ref[self._n_kids:k] = refs
        self._n_kids = k

    def children_of(self, idx):
        """Slots of the customers referred by these customers."""
        kids = self._kids[: self._n_kids]
        return kids[np.isin(self._kid_ref[: self._n_kids], idx)]

    # ------------------------------------------------------------------ what referred customers are worth
    def _refresh(self, idx, day):
        if idx.size == 0:
            return
        c = self.customers
        b = self.b
        ref = self.referrer[idx]
        referred = (ref >= 0) & ~self.fake[idx]
        referrer_stays = referred & c.alive[np.maximum(ref, 0)]
        self.dropout[idx] = np.where(referrer_stays, 1.0 - b.retention_edge, 1.0)
        age = np.maximum(day - c.born_day[idx], 0)
        self.basket[idx] = np.where(referred, 1.0 + b.margin_edge * np.exp(-age / b.margin_fade_days), 1.0)
        self.changed(idx)

    # ------------------------------------------------------------------ hooks
    def on_arrivals(self, idx):
        if not self._n_kids:
            return
        ref = self.referrer[idx]
        if not (ref >= 0).any():
            return
        kids = idx[ref >= 0]
        self._refresh(kids, self.model.day)
        mo = max(self.ledger.month, 0)
        fake = self.fake[kids]
        self.monthly["referred_arrivals"][mo] += int((~fake).sum())
        self.monthly["fake_arrivals"][mo] += int(fake.sum())

    def price_orders(self, orders):
        if not self._n_kids or not orders.first.any():
            return
        pos = np.flatnonzero(orders.first & (self.referrer[orders.idx] >= 0))
        if pos.size == 0:
            return
        mo = max(self.ledger.month, 0)
        if self.config.friend_discount:
            off = np.minimum(self.config.friend_discount, orders.gross[pos] - orders.discount[pos] - orders.reward[pos])
            off = np.maximum(off, 0.0)
            orders.discount[pos] += off
            self.book("friend_discounts", float(off.sum()))
            self.monthly["friend_discounts"][mo] += float(off.sum())
        if self.config.referrer_bonus:
            bonus = self.config.referrer_bonus * pos.size
            self.book("referrer_bonuses", bonus)
            self.monthly["referrer_bonuses"][mo] += bonus

    def after_orders(self, orders):
        idx = orders.idx
        ok = ~self.fake[idx]
        if self.config.max_per_customer is not None:
            ok &= self.made[idx] < self.config.max_per_customer
        cand = idx[ok]
        if cand.size == 0:
            return
        c = self.customers
        u = self.model.streams["referrals.refer"].uniform(c.uid[cand], c.orders[cand].astype(np.uint64))
        r = cand[u < self._propensity(cand)]
        if r.size:
            self._refer(r, orders.day)

    def on_dropouts(self, idx):
        self._referrers_changed(idx)

    def on_revivals(self, idx):
        self._referrers_changed(idx)

    def _referrers_changed(self, idx):
        """The retention edge of these customers' referrals goes (or comes back) with them."""
        if not self._n_kids:
            return
        idx = idx[self.made[idx] > 0]
        if idx.size:
            self._refresh(self.children_of(idx), self.model.day)

    def end_month(self, month, day):
        if not self._n_kids:
            return
        # the margin edge fades: refresh referred customers whose edge is still material
        kids = self._kids[: self._n_kids]
        young = kids[self.customers.born_day[kids] > day - 5 * self.b.margin_fade_days]
        self._refresh(young, day)

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def _roots(self, kids):
        """For each referred customer, the first customer up the tree who was not referred."""
        root = self.referrer[kids]
        gen = np.ones(kids.size, dtype=np.int64)
        while True:
            up = self.referrer[root]
            more = up >= 0
            if not more.any():
                return root, gen
            root = np.where(more, up, root)
            gen += more

    def summary(self):
        c = self.customers
        model = self.model
        n_months = model.n_months
        kids = self._kids[: self._n_kids]
        kids = kids[c.present[kids]]  # arrived (a referral made on the last day arrives after the horizon)
        real = kids[~self.fake[kids]]
        refs = self.referrer[real]
        launch_base = c.uid < np.uint64(self.n_launch)
        referred = self.referrer >= 0

        horizon = model.scenario.cfg.horizon_days
        month_by_day = np.array([self.calendar.month_of(d) for d in range(horizon)], dtype=np.int64)

        def month_of(rows):  # the month a customer arrived in (launch base: month 0)
            return month_by_day[np.clip(c.born_day[rows], 0, horizon - 1)]

        roots, gen = self._roots(real) if real.size else (np.empty(0, np.int64), np.empty(0, np.int64))
        direct_acq = refs[~launch_base[refs] & ~referred[refs]]
        total_acq = roots[~launch_base[roots]]
        by_month_direct = np.bincount(month_of(direct_acq), minlength=n_months)[:n_months]
        by_month_total = np.bincount(month_of(total_acq), minlength=n_months)[:n_months]
        window = model.window
        last_day = model.day - 1
        active = c.last_order_day[real] > last_day - window
        bonus = float(self.monthly["referrer_bonuses"].sum())
        disc = float(self.monthly["friend_discounts"].sum())
        saved = real.size * model.scenario.cfg.customers.acquisition.cost_per_customer
        # referred against paid/organic new customers of the horizon: spend per year of tenure and survival
        # (a check against Schmitt et al. 2011: referred customers at least 16% more valuable)
        n = c.n
        tenure = np.maximum(model.day - c.born_day[:n], 1).astype(np.float64)
        acquired = c.present[:n] & ~referred[:n] & ~launch_base[:n]
        is_real = np.zeros(n, dtype=bool)
        is_real[real] = True

        def per_year(mask):
            return float(c.horizon_spend[:n][mask].sum() / tenure[mask].sum() * 365.0) if mask.any() else float("nan")
        spend_ref, spend_acq = per_year(is_real), per_year(acquired)
        return {
            "referrals": float(self.monthly["referrals"].sum()),
            "referred_customers": float(real.size),
            "fake_referrals": float(kids.size - real.size),
            "referred_active_end": float(active.sum()),
            "referred_alive_end": float(c.alive[real].sum()),
            "referrer_bonuses": bonus,
            "friend_discounts": disc,
            "cost_per_referred_customer": (bonus + disc) / real.size if real.size else float("nan"),
            "acquisition_cost_saved": float(saved),
            "brought_in_by": {
                "launch_base": {"direct": float(launch_base[refs].sum()), "total": float(launch_base[roots].sum())},
                "acquired": {"direct": float(direct_acq.size), "total": float(total_acq.size)},
                "referred": {"direct": float(referred[refs].sum())},
            },
            "direct_by_acquired_month": by_month_direct.astype(float).tolist(),
            "total_by_acquired_month": by_month_total.astype(float).tolist(),
            "max_generation": float(gen.max()) if gen.size else 0.0,
            "spend_per_year_referred": spend_ref,
            "spend_per_year_acquired": spend_acq,
            "spend_ratio_referred_vs_acquired": spend_ref / spend_acq if acquired.any() and real.size and spend_acq
            else float("nan"),
            "alive_share_referred": float(c.alive[real].mean()) if real.size else float("nan"),
            "alive_share_acquired": float(c.alive[:n][acquired].mean()) if acquired.any() else float("nan"),
        }
