"""What every programme mechanic is: its config schema, its per-customer state,
its hooks into the day loop and its ledger lines, in one module.

The engine knows a mechanic only through the hooks below and calls them in the
order written down once in ``sim.engine.LoyaltyModel.step``. A hook that a
mechanic does not need stays a no-op.

Effects on behaviour go through three per-customer factor arrays a mechanic may
own (``intensity``, ``basket``, ``dropout``); the engine multiplies the factors
of all mechanics into the customer's effective purchase rate, basket size and
dropout hazard. A mechanic that changes its factors for some customers calls
``self.changed(idx)`` so the engine refreshes just those rows.
"""
from __future__ import annotations

import numpy as np

from sim.schema import Section


class Orders:
    """Today's batch of orders, at most one per customer (the engine loops for more)."""

    __slots__ = ("idx", "day", "gross", "discount", "reward", "first", "free_delivery", "uid", "points", "_paid")

    def __init__(self, idx, day, gross, first, uid):
        self.idx = idx                      # customer rows
        self.day = day
        self.uid = uid
        self.gross = gross                  # list value of the basket (float64)
        self.discount = np.zeros(len(idx))  # price reductions granted on this order (face value)
        self.reward = np.zeros(len(idx))    # face value of points rewards redeemed on this order
        self.first = first                  # the customer's first order ever (acquisition)
        self.free_delivery = np.zeros(len(idx), dtype=bool)
        self.points = np.zeros(len(idx))     # points the order earned (set by the points mechanic)
        self._paid = None

    def __len__(self):
        return len(self.idx)

    @property
    def paid(self):
        """What the customer pays for the goods (delivery fees aside); fixed once prices are set."""
        if self._paid is not None:
            return self._paid
        return np.maximum(self.gross - self.discount - self.reward, 0.0)

    def settle(self):
        """Prices are final (after every mechanic's price_orders): compute what is paid once."""
        self._paid = np.maximum(self.gross - self.discount - self.reward, 0.0)


class Mechanic:
    name: str = ""
    LABEL: str = ""           # the mechanic as a reader names it ("Paid membership")
    LEDGER: dict = {}         # line -> label: every ledger line it books (book() refuses any other)
    SCHEMA: Section = Section(optional=True)

    def __init__(self, config, model):
        self.config = config
        self.model = model
        self.customers = model.customers
        self.ledger = model.ledger
        self.calendar = model.calendar
        self.economics = model.scenario.cfg.economics
        self.intensity = None
        self.basket = None
        self.dropout = None
        self._columns: list[tuple[str, object, object]] = []

    # ------------------------------------------------------------------ set-up helpers
    @classmethod
    def active(cls, programme) -> bool:
        """Does this mechanic run in a programme? (Its block is there and not switched off.)"""
        block = programme.get(cls.name)
        return block is not None and block.get("enabled", True)

    @classmethod
    def validate(cls, config, scenario_cfg, path, file):
        """Cross-field checks beyond the schema; raise ScenarioError naming the field."""

    def column(self, name, dtype, fill=0):
        """A per-customer state array owned by this mechanic, grown with the customer base."""
        arr = np.full(self.customers.capacity, fill, dtype=dtype)
        setattr(self, name, arr)
        self._columns.append((name, dtype, fill))
        return arr

    def factor(self, kind):
        """Own a behaviour factor array: kind is 'intensity', 'basket' or 'dropout'."""
        arr = self.column(f"{kind}", np.float32, 1.0)
        return arr

    def grow(self, capacity):
        for name, dtype, fill in self._columns:
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    @property
    def value_half(self):
        return self.model.scenario.cfg.response.value_half

    @property
    def delay_half_days(self):
        return self.model.scenario.cfg.response.delay_half_days

    def changed(self, idx):
        """Tell the engine that this mechanic's factors changed for these customers."""
        self.model.effects_changed(idx)

    def book(self, line, amount, kind="cost"):
        if line not in self.LEDGER:
            raise ValueError(f"{self.name} books {line!r}, which its LEDGER does not declare")
        if amount:
            self.ledger.book(self.name, line, amount, kind)

    # ------------------------------------------------------------------ hooks (day-loop order)
    def on_arrivals(self, idx):
        """New customers joined today (before their first order)."""

    def start_day(self, day):
        """Time-varying effects: calendar events, ends of temporary effects."""

    def day_intensity(self, day):
        """A purchase-intensity multiplier for every customer today, or None."""
        return None

    def price_orders(self, orders: Orders):
        """Set prices: discounts and reward redemptions on today's orders."""

    def after_orders(self, orders: Orders):
        """React to paid orders: earn points, qualify for tiers, trigger follow-ups."""

    def on_joins(self, idx):
        """These customers joined the programme today (at an order, before it earns)."""

    def on_dropouts(self, idx):
        """These customers stopped being customers today (latent dropout)."""

    def on_revivals(self, idx):
        """These customers, who had dropped out, were won back today."""

    def end_day(self, day):
        """End-of-day work: expiries, queues, sends."""

    def end_month(self, month, day):
        """Month-end work: evaluations, liability, monthly series."""

    # ------------------------------------------------------------------ results
    def series(self) -> dict:
        """Mechanic-specific monthly series (name -> array over horizon months)."""
        return {}

    def summary(self) -> dict:
        """Mechanic-specific end-of-run figures."""
        return {}
