"""Campaigns: automated CRM chains (welcome series, post-purchase follow-up,
abandoned-cart / browse reminders, win-back, birthday, membership anniversary),
each a triggered message with an offer or none.

How a chain works, every day, in ``start_day`` (so a response can pull a
purchase into today with ``model.trigger_orders``):

* triggers queue messages: a first order queues the welcome series, every order
  a post-purchase follow-up and a win-back check ``delay_days`` later (sent only
  if no order came since), a browse without a purchase queues a reminder,
  birthdays (a day of the year drawn per customer) and first-order anniversaries
  come round every year. Browsing is a per-customer stream of sessions at
  ``browse_per_order`` times the customer's purchase rate: the Baymard
  Institute's ~70% average cart abandonment is 0.7 / 0.3 = 2.3 abandoned
  sessions per completed order.
* a message reaches present customers who can be reached (members of the
  programme or of a paid membership, and the customers who opted in to e-mail:
  ``customers.contact.email_opt_in``, sim.mechanics.contact) and have not
  unsubscribed, in the chain's
  target (tiers, segments), within the chain's monthly budget and under the
  frequency cap (at most ``frequency_cap`` messages per customer per
  ``cap_window_days`` across all chains). Dropped-out customers are messaged too:
  the CRM cannot tell them from the merely quiet.
* response: the customer buys today with probability
  ``response x responsiveness x (1 + offer_elasticity x 0.1 x f(depth x deal weight)) x fatigue``
  (the offer's pull in the value form of sim.mechanics.value: elasticity x depth
  x deal weight at a 10% offer, saturating for deeper ones), x the scenario's
  ``response.campaigns`` strength
  (x a recency decay for win-back), capped at 0.95. Responsiveness (mean 1)
  carries price sensitivity and the light-buyer effect; the deal weight is deal
  proneness over the launch base's mean (conditioned by discounts when that
  mechanic runs). Default response rates are the placed-order rates of
  automated e-mail flows (Klaviyo 2024 benchmark report: 1.71% median over all
  flows, 2.32% for welcome flows); they are attributed, not incremental, rates,
  so treat them as an upper end.
* win-back reaches customers who stopped buying, the latent dropped-out ones
  included: a responder who had dropped out is revived (``model.revive``) and
  buys. The response halves every ``response_half_life_days`` of gap beyond
  ``delay_days``: recency is the strongest predictor of response in direct
  marketing (RFM practice; Bult & Wansbeek 1995), and the longer customers have
  been gone the less likely they are to come back (Thomas, Blattberg & Fox 2004,
  JMR); the half-life is a seed assumption.
* fatigue: each customer carries a contact pressure (messages, fading with a
  ``memory_days`` time constant). Above ``free_messages`` (4 a month: Mapp
  Digital 2016, 40% of consumers prefer weekly marketing e-mail), the response
  falls, x 1 / (1 + response x excess), the unsubscribe risk rises from the
  per-message base of 0.26% (Mailchimp e-mail benchmarks) by x (1 + unsubscribe
  x excess) (a quarter of unsubscribers leave because of too many e-mails,
  MarketingSherpa 2016), and dropout hazard rises slightly, x (1 + dropout x
  excess), while the pressure lasts. Sizes are seed assumptions.
* offers: a message may carry money off one order, valid ``valid_days``. It is
  used on the next order in that time, whether the message caused it or not:
  the offer cost is booked when used, as ``offers_incremental`` on the order the
  message brought (the responder's order today) and ``offers_subsidised`` on any
  other. Every offer used conditions the customer through the discounts
  mechanic when it runs. Birthday and anniversary chains grant ``bonus_points``
  when a points programme runs (costed there, as points), else their offer.

Economics: contact cost per message sent (``contact``), offers when used; each
chain has a monthly budget (contact and offer costs): once spent, the chain
sends nothing more that month; offers already sent stay valid and are booked
when used, so a month can overrun by what earlier messages promised.
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.contact import reachable
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import V_REF, response
from sim.schema import Bool, Choice, Effect, Int, ListOf, NonNeg, Num, Section, Str

FAR_PAST = -(2**30)
TRIGGERS = ("welcome", "post_purchase", "reminder", "win_back", "birthday", "anniversary")

# Default response per message, by trigger (see the module docstring for sources).
DEFAULT_RESPONSE = {
    "welcome": 0.023,        # Klaviyo 2024: welcome flow placed-order rate 2.32%
    "post_purchase": 0.010,  # seed: below the 1.71% median of all flows (Klaviyo 2024)
    "reminder": 0.030,       # seed: abandoned-cart flows convert about 3% of recipients (Klaviyo benchmarks)
    "win_back": 0.020,       # seed: at the delay; halves with every half-life of further gap
    "birthday": 0.025,       # seed
    "anniversary": 0.020,    # seed
}
GAP_EDGES = (0, 30, 90, 180, 365, 730)  # win-back response recorded by days past the delay

def _distinct(idx):
    """Sorted distinct rows: sort and compare neighbours (numpy 2.x's hash-based unique is far slower)."""
    idx = np.sort(idx)
    return idx[np.r_[True, idx[1:] != idx[:-1]]] if idx.size else idx


def _groups(sorted_keys):
    """(key, slice) for each run of equal keys in a sorted array."""
    if sorted_keys.size == 0:
        return
    cut = np.flatnonzero(np.diff(sorted_keys)) + 1
    for lo, hi in zip(np.r_[0, cut], np.r_[cut, sorted_keys.size]):
        yield int(sorted_keys[lo]), slice(int(lo), int(hi))


CHAIN = Section(doc="an automated chain of messages", fields={
    "name": Str(doc="chain name"),
    "trigger": Choice(TRIGGERS, doc="what starts the chain"),
    "delay_days": Int(1, lo=0, hi=3650, doc="days from the trigger to the first message (win_back: days without an order)"),
    "messages": Int(1, lo=1, hi=20, doc="messages in the series (win_back: attempts while the customer stays away)"),
    "interval_days": Int(7, lo=1, hi=3650, doc="days between messages of the series"),
    "response": Num(None, lo=0.0, hi=1.0, nullable=True,
                    doc="chance a message makes the average customer buy today; null: the trigger's default "
                        "(Klaviyo 2024 flow benchmarks, seeds)"),
    "response_half_life_days": Effect(180.0, 90.0, 365.0, lo=1.0, hi=1e12,
                                      grade="direction",
                                      source="Thomas, Blattberg & Fox 2004 direction (the half-life a seed assumption)",
                                      doc="win_back: response halves per this many days of gap beyond delay_days"),
    "browse_per_order": Effect(2.3, 1.5, 3.0, hi=100.0, grade="measured", source="Baymard Institute: ~70% of carts abandoned "
                               "(0.7 / 0.3 = 2.3 per completed order); range across their studies",
                               doc="reminder: sessions without a purchase per completed order"),
    "contact_cost": NonNeg(0.02, "cost per message sent (e-mail/push platform; seed)"),
    "offer": Section(optional=True, doc="money off the next order, valid for a while", fields={
        "discount": Num(0.10, lo=0.0, hi=1.0, lo_open=True, doc="share off one order"),
        "cap": Num(None, lo=0.0, nullable=True, doc="most money off the order"),
        "valid_days": Int(14, lo=1, hi=365, doc="days the offer can be used"),
    }),
    "bonus_points": NonNeg(0.0, "birthday/anniversary: points granted to points members (instead of the offer)"),
    "target": Section(doc="who the chain reaches (empty: everyone)", fields={
        "tiers": ListOf(item=Str(doc="tier name"), doc="tier names (needs a tiers block)"),
        "segments": ListOf(item=Str(doc="segment name"), doc="segment names from customers.segments"),
    }),
    "budget_per_month": Num(None, lo=0.0, nullable=True,
                            doc="once the chain's contacts and offers used reach this in a month, "
                                "it sends nothing more that month "
                                "(offers already out stay valid)"),
})


class Campaigns(Mechanic):
    name = "campaigns"
    LABEL = "Campaigns"
    INTENSIVE = frozenset({"response_rate", "win_back_gap_days", "win_back_response_by_gap"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "offers_incremental": "Campaign offers on extra orders",
        "offers_subsidised": "Campaign offers on orders that would have happened anyway",
        "contact": "Campaign contacts",
    }
    SCHEMA = Section(optional=True, doc="campaigns: automated CRM chains with offers, frequency cap and fatigue", fields={
        "enabled": Bool(True),
        "chains": ListOf(item=CHAIN, min_len=1, doc="the chains, sent in this order each day"),
        "frequency_cap": Int(4, lo=1, hi=60, nullable=True,
                             doc="most messages per customer per cap window across all chains; null: no cap"),
        "cap_window_days": Int(30, lo=1, hi=365, doc="the frequency cap's window"),
        "offer_elasticity": Effect(1.75, 1.0, 2.5, grade="measured",
                                   source="as discounts.behaviour.elasticity: Bijmolt, van Heerde & Pieters 2005, mean price "
                                   "elasticity -2.62, less the brand-switching third",
                                   doc="response x (1 + e x 0.1 x f(depth x deal weight))"),
        "fatigue": Section(fields={
            "free_messages": Effect(4.0, 2.0, 8.0, hi=1000.0, grade="direction",
                                    source="Mapp Digital 2016: 40% of consumers prefer weekly marketing e-mail (a stated "
                                    "preference: the threshold's size a seed assumption)",
                                    doc="contact pressure (messages within about memory_days) before fatigue"),
            "memory_days": Effect(30.0, 14.0, 60.0, lo=1.0, hi=3650.0, grade="assumption",
                                  source="seed assumption (about a month)",
                                  doc="contact pressure fades with this time constant, days"),
            "response": Effect(0.25, 0.1, 0.5, hi=100.0, grade="assumption", source="seed assumption",
                               doc="response x 1/(1 + k x messages above free)"),
            "unsubscribe_rate": Effect(0.0026, 0.001, 0.005, hi=1.0, grade="measured",
                                       source="Mailchimp e-mail benchmarks: 0.26% per "
                                       "message; range across industries", doc="chance a message makes the customer unsubscribe"),
            "unsubscribe": Effect(0.5, 0.2, 1.0, hi=100.0, grade="direction",
                                  source="MarketingSherpa 2016 direction: a quarter of "
                                  "unsubscribers leave because of too many e-mails (size a seed assumption)",
                                  doc="unsubscribe risk x (1 + k x messages above free)"),
            "dropout": Effect(0.02, 0.0, 0.05, hi=10.0, grade="assumption", source="seed assumption (slight)",
                              doc="dropout hazard x (1 + k x messages above free) while the pressure lasts"),
        }),
    })
    # chains aimed at tiers read the customer's tier; bonus points are granted through points;
    # an offer conditions deal proneness as a discount does
    uses = ("tiers", "points", "discounts", "enrolment", "subscription")  # members are reachable (sim.mechanics.contact)
    after = ("discounts", "subscription", "tiers", "points")  # an offer applies to what is left to pay
    FACTORS = ("dropout",)
    COLUMNS = (
        Column("unsubscribed", np.bool_, False),
        Column("received", np.int32, 0, doc="messages ever received (a stream counter)"),
        Column("pressure", np.float32, 0.0, doc="contact pressure, as of pressure_day"),
        Column("pressure_day", np.int32, 0),
        Column("offer_chain", np.int16, -1),
        Column("offer_until", np.int32, FAR_PAST),
        Column("responded_day", np.int32, FAR_PAST),
        Column("responded_chain", np.int16, -1),
        Column("browses", np.int32, 0),
        Column("ring", np.int32, FAR_PAST, rows=lambda cfg: cfg.frequency_cap,
               when=lambda cfg: cfg.frequency_cap is not None, doc="the last frequency_cap send days"),
        Column("ring_pos", np.int16, 0, when=lambda cfg: cfg.frequency_cap is not None),
    )

    # ------------------------------------------------------------------ set-up
    @classmethod
    def reaches(cls, config) -> bool:
        return True

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        seg_names = [s.name for s in scenario_cfg.customers.segments] or ["all"]
        tiers = scenario_cfg.programme.get("tiers")
        tier_names = [lv.name for lv in tiers.levels] if tiers is not None else []
        names = [ch.name for ch in cfg.chains]
        if len(set(names)) != len(names):
            raise ScenarioError(file, f"{path}.chains", f"chain names repeat: {names}")
        for i, ch in enumerate(cfg.chains):
            where = f"{path}.chains[{i}]"
            for j, s in enumerate(ch.target.segments):
                if s not in seg_names:
                    raise ScenarioError(file, f"{where}.target.segments[{j}]",
                                        f"got {s!r}; allowed: one of {', '.join(seg_names)}")
            if ch.target.tiers:
                if tiers is None or not tiers.get("enabled", True):
                    raise ScenarioError(file, f"{where}.target.tiers", "targeting tiers needs a tiers block in the programme")
                for j, t in enumerate(ch.target.tiers):
                    if t not in tier_names:
                        raise ScenarioError(file, f"{where}.target.tiers[{j}]",
                                            f"got {t!r}; allowed: one of {', '.join(tier_names)}")
            if ch.bonus_points and ch.trigger not in ("birthday", "anniversary"):
                raise ScenarioError(file, f"{where}.bonus_points",
                                    f"only birthday and anniversary chains grant points (this is {ch.trigger})")
            if ch.trigger == "reminder" and ch.browse_per_order == 0:
                raise ScenarioError(file, f"{where}.browse_per_order", "a reminder chain needs browsing: set it > 0")

    def __init__(self, config, model):
        super().__init__(config, model)
        c = self.customers
        self.chains = list(config.chains)
        self.fat = config.fatigue
        self.cap = config.frequency_cap
        self.response = np.array([DEFAULT_RESPONSE[ch.trigger] if ch.response is None else ch.response for ch in self.chains])
        self.strength = model.scenario.cfg.response.campaigns  # the scenario's response strength for campaigns
        launch = c.born_day[: c.n] <= 0
        self.dp_mean = max(float(c.deal_proneness[: c.n][launch].mean()) if launch.any() else 0.3, 1e-3)
        seg_names = [s.name for s in model.scenario.cfg.customers.segments]
        tiers_cfg = model.scenario.cfg.programme.get("tiers")
        tier_names = [lv.name for lv in tiers_cfg.levels] if tiers_cfg is not None else []
        self.target_segments = [np.array([seg_names.index(s) for s in ch.target.segments], dtype=int) for ch in self.chains]
        self.target_tiers = [np.array([tier_names.index(t) for t in ch.target.tiers], dtype=int) for ch in self.chains]
        self.offer_depth = np.array([ch.offer.discount if ch.offer else 0.0 for ch in self.chains] + [0.0])
        self.offer_cap = np.array([ch.offer.cap if ch.offer and ch.offer.cap is not None else np.inf for ch in self.chains]
                                  + [np.inf])
        self.kinds = {t: [j for j, ch in enumerate(self.chains) if ch.trigger == t] for t in TRIGGERS}
        self._queues = [dict() for _ in self.chains]    # chain -> day -> [(idx, trigger_day, message_no)]
        self._browse_due: dict[int, list] = {}
        self._recheck: dict[int, list] = {}      # day -> [idx] whose dropout factor is due for a refresh
        self._birthday = {}    # day of year -> [idx]
        self._anniversary = {}  # day mod 365 -> [idx]
        self._spent = np.zeros(len(self.chains))
        self._month = None
        self._started = False
        self.send_log = None    # tests set a list here to get (day, chain, idx) of every send
        for line in ("contact", "offers_incremental", "offers_subsidised"):
            self.ledger.open_line(self.name, line, "cost")
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in ("messages", "responses", "revived", "unsubscribed", "capped",
                                                      "offers_used", "contact_cost", "offer_cost", "bonus_points")}
        self.by_chain = {ch.name: {k: np.zeros(months) for k in ("sent", "responses", "revived", "offers_used", "cost")}
                         for ch in self.chains}
        self._gap_sent = np.zeros(len(GAP_EDGES))
        self._gap_resp = np.zeros(len(GAP_EDGES))

    # ------------------------------------------------------------------ scheduling
    def _queue(self, j, day, idx, trig, k):
        if idx.size:
            self._queues[j].setdefault(int(day), []).append((idx, trig, k))

    def _queue_by_day(self, j, days, idx, trig, k):
        """Queue messages due on various days (grouped so each day holds one batch)."""
        if idx.size == 0:
            return
        order = np.argsort(days, kind="stable")
        days, idx, trig, k = days[order], idx[order], trig[order], k[order]
        for key, sl in _groups(days):
            self._queue(j, key, idx[sl], trig[sl], k[sl])

    def _schedule_browse(self, idx, day):
        """The next browse without a purchase: Exp(1) in units of browse_per_order x purchase rate."""
        j = self.kinds["reminder"]
        if not j or idx.size == 0:
            return
        c = self.customers
        idx = idx[c.alive[idx] & (c.lam[idx] > 0)]
        if idx.size == 0:
            return
        rate = self.chains[j[0]].browse_per_order * c.lam[idx].astype(np.float64)
        wait = self.model.streams["campaigns.browse"].exponential(c.uid[idx], self.browses[idx].astype(np.uint64)) / rate
        self.browses[idx] += 1
        due = day + np.maximum(np.ceil(wait), 1)
        keep = due < self.model.last_day
        idx, due = idx[keep], due[keep].astype(np.int64)
        order = np.argsort(due, kind="stable")
        idx, due = idx[order], due[order]
        for key, sl in _groups(due):
            self._browse_due.setdefault(key, []).append(idx[sl])

    def _file_calendar(self, idx):
        """Put customers in their birthday and first-order-anniversary buckets."""
        if idx.size == 0:
            return
        c = self.customers
        if self.kinds["birthday"]:
            doy = 1 + np.floor(self.model.streams["campaigns.birthday"].uniform(c.uid[idx], 0) * 365).astype(np.int64)
            self._bucket(self._birthday, doy, idx)
        if self.kinds["anniversary"]:
            self._bucket(self._anniversary, np.mod(c.born_day[idx].astype(np.int64), 365), idx)

    @staticmethod
    def _bucket(buckets, keys, idx):
        order = np.argsort(keys, kind="stable")
        keys, idx = keys[order], idx[order]
        for key, sl in _groups(keys):
            buckets.setdefault(key, []).append(idx[sl])

    def _launch(self, day):
        """The launch base: calendar buckets, browsing, and win-back for those already away."""
        c = self.customers
        base = np.flatnonzero(c.present[: c.n])
        self._file_calendar(base)
        self._schedule_browse(base, day)
        for j in self.kinds["win_back"]:
            ch = self.chains[j]
            last = c.last_order_day[base].astype(np.int64)
            # customers already away longer than the delay get the first attempt on launch day
            due = np.maximum(last + ch.delay_days, day)
            self._queue_by_day(j, due, base, last, np.zeros(base.size, dtype=np.int64))

    # ------------------------------------------------------------------ sending
    def _eligible(self, j, idx):
        c = self.customers
        idx = idx[c.present[idx] & ~self.unsubscribed[idx]]
        idx = idx[reachable(self, idx)]  # an e-mail needs an address: members, or customers who opted in
        seg = self.target_segments[j]
        if seg.size:
            idx = idx[np.isin(c.segment[idx], seg)]
        tiers = self.target_tiers[j]
        if tiers.size:
            idx = idx[np.isin(self.tiers.tier[idx], tiers)] if self.tiers is not None else idx[:0]
        return idx

    def _send(self, j, idx, day):
        """Send chain j's message to these customers (unique rows); returns who got it."""
        ch = self.chains[j]
        c = self.customers
        mo = max(self.ledger.month, 0)
        idx = self._eligible(j, idx)
        if idx.size and ch.budget_per_month is not None:
            room = ch.budget_per_month * self.model.sample_share - self._spent[j]  # the sample's share (scale_to)
            if ch.contact_cost > 0:
                idx = idx[: max(int(np.floor(room / ch.contact_cost + 1e-9)), 0)]
            elif room <= 0:
                idx = idx[:0]
        if idx.size and self.ring is not None:
            pos = self.ring_pos[idx]
            free = self.ring[pos, idx] <= day - self.config.cap_window_days
            self.monthly["capped"][mo] += int((~free).sum())
            idx = idx[free]
        if idx.size == 0:
            return idx
        if self.ring is not None:
            pos = self.ring_pos[idx]
            self.ring[pos, idx] = day
            self.ring_pos[idx] = (pos + 1) % self.cap
        if self.send_log is not None:
            self.send_log.append((day, j, idx.copy()))
        counter = self.received[idx].astype(np.uint64)
        self.received[idx] += 1
        # contact pressure: fades exponentially, +1 per message
        f = self.fat
        p = self.pressure[idx] * np.exp(-(day - self.pressure_day[idx]) / f.memory_days) + 1.0
        self.pressure[idx] = p
        self.pressure_day[idx] = day
        excess = np.maximum(p - f.free_messages, 0.0)
        cost = ch.contact_cost * idx.size
        self.book("contact", cost)
        self._spent[j] += cost
        s, bc = self.monthly, self.by_chain[ch.name]
        s["messages"][mo] += idx.size
        s["contact_cost"][mo] += cost
        bc["sent"][mo] += idx.size
        bc["cost"][mo] += cost
        # unsubscribes (this message can still be answered)
        uid = c.uid[idx]
        u = self.model.streams["campaigns.unsubscribe"].uniform(uid, counter)
        gone = u < f.unsubscribe_rate * (1.0 + f.unsubscribe * excess)
        self.unsubscribed[idx[gone]] = True
        s["unsubscribed"][mo] += int(gone.sum())
        # fatigue raises dropout hazard while the pressure lasts
        if f.dropout > 0 and (excess > 0).any():
            t = idx[excess > 0]
            self._refresh_dropout(t, day)
            self._recheck.setdefault(day + int(np.ceil(f.memory_days)), []).append(t)
        # the offer or the points
        depth = 0.0
        if ch.bonus_points:
            pm = self.points
            if pm is not None:
                members = idx[pm.member[idx]]
                if members.size:
                    pm.grant(members, np.full(members.size, float(ch.bonus_points)))  # costed as points
                    s["bonus_points"][mo] += float(ch.bonus_points) * members.size
        if ch.offer is not None and not (ch.bonus_points and self.points is not None):
            self.offer_chain[idx] = j
            self.offer_until[idx] = day + ch.offer.valid_days - 1
            depth = ch.offer.discount
        # the response: a purchase today
        resp = c.responsiveness[idx].astype(np.float64)
        if depth:
            # an offer's pull, in the value form every effect follows (sim.mechanics.value)
            resp = resp * (1.0 + self.config.offer_elasticity * V_REF
                           * response(depth * self._deal_weight(idx), self.value_half))
        prob = self.strength * self.response[j] * resp / (1.0 + f.response * excess)
        if ch.trigger == "win_back":
            since = day - c.last_order_day[idx].astype(np.float64)
            beyond = np.maximum(since - ch.delay_days, 0.0)
            prob = prob * np.exp2(-beyond / ch.response_half_life_days)
            b = np.searchsorted(GAP_EDGES, beyond, side="right") - 1
            np.add.at(self._gap_sent, b, 1)
        prob = np.minimum(prob, 0.95)
        u = self.model.streams["campaigns.response"].uniform(uid, counter)
        yes = u < prob
        if ch.trigger == "win_back":
            np.add.at(self._gap_resp, b[yes], 1)
        r = idx[yes]
        if r.size:
            dead = r[~c.alive[r]]
            if ch.trigger == "win_back" and dead.size:
                back = self.model.revive(dead)
                s["revived"][mo] += back.size
                bc["revived"][mo] += back.size
            r = r[c.alive[r]]
            self.model.trigger_orders(r)
            # The purchase the message brought is pulled forward, not an extra chance to leave:
            # as the engine keeps BG/NBD dropout neutral to buying more often, today's orders of
            # responders carry no dropout (their dropout factor is 0 for the day, restored tomorrow).
            self.dropout[r] = 0.0
            self.changed(r)
            self._recheck.setdefault(day + 1, []).append(r)
            self.responded_day[r] = day
            self.responded_chain[r] = j
            s["responses"][mo] += r.size
            bc["responses"][mo] += r.size
        return idx

    def _refresh_dropout(self, idx, day):
        """Dropout factor from the contact pressure now: 1 + dropout x messages above free. Returns who is tired."""
        f = self.fat
        p = self.pressure[idx] * np.exp(-(day - self.pressure_day[idx]) / f.memory_days)
        excess = np.maximum(p - f.free_messages, 0.0)
        self.dropout[idx] = 1.0 + f.dropout * excess
        self.changed(idx)
        return excess > 0

    def _deal_weight(self, idx):
        if self.discounts is not None:
            dp = self.discounts.deal_proneness(idx)
        else:
            dp = self.customers.deal_proneness[idx]
        return np.minimum(dp / self.dp_mean, 5.0)

    # ------------------------------------------------------------------ hooks
    def on_arrivals(self, idx):
        if self._started:
            self._file_calendar(idx)
            self._schedule_browse(idx, self.model.day)

    def on_revivals(self, idx):
        self._schedule_browse(idx, self.model.day)

    def start_day(self, day):
        month = self.calendar.month_of(day)
        if month != self._month:
            self._month = month
            self._spent[:] = 0.0
        if not self._started:
            self._started = True
            self._launch(day)
        due = self._recheck.pop(day, None)
        if due:
            t = _distinct(np.concatenate(due))
            tired = self._refresh_dropout(t, day)
            if tired.any():  # still over-contacted: look again later
                self._recheck.setdefault(day + int(np.ceil(self.fat.memory_days)), []).append(t[tired])
        c = self.customers
        browsed = self._browse_due.pop(day, None)
        if browsed:
            b = np.concatenate(browsed)
            b = b[c.alive[b]]  # dropped-out customers no longer browse (a revival restarts it)
            for j in self.kinds["reminder"]:
                self._queue(j, day + self.chains[j].delay_days, b, np.full(b.size, day, dtype=np.int64),
                            np.zeros(b.size, dtype=np.int64))
            self._schedule_browse(b, day)
        doy = self.calendar.day_of_year(day)
        for j, ch in enumerate(self.chains):
            if ch.trigger == "birthday":
                due = self._birthday.get(doy)
                if due:
                    self._send(j, _distinct(np.concatenate(due)), day)
                continue
            if ch.trigger == "anniversary":
                due = self._anniversary.get(day % 365)
                if due:
                    idx = _distinct(np.concatenate(due))
                    self._send(j, idx[c.born_day[idx] < day], day)
                continue
            batch = self._queues[j].pop(day, None)
            if not batch:
                continue
            idx = np.concatenate([b[0] for b in batch])
            trig = np.concatenate([b[1] for b in batch])
            k = np.concatenate([b[2] for b in batch])
            if ch.trigger in ("post_purchase", "win_back"):
                # only if no order came since the one that started it
                still = c.last_order_day[idx] == trig
                idx, trig, k = idx[still], trig[still], k[still]
            elif ch.trigger == "reminder":
                still = c.last_order_day[idx] < trig
                idx, trig, k = idx[still], trig[still], k[still]
            if idx.size == 0:
                continue
            order = np.argsort(idx, kind="stable")
            first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]]  # each customer's first entry
            idx, trig, k = idx[first], trig[first], k[first]
            self._send(j, idx, day)
            more = k + 1 < ch.messages
            if more.any():
                # the series goes on (win-back and follow-ups stop once the customer orders: checked above)
                self._queue(j, day + ch.interval_days, idx[more], trig[more], k[more] + 1)

    def price_orders(self, orders):
        day = orders.day
        if day < 0:
            return
        idx = orders.idx
        j = self.offer_chain[idx]
        valid = (j >= 0) & (self.offer_until[idx] >= day)
        if not valid.any():
            return
        pos = np.flatnonzero(valid)
        r = idx[pos]
        jj = j[pos]
        payable = np.maximum(orders.gross[pos] - orders.discount[pos] - orders.reward[pos], 0.0)
        off = np.minimum(payable * self.offer_depth[jj], self.offer_cap[jj])
        orders.discount[pos] += off
        # an offer is used once
        self.offer_chain[r] = -1
        self.offer_until[r] = FAR_PAST
        brought = (self.responded_day[r] == day) & (self.responded_chain[r] == jj)
        self.responded_day[r[brought]] = FAR_PAST  # only the first order of the day was brought by the message
        inc = float(off[brought].sum())
        total = float(off.sum())
        self.book("offers_incremental", inc)
        self.book("offers_subsidised", total - inc)
        mo = max(self.ledger.month, 0)
        self.monthly["offers_used"][mo] += r.size
        self.monthly["offer_cost"][mo] += total
        np.add.at(self._spent, jj, off)
        for k in np.unique(jj):
            bc = self.by_chain[self.chains[k].name]
            bc["offers_used"][mo] += int((jj == k).sum())
            bc["cost"][mo] += float(off[jj == k].sum())
        if self.discounts is not None:
            self.discounts.receive(r, self.offer_depth[jj])

    def after_orders(self, orders):
        day = orders.day
        if day < 0:
            return
        idx = orders.idx
        for j in self.kinds["welcome"]:
            f = idx[orders.first]
            self._queue(j, day + self.chains[j].delay_days, f, np.full(f.size, day, dtype=np.int64),
                        np.zeros(f.size, dtype=np.int64))
        for t in ("post_purchase", "win_back"):
            for j in self.kinds[t]:
                self._queue(j, day + self.chains[j].delay_days, idx, np.full(idx.size, day, dtype=np.int64),
                            np.zeros(idx.size, dtype=np.int64))

    # ------------------------------------------------------------------ results
    def series(self):
        out = dict(self.monthly)
        for name, d in self.by_chain.items():
            for k, v in d.items():
                out[f"{name}.{k}"] = v
        return out

    def summary(self):
        m = self.monthly
        sent = float(m["messages"].sum())
        rate = np.where(self._gap_sent > 0, self._gap_resp / np.maximum(self._gap_sent, 1), np.nan)
        return {
            "messages": sent,
            "responses": float(m["responses"].sum()),
            "response_rate": float(m["responses"].sum()) / sent if sent else 0.0,
            "revived": float(m["revived"].sum()),
            "unsubscribed": float(m["unsubscribed"].sum()),
            "capped": float(m["capped"].sum()),
            "offers_used": float(m["offers_used"].sum()),
            "bonus_points": float(m["bonus_points"].sum()),
            "contact_cost": float(m["contact_cost"].sum()),
            "offer_cost": float(m["offer_cost"].sum()),
            "chains": {name: {k: float(v.sum()) for k, v in d.items()} for name, d in self.by_chain.items()},
            "win_back_gap_days": list(GAP_EDGES),
            "win_back_response_by_gap": rate.tolist(),
            "win_back_sent_by_gap": self._gap_sent.tolist(),
        }
