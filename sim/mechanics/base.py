"""What every programme mechanic is: its config schema, what it needs from the
other mechanics, its per-customer state, its hooks into the day loop and its
ledger lines, in one module.

The engine knows a mechanic only through the hooks below and calls them in the
order written down once in docs/DESIGN.md#the-daily-loop (``sim.engine.LoyaltyModel.step``
runs it); within each hook the mechanics run in the order their declarations give
(``Registry.order``). A hook that a mechanic does not need stays a no-op.

A mechanic declares, as class attributes:

* ``name`` and ``SCHEMA``: its block in the scenario's ``programme``;
* ``requires``: mechanics it cannot run without (a programme that runs it without
  them is refused, naming its field), ``uses``: mechanics it reads when they run,
  and ``after``: mechanics whose hooks must run before its own within a day. The
  model hands it each peer it requires or uses as an attribute of that name
  (``self.tiers``; None when that mechanic does not run) before any hook runs;
  a mechanic never looks another up by name;
* ``FACTORS`` and ``COLUMNS``: its per-customer state. The base class allocates
  every column at the size of the customer base, grows them with it and lets go
  of them in ``close``; the memory estimate (``sim.limits``) sums them.

Effects on behaviour go through three per-customer factor arrays a mechanic may
own (``FACTORS``: ``intensity``, ``basket``, ``dropout``); the engine multiplies
the factors of all mechanics into the customer's effective purchase rate, basket
size and dropout hazard. A mechanic that changes its factors for some customers
calls ``self.changed(idx)`` so the engine refreshes just those rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sim.errors import ScenarioError
from sim.schema import Section

FACTOR_KINDS = ("intensity", "basket", "dropout")


@dataclass(frozen=True)
class Column:
    """A per-customer array a mechanic keeps: one value per customer, or ``rows`` values per
    customer (a ring of months, one lot per month a point can live) as a (rows, customers) array.

    ``rows`` and ``when`` may be functions of the mechanic's config block: ``rows`` its leading
    size, ``when`` whether the column is kept at all in that configuration (if not, the
    attribute is None)."""

    name: str
    dtype: Any
    fill: Any = 0
    rows: int | Callable[[Any], int] | None = None
    when: Callable[[Any], bool] | None = None
    doc: str = ""

    def shape(self, config) -> tuple[int, ...] | None:
        """The leading shape in this configuration: () one value per customer, (k,) k of them;
        None when the column is not kept."""
        if self.when is not None and not self.when(config):
            return None
        if self.rows is None:
            return ()
        k = self.rows(config) if callable(self.rows) else self.rows
        return (int(k),)

    def row_bytes(self, config) -> int:
        """Bytes this column holds per customer row in this configuration."""
        shape = self.shape(config)
        if shape is None:
            return 0
        return np.dtype(self.dtype).itemsize * (shape[0] if shape else 1)

    def allocate(self, config, capacity: int, old=None):
        """The array for ``capacity`` customers (filled), the rows of ``old`` copied in; None when not kept."""
        shape = self.shape(config)
        if shape is None:
            return None
        arr = np.full((*shape, capacity), self.fill, dtype=self.dtype)
        if old is not None:
            arr[..., : old.shape[-1]] = old
        return arr


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
    requires: tuple[str, ...] = ()  # mechanics it cannot run without
    uses: tuple[str, ...] = ()      # mechanics it reads when they run
    after: tuple[str, ...] = ()     # mechanics whose hooks run before its own within a day
    FACTORS: tuple[str, ...] = ()   # behaviour factors it owns: some of FACTOR_KINDS
    COLUMNS: tuple[Column, ...] = ()  # its per-customer state
    # Keys of its summary() and series() that are not totals (rates, shares, per-customer or per-order
    # figures, day or minute counts): a run scaled to the whole base (customers.scale_to, sim.scaling)
    # multiplies every other number of them by the scaling factor
    INTENSIVE: frozenset = frozenset()

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
        capacity = self.customers.capacity
        for col in self.columns():
            setattr(self, col.name, col.allocate(config, capacity))

    # ------------------------------------------------------------------ declarations
    @classmethod
    def columns(cls) -> tuple[Column, ...]:
        """Every per-customer column: the behaviour factors (float32, 1 is no effect), then COLUMNS."""
        return tuple(Column(kind, np.float32, 1.0) for kind in cls.FACTORS) + tuple(cls.COLUMNS)

    @classmethod
    def row_bytes(cls, config) -> int:
        """Bytes of per-customer state this mechanic keeps per customer row, in this configuration."""
        return sum(col.row_bytes(config) for col in cls.columns())

    @classmethod
    def peers(cls) -> tuple[str, ...]:
        """The mechanics handed to it as attributes: those it requires, then those it uses."""
        return tuple(dict.fromkeys(cls.requires + cls.uses))

    @classmethod
    def active(cls, programme) -> bool:
        """Does this mechanic run in a programme? (Its block is there and not switched off.)"""
        block = programme.get(cls.name)
        return block is not None and block.get("enabled", True)

    @classmethod
    def validate(cls, config, scenario_cfg, path, file):
        """Cross-field checks beyond the schema; raise ScenarioError naming the field."""

    @classmethod
    def unfelt(cls, config) -> tuple[str, ...]:
        """Fields of its block (paths inside it) that this configuration cannot feel: ``validate
        --explain``, the assumptions and the uncertainty analysis leave them out."""
        return ()

    @classmethod
    def reaches(cls, config) -> bool:
        """Does it send messages to customers (so who can be reached, sim.mechanics.contact, matters)?"""
        return False

    # ------------------------------------------------------------------ set-up and release
    def connect(self, running: dict):
        """Take the peers it declared from the running mechanics (by name): each becomes an
        attribute of that name, None when that mechanic does not run. The model calls this
        once every mechanic exists, before any hook runs."""
        for name in self.peers():
            if name in self.__dict__:
                raise TypeError(f"{type(self).__name__} sets an attribute {name!r} itself; it is the name of a peer "
                                f"it declares (requires/uses), which the model hands it")
            setattr(self, name, running.get(name))

    def grow(self, capacity):
        """The customer base grew to ``capacity`` rows: every column grows with it."""
        for col in self.columns():
            old = getattr(self, col.name)
            if old is not None:
                setattr(self, col.name, col.allocate(self.config, capacity, old))

    def close(self):
        """Let go of this mechanic's arrays, its peers and the model (``LoyaltyModel.close`` calls it)."""
        for col in self.columns():
            setattr(self, col.name, None)
        for name in self.peers():
            setattr(self, name, None)
        self.model = self.customers = None

    # ------------------------------------------------------------------ helpers
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

    def membership(self):
        """Who has joined the programme through this mechanic (bool per row), or None if it keeps no
        membership. The engine's ``members`` takes the first mechanic in the day's order that keeps one."""
        return None

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


# ---------------------------------------------------------------------- the registry

class DeclarationError(TypeError):
    """The mechanics' declarations do not fit together (an unknown name, a cycle in ``after``)."""


class Registry:
    """The programme's mechanics by name, and the order their hooks run in.

    Built once from the mechanic classes (``sim.mechanics.MECHANICS``); reading it as a
    mapping gives the classes in the order they were listed. ``order`` sorts the mechanics
    a programme runs from their ``after`` declarations, keeping the listed order wherever
    the declarations leave a choice (a stable topological sort), so listing a mechanic
    never reorders the others. A cycle, a repeated name or a declaration naming a
    mechanic that is not registered is an error here, when the registry is built.
    """

    def __init__(self, *classes):
        self._classes = {}
        for cls in classes:
            if not cls.name or cls.name in self._classes:
                raise DeclarationError(f"{cls.__name__}: every mechanic needs a name of its own (got {cls.name!r})")
            self._classes[cls.name] = cls
        for cls in classes:
            for kind in ("requires", "uses", "after"):
                for other in getattr(cls, kind):
                    if other not in self._classes or other == cls.name:
                        raise DeclarationError(f"{cls.__name__}.{kind} names {other!r}, which is not another "
                                               f"registered mechanic ({', '.join(self._classes)})")
            unknown = [k for k in cls.FACTORS if k not in FACTOR_KINDS]
            names = [c.name for c in cls.columns()]
            if unknown or len(set(names)) != len(names):
                raise DeclarationError(f"{cls.__name__}: factors are some of {FACTOR_KINDS} and column names "
                                       f"are distinct (got {cls.FACTORS}, {names})")
        self.order(self._classes)  # a cycle among all of them is an error now, not in some programme later

    # the mapping: name -> class, in the listed order
    def __getitem__(self, name):
        return self._classes[name]

    def __iter__(self):
        return iter(self._classes)

    def __len__(self):
        return len(self._classes)

    def __contains__(self, name):
        return name in self._classes

    def get(self, name, default=None):
        return self._classes.get(name, default)

    def items(self):
        return self._classes.items()

    def values(self):
        return self._classes.values()

    def order(self, names) -> list[str]:
        """These mechanics in the order their hooks run: each after those it declares ``after``
        (when they run too); otherwise in the listed order."""
        names = [n for n in self._classes if n in set(names)]
        waiting = {n: {a for a in self._classes[n].after if a in names} for n in names}
        out = []
        while waiting:
            ready = next((n for n in names if n in waiting and not waiting[n]), None)
            if ready is None:
                raise DeclarationError(f"the mechanics' 'after' declarations form a cycle: {self._cycle(waiting)}")
            out.append(ready)
            del waiting[ready]
            for rest in waiting.values():
                rest.discard(ready)
        return out

    @staticmethod
    def _cycle(waiting) -> str:
        """One cycle among the mechanics still waiting, written a -> b -> a (a runs after b)."""
        path, here = [], next(iter(waiting))
        while here not in path:
            path.append(here)
            here = sorted(waiting[here])[0]
        loop = path[path.index(here):] + [here]
        return " -> ".join(loop)

    def running(self, programme) -> list:
        """The classes of the mechanics a programme runs, in the order their hooks run."""
        if programme is None:
            return []
        return [self._classes[n] for n in self.order([n for n, c in self._classes.items() if c.active(programme)])]

    def check(self, programme, file):
        """Refuse (ScenarioError, naming the field) a programme that runs a mechanic without one it requires."""
        running = {cls.name for cls in self.running(programme)}
        for cls in self.running(programme):
            for need in cls.requires:
                if need not in running:
                    raise ScenarioError(file, f"programme.{cls.name}", f"needs the {need} mechanic "
                                        f"(programme.{need}), which this programme does not run; add it, or "
                                        f"switch {cls.name} off")

    def build(self, programme, model) -> list:
        """The running mechanics of a programme for this model, in hook order, each handed its peers."""
        mechanics = [cls(programme.get(cls.name), model) for cls in self.running(programme)]
        by_name = {m.name: m for m in mechanics}
        for m in mechanics:
            m.connect(by_name)
        return mechanics

    def row_bytes(self, programme) -> int:
        """Bytes per customer row of the per-customer state of the mechanics a programme runs."""
        return sum(cls.row_bytes(programme.get(cls.name)) for cls in self.running(programme))
