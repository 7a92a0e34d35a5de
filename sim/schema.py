"""A small declarative schema for scenario files.

Each field knows its type, default, allowed range and a one-line description;
validation fills defaults, rejects unknown keys with a did-you-mean, and
reports the file, the dotted field and what is allowed.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import math
from dataclasses import dataclass, field as _field
from typing import Any

from sim.errors import ScenarioError

REQUIRED = object()


IMMUTABLE = "a validated scenario cannot be changed; make a new one with Scenario.with_overrides({...})"


class Config(dict):
    """A validated section: a dict that also reads as attributes (``cfg.points.earn_per_currency``).

    ``freeze()`` makes it (and everything inside: sections, lists as tuples)
    read-only, which is what a validated ``Scenario`` holds.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    @property
    def frozen(self) -> bool:
        return self.__dict__.get("_frozen", False)

    def freeze(self) -> "Config":
        for k, v in dict.items(self):
            dict.__setitem__(self, k, _frozen(v))
        self.__dict__["_frozen"] = True
        return self

    def _check_mutable(self, *_, **__):
        if self.__dict__.get("_frozen"):
            raise TypeError(IMMUTABLE)

    def __setitem__(self, key, value):
        self._check_mutable()
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._check_mutable()
        super().__delitem__(key)

    def update(self, *a, **k):
        self._check_mutable()
        super().update(*a, **k)

    def pop(self, *a):
        self._check_mutable()
        return super().pop(*a)

    def popitem(self):
        self._check_mutable()
        return super().popitem()

    def setdefault(self, *a):
        self._check_mutable()
        return super().setdefault(*a)

    def clear(self):
        self._check_mutable()
        super().clear()

    def __reduce__(self):
        return (_rebuild, (dict(self), self.frozen))

    def __deepcopy__(self, memo):
        if self.frozen:
            return self  # immutable: sharing is safe
        import copy
        return Config({k: copy.deepcopy(v, memo) for k, v in self.items()})


def _frozen(value):
    if isinstance(value, Config):
        return value if value.frozen else value.freeze()
    if isinstance(value, dict):
        return Config(value).freeze()
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _rebuild(items, frozen):
    cfg = Config(items)
    return cfg.freeze() if frozen else cfg


class Spec:
    doc: str = ""

    def check(self, value, path, file):  # pragma: no cover - interface
        raise NotImplementedError

    def fail(self, path, file, value, allowed):
        raise ScenarioError(file, path, f"got {value!r}; allowed: {allowed}")


# Bounds of a number field that names none of its own: finite and large enough for any
# real business (money, counts, rates), small enough that nothing downstream overflows.
MAX_NUMBER = 1e12
MAX_WHOLE = 2**31 - 1
MAX_TEXT = 10_000    # characters in a text field (names are printed in every report)
MIN_POSITIVE = 1e-6  # a number that must be > 0 must be at least this: smaller ones underflow float32 arrays


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _show(value):
    if value != value:
        return ".nan (not a number)"
    return ".inf (infinity)" if value > 0 else "-.inf (minus infinity)"


# How well a behavioural default's SIZE is known. Every field with an evidence range says
# which (the uncertainty analysis draws it; validate --explain and the reports show it).
GRADES = {
    "measured": "a study measured this size: the source names the study and the figure",
    "direction": "a study shows the sign of the effect; its size is an assumption",
    "assumption": "no study sizes it: a seed assumption",
}


def check_grade(grade, range_, what=""):
    """Refuse (at import time: the schema is built when its module loads) a grade that is not one of
    GRADES, and a field with an evidence range that says nothing about how well its size is known."""
    if grade is not None and grade not in GRADES:
        raise ValueError(f"grade {grade!r} is not one of {', '.join(GRADES)} ({what})")
    if range_ is not None and grade is None:
        raise ValueError(f"a field with an evidence range needs grade= one of {', '.join(GRADES)} ({what})")


@dataclass
class Num(Spec):
    default: Any = REQUIRED
    doc: str = ""
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    lo_open: bool = False
    nullable: bool = False
    range: tuple | None = None  # plausible low and high: the evidence range, and the prior of the uncertainty analysis
    source: str = ""            # where the default comes from
    grade: str | None = None    # how well the default's size is known: one of GRADES (required with a range)

    def __post_init__(self):
        check_grade(self.grade, self.range, f"the field documented as {self.doc!r}, source {self.source!r}")

    def allowed(self):
        kind = "a whole number" if self.integer else "a number"
        parts = []
        def num(v):
            return f"{v:,}" if self.integer else f"{v:g}"
        if self.lower != self.lo and self.lo is not None:  # > 0, in practice at least MIN_POSITIVE
            parts.append(f"> {num(self.lo)} (at least {num(self.lower)})")
        else:
            parts.append(f"{'>' if self._open_below else '>='} {num(self.lower)}")
        parts.append(f"<= {num(self.upper)}")
        s = kind + (" " + " and ".join(parts) if parts else "")
        return s + (" or null" if self.nullable else "")

    @property
    def upper(self):
        """The upper bound in force: the field's own, else MAX_WHOLE / MAX_NUMBER (finite, so nothing overflows)."""
        if self.hi is not None:
            return self.hi
        return MAX_WHOLE if self.integer else MAX_NUMBER

    @property
    def lower(self):
        if self.lo is not None:
            if self.lo_open and self.lo == 0 and not self.integer:
                return MIN_POSITIVE
            return self.lo
        return -MAX_WHOLE if self.integer else -MAX_NUMBER

    @property
    def _open_below(self):
        return self.lo_open and self.lo is not None and self.lower == self.lo

    def check(self, value, path, file):
        if value is None and self.nullable:
            return None
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text) if self.integer and text.lstrip("+-").isdigit() else float(text)
            except (ValueError, OverflowError):
                self.fail(path, file, value, self.allowed())
        if not _is_number(value):
            self.fail(path, file, value, self.allowed())
        if isinstance(value, float) and not math.isfinite(value):  # .inf, -.inf, .nan
            raise ScenarioError(file, path, f"got {_show(value)}, which is not a finite number; allowed: {self.allowed()}")
        if self.integer:
            if isinstance(value, float) and not value.is_integer():
                self.fail(path, file, value, self.allowed())
            value = int(value)
        elif abs(value) <= 1e300:  # (a larger whole number would overflow a float: out of range below)
            value = float(value)
        lo, hi = self.lower, self.upper
        if value < lo or (self._open_below and value == lo) or value > hi:
            if isinstance(value, int) and abs(value) >= 10**30:
                raise ScenarioError(file, path, f"got a number with {len(str(abs(value)))} digits; allowed: {self.allowed()}")
            self.fail(path, file, value, self.allowed())
        return value


def Int(default=REQUIRED, lo=None, hi=None, doc="", nullable=False, grade=None):
    return Num(default, doc, lo=lo, hi=hi, integer=True, nullable=nullable, grade=grade)


EFFECT_CEILING = 10.0  # an effect size may go up to this many times the top of its evidence range


def Effect(default, low, high, source, doc="", lo=0.0, hi=None, *, grade=None):
    """A behavioural effect size: its default, the plausible range the evidence allows
    (``low``..``high``, which the uncertainty analysis draws from), the source of both and
    ``grade``, how well the size is known (one of GRADES; required).
    Without an explicit ``hi`` it may not exceed EFFECT_CEILING x ``high`` (at least 1): far
    outside the evidence, and a bound that keeps purchase rates (and run times) finite."""
    if not (low <= default <= high):
        raise ValueError(f"default {default} outside its range {low}..{high}")
    if hi is None:
        hi = max(EFFECT_CEILING * float(high), 1.0)
    return Num(default, doc, lo=lo, hi=hi, range=(float(low), float(high)), source=source, grade=grade)


def Prob(default=REQUIRED, doc="", grade=None):
    return Num(default, doc, lo=0.0, hi=1.0, grade=grade)


def Pos(default=REQUIRED, doc="", grade=None):
    """A strictly positive number."""
    return Num(default, doc, lo=0.0, lo_open=True, grade=grade)


def NonNeg(default=REQUIRED, doc="", hi=None, grade=None):
    return Num(default, doc, lo=0.0, hi=hi, grade=grade)


@dataclass
class Str(Spec):
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple | None = None
    nullable: bool = False

    def check(self, value, path, file):
        if value is None and self.nullable:
            return None
        if not isinstance(value, str):
            allowed = f"one of {', '.join(self.choices)}" if self.choices else "a text string"
            self.fail(path, file, value, allowed)
        if len(value) > MAX_TEXT:
            raise ScenarioError(file, path, f"got a text of {len(value):,} characters; allowed: at most {MAX_TEXT:,}")
        if self.choices and value not in self.choices:
            hint = difflib.get_close_matches(value, self.choices, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ScenarioError(file, path, f"got {value!r}; allowed: one of {', '.join(self.choices)}{extra}")
        return value


def Choice(choices, default=REQUIRED, doc=""):
    return Str(default, doc, choices=tuple(choices))


@dataclass
class Bool(Spec):
    default: Any = REQUIRED
    doc: str = ""

    def check(self, value, path, file):
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on")
        if not isinstance(value, bool):
            self.fail(path, file, value, "true or false")
        return value


@dataclass
class Date(Spec):
    default: Any = REQUIRED
    doc: str = ""
    nullable: bool = False
    # Dates a business plan can mean; with horizons and histories of at most 100 and
    # 10 years, every simulated day stays far inside the calendar (years 1..9999).
    lo: _dt.date = _dt.date(1900, 1, 1)
    hi: _dt.date = _dt.date(2399, 12, 31)

    def allowed(self):
        return f"a real date as YYYY-MM-DD, from {self.lo.isoformat()} to {self.hi.isoformat()}"

    def check(self, value, path, file):
        if value is None and self.nullable:
            return None
        date = None
        if isinstance(value, _dt.datetime):
            date = value.date()
        elif isinstance(value, _dt.date):
            date = value
        elif isinstance(value, str):
            try:
                date = _dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        if date is None or not (self.lo <= date <= self.hi):
            self.fail(path, file, value.isoformat() if isinstance(value, _dt.date) else value, self.allowed())
        return date


class Raw(Spec):
    """A value taken as written (checked where it is used)."""

    default = None

    def __init__(self, doc=""):
        self.doc = doc

    def check(self, value, path, file):
        return value


@dataclass
class Section(Spec):
    fields: dict = _field(default_factory=dict)
    doc: str = ""
    optional: bool = False  # an optional section is None unless given
    open_keys: bool = False  # free-form mapping (e.g. per-segment overrides) checked by a later rule

    @property
    def default(self):
        return None if self.optional else {}

    def check(self, value, path, file):
        if value is None:
            if self.optional:
                return None
            value = {}
        if not isinstance(value, dict):
            self.fail(path, file, value, "a mapping of " + ", ".join(self.fields))
        out = Config()
        for key in value:
            if not isinstance(key, str):
                raise ScenarioError(file, _join(path, str(key)), "keys must be text")
            if key not in self.fields and not self.open_keys:
                hint = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.6)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                allowed = ", ".join(self.fields) if self.fields else "no keys"
                raise ScenarioError(file, _join(path, key), f"unknown key{extra} (allowed here: {allowed})")
        for key, spec in self.fields.items():
            sub = _join(path, key)
            if key in value:
                out[key] = spec.check(value[key], sub, file)
            else:
                d = spec.default
                if d is REQUIRED:
                    raise ScenarioError(file, sub, f"is required ({spec.doc or 'no default'})")
                out[key] = spec.check(d, sub, file) if isinstance(spec, Section) and d is not None else d
        if self.open_keys:
            for key in value:
                if key not in self.fields:
                    out[key] = value[key]
        return out


@dataclass
class ListOf(Spec):
    item: Spec = None
    doc: str = ""
    default: Any = _field(default_factory=list)
    min_len: int = 0

    def check(self, value, path, file):
        if value is None:
            value = []
        if not isinstance(value, (list, tuple)):
            self.fail(path, file, value, "a list")
        if len(value) < self.min_len:
            raise ScenarioError(file, path, f"needs at least {self.min_len} entries")
        return [self.item.check(v, f"{path}[{i}]", file) for i, v in enumerate(value)]


def _join(path, key):
    return f"{path}.{key}" if path else key


def leaves(spec: Spec, path=""):
    """(dotted path, spec) of every value field under a section; list items as ``path[]``."""
    if isinstance(spec, Section):
        for k, sub in spec.fields.items():
            yield from leaves(sub, _join(path, k))
    elif isinstance(spec, ListOf):
        yield from leaves(spec.item, path + "[]")
    else:
        yield path, spec


def describe(spec: Spec, path="") -> list[tuple[str, str, str]]:
    """(field, default, doc) rows for documentation and ``loyalsim validate --explain``."""
    rows = []
    if isinstance(spec, Section):
        for k, s in spec.fields.items():
            rows += describe(s, _join(path, k))
    elif isinstance(spec, ListOf):
        rows += describe(spec.item, path + "[]")
    else:
        d = getattr(spec, "default", "")
        rows.append((path, "(required)" if d is REQUIRED else repr(d), spec.doc))
    return rows
