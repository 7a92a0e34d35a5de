"""The engine: a plain class that owns the clock, the seed and the day loop.

One model instance runs one arm (the no-programme baseline, or the programme)
of one replication. Customers are rows of arrays (``sim.customers``); the
programme is a list of mechanics (``sim.mechanics``) that the loop calls
through hooks, in the order written down in docs/DESIGN.md#the-daily-loop. All randomness is
counter-based (``sim.random``), so arms share common random numbers and runs
do not depend on the backend.

Why not a ``mesa.Model``: the engine used to subclass it and used none of what it
gives. Its random generators are not the engine's (every draw here is keyed by
customer and event, so that both arms and every backend see the same chance
events), its agent set and scheduler have nothing to hold (customers are rows of
arrays, not agent objects), and its step counter and data collector duplicate the
day loop and the ledger. Importing mesa costs more than a second and a half of
every command's start-up (its data collector loads pandas and pyarrow, its
experimental spaces scipy.spatial), which the old subclass could only avoid by
putting placeholder modules into ``sys.modules`` and replacing
``inspect.getouterframes`` while mesa imported. So the engine is a plain class and
mesa stays where it earns its keep: ``sim/reference.py``, the per-agent model the
tests hold the engine to (one ``mesa.Agent`` per customer, mesa's agent set and
generator), and ``benchmarks/naive_mesa.py``, the model a user would write first
(docs/DESIGN.md#why-mesa-sits-where-it-does).
A finished model is released with ``close()``, which drops its arrays and the
links between the model and its mechanics, so reference counting frees them at
once (no garbage collection is needed between the arms of a worker).
"""
from __future__ import annotations

import numpy as np

from sim.calendar import Calendar
from sim.customers import MONTH_RING, Customers
from sim.ledger import BASE, Ledger
from sim.mechanics import MECHANICS
from sim.mechanics.base import Orders
from sim.random import Streams

MONTHLY_SERIES = (
    "orders", "first_orders", "repeat_orders", "buyers", "revenue", "discounts", "rewards_face",
    "net_revenue", "new_customers", "active_end", "alive_end", "loyal_end", "retained_end",
    "new_active_end", "alive_launch_end", "free_deliveries",
)


def distinct_rows(idx):
    """Sorted distinct customer rows. Sort and compare neighbours: numpy 2.x's hash-based
    np.unique is ~30x slower on the 10^5-row index arrays a day can dirty."""
    if idx.size > 65536:
        top = int(idx.max()) + 1
        if idx.size * 4 > top:
            # dense (a month end dirties every present customer): marking rows is O(n),
            # ~10x faster than sorting 2 x 10^6 rows; the result is the same sorted set
            mark = np.zeros(top, dtype=bool)
            mark[idx] = True
            return np.flatnonzero(mark)
    idx = np.sort(idx)
    return idx[np.r_[True, idx[1:] != idx[:-1]]] if idx.size else idx


def replication_seed(seed: int, replication: int) -> int:
    """The seed of replication r: independent streams via SeedSequence, the same on any backend."""
    return int(np.random.SeedSequence([int(seed), int(replication)]).generate_state(1, np.uint64)[0])


class LoyaltyModel:
    """One arm of one replication.

    ``programme`` is the programme block of the scenario (None for the baseline).
    ``customers`` is the launch-day customer base (a copy is taken), or None to
    build it; ``first_day`` < 0 simulates the history of a mature base.
    """

    def __init__(self, scenario, seed: int, programme=None, customers: Customers | None = None,
                 first_day: int = 0, last_day: int | None = None):
        self.scenario = scenario
        cfg = scenario.cfg
        self.seed_value = seed
        self.streams = Streams(seed)
        self.day = first_day
        self.last_day = cfg.horizon_days if last_day is None else last_day
        self.calendar = Calendar(cfg.start_date, min(first_day, 0), cfg.horizon_days)
        self.n_months = self.calendar.n_months
        self.ledger = Ledger(self.n_months)
        self.ledger.month = self.calendar.month_of(max(first_day, 0)) if first_day >= 0 else -1
        self.margin = cfg.economics.gross_margin
        self.window = cfg.metrics.activity_window_days
        self.loyal_k = cfg.metrics.loyal_min_orders
        self.monthly = {k: np.zeros(self.n_months) for k in MONTHLY_SERIES}
        self._dirty: list[np.ndarray] = []
        self._arrivals_today: list[np.ndarray] = []
        self._day_scale = 1.0
        self._acquisition_share = 1.0  # a scaled twin's sample acquires its share of the twin's rate
        # the share of the whole base this run simulates (customers.scale_to): a business-wide monthly budget
        # is spent at this share of it in the run, so the scaled totals spend the budget as written
        scale_to = cfg.customers.scale_to if cfg.customers.start == "twin" else None
        self.sample_share = cfg.customers.initial / scale_to if scale_to else 1.0
        self._response = cfg.response
        self._response_scaled = any(cfg.response[k] != 1.0 for k in ("intensity", "basket", "dropout"))
        self.fixed_cost = cfg.economics.programme_fixed_cost_per_month
        self.order_observer = None  # a callable given each priced and rewarded batch of orders
        if customers is None:
            self.customers = self._build_base()
        else:
            self.customers = customers.copy()
        c = self.customers
        self.has_pareto = bool((c.mu[: c.n] > 0).any()) or any(
            s.purchase.model == "paretonbd" for s in cfg.customers.segments)
        self.n_initial = cfg.customers.initial
        self.acquisition_cost = cfg.customers.acquisition.cost_per_customer
        # the programme's mechanics in the order their hooks run, each handed its peers
        self.mechanics = MECHANICS.build(programme, self) if programme is not None else []
        if self.mechanics and first_day <= 0 <= self.last_day:
            self._programme_launch_costs()
        self._month_slot = self.calendar.month_of(self.day) % MONTH_RING
        if c.ring_month is None:
            c.ring_month = self.calendar.month_of(self.day)

    # ------------------------------------------------------------------ population
    def _acquisitions_by_day(self):
        """Paid acquisitions per horizon day (Poisson, keyed by day: the same in every arm)."""
        cfg = self.scenario.cfg
        rate = cfg.customers.acquisition.per_day * self._acquisition_share
        stream = self.streams["acquisition"]
        return np.array([stream.poisson_scalar(rate, d) for d in range(cfg.horizon_days)], dtype=np.int64)

    def _build_base(self) -> Customers:
        """The launch base plus every paid acquisition of the horizon, created up front.

        Rows are ordered by the day the customer arrives (history, launch, then
        acquisitions), so arrivals are a slice; each customer is marked present on
        that day. Referred customers (a programme effect) are appended later.
        """
        cfg = self.scenario.cfg.customers
        n = cfg.initial
        twin = None
        if cfg.start == "twin":
            # the real customers of a log (sim.twin): their rows are filled in below
            from sim import twin as twin_file
            if cfg.scale_to is None:
                meta, cols = twin_file.load(cfg.twin, cfg.sample)
            else:
                # scaled to a chain: a fresh stratified sample of the whole twin for this replication
                # (sim.twin.scaled_sample); paid acquisition is the twin's rate, so the sample acquires its share
                meta, cols = twin_file.load(cfg.twin, None)
                rows = cols["x"].size
                self._acquisition_share = n / rows
                if n < rows or cfg.scale_to > rows:
                    cols = twin_file.scaled_sample(cols, n, self.seed_value, with_replacement=cfg.scale_to > rows)
            order = np.argsort(-cols["T_days"], kind="stable")  # rows by first purchase, as arrivals are
            for k in list(cols):  # column by column, each freed once reordered: the columns are never held twice
                cols[k] = cols[k][order]
            twin = meta, cols
            del cols
            if order.size != n or meta.get("twin_id") != cfg.twin_id:
                from sim.errors import DataError
                raise DataError(f"customers.twin: {cfg.twin} changed since the scenario was loaded (now "
                                f"{order.size:,} customers, not {n:,}); load the scenario again")
            born = np.zeros(n, dtype=np.int32)
        elif cfg.start == "fresh" or cfg.history_days == 0:
            born = np.zeros(n, dtype=np.int32)
        else:
            # A mature base acquired at a steady rate over the history (day -H .. -1).
            born = (-cfg.history_days + (np.arange(n) * cfg.history_days) // n).astype(np.int32)
        per_day = self._acquisitions_by_day()
        acquired_born = np.repeat(np.arange(per_day.size, dtype=np.int32), per_day)
        total = n + acquired_born.size
        c = Customers(int(total * 1.05) + 64)  # 5% reserve for referred customers
        uids = np.arange(total, dtype=np.uint64)
        if twin is None:
            idx = c.add(uids, np.concatenate([born, acquired_born]), self.scenario, self.streams)
        else:
            # the twin's rows take their traits and history from the file; paid acquisitions are drawn as usual
            from sim import twin as twin_file
            idx = np.concatenate([c.reserve(uids[:n], born),
                                  c.add(uids[n:], acquired_born, self.scenario, self.streams)])
            twin_file.fill(c, idx[:n], self.scenario, self.streams, *twin, launch_month=self.calendar.month_of(0))
        c.n_scheduled = total
        # Responsiveness is normalised on the launch base so its mean is 1
        # (each default effect size then holds for the average customer).
        launch = idx[:n]
        c.resp_ps = float(c.price_sensitivity[launch].mean())
        c.resp_lam = float(c.lam[launch].mean())
        c.set_responsiveness(idx, c.resp_ps, c.resp_lam)
        c.resp_norm = float(c.responsiveness[launch].mean()) or 1.0
        c.responsiveness[idx] /= c.resp_norm
        return c

    def new_customers(self, uids, segment_of=None) -> np.ndarray:
        """Rows for customers acquired today (traits drawn from their uids); queue them with add_arrivals."""
        return self._new_customers(uids, segment_of)

    def trigger_orders(self, idx):
        """These customers buy today (a campaign or offer pulled their next purchase forward).

        Call from start_day. Their purchase clock is set to run out today; the wait
        after this order is drawn as usual, so the pulled-forward order replaces
        the one that would have come later (which is why offers subsidise).
        """
        c = self.customers
        idx = np.asarray(idx)
        idx = idx[c.alive[idx] & c.present[idx]]
        c.purchase_budget[idx] = np.minimum(c.purchase_budget[idx], 0.0)

    def revive(self, idx):
        """Bring back customers who had dropped out (e.g. won back by a campaign).

        They get a fresh dropout budget (keyed by their revival count, so arms
        agree) and a fresh purchase clock; call trigger_orders too if they buy today.
        """
        c = self.customers
        idx = np.asarray(idx)
        idx = idx[~c.alive[idx] & c.present[idx]]
        if idx.size == 0:
            return idx
        c.revivals[idx] += 1
        c.alive[idx] = True
        uid = c.uid[idx]
        c.dropout_budget[idx] = self.streams["dropout"].exponential(uid, c.revivals[idx].astype(np.uint64))
        c.purchase_budget[idx] = self.streams["purchase.revival"].exponential(uid, c.revivals[idx].astype(np.uint64))
        self.effects_changed(idx)
        for m in self.mechanics:
            m.on_revivals(idx)
        return idx

    def _new_customers(self, uids, segment_of=None) -> np.ndarray:
        c = self.customers
        old_cap = c.capacity
        idx = c.add(uids, self.day, self.scenario, self.streams, segment_of=segment_of)
        c.set_responsiveness(idx, c.resp_ps, c.resp_lam)
        c.responsiveness[idx] /= c.resp_norm
        if c.capacity != old_cap:
            for m in self.mechanics:
                m.grow(c.capacity)
        return idx

    def mechanic(self, name):
        """The running mechanic of that name, or None: for reading a model from outside (tests, the
        reference comparison). Mechanics never call it: each is handed the peers it declares."""
        for m in self.mechanics:
            if m.name == name:
                return m
        return None

    def add_arrivals(self, idx):
        """Queue customers who make their first order today (mechanics use this for referred friends)."""
        self._arrivals_today.append(idx)

    # ------------------------------------------------------------------ effects
    def effects_changed(self, idx):
        self._dirty.append(np.asarray(idx))

    def _refresh_effects(self):
        if not self._dirty:
            return
        idx = distinct_rows(np.concatenate(self._dirty)) if len(self._dirty) > 1 else self._dirty[0]
        self._dirty = []
        c = self.customers
        inten = np.ones(len(idx), dtype=np.float32)
        basket = np.ones(len(idx), dtype=np.float32)
        drop = np.ones(len(idx), dtype=np.float32)
        for m in self.mechanics:
            if m.intensity is not None:
                inten *= m.intensity[idx]
            if m.basket is not None:
                basket *= m.basket[idx]
            if m.dropout is not None:
                drop *= m.dropout[idx]
        if self._response_scaled:
            # calibrated response strengths: scale each channel's deviation from no effect
            s = self._response
            inten = np.maximum(1.0 + s.intensity * (inten - 1.0), 0.0).astype(np.float32)
            basket = np.maximum(1.0 + s.basket * (basket - 1.0), 0.01).astype(np.float32)
            drop = np.maximum(1.0 + s.dropout * (drop - 1.0), 0.0).astype(np.float32)
        c.intensity_mult[idx] = inten
        c.basket_mult[idx] = basket
        c.dropout_mult[idx] = drop
        alive = c.alive[idx]
        c.rate[idx] = c.lam[idx] * inten * alive
        if self.has_pareto:  # only Pareto/NBD customers have a daily hazard
            c.hazard[idx] = c.mu[idx] * drop * alive

    # ------------------------------------------------------------------ the day loop
    def step(self):
        """One day: the steps of docs/DESIGN.md#the-daily-loop, in the order written down there
        (the one place it is written down); the comments below carry the steps' numbers."""
        day = self.day
        c = self.customers
        month = self.calendar.month_of(day)
        self.ledger.month = month if day >= 0 else -1
        if month != c.ring_month:  # a new month: its bucket starts empty
            c.advance_ring(month)
        self._month_slot = month % MONTH_RING
        if self.mechanics and self.fixed_cost and day >= 0 and (day == 0 or self.calendar.month_of(day - 1) != month):
            # the programme's running cost for the month, pro rata where the horizon covers part of it
            self.ledger.book("programme", "fixed_running", self.fixed_cost * self.calendar.month_share(month), "cost")

        # 1. arrivals
        arrivals = self._arrivals(day)
        # 2. mechanics start the day
        for m in self.mechanics:
            m.start_day(day)
        # 3. effects
        self._refresh_effects()
        # 4. dropout hazard (Pareto/NBD)
        n = c.n
        dying = None
        if self.has_pareto:
            life = c.dropout_budget[:n]
            life -= c.hazard[:n]
            dying = np.flatnonzero((life <= 0) & c.alive[:n])
        # 5. purchase clocks
        scale = 1.0
        for m in self.mechanics:
            s = m.day_intensity(day)
            if s is not None:
                scale *= s
        self._day_scale = scale
        gap = c.purchase_budget[:n]
        if scale == 1.0:
            gap -= c.rate[:n]
        else:
            gap -= c.rate[:n] * np.float32(scale)
        if dying is not None and dying.size:
            # the customer left part-way through the day: undo the exposure after that moment
            frac_alive = 1.0 + c.dropout_budget[dying] / c.hazard[dying]
            gap[dying] += c.rate[dying] * scale * (1.0 - frac_alive)
        # 6. orders
        self._orders(day, arrivals)
        if dying is not None and dying.size:
            self._drop_out(dying)
        # 7. end of day
        for m in self.mechanics:
            m.end_day(day)
        # 8. month end
        if day >= 0 and self.calendar.is_month_end(day):
            month = self.calendar.month_of(day)
            for m in self.mechanics:
                m.end_month(month, day)
            self._record_month(month, day)
        self.day += 1

    def _arrivals(self, day):
        c = self.customers
        parts = []
        born = c.born_day[: c.n_scheduled]
        lo = np.searchsorted(born, np.int32(day), side="left")  # int32: no conversion of the whole array
        hi = np.searchsorted(born, np.int32(day), side="right")
        if hi > lo and not c.present[lo]:
            parts.append(np.arange(lo, hi))
            paid = int((c.uid[lo:hi] >= self.n_initial).sum())
            if paid and day >= 0:
                self.ledger.book(BASE, "acquisition", paid * self.acquisition_cost, "cost")
        parts += self._arrivals_today
        self._arrivals_today = []
        if not parts:
            return np.empty(0, dtype=np.int64)
        idx = np.concatenate(parts) if len(parts) > 1 else parts[0]
        c.present[idx] = True
        c.alive[idx] = True
        if day >= 0:
            self.monthly["new_customers"][self.calendar.month_of(day)] += int(self.is_new(idx).sum())
        for m in self.mechanics:
            m.on_arrivals(idx)
        self.effects_changed(idx)
        return idx

    def is_new(self, idx):
        """Acquired during the horizon (paid or referred), as opposed to the launch base."""
        c = self.customers
        return (c.born_day[idx] >= 0) & (c.uid[idx] >= np.uint64(self.n_initial))

    def _orders(self, day, arrivals):
        c = self.customers
        n = c.n
        first = arrivals
        buyers = np.flatnonzero(c.purchase_budget[:n] <= 0)
        if first.size and buyers.size:
            buyers = np.setdiff1d(buyers, first, assume_unique=True)
        while first.size or buyers.size:
            placed = self._place(day, buyers, first)
            first = np.empty(0, dtype=np.int64)
            # a customer whose clock ran past the next budget too buys again today
            # (only today's buyers can: everyone else's clock is still short of it)
            buyers = placed[(c.purchase_budget[placed] <= 0) & c.alive[placed]]

    def _place(self, day, repeat_idx, first_idx):
        c = self.customers
        idx = np.concatenate([first_idx, repeat_idx]) if first_idx.size else repeat_idx
        if idx.size == 0:
            return idx
        n_first = first_idx.size
        is_first = np.zeros(idx.size, dtype=bool)
        is_first[:n_first] = True
        uid = c.uid[idx]
        k = c.orders[idx]
        # Basket: Gamma(p, nu) for the customer's k-th order (Gamma-Gamma), times programme effects.
        gross = self.streams["basket"].gamma_quantile(c.spend_shape[idx], uid, k) / c.spend_rate[idx]
        if self.mechanics:
            gross *= c.basket_mult[idx]
        orders = Orders(idx, day, gross, is_first, uid)
        for m in self.mechanics:
            m.price_orders(orders)
        orders.settle()
        # ledger: sales at list price and the cost of goods sold
        revenue = float(gross.sum())
        self.ledger.book(BASE, "sales", revenue, "revenue")
        self.ledger.book(BASE, "cost_of_goods", revenue * (1.0 - self.margin), "cost")
        # record the orders on the customers
        # (each column read and written once: a fancy-index += gathers, adds and scatters, and the rows are
        # customers spread over the whole base, so every gather is a cache miss)
        c.orders[idx] = k + 1
        c.last_order_day[idx] = day
        slot = self._month_slot
        c.month_orders[slot, idx] += 1
        c.year_orders[idx] += 1
        gross32 = gross.astype(np.float32)
        c.month_spend[slot, idx] += gross32
        if day >= 0:
            c.horizon_orders[idx] += 1
            c.horizon_spend[idx] += gross32
            mo = self.calendar.month_of(day)
            s = self.monthly
            s["orders"][mo] += idx.size
            s["first_orders"][mo] += n_first
            s["repeat_orders"][mo] += idx.size - n_first
            s["revenue"][mo] += revenue
            s["discounts"][mo] += float(orders.discount.sum())
            s["rewards_face"][mo] += float(orders.reward.sum())
            s["net_revenue"][mo] += float(orders.paid.sum())
            if self.mechanics:
                s["free_deliveries"][mo] += int(orders.free_delivery.sum())
        # the wait until the next order: Exp(1) in intensity time, keyed by order number;
        # the first order starts the clock
        wait = self.streams["purchase"].exponential(uid, k + 1)
        # a first order happens as the customer arrives, at the start of the day, so the
        # clock to the next order already runs today (as the dropout clock does)
        if n_first:
            wait[is_first] -= c.rate[idx[is_first]] * self._day_scale
            c.purchase_budget[idx] = np.where(is_first, wait, c.purchase_budget[idx] + wait)
        else:  # repeat orders only (most batches): no masks
            wait += c.purchase_budget[idx]
            c.purchase_budget[idx] = wait
        for m in self.mechanics:
            m.after_orders(orders)
        if self.order_observer is not None:  # tests read the orders themselves (off otherwise)
            self.order_observer(orders)
        # BG/NBD: after each repeat order the customer may drop out (not after the first)
        rep = idx[n_first:]  # the first orders lead the batch
        p_drop = c.p_drop[rep]
        bgnbd = p_drop > 0
        if not bgnbd.all():
            rep, p_drop = rep[bgnbd], p_drop[bgnbd]
        if rep.size:
            # The per-order dropout is divided by the programme's intensity effect, so that
            # buying more often does not by itself shorten a customer's life in calendar
            # time (in plain BG/NBD every order is a chance to leave). Baseline: unchanged.
            p = p_drop.astype(np.float64) * c.dropout_mult[rep]
            if self.mechanics:
                p /= np.maximum(c.intensity_mult[rep] * self._day_scale, 1e-6)
            p = np.minimum(p, 1.0)
            with np.errstate(divide="ignore"):
                life = c.dropout_budget[rep] + np.log1p(-p)
            c.dropout_budget[rep] = life
            gone = rep[life <= 0]
            if gone.size:
                self._drop_out(gone)
        return idx

    def _drop_out(self, idx):
        c = self.customers
        c.alive[idx] = False
        c.rate[idx] = 0.0
        c.hazard[idx] = 0.0
        c.dropout_budget[idx] = np.inf
        # no purchase clock after dropping out: a BG/NBD customer who drops out after a
        # repeat order with the clock still run out would otherwise keep buying next day
        c.purchase_budget[idx] = np.inf
        for m in self.mechanics:
            m.on_dropouts(idx)

    def _record_month(self, month, day):
        c = self.customers
        n = c.n
        s = self.monthly
        present = c.present[:n]
        active = present & (c.last_order_day[:n] > day - self.window)
        s["active_end"][month] = active.sum()
        s["alive_end"][month] = c.alive[:n].sum()
        s["alive_launch_end"][month] = (c.alive[:n] & c.alive_at_launch[:n]).sum()
        s["loyal_end"][month] = (active & (c.trailing_orders() >= self.loyal_k)).sum()
        s["retained_end"][month] = (active & c.active_at_launch[:n]).sum()
        new = (c.born_day[:n] >= 0) & (c.uid[:n] >= np.uint64(self.n_initial))  # as is_new, over all rows
        s["new_active_end"][month] = (active & new).sum()
        s["buyers"][month] = (c.month_orders[self._month_slot, :n] > 0).sum()

    # ------------------------------------------------------------------ driving
    def _programme_launch_costs(self):
        eco = self.scenario.cfg.economics
        month0 = self.calendar.month_of(0)
        self.ledger.month = month0
        self.ledger.book("programme", "setup", eco.programme_setup_cost, "cost")
        self.ledger.open_line("programme", "fixed_running", "cost")

    def members_joined(self, idx):
        """These customers joined the programme at today's order: the mechanics that act on members hear it."""
        for m in self.mechanics:
            m.on_joins(idx)

    def members(self):
        """Who joined the programme (bool per row): the membership of the first mechanic in the day's
        order that keeps one (enrolment's members, else a paid subscription's); None when the
        programme has no membership."""
        for m in self.mechanics:
            joined = m.membership()
            if joined is not None:
                return joined[: self.customers.n]
        return None

    def customer_outcomes(self) -> dict:
        """Per customer row: orders and gross spend over the horizon, and who was active at launch."""
        c = self.customers
        n = c.n
        return {"rows": n, "orders": c.horizon_orders[:n].astype(np.float64),
                "spend": c.horizon_spend[:n].astype(np.float64), "active_at_launch": c.active_at_launch[:n].copy()}

    def mark_launch(self):
        """Mark who counts as a customer at launch: the launch base's customers who bought within
        the activity window (a fresh cohort's first orders are on launch day); customers acquired
        during the horizon, day 0 included, are new customers, never in the launch count."""
        c = self.customers
        n = c.n
        base = c.uid[:n] < np.uint64(self.n_initial)
        recent = c.present[:n] & (c.last_order_day[:n] > -self.window)
        c.active_at_launch[:n] = base & (recent | (c.born_day[:n] == 0))
        c.alive_at_launch[:n] = base & (c.alive[:n] | (c.born_day[:n] == 0))

    def run(self):
        while self.day < self.last_day:
            self.step()
        return self

    def close(self):
        """Release a finished arm: its customers, its mechanics and their columns.

        Call it once the records are taken. The mechanics point at the model and at
        each other; closing them drops those links (and their arrays), so nothing
        is left in a reference cycle and every array is freed at once. A closed
        model cannot run again."""
        for m in self.mechanics:
            m.close()
        self.mechanics = []
        self.customers = None
        self.order_observer = None
        self._dirty = []
        self._arrivals_today = []
