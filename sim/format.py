"""Numbers for a reader: one set of formats for every output (the verdicts, the terminal tables, the HTML report, the charts).

Money in thousands or millions with the currency ("2.61m EUR", "-278.2k EUR"), never
SI prefixes (they read wrongly for money: "1.2G", "300m" for 0.3); shares as
percentages; changes in a share in percentage points; probabilities as a reader
takes them ("over 99%" rather than a certain-looking 100%). A headline metric is
formatted by its unit in the catalogue (sim.metrics.CATALOGUE), so the same number
reads the same everywhere.
"""
from __future__ import annotations

import datetime as _dt
import math

from sim.metrics import CATALOGUE


def undefined(x) -> bool:
    return x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def magnitude(a: float) -> str:
    """An absolute amount in a few significant figures: 2.61m, 278.2k, 45.3k, 1,234, 12.35, 0.52."""
    if a >= 1e9:
        return f"{a / 1e9:.2f}bn"
    if a >= 1e6:
        return f"{a / 1e6:.2f}m"
    if a >= 1e4:
        return f"{a / 1e3:.1f}k"
    if a >= 100:
        return f"{a:,.0f}"
    if a >= 1:
        return f"{a:.2f}"
    if a == 0:
        return "0"
    return f"{a:.2g}"


def money(x, cur="", signed=False) -> str:
    """2.61m EUR; -45.3k EUR; with ``signed`` a plus sign on gains."""
    if undefined(x):
        return "n/a"
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    return sign + magnitude(abs(x)) + (f" {cur}" if cur else "")


def count(x, signed=False) -> str:
    """Customers, orders, points: 27,063 or 7.05m."""
    if undefined(x):
        return "n/a"
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    a = abs(x)
    return sign + (f"{a / 1e6:.2f}m" if a >= 1e6 else f"{a:,.0f}")


def pct(x, signed=False, digits=None) -> str:
    """A share or a relative change: 35%, +5.2%, 0.4% (``digits``: fixed decimals)."""
    if undefined(x):
        return "n/a"
    v = 100 * x
    if v == 0 and digits is None:
        return "0%"
    if digits is None:
        digits = 0 if abs(v) >= 10 else 1
    return f"{v:+.{digits}f}%" if signed else f"{v:.{digits}f}%"


def probability(p) -> str:
    """94%, and 'over 99%' / 'under 1%' rather than a rounded, certain-looking 100% or 0%."""
    if undefined(p):
        return "n/a"
    if p > 0.995:
        return "over 99%"
    if p < 0.005:
        return "under 1%"
    return f"{100 * p:.0f}%"


def points(d) -> str:
    """A change in a share, in percentage points: +2.4 pts, +0.02 pts when smaller than a twentieth."""
    if undefined(d):
        return "n/a"
    v = 100 * d
    if v == 0:
        return "0.0 pts"
    if abs(v) >= 0.05:
        return f"{v:+.1f} pts"
    return f"{v:+.2f} pts" if abs(v) >= 0.005 else ("+" if v > 0 else "-") + "0.00 pts"


def sig(x, digits=4) -> str:
    """A small amount to significant figures (a 4.62 coffee, a 1,509 basket), thousands separated."""
    if undefined(x):
        return "n/a"
    if x == 0:
        return "0"
    places = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    return f"{x:,.{places}f}"


def month_name(calendar_month: str) -> str:
    """'2027-04' -> 'Apr 2027'."""
    try:
        return _dt.date.fromisoformat(f"{calendar_month}-01").strftime("%b %Y")
    except (TypeError, ValueError):
        return str(calendar_month)


def horizon(days) -> str:
    """'730 days (2.0 years)'."""
    if undefined(days):
        return "the horizon"
    days = int(days)
    return f"{days:,} days ({days / 365:.1f} years)" if days >= 365 else f"{days:,} days"


# --------------------------------------------------------------------------- by unit

def value(unit, x, cur="", signed=False) -> str:
    """A number by unit: money, check, count, share (0..1 as %), pts (a change in a share), rate."""
    if unit == "money":
        return money(x, cur, signed)
    if unit == "check":
        if undefined(x):
            return "n/a"
        if abs(x) >= 1e5:
            return money(x, cur, signed)
        text = sig(abs(x)) if signed else sig(x)
        return (("+" if x >= 0 else "-") + text if signed else text) + (f" {cur}" if cur else "")
    if unit == "count":
        return count(x, signed)
    if unit == "share":
        return pct(x, signed)
    if unit == "pts":
        return points(x)
    if undefined(x):
        return "n/a"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def level(key, x, cur="") -> str:
    """A headline metric's level, as the table of changes shows it (shares to a tenth of a percent)."""
    unit = CATALOGUE[key].unit
    if undefined(x):
        return "n/a"
    if unit == "share":
        return f"{100 * x:.1f}%"
    if unit == "count":
        return f"{x:,.0f}"
    return value(unit, x, cur)


def change(key, d, cur="") -> str:
    """A headline metric's change: points for shares, signed amounts otherwise."""
    unit = CATALOGUE[key].unit
    if undefined(d):
        return "n/a"
    if unit == "share":
        return points(d)
    if unit == "rate":
        return f"{d:+.2f}" if abs(d) >= 0.005 or d == 0 else f"{d:+.3f}"
    if unit == "count":
        return f"{d:+,.0f}"
    if unit == "check":
        # as many decimals as the level needs: +0.12 on a 4.62 coffee, +17 on a 1,509 basket
        return (("+" if d >= 0 else "-") + sig(abs(d), 3) if abs(d) < 1e5 else money(d, signed=True)) \
            + (f" {cur}" if cur else "")
    return money(d, cur, signed=True)


def change_unit(key) -> str:
    """The unit a change of this metric is written in (pts for shares)."""
    unit = CATALOGUE[key].unit
    return "pts" if unit == "share" else unit


def interval(key, iv: dict, cur="") -> str:
    """'[+16.2 .. +17.6]' for a change's interval; one replication: no interval."""
    if not iv or iv.get("ci_low") is None:
        return "(one replication: no interval)"
    return f"[{change(key, iv['ci_low'])} .. {change(key, iv['ci_high'], cur)}]"


def relative(lift) -> str:
    """A lift's relative change: +1.1%; nothing for an undefined one."""
    r = ((lift or {}).get("relative") or {}).get("mean")
    return "" if r is None else f"{100 * r:+.1f}%"


def good_or_bad(key, iv: dict) -> str:
    """'good' when a change's interval lies on the side the business wants, 'bad' on the other side, else ''."""
    better = CATALOGUE[key].higher_is_better
    lo, hi = (iv or {}).get("ci_low"), (iv or {}).get("ci_high")
    if better is None or lo is None:
        return ""
    up = lo > 0
    down = hi < 0
    if not (up or down):
        return ""
    return "good" if up == better else "bad"


# --------------------------------------------------------------------------- field results (loyalsim evidence)

def figure(unit, x) -> str:
    """A published or predicted figure by its unit: share 34.0%, pts +15.0 pts, ratio 0.80, days -2.9 days."""
    if undefined(x):
        return "n/a"
    if unit == "share":
        return pct(x, digits=1)
    if unit == "pts":
        return points(x)
    if unit == "days":
        return f"{x:+.1f} days"
    return f"{x:.2f}"


def published_range(unit, low, high) -> str:
    """'5.0 to 25.0 pts', 'at least 1.00', 'at most 0.0%': the range a study's uncertainty allows."""
    if low is None and high is None:
        return "any"
    if low is None:
        return f"at most {figure(unit, high)}"
    if high is None:
        return f"at least {figure(unit, low)}"
    return f"{figure(unit, low)} to {figure(unit, high)}"


def figure_interval(unit, iv) -> str:
    """A prediction with its interval over replications: '0.79 [0.78 .. 0.80]'."""
    if not iv or undefined(iv.get("mean")):
        return "n/a"
    if iv.get("ci_low") is None:
        return figure(unit, iv["mean"])
    return f"{figure(unit, iv['mean'])} [{figure(unit, iv['ci_low'])} .. {figure(unit, iv['ci_high'])}]"
