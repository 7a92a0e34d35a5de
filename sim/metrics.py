"""Metrics, defined once (docs/DESIGN.md#metrics-defined-once), per arm and per month; lifts with confidence intervals.

"Customer" for retention counts observable activity: ordered within the
activity window (default 365 days), the way a CRM measures it. The latent
alive state is reported beside it as survival.

* retention_rate: of the S customers active at launch (the launch base's
  customers who bought within the activity window), the share still active at
  the end; customers acquired during the horizon are not in it. One function
  (``retention``) computes it for the headline, the monthly series and the
  segments, so they agree. churn_rate = 1 - retention_rate.
* crr_formula: the industry's shortcut (E - N) / S (E active at the end, N of
  them acquired during the horizon), reported under its own name: it also
  counts launch-base customers who were inactive at launch and came back.
* latent_survival: share of customers alive at launch still alive at the end.
* average_check: gross revenue per order; average_check_net: what customers
  paid (after discounts and rewards) per order.
* purchase_frequency: orders per active customer per year (orders over the
  horizon / mean month-end active customers, per 365 days).
* repeat_purchase_rate: of customers who ordered during the horizon, the share
  who ordered at least twice.
* loyal_share: share of active customers with at least k orders in the
  trailing twelve months, at the end.
* lifetime_value: profit over the horizon, discounted monthly at the scenario's
  annual rate, per customer in the base (at launch plus acquired).
* revenue: gross sales at list price (what the tills rang up before discounts
  and rewards); revenue_recognised: revenue under IFRS 15, what customers paid
  less the part deferred for points they earned, plus the deferred revenue of
  points redeemed or expired.
* profit: revenue + income - costs from the ledger, IFRS 15 basis (points as a
  separate performance obligation); profit_cash: the same without the points
  deferral (the cash view).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.plain import plain


@dataclass(frozen=True)
class Metric:
    """How a headline metric reads, for every output (the terminal, JSON and HTML format it from here).

    ``unit``: share (0..1, shown as %, changes in percentage points), money (in the scenario's
    currency), check (money per order, to significant figures), count, or rate (a plain number).
    ``higher_is_better``: whether a rise is good news for the business (None: neither).
    ``extensive``: a total that grows with the number of customers (money, orders, customer
    counts), so a run scaled from a sample to the whole base (``customers.scale_to``,
    sim.scaling) multiplies it; False for ratios, rates, shares and per-customer figures.
    """

    key: str
    label: str
    unit: str
    higher_is_better: bool | None
    doc: str = ""
    extensive: bool = False


# The catalogue: every headline metric, in the order the JSON lists them.
CATALOGUE = {m.key: m for m in (
    Metric("retention_rate", "Customers retained (bought in the last year)", "share", True,
           "of the customers active at launch, the share still active at the end"),
    Metric("churn_rate", "Customers lost (of those active at launch)", "share", False, "1 - retention rate"),
    Metric("latent_survival", "Customers still alive (latent)", "share", True,
           "of the customers alive at launch, the share still alive (the simulator's hidden state)"),
    Metric("average_check", "Average check (list price)", "check", True, "gross revenue per order"),
    Metric("average_check_net", "Average check paid (after discounts, rewards)", "check", True,
           "what customers paid per order, after discounts and rewards"),
    Metric("purchase_frequency", "Purchases per active customer per year", "rate", True,
           "orders per month-end active customer, per year"),
    Metric("repeat_purchase_rate", "Repeat purchase rate", "share", True,
           "of customers who ordered during the horizon, the share who ordered at least twice"),
    Metric("loyal_share", "Loyal share of active customers", "share", True,
           "active customers with at least k orders in the trailing year, at the end"),
    Metric("orders", "Orders", "count", True, "orders over the horizon", extensive=True),
    Metric("revenue", "Revenue (list price)", "money", True, "sales at list price over the horizon", extensive=True),
    Metric("revenue_recognised", "Revenue recognised (IFRS 15)", "money", True,
           "what customers paid, less the part deferred for points earned, plus points revenue released", extensive=True),
    Metric("gross_profit", "Gross profit", "money", True, "sales less the cost of goods sold", extensive=True),
    Metric("programme_cost", "Programme cost", "money", False, "everything the programme gives away or spends", extensive=True),
    Metric("programme_income", "Programme income", "money", True, "fees the programme charges", extensive=True),
    Metric("profit", "Profit (IFRS 15)", "money", True, "revenue + income - costs, points deferred under IFRS 15",
           extensive=True),
    Metric("profit_cash", "Profit (cash view)", "money", True, "profit without the points deferral", extensive=True),
    Metric("active_customers_end", "Active customers at the end", "count", True,
           "customers who bought within the activity window, at the end", extensive=True),
    Metric("lifetime_value", "Lifetime value per customer (discounted)", "check", True,
           "profit over the horizon, discounted monthly, per customer"),
    Metric("crr_formula", "Retention, industry formula (E - N) / S", "share", True,
           "also counts lapsed customers who came back"),
)}
HEADLINE = tuple(CATALOGUE)

# The rows of the table of changes (terminal and HTML), in reading order.
CHANGE_ROWS = ("retention_rate", "latent_survival", "purchase_frequency", "average_check", "average_check_net",
               "repeat_purchase_rate", "loyal_share", "orders", "revenue", "revenue_recognised", "programme_cost",
               "profit", "profit_cash", "lifetime_value")


def change_rows(doc: dict) -> list:
    """The rows of the table of changes that say something for this summary: the IFRS 15 rows
    (revenue recognised, the cash view) only when points ran, since without points they repeat
    revenue and profit."""
    points = "points" in (doc.get("mechanics") or {})
    return [k for k in CHANGE_ROWS if (doc.get("lift") or {}).get(k) is not None
            and (points or k not in ("revenue_recognised", "profit_cash"))]


def clean(x):
    """JSON-ready (see sim.plain): undefined numbers (NaN, infinity) become null, tuples lists."""
    return plain(x)


def retention(kept, at_launch):
    """Retention, the one definition: of the customers active at launch, the share still active.

    Works on numbers and on arrays (the monthly series); undefined (NaN) with nobody at launch.
    """
    kept = np.asarray(kept, dtype=np.float64)
    at_launch = np.asarray(at_launch, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(at_launch > 0, kept / np.where(at_launch > 0, at_launch, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def crr(S, E, N) -> float:
    """The industry's shortcut (E - N) / S: also counts returning lapsed customers as retained."""
    return (E - N) / S if S else float("nan")


def arm_metrics(model) -> dict:
    """Headline figures of one finished arm (one replication)."""
    cfg = model.scenario.cfg
    c = model.customers
    n = c.n
    s = model.monthly
    led = model.ledger
    orders = float(s["orders"].sum())
    revenue = float(s["revenue"].sum())
    S = int(c.active_at_launch[:n].sum())
    E = float(s["active_end"][-1])
    N = float(s["new_active_end"][-1])
    kept = retention(s["retained_end"][-1], S)
    alive0 = c.alive_at_launch[:n]
    survival = float((c.alive[:n] & alive0).sum() / max(alive0.sum(), 1))
    years = cfg.horizon_days / 365.0
    mean_active = float(s["active_end"].mean()) if len(s["active_end"]) else 0.0
    buyers = c.horizon_orders[:n]
    ordered = int((buyers >= 1).sum())
    cogs = float(led.total("cost", mechanic="base").sum() - _line(led, "base", "acquisition").sum())
    profit_m = led.profit()
    rate_m = (1.0 + cfg.economics.discount_rate) ** (1.0 / 12.0) - 1.0
    disc = (1.0 + rate_m) ** -np.arange(1, len(profit_m) + 1)
    base_size = S + float(s["new_customers"].sum())
    deferral = float(led.deferral().sum())
    out = {
        "retention_rate": kept,
        "churn_rate": 1.0 - kept,
        "latent_survival": survival,
        "average_check": revenue / orders if orders else float("nan"),
        "average_check_net": float(s["net_revenue"].sum()) / orders if orders else float("nan"),
        "purchase_frequency": orders / mean_active / years if mean_active else float("nan"),
        "repeat_purchase_rate": float((buyers >= 2).sum() / ordered) if ordered else float("nan"),
        "loyal_share": float(s["loyal_end"][-1] / E) if E else float("nan"),
        "orders": orders,
        "revenue": revenue,
        "revenue_recognised": float(s["net_revenue"].sum()) + deferral,
        "gross_profit": revenue - cogs,
        "programme_cost": float(led.programme_cost().sum()),
        "programme_income": float(led.programme_income().sum()),
        "profit": float(profit_m.sum()),
        "profit_cash": float(profit_m.sum()) - deferral,
        "active_customers_end": E,
        "lifetime_value": float((profit_m * disc).sum() / base_size) if base_size else float("nan"),
        "crr_formula": crr(S, E, N),
    }
    out_segments = segment_metrics(model)
    if out_segments is not None:
        out["segments"] = out_segments
    return out


SEGMENT_METRICS = ("orders", "revenue", "retention_rate", "active_customers_end")


def segment_metrics(model) -> dict | None:
    """Orders, revenue and retention per customer segment (None for a single segment),
    so a targeted programme's lift can be read where it was aimed."""
    c = model.customers
    names = c.segment_names
    if len(names) < 2:
        return None
    n = c.n
    seg = c.segment[:n].astype(np.int64)
    k = len(names)
    day = model.day - 1
    active = c.present[:n] & (c.last_order_day[:n] > day - model.window)
    at_launch = c.active_at_launch[:n]
    orders = np.bincount(seg, weights=c.horizon_orders[:n], minlength=k)
    revenue = np.bincount(seg, weights=c.horizon_spend[:n].astype(np.float64), minlength=k)
    start = np.bincount(seg, weights=at_launch, minlength=k)
    kept = np.bincount(seg, weights=active & at_launch, minlength=k)
    act = np.bincount(seg, weights=active, minlength=k)
    return {name: {"orders": float(orders[i]), "revenue": float(revenue[i]),
                   "retention_rate": retention(kept[i], start[i]),
                   "active_customers_end": float(act[i])} for i, name in enumerate(names)}


def _line(ledger, mechanic, line):
    return ledger.lines.get((mechanic, line), np.zeros(ledger.n_months))


def monthly_series(model) -> dict:
    """The monthly series of one arm: name -> one value a month (a DataFrame's columns)."""
    cal = model.calendar
    months = model.n_months
    data = {"month": np.arange(1, months + 1), "calendar_month": [cal.month_label(m) for m in range(months)]}
    s = model.monthly
    data.update({k: v for k, v in s.items()})
    # the headline metrics month by month (retention and survival measured from launch)
    c = model.customers
    S = int(c.active_at_launch[: c.n].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        data["retention_rate"] = retention(s["retained_end"], np.full(len(s["retained_end"]), S))
        data["churn_rate"] = 1.0 - data["retention_rate"]
        data["latent_survival"] = s["alive_launch_end"] / max(int(c.alive_at_launch[: c.n].sum()), 1)
        data["average_check"] = np.where(s["orders"] > 0, s["revenue"] / np.maximum(s["orders"], 1), np.nan)
        data["average_check_net"] = np.where(s["orders"] > 0, s["net_revenue"] / np.maximum(s["orders"], 1), np.nan)
        data["purchase_frequency"] = np.where(s["active_end"] > 0, 12.0 * s["orders"] / np.maximum(s["active_end"], 1), np.nan)
        data["loyal_share"] = np.where(s["active_end"] > 0, s["loyal_end"] / np.maximum(s["active_end"], 1), np.nan)
    data.update(model.ledger.as_columns())
    data["programme_cost"] = model.ledger.programme_cost()
    data["programme_income"] = model.ledger.programme_income()
    data["profit"] = model.ledger.profit()
    data["profit_cash"] = data["profit"] - model.ledger.deferral()
    for m in model.mechanics:
        for k, v in m.series().items():
            data[f"{m.name}.{k}"] = v
    return data


# --------------------------------------------------------------------------- intervals

def t_quantile(p, df) -> float:
    """Student-t quantile (scipy.special: the command line need not import scipy.stats)."""
    from scipy.special import stdtrit
    return float(stdtrit(df, p))


def interval(values, level=0.95) -> dict:
    """Mean and a Student-t confidence interval over replications (None where undefined)."""
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], dtype=float)
    if x.size == 0:
        return {"mean": None, "ci_low": None, "ci_high": None}
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci_low": None, "ci_high": None}
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    h = t_quantile(0.5 + level / 2, x.size - 1) * se
    return {"mean": mean, "ci_low": mean - h, "ci_high": mean + h}


def paired_lift(base: list[float], prog: list[float]) -> dict:
    """Programme minus baseline, paired replication by replication (common random numbers)."""
    b = np.asarray(base, dtype=float)
    p = np.asarray(prog, dtype=float)
    diff = p - b
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(b != 0, diff / np.abs(b), np.nan)  # a change from nothing has no relative size
    return {"absolute": interval(diff.tolist()), "relative": interval(rel.tolist())}


def prob_greater(a: list[float], b: list[float]) -> float | None:
    """P(strategy a beats b) on expected incremental profit: paired normal approximation."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size == 0:
        return None
    if d.size < 2 or d.std(ddof=1) == 0:
        return float(d.mean() > 0) if d.mean() != 0 else 0.5
    z = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    from scipy.special import stdtr
    return float(stdtr(d.size - 1, z))


def payback_month(monthly_incremental: np.ndarray) -> int | None:
    """First month (1-based) from which the cumulative incremental profit stays above 0; None if it
    never does within the horizon (a programme with no effect at all never pays back)."""
    cum = np.cumsum(monthly_incremental)
    if cum.size == 0 or cum[-1] <= 0:
        return None
    below = np.flatnonzero(cum <= 0)
    return int(below[-1] + 2) if below.size else 1


# --------------------------------------------------------------------------- members

def member_outcomes(model, baseline: dict) -> dict | None:
    """Members against non-members in a programme arm, and the members without the programme.

    ``baseline`` holds the same customers' outcomes in the no-programme arm
    (``LoyaltyModel.customer_outcomes``). Among the customers active at launch who
    bought during the horizon (the shoppers a dashboard or a panel sees): orders
    and spend per customer for members and non-members, and the members' own
    orders and spend in the baseline arm (what they would have done anyway). None
    when the programme has no membership.
    """
    member = model.members()
    if member is None:
        return None
    mine = model.customer_outcomes()
    rows = baseline["rows"]
    shoppers = baseline["active_at_launch"] & (mine["orders"][:rows] > 0)
    m = member[:rows] & shoppers
    o = ~member[:rows] & shoppers
    out = {"members": int(m.sum()), "non_members": int(o.sum())}
    for key in ("orders", "spend"):
        arm, base = mine[key][:rows], baseline[key]
        out[f"{key}_members"] = float(arm[m].sum())
        out[f"{key}_non_members"] = float(arm[o].sum())
        out[f"{key}_members_without_programme"] = float(base[m].sum())
        out[f"{key}_non_members_without_programme"] = float(base[o].sum())
    return out
