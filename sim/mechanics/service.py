"""Service desk: support contacts queue for a staffed desk (a simpy model of each
day); waits and unresolved problems move satisfaction, which moves churn and
referrals. Staffing is the lever, and it costs money.

Contacts. Each order raises a support contact (order problems, returns,
questions) with probability ``contacts_per_order``, a few days later
(exponential delay), at a time of day spread uniformly over the hours customers
get in touch. Handling time (lognormal or exponential) and patience
(exponential, the Erlang-A assumption of Garnett, Mandelbaum & Reiman 2002) are
drawn per contact from streams keyed by the customer's uid and order number,
so both are the same in any run that reaches that contact.

The desk. ``staff`` agents work from ``open_hour`` to ``close_hour``, first
come first served. Each day's contacts run through a simpy model: an
Environment starting at opening, one process per agent that takes the oldest
waiting contact, waits for it to arrive if the queue is empty, and holds it for
its handling time. This is exactly a FCFS desk with ``staff`` servers
(a ``simpy.Resource`` of that capacity) with reneging; ``desk_day_reference``
below is that Resource formulation, one process per contact, and the tests
hold the two equal. The agent form costs about 1.6 us per contact against
18 us, which keeps a million-customer run (a few thousand contacts a day)
cheap.

Choices (documented, as the design asks):
* waiting counts in opening hours only: a contact raised at night waits for
  the opening without that counting as waiting (the service level is what the
  staff can influence);
* a contact waiting longer than its patience is abandoned (no agent time);
* contacts still queued at closing carry over to the next opening, at the
  front of the queue, with the in-hours wait they already had (a callback or an
  open ticket); agents finish the contact they hold at closing.

Satisfaction (customers.satisfaction, -1 detractor .. +1 promoter). Each
contact scores: resolved at first contact ``experience.resolved``, not
resolved ``experience.unresolved`` (having to come back is what drives
disloyalty, Dixon, Freeman & Toman 2010), minus the wait in units of
``wait_tolerance_minutes`` (waits lower service evaluations, Taylor 1994);
abandoned ``experience.abandoned``; clipped to [-1, 1]. Satisfaction is an
exponentially smoothed average of the scores, fading back to neutral with
``memory_days``. Neutral (0) is the service customers expect, which the
no-programme arm stands for: the default scores make a desk at the usual
80/20 service level with 75% first-contact resolution about churn-neutral,
so under-staffing hurts and excellent service helps a little. It moves the churn hazard: dropout x exp(-k x satisfaction x
service-sensitivity weight), k larger for dissatisfaction than for
satisfaction (negative experiences weigh more, Mittal, Ross & Baldasare 1998);
and the referrals mechanic reads it (promoters refer, detractors do not).

Economics: staff cost per agent per day, booked daily. The baseline arm has
no modelled desk: satisfaction stays neutral, i.e. the service customers
expect, which the scores are relative to. By default the whole desk is the
programme's cost; ``baseline_staff`` says how many agents the business pays
for anyway, and the ledger then books only the difference (negative when the
scenario cuts staff). Compare staffing levels against each other with
``sim.studies.staffing.staffing_tradeoff``, or ``loyalsim compare`` on files
that differ in staff.
"""
from __future__ import annotations

import time

import numpy as np
import simpy

from sim.errors import ScenarioError
from sim.mechanics.base import Column, Mechanic
from sim.schema import Bool, Choice, Effect, Int, Num, NonNeg, Pos, Section

MIN_PER_DAY = 1440.0


# --------------------------------------------------------------------------- the desk, one day

def desk_day(arrive, handle, patience, staff, open_min, close_min):
    """One day of a FCFS desk in simpy, one process per agent.

    ``arrive`` (sorted), ``handle`` and ``patience`` are minutes; arrivals are
    effective times (not before ``open_min`` for today's contacts, earlier for
    carried-over ones, whose in-hours wait already counts). Returns (wait,
    outcome): outcome 0 answered (wait = minutes waited), 1 abandoned,
    2 still queued at closing.
    """
    n = len(arrive)
    wait = np.full(n, np.nan)
    outcome = np.full(n, 2, dtype=np.int8)
    arr, hand, pat = arrive.tolist(), handle.tolist(), patience.tolist()
    env = simpy.Environment(initial_time=open_min)
    head = [0]  # the oldest contact no agent has taken yet

    def agent():
        while head[0] < n and env.now < close_min:
            i = head[0]
            head[0] = i + 1
            if arr[i] > env.now:  # nobody waiting: the free agent waits for the next arrival
                yield env.timeout(arr[i] - env.now)
            w = env.now - arr[i]
            if w > pat[i]:  # the customer gave up before an agent was free
                outcome[i] = 1
                continue
            wait[i] = w
            outcome[i] = 0
            yield env.timeout(hand[i])

    for _ in range(staff):
        env.process(agent())
    env.run()
    left = np.arange(head[0], n)
    if left.size:  # still queued at closing: gone if their patience ran out before it
        gave_up = close_min - arrive[left] > patience[left]
        outcome[left[gave_up]] = 1
    return wait, outcome


def desk_day_reference(arrive, handle, patience, staff, open_min, close_min):
    """The textbook simpy formulation: a Resource of capacity ``staff``, one process per contact.

    Same contract as ``desk_day``; kept as the readable specification the fast form is tested against.
    """
    n = len(arrive)
    wait = np.full(n, np.nan)
    outcome = np.full(n, 2, dtype=np.int8)
    env = simpy.Environment(initial_time=open_min)
    desk = simpy.Resource(env, capacity=staff)
    closed = env.event()

    def closing():
        yield env.timeout(close_min - open_min)
        closed.succeed()

    def contact(i):
        if arrive[i] > env.now:
            yield env.timeout(arrive[i] - env.now)
        give_up = arrive[i] + patience[i] - env.now
        if give_up < 0:  # carried over already past its patience
            outcome[i] = 1
            return
        with desk.request() as req:
            got = yield req | env.timeout(give_up) | closed
            if req in got and not (closed in got and env.now >= close_min):
                wait[i] = env.now - arrive[i]
                outcome[i] = 0
                yield env.timeout(handle[i])
            elif closed in got and close_min - arrive[i] <= patience[i]:
                outcome[i] = 2
            else:
                outcome[i] = 1

    env.process(closing())
    for i in range(n):
        env.process(contact(i))
    env.run()
    return wait, outcome


# --------------------------------------------------------------------------- the mechanic

class ServiceDesk(Mechanic):
    name = "service"
    LABEL = "Service desk"
    INTENSIVE = frozenset({"abandoned_share", "service_level", "mean_wait_minutes", "contacted_mean_satisfaction",
                           "contacted_retention"})
    LEDGER = {  # the ledger lines it books, as a reader knows them
        "staff": "Service desk staff",
    }
    SCHEMA = Section(optional=True, doc="customer service desk (simpy queue per day)", fields={
        "enabled": Bool(True),
        "contacts_per_order": Effect(0.15, 0.10, 0.25, hi=1.0, grade="assumption",
                                     source="seed assumption: e-commerce contact rates run about "
                                     "10-25% of orders", doc="support contacts per order: problems, returns, questions"),
        "contact_delay_days": Effect(2.0, 1.0, 5.0, hi=365.0, grade="assumption", source="seed assumption",
                                     doc="mean days from the order to the contact, exponential"),
        "contact_from_hour": Num(7.0, lo=0.0, hi=24.0, grade="assumption",
                                 doc="customers get in touch from this hour ... (seed assumption)"),
        "contact_to_hour": Num(23.0, lo=0.0, hi=24.0, grade="assumption", doc="... to this hour, uniformly (seed assumption)"),
        "staff": Int(2, lo=1, hi=1000, doc="agents on duty while the desk is open"),
        "open_hour": Num(8.0, lo=0.0, hi=24.0, doc="desk opens (hour of day)"),
        "close_hour": Num(20.0, lo=0.0, hi=24.0, doc="desk closes; contacts still queued carry over to the next opening"),
        "handling": Section(fields={
            "distribution": Choice(("lognormal", "exponential"), "lognormal", "handling-time distribution"),
            "mean_minutes": Effect(10.0, 6.0, 12.0, lo=0.1, hi=1440.0, grade="assumption",
                                   source="seed assumption: contact-centre handle "
                                   "times are typically 6-12 minutes", doc="mean handling time"),
            "sd_minutes": Effect(8.0, 4.0, 12.0, lo=0.1, hi=1440.0, grade="assumption",
                                 source="seed assumption: handle times are "
                                 "right-skewed, CV about 0.8", doc="sd of the handling time, lognormal only"),
        }),
        "patience_minutes": Num(60.0, lo=0.0, lo_open=True, nullable=True, range=(30.0, 120.0), grade="assumption",
                                source="Garnett, Mandelbaum & Reiman 2002 (Erlang-A: exponential patience); 60 a seed "
                                       "assumption",
                                doc="mean in-hours wait before a customer gives up; null: nobody abandons"),
        "target_wait_minutes": Pos(20.0, "service level: share answered within this wait (the 80/20 convention)"),
        "first_contact_resolution": Effect(0.75, 0.65, 0.85, hi=1.0, grade="measured",
                                           source="SQM Group call-centre benchmarks: 70% resolved at first contact on "
                                           "average (61-78% by industry, retail 78%)",
                                           doc="share of answered contacts resolved at once"),
        "staff_cost_per_day": NonNeg(200.0, "cost of one agent for one day, currency"),
        "experience": Section(fields={
            "resolved": Effect(0.4, 0.2, 0.6, lo=-1.0, hi=1.0, grade="assumption",
                               source="seed assumption: with unresolved, set so a desk at "
                               "80/20 and 75% resolution is about churn-neutral",
                               doc="score of a contact resolved at once, before waiting"),
            "unresolved": Effect(-0.3, -0.5, -0.1, lo=-1.0, hi=1.0, grade="direction",
                                 source="Dixon, Freeman & Toman 2010 direction (size "
                                 "a seed assumption)", doc="score of an answered but unresolved contact"),
            "abandoned": Effect(-0.8, -1.0, -0.5, lo=-1.0, hi=1.0, grade="assumption", source="seed assumption",
                                doc="score of a contact the customer gave up on"),
            "wait_tolerance_minutes": Effect(60.0, 30.0, 120.0, lo=0.1, hi=14400.0, grade="direction",
                                             source="Taylor 1994 direction "
                                             "(size a seed assumption)",
                                             doc="the score falls by 1 per this much in-hours waiting"),
            "smoothing": Effect(0.7, 0.5, 0.9, hi=1.0, grade="assumption",
                                source="seed assumption: the last experience dominates",
                                doc="weight of the latest contact in satisfaction (exponential smoothing)"),
            "memory_days": Effect(365.0, 180.0, 730.0, lo=1.0, hi=36500.0, grade="assumption", source="seed assumption",
                                  doc="satisfaction fades back to neutral with this e-folding time"),
        }),
        "churn_effect_negative": Effect(1.2, 0.6, 2.0, hi=10.0, grade="direction",
                                        source="TARP complaint studies (1979, 1986): unresolved problems "
                                        "halve repurchase (size a seed assumption)",
                                        doc="dropout x exp(-k s w) for s < 0: one abandoned contact (s = -0.56) about "
                                            "doubles an average customer's hazard"),
        "churn_effect_positive": Effect(0.5, 0.2, 1.0, hi=10.0, grade="direction",
                                        source="Mittal, Ross & Baldasare 1998; Bolton 1998: "
                                        "satisfaction protects less than dissatisfaction hurts (size a seed assumption)",
                                        doc="the same for s > 0"),
        "baseline_staff": Int(0, lo=0, hi=100000,
                              doc="agents the business pays for without the programme: the ledger books only staff beyond "
                                  "(or short of) them"),
    })
    FACTORS = ("dropout",)
    COLUMNS = (Column("contacted", np.bool_, False),)

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        cust = scenario_cfg.customers
        if cust.start == "twin" and cust.scale_to is not None and cust.scale_to != cust.initial:
            # the desk's queue and its staff are the whole business's: a sample of the customers would queue
            # for the full desk, and its waits and staff cost do not scale with the number of customers
            raise ScenarioError(file, "customers.scale_to",
                                f"got {cust.scale_to:,}; a programme with a service desk ({path}) runs on the whole "
                                "base only (a sample's queue at the full desk does not scale): drop scale_to or "
                                "the service block")
        if cfg.close_hour <= cfg.open_hour:
            raise ScenarioError(file, f"{path}.close_hour",
                                f"got {cfg.close_hour:g}; allowed: later than open_hour ({cfg.open_hour:g})")
        if cfg.contact_to_hour <= cfg.contact_from_hour:
            raise ScenarioError(file, f"{path}.contact_to_hour",
                                f"got {cfg.contact_to_hour:g}; allowed: later than contact_from_hour ({cfg.contact_from_hour:g})")

    def __init__(self, config, model):
        super().__init__(config, model)
        cfg = config
        c = self.customers
        self.open_min = cfg.open_hour * 60.0
        self.close_min = cfg.close_hour * 60.0
        self.exp = cfg.experience
        # the desk's cost to the programme: agents beyond those the no-programme business already pays
        self._staff_cost = (cfg.staff - cfg.baseline_staff) * cfg.staff_cost_per_day
        launch = np.flatnonzero(c.present[: c.n]) if c.present[: c.n].any() else np.arange(c.n)
        self._ss_mean = float(c.service_sensitivity[launch].mean()) or 1.0
        h = cfg.handling
        if h.distribution == "lognormal":
            s2 = np.log1p((h.sd_minutes / h.mean_minutes) ** 2)
            self._ln = (np.log(h.mean_minutes) - s2 / 2.0, np.sqrt(s2))
        self._due: dict[int, list] = {}   # day -> [(rows, minute, handle, patience, resolved)]
        self._carry = None                # contacts queued at last closing: (rows, waited, handle, patience, resolved)
        self._last_month_day = None
        months = model.n_months
        self.monthly = {k: np.zeros(months) for k in (
            "contacts", "answered", "answered_in_target", "abandoned", "carried_over", "wait_minutes",
            "staff_cost", "detractors", "promoters")}
        self.simpy_seconds = 0.0

    # ------------------------------------------------------------------ contacts
    def after_orders(self, orders):
        c = self.customers
        idx = orders.idx
        uid = c.uid[idx]
        k = c.orders[idx].astype(np.uint64)  # this order's number: the contact's key
        s = self.model.streams
        hit = s["service.contact"].uniform(uid, k) < self.config.contacts_per_order
        if not hit.any():
            return
        rows, uid, k = idx[hit], uid[hit], k[hit]
        cfg = self.config
        delay = np.floor(s["service.delay"].exponential(uid, k) * cfg.contact_delay_days).astype(np.int64)
        minute = (cfg.contact_from_hour
                  + s["service.time"].uniform(uid, k) * (cfg.contact_to_hour - cfg.contact_from_hour)) * 60.0
        after_close = minute >= self.close_min
        delay += after_close  # raised after closing: first in line at the next opening
        minute = np.where(after_close | (minute < self.open_min), self.open_min, minute)
        h = cfg.handling
        if h.distribution == "lognormal":
            handle = np.exp(self._ln[0] + self._ln[1] * s["service.handling"].normal(uid, k))
        else:
            handle = s["service.handling"].exponential(uid, k) * h.mean_minutes
        if cfg.patience_minutes is None:
            patience = np.full(rows.size, np.inf)
        else:
            patience = s["service.patience"].exponential(uid, k) * cfg.patience_minutes
        resolved = s["service.resolved"].uniform(uid, k) < cfg.first_contact_resolution
        day = orders.day + delay
        for d in np.unique(day):
            m = day == d
            self._due.setdefault(int(d), []).append((rows[m], minute[m], handle[m], patience[m], resolved[m]))

    def end_day(self, day):
        if day >= 0 and self._staff_cost:
            self.book("staff", self._staff_cost)
            self.monthly["staff_cost"][self.calendar.month_of(day)] += self._staff_cost
        parts = self._due.pop(day, [])
        new = sum(p[0].size for p in parts)
        if self._carry is not None:
            rows, waited, handle, patience, resolved = self._carry
            parts.append((rows, self.open_min - waited, handle, patience, resolved))  # first in line
            self._carry = None
        if not parts:
            return
        rows, arrive, handle, patience, resolved = (np.concatenate(x) for x in zip(*parts))
        order = np.argsort(arrive, kind="stable")
        rows, arrive, handle, patience, resolved = rows[order], arrive[order], handle[order], patience[order], resolved[order]
        t0 = time.perf_counter()
        wait, outcome = desk_day(arrive, handle, patience, self.config.staff, self.open_min, self.close_min)
        self.simpy_seconds += time.perf_counter() - t0
        queued = outcome == 2
        if queued.any():
            self._carry = (rows[queued], self.close_min - arrive[queued], handle[queued], patience[queued], resolved[queued])
        done = ~queued
        self._experience(rows[done], wait[done], outcome[done], resolved[done], day)
        if day >= 0:
            mo = self.calendar.month_of(day)
            ans = outcome == 0
            m = self.monthly
            m["contacts"][mo] += new
            m["answered"][mo] += int(ans.sum())
            m["answered_in_target"][mo] += int((wait[ans] <= self.config.target_wait_minutes).sum())
            m["abandoned"][mo] += int((outcome == 1).sum())
            m["wait_minutes"][mo] += float(wait[ans].sum())
            m["carried_over"][mo] += int(queued.sum())  # contacts left in the queue at closing (counted each evening)

    def _experience(self, rows, wait, outcome, resolved, day):
        """Score today's finished contacts and fold them into satisfaction and churn."""
        if rows.size == 0:
            return
        e = self.exp
        score = np.where(resolved, e.resolved, e.unresolved) - np.nan_to_num(wait) / e.wait_tolerance_minutes
        score = np.where(outcome == 1, e.abandoned, score)
        score = np.clip(score, -1.0, 1.0)
        who, inv = np.unique(rows, return_inverse=True)  # several contacts in a day: their mean
        score = np.bincount(inv, weights=score) / np.bincount(inv)
        c = self.customers
        a = e.smoothing
        c.satisfaction[who] = ((1.0 - a) * c.satisfaction[who] + a * score).astype(np.float32)
        self.contacted[who] = True
        self._refresh(who)

    def _refresh(self, idx):
        c = self.customers
        s = c.satisfaction[idx].astype(np.float64)
        w = c.service_sensitivity[idx] / self._ss_mean
        k = np.where(s < 0, self.config.churn_effect_negative, self.config.churn_effect_positive)
        self.dropout[idx] = np.exp(-k * s * w)
        self.changed(idx)

    def end_month(self, month, day):
        c = self.customers
        n = c.n
        mo = max(month, 0)
        # satisfaction fades back to neutral (only the customers who have any)
        prev = self._last_month_day if self._last_month_day is not None else -1
        self._last_month_day = day
        who = np.flatnonzero(self.contacted[:n])
        if who.size:
            fade = np.exp(-(day - prev) / self.exp.memory_days)
            c.satisfaction[who] *= np.float32(fade)
            self._refresh(who)
            s = c.satisfaction[who]
            self.monthly["detractors"][mo] = int((s < -0.2).sum())
            self.monthly["promoters"][mo] = int((s > 0.2).sum())

    # ------------------------------------------------------------------ results
    def series(self):
        m = dict(self.monthly)
        served = m["answered"] + m["abandoned"]
        with np.errstate(invalid="ignore", divide="ignore"):
            m["service_level"] = np.where(served > 0, m["answered_in_target"] / np.maximum(served, 1), np.nan)
            m["mean_wait_minutes"] = np.where(m["answered"] > 0, m["wait_minutes"] / np.maximum(m["answered"], 1), np.nan)
        return m

    def summary(self):
        m = self.monthly
        c = self.customers
        n = c.n
        answered = float(m["answered"].sum())
        abandoned = float(m["abandoned"].sum())
        contacted = np.flatnonzero(self.contacted[:n])
        model = self.model
        active = c.last_order_day[contacted] > model.day - 1 - model.window
        launch = c.active_at_launch[contacted]
        return {
            "contacts": float(m["contacts"].sum()),
            "answered": answered,
            "abandoned": abandoned,
            "carried_over": float(m["carried_over"].sum()),
            "abandoned_share": abandoned / (answered + abandoned) if answered + abandoned else float("nan"),
            "service_level": float(m["answered_in_target"].sum()) / (answered + abandoned)
                             if answered + abandoned else float("nan"),
            "mean_wait_minutes": float(m["wait_minutes"].sum()) / answered if answered else float("nan"),
            "staff_cost": float(m["staff_cost"].sum()),
            "contacted_customers": float(contacted.size),
            "contacted_mean_satisfaction": float(c.satisfaction[contacted].mean()) if contacted.size else float("nan"),
            "contacted_retention": float(active[launch].mean()) if launch.any() else float("nan"),
        }  # (wall-clock time in simpy is kept in self.simpy_seconds, not here: results must not depend on the machine)
