"""The customer base as a struct of arrays: one row per customer agent.

Traits are drawn once from each customer's uid (so both arms and every backend
see the same people); state is what the day loop changes. Rows are never
deleted: a customer who drops out is marked (``alive = False``).
"""
from __future__ import annotations

import numpy as np

from sim.random import Streams
from sim.time_units import TIME_UNITS
from sim.traits import TRAIT_NAMES
MONTH_RING = 12  # monthly buckets kept per customer: trailing-year counts for loyalty and tiers
NEVER = np.iinfo(np.int32).min // 2  # "no order yet" day

# Rows of per-customer columns: (name, dtype, fill). Traits first, then state.
TRAIT_COLUMNS = (
    ("uid", np.uint64, 0),
    ("segment", np.int16, 0),
    ("born_day", np.int32, 0),
    ("lam", np.float32, 0.0),        # base purchase rate per day
    ("p_drop", np.float32, 0.0),     # BG/NBD dropout probability per repeat order (0 for Pareto/NBD)
    ("mu", np.float32, 0.0),         # Pareto/NBD dropout hazard per day (0 for BG/NBD)
    ("spend_shape", np.float32, 1.0),  # Gamma-Gamma p
    ("spend_rate", np.float32, 1.0),   # Gamma-Gamma nu: mean order value = p / nu
    ("responsiveness", np.float32, 1.0),
) + tuple((t, np.float32, 0.0) for t in TRAIT_NAMES)

STATE_COLUMNS = (
    ("alive", np.bool_, False),
    ("present", np.bool_, False),            # has arrived (made a first order)
    # what is left of an Exp(1) wait in intensity time: the next order when it runs out
    # (float32 halves the memory traffic of the one daily pass; ~1e-7 relative error a day)
    ("purchase_budget", np.float32, 0.0),
    ("dropout_budget", np.float64, 0.0),     # what is left of an Exp(1) life in hazard units: dropout at zero
    ("orders", np.int32, 0),                 # orders in the customer's life, first order included
    ("last_order_day", np.int32, NEVER),
    ("horizon_orders", np.int32, 0),         # orders since launch
    ("year_orders", np.uint16, 0),           # orders in the ring's twelve months (kept equal to their sum)
    ("horizon_spend", np.float32, 0.0),      # gross spend since launch
    ("intensity_mult", np.float32, 1.0),     # product of the programme's purchase-intensity effects
    ("basket_mult", np.float32, 1.0),        # product of basket-size effects
    ("dropout_mult", np.float32, 1.0),       # product of dropout-hazard effects
    ("satisfaction", np.float32, 0.0),       # service experience, -1 (detractor) .. +1 (promoter); 0 neutral
    ("revivals", np.int16, 0),               # times a lapsed (dropped-out) customer was won back
    ("rate", np.float32, 0.0),               # effective purchase rate per day = lam * intensity_mult * alive
    ("hazard", np.float32, 0.0),             # effective Pareto/NBD hazard per day = mu * dropout_mult * alive
)


class Customers:
    """Customer arrays preallocated to a capacity that covers arrivals."""

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.n = 0  # rows in use
        self.n_scheduled = 0  # rows created up front (launch base and paid acquisitions), ordered by arrival day
        for name, dtype, fill in TRAIT_COLUMNS + STATE_COLUMNS:
            setattr(self, name, np.full(self.capacity, fill, dtype=dtype))
        self.month_orders = np.zeros((MONTH_RING, self.capacity), dtype=np.uint16)
        self.month_spend = np.zeros((MONTH_RING, self.capacity), dtype=np.float32)
        self.segment_names: list[str] = []
        self.active_at_launch = np.zeros(self.capacity, dtype=np.bool_)  # counted in S for retention
        self.alive_at_launch = np.zeros(self.capacity, dtype=np.bool_)   # for latent survival
        # responsiveness normalisation, fixed on the launch base (see set_responsiveness)
        self.resp_ps = self.resp_lam = self.resp_norm = 1.0
        self.ring_month = None  # the month the ring's buckets were last advanced to

    # ------------------------------------------------------------------ structure
    def columns(self):
        return [c[0] for c in TRAIT_COLUMNS + STATE_COLUMNS] + ["month_orders", "month_spend", "active_at_launch",
                                                                 "alive_at_launch"]

    @classmethod
    def row_bytes(cls) -> int:
        """Bytes of one customer row: every column, the monthly rings and the launch marks (what the
        memory estimate of sim.limits counts), read off a base of one row."""
        one = cls(1)
        return sum(getattr(one, name).nbytes for name in one.columns())

    def ensure_capacity(self, needed: int):
        """Grow all arrays (rare: only when arrivals outrun the preallocated reserve)."""
        if needed <= self.capacity:
            return
        new_cap = max(needed, int(self.capacity * 1.5) + 1024)
        for name in self.columns():
            old = getattr(self, name)
            if old.ndim == 2:
                grown = np.zeros((old.shape[0], new_cap), dtype=old.dtype)
                grown[:, : self.capacity] = old
            else:
                fill = next((f for n, _, f in TRAIT_COLUMNS + STATE_COLUMNS if n == name), 0)
                grown = np.full(new_cap, fill, dtype=old.dtype)
                grown[: self.capacity] = old
            setattr(self, name, grown)
        self.capacity = new_cap

    def copy(self) -> "Customers":
        """An independent copy of the state (traits copied too; both are small next to a run)."""
        other = Customers.__new__(Customers)
        other.capacity, other.n, other.n_scheduled = self.capacity, self.n, self.n_scheduled
        other.segment_names = list(self.segment_names)
        other.resp_ps, other.resp_lam, other.resp_norm = self.resp_ps, self.resp_lam, self.resp_norm
        other.ring_month = self.ring_month
        for name in self.columns():
            setattr(other, name, getattr(self, name).copy())
        return other

    # ------------------------------------------------------------------ drawing people
    def add(self, uids: np.ndarray, born_day, scenario, streams: Streams, segment_of=None) -> np.ndarray:
        """Create rows for new customers; traits are functions of uid only. Returns their slots."""
        k = len(uids)
        self.ensure_capacity(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.n += k
        cfg = scenario.cfg.customers
        self.segment_names = [s.name for s in cfg.segments]
        self.uid[idx] = uids
        self.born_day[idx] = born_day
        if segment_of is None:
            shares = np.cumsum([s.share for s in cfg.segments])
            u = streams["trait.segment"].uniform(uids, 0)
            seg = np.minimum(np.searchsorted(shares, u, side="right"), len(shares) - 1)
        else:
            seg = np.asarray(segment_of)
        self.segment[idx] = seg
        unit_days = TIME_UNITS[cfg.time_unit]
        for s_i, seg_cfg in enumerate(cfg.segments):
            m = seg == s_i
            if not m.any():
                continue
            rows, u = idx[m], uids[m]
            p = seg_cfg.purchase
            # lambda ~ Gamma(r, rate alpha) per time unit -> per day
            self.lam[rows] = streams["trait.lambda"].gamma(p.r, u, 0) / p.alpha / unit_days
            if p.model == "bgnbd":
                self.p_drop[rows] = streams["trait.dropout"].beta(p.a, p.b, u, 0)
                self.mu[rows] = 0.0
            else:
                self.mu[rows] = streams["trait.dropout"].gamma(p.s, u, 0) / p.beta / unit_days
                self.p_drop[rows] = 0.0
            sp = seg_cfg.spend
            self.spend_shape[rows] = sp.p
            # nu ~ Gamma(q, rate gamma); an order's value ~ Gamma(p, rate nu)
            self.spend_rate[rows] = streams["trait.spend"].gamma(sp.q, u, 0) / sp.gamma
            for t in TRAIT_NAMES:
                tc = seg_cfg.traits[t]
                getattr(self, t)[rows] = streams[f"trait.{t}"].beta(tc.a, tc.b, u, 0)
        self.purchase_budget[idx] = np.inf  # no clock before the first order; it starts there
        self.dropout_budget[idx] = streams["dropout"].exponential(uids, 0)
        return idx

    def reserve(self, uids: np.ndarray, born_day) -> np.ndarray:
        """Rows for customers whose traits and history come from elsewhere (a twin: sim.twin.fill)."""
        k = len(uids)
        self.ensure_capacity(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.n += k
        self.uid[idx] = uids
        self.born_day[idx] = born_day
        return idx

    def set_responsiveness(self, idx, reference_mean_ps: float, reference_mean_lam: float):
        """Who responds to money incentives: price-sensitive and light or moderate buyers.

        Heavy buyers barely change their behaviour and collect most rewards
        (Liu 2007, J. Marketing; Hartmann & Viard 2008), so the weight falls as the
        base purchase rate rises: w = (ps / mean ps) * 2 / (1 + lam / mean lam).
        Averaged over a base, w is close to 1, so a module's documented effect size
        is the average customer's effect.
        """
        ps = self.price_sensitivity[idx] / max(reference_mean_ps, 1e-9)
        light = 2.0 / (1.0 + self.lam[idx] / max(reference_mean_lam, 1e-12))
        self.responsiveness[idx] = ps * light

    def advance_ring(self, month: int):
        """Start the bucket of a new month (and of any months skipped), emptying what it held a year ago."""
        if self.ring_month is None:
            self.ring_month = month
            return
        for m in range(self.ring_month + 1, min(month, self.ring_month + MONTH_RING) + 1):
            self.year_orders[: self.n] -= self.month_orders[m % MONTH_RING, : self.n]
            self.month_orders[m % MONTH_RING, : self.n] = 0
            self.month_spend[m % MONTH_RING, : self.n] = 0
        if month > self.ring_month + MONTH_RING:
            self.month_orders[:, : self.n] = 0
            self.month_spend[:, : self.n] = 0
            self.year_orders[: self.n] = 0
        self.ring_month = max(month, self.ring_month)

    # ------------------------------------------------------------------ views
    def mean_order_value(self, idx=None):
        if idx is None:
            idx = slice(0, self.n)
        return self.spend_shape[idx] / self.spend_rate[idx]

    def trailing_orders(self):
        """Orders in the trailing twelve calendar months (ring of monthly buckets)."""
        return self.year_orders[: self.n]

    def trailing_spend(self):
        return self.month_spend[:, : self.n].sum(axis=0, dtype=np.float64)
