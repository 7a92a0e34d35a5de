"""The HTML report: one self-contained file a marketing lead opens and forwards.

    from reports.html import render_run, render_compare
    html = render_run(sim.run("scenarios/points_and_tiers.yaml"))   # or a saved --out folder
    Path("flagship.html").write_text(html)

One file, verdict first: whether the programme pays, by how much, how sure,
when it pays back; then the lift month by month, where the money goes, points
and tiers, segments, the assumptions in force, and the resolved scenario with
its seed, replications and loyalsim version, so the report reproduces itself.

Self-contained on purpose: plotly.js is inlined once, each chart is a div
drawn from its figure JSON, and nothing refers to any network address (no CDN,
no web font, no MathJax), so the file opens offline and as an e-mail
attachment. Plotly, because its charts are interactive (hover for the exact
figure and interval, zoom into a month) from one inlined script with no
server; Jinja2, so the page is a template rather than HTML built by
concatenating strings (and text is escaped).

Renderers only: nothing here simulates. A report from a live run and one from
the files that run saved (``loyalsim report DIR``) are built from the same
normalised inputs (``RunInputs``), so they are byte for byte the same; the
page carries no timestamp for that reason.

Sweeps and uncertainty analyses get their sections from ``sweep_sections`` and
``psa_sections``, whose input shapes are documented there.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reports import figures as F
from reports.figures import count, money, month_name, pct, points_change, probability
from sim.errors import UserError
from sim.metrics import clean  # a light module: the report never imports the simulation engine

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUMMARY, RESOLVED, ASSUMPTIONS, RUN_INFO, COST_LINES = (
    "summary.json", "scenario.resolved.yaml", "assumptions.json", "run_info.json", "cost_lines")
BASELINE_ARM = "baseline"
PROGRAMME_ARM = "programme"
LEVEL = "95%"

# Ledger lines as a reader knows them (mechanic.line); others are spelt out from their names.
LINE_LABELS = {
    "points.rewards": "Points rewards redeemed",
    "points.points_liability_change": "Points not yet redeemed (liability built up)",
    "programme.fixed_running": "Running cost (platform, CRM staff)",
    "programme.setup": "Launch cost (set-up)",
    "tiers.discounts": "Tier discounts",
    "tiers.free_delivery": "Free delivery for top tiers",
    "tiers.perks": "Tier perks",
    "discounts.discounts_incremental": "Discounts on extra orders",
    "discounts.discounts_subsidised": "Discounts on orders that would have happened anyway",
    "discounts.offer_contacts": "Offer contacts (messages sent)",
    "campaigns.offers_incremental": "Campaign offers on extra orders",
    "campaigns.offers_subsidised": "Campaign offers on orders that would have happened anyway",
    "campaigns.contact": "Campaign contacts",
    "subscription.fees": "Membership fees",
    "subscription.perks": "Membership perks",
    "subscription.free_delivery": "Free delivery for members",
    "referrals.referrer_bonuses": "Referrer bonuses",
    "referrals.friend_discounts": "Discounts for referred friends",
    "service.staff": "Service desk staff",
    "base.acquisition": "Paid acquisition of new customers",
    "points.revenue_deferred": "Sales revenue deferred for points earned (IFRS 15)",
    "points.revenue_released": "Deferred revenue recognised as points are redeemed or expire",
}
MECHANIC_LABELS = {"enrolment": "Enrolment", "points": "Points", "tiers": "Tiers", "discounts": "Discounts",
                   "campaigns": "Campaigns", "subscription": "Paid membership", "referrals": "Referrals",
                   "service": "Service desk", "programme": "Programme"}

# How each headline metric reads: share (a rate, changes in points), count, money or a plain ratio.
SHARE_METRICS = {"retention_rate", "churn_rate", "latent_survival", "repeat_purchase_rate", "loyal_share", "crr_formula"}
COUNT_METRICS = {"orders", "active_customers_end"}
RATIO_METRICS = {"purchase_frequency"}


def line_label(name: str) -> str:
    if name in LINE_LABELS:
        return LINE_LABELS[name]
    mech, _, line = name.partition(".")
    return f"{MECHANIC_LABELS.get(mech, mech.capitalize())}: {line.replace('_', ' ')}"


def metric_kind(key: str) -> str:
    if key in SHARE_METRICS:
        return "share"
    if key in COUNT_METRICS:
        return "count"
    if key in RATIO_METRICS:
        return "ratio"
    return "money"


def _plural(n, word, many=None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- page model (what the template draws)

@dataclass
class Cell:
    text: str
    sub: str = ""        # small print under the text (a parameter's description)
    cls: str = ""        # "good", "bad", "strong"


@dataclass
class Table:
    columns: list
    rows: list
    numeric: tuple = ()  # indexes of right-aligned (number) columns
    caption: str = ""

    def __post_init__(self):
        self.rows = [[c if isinstance(c, Cell) else Cell("" if c is None else str(c)) for c in r] for r in self.rows]


@dataclass
class Chart:
    figure: dict
    caption: str = ""
    wide: bool = False   # spans the page rather than half of it
    id: str = ""         # set when the page is assembled
    json: str = ""


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list = field(default_factory=list)
    charts: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Tile:
    label: str
    value: str
    sub: str = ""


@dataclass
class Verdict:
    tone: str            # pays, fails, unsure, neutral
    headline: str        # two or three words: "Pays", "Does not pay", "Cannot tell yet"
    sentence: str
    tiles: list
    sure: str            # what the intervals include


@dataclass
class Source:
    """One resolved scenario, as YAML, for the reproduce block."""
    label: str
    file_name: str
    yaml: str


@dataclass
class Page:
    kind: str
    title: str
    subtitle: str
    facts: list
    verdict: Verdict
    sections: list
    sources: list
    command: str
    version: str
    seed: object
    replications: object
    embedded_id: str
    embedded: object     # JSON-ready: the resolved scenario(s), parsed back by a test and by users
    warnings: list = field(default_factory=list)


# --------------------------------------------------------------------------- inputs (live or saved, made identical)

@dataclass
class RunInputs:
    """Everything a run report reads. ``from_result`` and ``load_saved_run`` give equal inputs
    for the same run, so the pages they render are the same bytes."""
    doc: dict
    monthly: pd.DataFrame
    scenario_yaml: str
    assumptions: list | None   # None: not available (an --out folder from an older loyalsim)
    version: str
    cost_lines: pd.DataFrame | None = None


@dataclass
class CompareInputs:
    doc: dict
    monthly: pd.DataFrame
    sources: list         # [(strategy name, file, resolved YAML)]
    assumptions: dict     # strategy name -> assumption rows
    version: str


def _json_normal(x):
    """What a JSON file would give back: tuples as lists, NaN as null, dates as text."""
    return json.loads(json.dumps(clean(x), default=str))


def _normal_frame(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Monthly (or cost-line) table with the dtypes a CSV or Parquet file reads back as."""
    if df is None:
        return None
    df = df.reset_index(drop=True).copy()
    for c in df.columns:
        if c in ("arm", "calendar_month", "mechanic", "line", "kind"):
            df[c] = df[c].astype(str)
        elif c in ("replication", "month"):
            df[c] = pd.to_numeric(df[c]).astype("int64")
        elif pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            df[c] = df[c].astype("float64")
    return df


def resolved_yaml(scenario) -> str:
    from reports.export import resolved_text
    return resolved_text(scenario)


def assumption_rows(scenario) -> list:
    from sim.scenario import assumptions
    return _json_normal(assumptions(scenario))


def run_inputs(result, arm=None) -> RunInputs:
    """The inputs of a run report from a live ``sim.Result``."""
    from sim import __version__
    arm_name = result._default_arm(arm)
    doc = _json_normal(result.summary(arm_name))
    monthly = result.monthly
    if not monthly.empty:
        monthly = monthly[monthly["arm"].isin([BASELINE_ARM, arm_name])].copy()
        monthly.loc[monthly["arm"] == arm_name, "arm"] = PROGRAMME_ARM
    cost = result.cost_lines
    if not cost.empty:
        cost = cost[cost["arm"].isin([BASELINE_ARM, arm_name])].copy()
        cost.loc[cost["arm"] == arm_name, "arm"] = PROGRAMME_ARM
    scenario = result.arms[arm_name]
    return RunInputs(doc, _normal_frame(monthly), resolved_yaml(scenario), assumption_rows(scenario), __version__,
                     _normal_frame(cost))


def _read_csv(path):
    """Floats read back exactly as written (pandas 3 does by default; older pandas needs asking)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


def _read_table(folder: Path, stem: str, required: bool):
    """DIR/stem.parquet or DIR/stem.csv; with both (runs with either --format), the newer."""
    found = [(folder / (stem + suffix), reader) for suffix, reader in ((".parquet", pd.read_parquet), (".csv", _read_csv))
             if (folder / (stem + suffix)).exists()]
    if found:
        path, reader = max(found, key=lambda f: f[0].stat().st_mtime)
        try:
            return reader(path)
        except Exception as e:  # noqa: BLE001 - a damaged file: say which and why, never a traceback
            raise UserError(f"{path}: cannot read it ({type(e).__name__}: {e}); "
                            "run 'loyalsim run FILE --out DIR' again") from None
    if required:
        raise UserError(f"{folder}: no {stem}.csv or {stem}.parquet; expected a folder written by "
                        f"'loyalsim run FILE --out {folder}'")
    return None


def load_saved_run(folder) -> RunInputs:
    """The inputs of a run report from a ``loyalsim run --out DIR`` folder, without simulating."""
    import yaml
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; expected a folder written by 'loyalsim run FILE --out DIR'")
    summary = folder / SUMMARY
    if not summary.exists():
        raise UserError(f"{folder}: no {SUMMARY}; expected a folder written by 'loyalsim run FILE --out {folder}'")
    try:
        doc = json.loads(summary.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{summary}: not a readable JSON summary ({e})") from None
    if not isinstance(doc, dict) or "economics" not in doc:
        raise UserError(f"{summary}: not a run summary (no 'economics'); allowed: the summary.json of 'loyalsim run --out'")
    monthly = _read_table(folder, "monthly", required=True)
    resolved = folder / RESOLVED
    if not resolved.exists():
        raise UserError(f"{folder}: no {RESOLVED}; expected a folder written by 'loyalsim run FILE --out {folder}'")
    text = resolved.read_text()
    rows_path = folder / ASSUMPTIONS
    if rows_path.exists():
        try:
            rows = json.loads(rows_path.read_text())
        except ValueError as e:
            raise UserError(f"{rows_path}: not valid JSON ({e})") from None
    else:  # a folder from before assumptions were saved: read them off the resolved scenario
        from sim.scenario import validate
        try:
            rows = assumption_rows(validate(yaml.safe_load(text), file=str(resolved)))
        except UserError:  # saved by a loyalsim whose schema differs: the YAML below still says it all
            rows = None
    info_path = folder / RUN_INFO
    if info_path.exists():
        version = json.loads(info_path.read_text()).get("loyalsim_version", "unknown")
    else:
        from sim import __version__
        version = doc.get("loyalsim_version", __version__)
    cost = _read_table(folder, COST_LINES, required=False)
    return RunInputs(_json_normal(doc), _normal_frame(monthly), text, None if rows is None else _json_normal(rows),
                     version, _normal_frame(cost))


def compare_inputs(comparison) -> CompareInputs:
    from sim import __version__
    result = comparison.result
    sources, rows = [], {}
    for name, scenario in result.arms.items():
        sources.append((name, comparison.files.get(name, str(scenario.file)), resolved_yaml(scenario)))
        rows[name] = assumption_rows(scenario)
    return CompareInputs(_json_normal(comparison.summary()), _normal_frame(result.monthly), sources, rows, __version__)


# --------------------------------------------------------------------------- shared pieces

def _months(monthly: pd.DataFrame) -> list:
    return F.calendar(monthly) if monthly is not None and not monthly.empty else []


def _payback_text(pb, months) -> str:
    if not pb:
        return ""
    when = f" ({month_name(months[pb - 1])})" if months and 0 < pb <= len(months) else ""
    return f"month {pb}{when}"


def _interval_text(iv: dict, kind="money", cur="", signed=True) -> str:
    """'+2.35m to +2.87m EUR': the unit once, at the end."""
    if not iv or iv.get("ci_low") is None:
        return "no interval (one replication)"
    lo, hi = iv["ci_low"], iv["ci_high"]
    if kind == "pts":
        return f"{points_change(lo).removesuffix(' pts')} to {points_change(hi)}"
    return f"{F.fmt_value(kind, lo, '', signed)} to {F.fmt_value(kind, hi, cur, signed)}"


def _get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def _how_sure(n: int, psa=None, listed=True) -> str:
    """What the intervals include, said once, beside the verdict."""
    which = "the behavioural assumptions listed at the end" if listed else "the behavioural assumptions"
    if psa is not None:
        draws = int(psa.get("draws") or len(psa.get("incremental_profit") or []))
        text = (f"How sure: the probability of paying and its spread come from {_plural(draws, 'draw')} of the "
                "uncertain assumptions, each run against no programme on the same customers: they include simulation "
                "noise and the assumptions.")
        if n >= 2:
            text += (f" The other intervals in this report are {LEVEL} Student-t intervals over "
                     f"{_plural(n, 'replication')} at the central assumptions: simulation noise only.")
        return text
    if n < 2:
        return ("How sure: one replication gives no interval. Run more replications (for example -r 10) to see how "
                f"much of this answer is chance; even then the interval covers simulation noise only, not {which}.")
    return (f"How sure: every interval in this report is a {LEVEL} Student-t interval over {_plural(n, 'replication')} "
            "on the same customers and chance events (common random numbers). It includes simulation noise only, "
            f"not uncertainty about {which}; an uncertainty analysis (loyalsim psa) adds those.")


def assumptions_section(rows: list, per_strategy: dict | None = None) -> Section:
    """Every behavioural parameter in force: value, default, range, source (one value column per strategy)."""
    sec = Section("assumptions", "Assumptions in force")
    if per_strategy:
        names = list(per_strategy)
        by_field = {}
        for name in names:
            for r in per_strategy[name]:
                by_field.setdefault(r["field"], {"row": r, "values": {}})["values"][name] = r.get("value")
        rows_out = []
        for fld, entry in by_field.items():
            r = entry["row"]
            rows_out.append([Cell(fld, r.get("doc") or ""),
                             *[_value_text(entry["values"].get(n)) if n in entry["values"] else "not used" for n in names],
                             _range_text(r), r.get("source") or "not stated"])
        columns = ["Parameter", *names, "Plausible range", "Source"]
        numeric = tuple(range(1, 1 + len(names))) + (1 + len(names),)
    else:
        rows_out = []
        for r in rows or []:
            changed = r.get("default") is not None and r.get("value") != r.get("default")
            rows_out.append([Cell(r["field"], r.get("doc") or ""),
                             Cell(_value_text(r.get("value")), "default " + _value_text(r.get("default")) if changed else "",
                                  "strong" if changed else ""),
                             _range_text(r), r.get("source") or "not stated"])
        columns = ["Parameter", "Value", "Plausible range", "Source"]
        numeric = (1, 2)
    if rows is None and not per_strategy:
        sec.paragraphs.append("The assumptions could not be read back from this folder (it was saved by a loyalsim "
                              "whose scenario schema differs). The resolved scenario below holds every parameter in force.")
        return sec
    if not rows_out:
        sec.paragraphs.append("This version of loyalsim lists no behavioural parameter with an evidence range for "
                              "this scenario. The resolved scenario below holds every parameter in force.")
        return sec
    sec.paragraphs.append("The behavioural parameters in force: how strongly customers respond to the programme. "
                          "Each has a default drawn from published evidence, a plausible range and its source"
                          + ("" if per_strategy else "; a value in bold differs from its default")
                          + ". The answer above depends on them, and the intervals above do not include their "
                          "uncertainty.")
    sec.tables.append(Table(columns, rows_out, numeric=numeric))
    return sec


def _value_text(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _range_text(r) -> str:
    lo, hi = r.get("low"), r.get("high")
    if lo is None and hi is None:
        return "not stated"
    return f"{_value_text(lo)} to {_value_text(hi)}"


FIGURE_LABELS = {"members_end": "members at the end", "member_share_end": "members' share of customers at the end",
                 "joins": "customers who joined", "fee_income": "membership fees", "staff_cost": "staff cost"}


def _flatten(d, prefix="") -> list:
    """(label, value) for every number or text inside nested dicts; lists are skipped."""
    out = []
    for k, v in d.items():
        name = FIGURE_LABELS.get(str(k))
        if name is None:
            name = str(k).replace("_", " ")
            name = name.removesuffix(" end") + " at the end" if name.endswith(" end") else name
        label = f"{prefix}{name}"
        if isinstance(v, dict):
            if set(v) >= {"mean", "ci_low", "ci_high"}:
                out.append((label, v))
            else:
                out += _flatten(v, label + " · ")
        elif isinstance(v, (int, float, str)) or v is None:
            out.append((label, v))
    return out


def _guess_kind(label: str) -> str:
    low = label.lower()
    if any(w in low for w in ("rate", "share", "level", "ratio", "breakage")):
        return "share"
    if any(w in low for w in ("cost", "fee", "income", "revenue", "profit", "liability", "saved", "value", "spend",
                              "price", "amount", "deferred", "released", "discount")):
        return "money"
    return "count"


def _generic_value(label, v, cur) -> str:
    if isinstance(v, dict):
        kind = _guess_kind(label)
        txt = F.fmt_value(kind, v.get("mean"), cur)
        if v.get("ci_low") is not None:
            txt += f" ({LEVEL}: {F.fmt_value(kind, v['ci_low'], cur)} to {F.fmt_value(kind, v['ci_high'], cur)})"
        return txt
    if isinstance(v, str):
        return v
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    kind = _guess_kind(label)
    if kind == "share" and not (0 <= v <= 1.5):
        kind = "count"
    return F.fmt_value(kind, v, cur)


def _chart(fig, caption="", wide=False) -> Chart:
    return Chart(fig, caption, wide)


# --------------------------------------------------------------------------- the run report

def run_verdict(doc: dict, months: list, psa=None) -> Verdict:
    cur = doc.get("currency", "")
    eco = doc.get("economics") or {}
    ip = eco.get("incremental_profit") or {}
    mean, lo, hi = ip.get("mean"), ip.get("ci_low"), ip.get("ci_high")
    roi = eco.get("roi") or {}
    pb = eco.get("payback_month")
    n = int(doc.get("replications") or 0)
    span = f"over {len(months)} months" if months else f"over {doc.get('horizon_days')} days"
    roi_part = f", a return of {pct(roi['mean'])} on what the programme costs" if roi.get("mean") is not None else ""
    pb_part = f", and pays back in {_payback_text(pb, months)}" if pb else ", and does not pay back within the horizon"
    if mean is None:
        tone, head = "unsure", "Cannot tell"
        sentence = "No incremental profit could be computed for this run."
    elif lo is None:
        tone, head = "unsure", "Cannot tell yet"
        sentence = (f"Cannot tell yet whether the programme pays: one replication gives {money(mean, cur, True)} of "
                    f"incremental profit {span}, with no interval to say how sure that is. Run more replications.")
    elif mean == 0 and lo == 0 and hi == 0:
        tone, head = "neutral", "No effect"
        sentence = (f"The programme changes nothing in profit {span}: every replication gives the same profit as "
                    "no programme.")
    elif lo > 0:
        tone, head = "pays", "Pays"
        sentence = (f"The programme pays: it adds {money(mean, cur)} of profit {span} "
                    f"({LEVEL} interval {money(lo)} to {money(hi, cur)}){roi_part}{pb_part}.")
    elif hi < 0:
        tone, head = "fails", "Does not pay"
        sentence = (f"The programme does not pay: it loses {money(-mean, cur)} {span} "
                    f"({LEVEL} interval {money(-hi)} to {money(-lo, cur)} lost)"
                    f"{', and never pays back' if not pb else ''}.")
    else:
        tone, head = "unsure", "Cannot tell yet"
        sentence = (f"Cannot tell yet whether the programme pays: incremental profit is {money(mean, cur, True)} {span}, "
                    f"but its {LEVEL} interval ({money(lo, signed=True)} to {money(hi, cur, True)}) includes zero. "
                    "More replications narrow it.")
    if psa is not None:
        p = _psa_probability(psa)
        if p is not None:
            sentence += f" Over the plausible range of the assumptions, the probability that it pays is {probability(p)}."
    tiles = [Tile("Incremental profit", money(mean, cur, True), f"{LEVEL}: {_interval_text(ip, cur=cur)}")]
    if psa is not None and _psa_probability(psa) is not None:
        tiles.append(Tile("Probability it pays", probability(_psa_probability(psa)), "over the assumptions' ranges"))
    if roi.get("mean") is not None:
        tiles.append(Tile("Return on programme cost", pct(roi["mean"]), f"{LEVEL}: {_interval_text(roi, 'share')}"))
    else:
        tiles.append(Tile("Return on programme cost", "n/a", "the programme costs nothing"))
    tiles.append(Tile("Payback", f"Month {pb}" if pb else "Not within the horizon",
                      month_name(months[pb - 1]) if pb and months and pb <= len(months) else
                      ("cumulative incremental profit ends below zero" if not pb else "")))
    rev = eco.get("incremental_revenue") or {}
    rel = _get(doc, "lift", "revenue", "relative", "mean")
    tiles.append(Tile("Extra revenue", money(rev.get("mean"), cur, True),
                      f"{pct(rel, True)} against no programme" if rel is not None else ""))
    cost = _get(doc, "programme", "programme_cost")
    income = _get(doc, "programme", "programme_income")
    tiles.append(Tile("Programme cost", money(cost, cur), f"{span}" + (f"; income {money(income, cur)}" if income else "")))
    return Verdict(tone, head, sentence, tiles, _how_sure(n, psa))


def changes_section(doc: dict, months: list) -> Section:
    from reports.table import ROWS
    cur = doc.get("currency", "")
    sec = Section("changes", "What the programme changes")
    over = f"over the {len(months)} months simulated" if months else f"over the {doc.get('horizon_days')} days simulated"
    sec.paragraphs.append(
        f"Each figure {over}, with the programme and without it, on the same customers and the same chance events, "
        "so the change is the programme's effect and nothing else. Retention counts customers who bought within the "
        "activity window, as a CRM measures it.")
    rows = []
    for key, label in ROWS:
        lift = _get(doc, "lift", key)
        if lift is None:
            continue
        kind = metric_kind(key)
        a, r = lift.get("absolute") or {}, lift.get("relative") or {}
        change_kind = "pts" if kind == "share" else kind
        cls = "good" if (a.get("ci_low") or 0) > 0 else "bad" if (a.get("ci_high") or 0) < 0 else ""
        if key in ("programme_cost", "churn_rate"):
            cls = {"good": "bad", "bad": "good"}.get(cls, "")
        rows.append([label, F.fmt_value(kind, _get(doc, "baseline", key), cur),
                     F.fmt_value(kind, _get(doc, "programme", key), cur),
                     Cell(F.fmt_value(change_kind, a.get("mean"), cur, True), cls=cls),
                     pct(r.get("mean"), True) if kind != "share" and r.get("mean") is not None else "",
                     _interval_text(a, change_kind, cur)])
    sec.tables.append(Table(["", "No programme", "Programme", "Change", "Relative", f"{LEVEL} interval of the change"],
                            rows, numeric=(1, 2, 3, 4, 5)))
    return sec


LIFT_SERIES = (
    # column, title, what (hover), kind, subtitle
    ("active_end", "Extra active customers", "extra active customers", "count",
     "Customers who bought within the activity window, at each month end"),
    ("orders", "Extra orders per month", "extra orders", "count", "Orders placed in the month"),
    ("average_check", "Change in the average check", "change in average check", "money",
     "Revenue per order at list price, {cur}"),
    ("revenue", "Extra revenue per month", "extra revenue", "money", "Sales at list price in the month, {cur}"),
)


def lift_section(inp: RunInputs, months: list) -> Section | None:
    m = inp.monthly
    if m is None or m.empty:
        return None
    cur = inp.doc.get("currency", "")
    n = int(inp.doc.get("replications") or 0)
    sec = Section("lift", "Month by month: the lift builds up")
    sec.paragraphs.append("Each chart shows the programme minus no programme in the same month, on the same customers. "
                          "Hover over a point for the month's figure and its interval.")
    for col, title, what, kind, sub in LIFT_SERIES:
        diff = F.paired_difference(m, PROGRAMME_ARM, col)
        if diff.empty:
            continue
        base = F.per_replication(m, BASELINE_ARM, col)
        mean, lo, hi = F.t_band(diff.to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            bmean = np.nanmean(base[diff.columns].to_numpy(), axis=1) if not base.empty else np.full(len(mean), np.nan)
            relative = np.where(np.abs(bmean) > 0, mean / np.abs(bmean), np.nan)
        fig = F.band_chart(months, mean, lo, hi, title=title, subtitle=sub.format(cur=cur), kind=kind, cur=cur,
                           what=what, relative=relative)
        sec.charts.append(_chart(fig))
    band = (f"Line: mean over {_plural(n, 'replication')}. Shaded: its {LEVEL} Student-t interval over replications "
            "(simulation noise only)." if n >= 2 else "One replication: no interval to shade.")
    sec.notes.append(band)
    return sec


def payback_section(inp: RunInputs, months: list) -> Section | None:
    m = inp.monthly
    cur = inp.doc.get("currency", "")
    eco = inp.doc.get("economics") or {}
    pb = eco.get("payback_month")
    sec = Section("payback", "When it pays back")
    diff = F.paired_difference(m, PROGRAMME_ARM, "profit") if m is not None and not m.empty else pd.DataFrame()
    if diff.empty:
        return None
    mean, lo, hi = F.t_band(np.cumsum(diff.to_numpy(), axis=0))
    end = mean[-1] if len(mean) else None
    if pb:
        sec.paragraphs.append(f"The running total of profit with the programme minus profit without it. It pays back in "
                              f"{_payback_text(pb, months)}: from then on the total stays above zero, and it ends at "
                              f"{money(end, cur, True)}.")
        marker = (months[pb - 1], f"pays back: month {pb}") if pb <= len(months) else None
    else:
        sec.paragraphs.append(f"The running total of profit with the programme minus profit without it. It does not pay "
                              f"back within the {len(months)} months simulated: the total ends at {money(end, cur, True)}.")
        marker = None
    fig = F.band_chart(months, mean, lo, hi, title="Cumulative incremental profit",
                       subtitle=f"Profit with the programme minus without it, added up month by month, {cur}",
                       kind="money", cur=cur, what="cumulative incremental profit", marker=marker)
    sec.charts.append(_chart(fig, wide=True))
    sec.notes.append(f"Shaded: {LEVEL} interval over replications (simulation noise only). Payback is the first month "
                     "from which the mean running total stays at or above zero.")
    return sec


def money_section(inp: RunInputs) -> Section | None:
    doc = inp.doc
    cur = doc.get("currency", "")
    eco = doc.get("economics") or {}
    gp = _get(doc, "lift", "gross_profit", "absolute", "mean")
    ip = _get(eco, "incremental_profit", "mean")
    if gp is None or ip is None:
        return None
    costs = {k: v for k, v in (eco.get("programme_lines") or {}).items() if v}
    income = {k: v for k, v in (eco.get("programme_income_lines") or {}).items() if v}
    steps = [("Extra gross profit from extra sales", gp, "absolute")]
    for k, v in sorted(costs.items(), key=lambda kv: -abs(kv[1])):
        steps.append((line_label(k), -v, "relative"))
    for k, v in sorted(income.items(), key=lambda kv: -abs(kv[1])):
        steps.append((line_label(k) + " (income)", v, "relative"))
    explained = gp - sum(costs.values()) + sum(income.values())
    changes = _ledger_line_changes(inp.cost_lines)
    if changes is None:  # no ledger lines saved: the IFRS 15 points deferral is profit minus its cash view
        deferral = _get(doc, "lift", "profit", "absolute", "mean")
        cash = _get(doc, "lift", "profit_cash", "absolute", "mean")
        changes = [("Points revenue deferred, net (IFRS 15)", deferral - cash)] \
            if deferral is not None and cash is not None and deferral != cash else []
    for label, amount in changes:
        steps.append((label, amount, "relative"))
        explained += amount
    rest = ip - explained
    if abs(rest) > max(1.0, 1e-6 * abs(ip)):
        steps.append(("Other changes in base costs", rest, "relative"))
    steps.append(("Incremental profit", ip, "total"))
    sec = Section("money", "Where the money goes")
    margin = None
    try:
        import yaml
        margin = _get(yaml.safe_load(inp.scenario_yaml), "economics", "gross_margin")
    except Exception:  # noqa: BLE001 - a scenario.yaml that does not parse only drops the margin from the intro
        pass
    rev = _get(eco, "incremental_revenue", "mean")
    intro = f"Extra sales of {money(rev, cur)}"
    if margin is not None:
        intro += f" at a gross margin of {pct(margin)}"
    deferred = any("deferred" in label.lower() for label, _ in changes)
    moved_by = "The programme's costs" + (", its income" if income else "") + \
        (" and the points revenue deferred under IFRS 15 (recognised when points are redeemed or expire)"
         if deferred else "")
    intro += (f" leave {money(gp, cur)} of extra gross profit. {moved_by} take it to an incremental profit of "
              f"{money(ip, cur, True)}.")
    sec.paragraphs.append(intro)
    fig = F.waterfall_chart(steps, title="From extra gross profit to incremental profit",
                            subtitle=f"Mean over replications, {cur}; red lowers profit, green raises it, blue: totals",
                            cur=cur)
    sec.charts.append(_chart(fig, wide=True))
    total_cost = sum(costs.values())
    rows = [[line_label(k), money(v, cur), pct(v / total_cost) if total_cost else ""]
            for k, v in sorted(costs.items(), key=lambda kv: -abs(kv[1]))]
    rows.append([Cell("Programme cost", cls="strong"), Cell(money(total_cost, cur), cls="strong"), ""])
    sec.tables.append(Table(["Cost line", "Amount", "Share of programme cost"], rows, numeric=(1, 2),
                            caption="Programme cost by ledger line (mean over replications)"))
    if income:
        sec.tables.append(Table(["Programme income", "Amount"],
                                [[line_label(k), money(v, cur)] for k, v in sorted(income.items(), key=lambda kv: -kv[1])],
                                numeric=(1,)))
    else:
        sec.notes.append("Programme income: none (the programme charges no fees).")
    basis = []
    for key, label in (("profit", "Incremental profit, IFRS 15 basis (points revenue deferred until redeemed or expired)"),
                       ("profit_cash", "Incremental profit, cash basis (revenue when the customer pays)"),
                       ("revenue_recognised", "Extra revenue recognised, IFRS 15 basis (after discounts and rewards)")):
        a = _get(doc, "lift", key, "absolute")
        if a is not None and "profit_cash" in (doc.get("lift") or {}):
            basis.append([label, money(a.get("mean"), cur, True), _interval_text(a, cur=cur)])
    if basis:
        sec.tables.append(Table(["Accounting basis", "Amount", f"{LEVEL} interval"], basis, numeric=(1, 2),
                                caption="Under IFRS 15 points are a separate performance obligation: part of each "
                                        "sale is deferred as a liability and recognised when points are redeemed or "
                                        "expire. The verdict uses the IFRS 15 basis."))
    ifrs = _find_ifrs(doc)
    if ifrs:
        sec.tables.append(Table(["Profit on two bases", "Amount"],
                                [[label, _generic_value(label, v, cur)] for label, v in _flatten(ifrs)],
                                numeric=(1,), caption="IFRS 15 view (points as deferred revenue) beside the cash view"))
    return sec


def _ledger_line_changes(cost_lines: pd.DataFrame | None) -> list | None:
    """The ledger lines between extra gross profit and incremental profit that the summary does not
    list: the programme's revenue lines (the IFRS 15 points deferral and its release) and changes in
    the base's own lines other than sales and cost of goods (paid acquisition). Programme minus
    baseline, mean over replications, signed as they move profit. None without saved ledger lines."""
    if cost_lines is None or cost_lines.empty:
        return None
    in_summary = (cost_lines["mechanic"] != "base") & cost_lines["kind"].isin(["cost", "income"])
    in_gross = (cost_lines["mechanic"] == "base") & cost_lines["line"].isin(["sales", "cost_of_goods"])
    rest = cost_lines[~in_summary & ~in_gross]
    reps = cost_lines.groupby("arm")["replication"].nunique()
    out = []
    for (mech, line, kind), d in rest.groupby(["mechanic", "line", "kind"], sort=False):
        total = d.groupby("arm")["amount"].sum()
        delta = float(total.get(PROGRAMME_ARM, 0.0) / max(reps.get(PROGRAMME_ARM, 1), 1)
                      - total.get(BASELINE_ARM, 0.0) / max(reps.get(BASELINE_ARM, 1), 1))
        if abs(delta) > 1e-6:
            label = line_label(f"{mech}.{line}") + (" (change)" if mech == "base" else "")
            out.append((label, -delta if kind == "cost" else delta))
    return out


def _find_ifrs(doc):
    for where in (doc, doc.get("economics") or {}):
        for k, v in where.items():
            if "ifrs" in k.lower() and isinstance(v, dict):
                return v
    return None


def points_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    pts = _get(doc, "mechanics", "points")
    cols = [c for c in (m.columns if m is not None else []) if c.startswith("points.")]
    if not pts and not cols:
        return None
    sec = Section("points", "Points")
    if pts:
        issued = pts.get("points_issued")
        sec.paragraphs.append(
            f"Of {count(issued)} points issued, {pct(pts.get('redemption_rate'))} were redeemed and "
            f"{pct(pts.get('breakage_realised'))} expired unused (breakage). {count(pts.get('points_outstanding_end'))} "
            f"points are still outstanding at the end: a liability of {money(pts.get('liability_end'), cur)} "
            "on the balance sheet.")
    prog = m[m["arm"] == PROGRAMME_ARM] if m is not None and not m.empty else None
    if prog is not None and cols:
        flows = {label: F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
                 for c, label in (("points.points_issued", "issued"), ("points.points_redeemed", "redeemed"),
                                  ("points.points_expired", "expired")) if c in cols}
        if flows:
            sec.charts.append(_chart(F.lines_chart(months, flows, title="Points issued, redeemed and expired",
                                                   subtitle="Points per month, mean over replications", kind="count",
                                                   what="points per month", bars=True,
                                                   colours=[F.PROGRAMME, F.GOOD, F.BAD])))
        has_rollforward = any(c.startswith("points.revenue_") for c in cols)
        if "points.liability" in cols and not has_rollforward:
            mean, lo, hi = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.liability").to_numpy())
            sec.charts.append(_chart(F.band_chart(
                months, mean, lo, hi, title="Outstanding points liability",
                subtitle=f"Value of points earned and not yet redeemed or expired, at month end, {cur}",
                kind="money", cur=cur, name="liability", what="liability")))
        elif "points.points_outstanding" in cols and not has_rollforward:
            mean, lo, hi = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.points_outstanding").to_numpy())
            sec.charts.append(_chart(F.band_chart(months, mean, lo, hi, title="Points outstanding",
                                                  subtitle="Points held by customers at month end", kind="count",
                                                  name="points outstanding", what="points outstanding")))
        movements = {}
        for c in cols:
            name = c.removeprefix("points.")
            if name.startswith("revenue_deferred"):
                movements["deferred: points earned"] = F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
            elif name.startswith("revenue_released"):
                how = name.removeprefix("revenue_released").strip("_").replace("_", " ") or "released"
                movements[f"released: points {how}"] = -F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
        if movements and "points.liability" in cols:
            closing = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.liability").to_numpy())[0]
            sec.charts.append(_chart(F.rollforward_chart(
                months, movements, closing, title="Points liability roll-forward (IFRS 15)",
                subtitle=f"Deferred as points are earned (up), released (down), liability (line), {cur}", cur=cur)))
    return sec


def tiers_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    tiers = _get(doc, "mechanics", "tiers")
    cols = [c for c in (m.columns if m is not None else []) if c.startswith("tiers.tier_")]
    if not tiers and not cols:
        return None
    sec = Section("tiers", "Tiers")
    if tiers:
        ends = tiers.get("members_by_tier_end") or {}
        at_end = ", ".join(f"{k} {count(v)}" for k, v in ends.items())
        sec.paragraphs.append(f"{count(tiers.get('upgrades'))} upgrades and {count(tiers.get('downgrades'))} downgrades "
                              f"over the horizon. Members by level at the end: {at_end}.")
    prog = m[m["arm"] == PROGRAMME_ARM] if m is not None and not m.empty else None
    if prog is not None and cols:
        levels = {c.removeprefix("tiers.tier_"): F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
                  for c in cols}
        sec.charts.append(_chart(F.lines_chart(months, levels, title="Members by tier level",
                                               subtitle="Members in each level at month end, mean over replications",
                                               kind="count", what="members", stacked=True)))
        moves = {}
        if "tiers.upgrades" in prog.columns:
            moves["upgrades"] = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "tiers.upgrades").to_numpy())[0]
        if "tiers.downgrades" in prog.columns:
            moves["downgrades"] = -F.t_band(F.per_replication(prog, PROGRAMME_ARM, "tiers.downgrades").to_numpy())[0]
        if moves:
            sec.charts.append(_chart(F.lines_chart(months, moves, title="Movements between levels",
                                                   subtitle="Upgrades (up) and downgrades (down) per month",
                                                   kind="count", what="members moving", bars=True,
                                                   relative_to_zero=True, colours=[F.GOOD, F.BAD])))
    return sec


def other_mechanics_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    mech = {k: v for k, v in (doc.get("mechanics") or {}).items() if k not in ("points", "tiers") and isinstance(v, dict)}
    if not mech:
        return None
    sec = Section("mechanics", "Enrolment and other parts of the programme" if "enrolment" in mech
                  else "Other parts of the programme")
    if m is not None and not m.empty and "enrolment.members" in m.columns:
        mean, lo, hi = F.t_band(F.per_replication(m, PROGRAMME_ARM, "enrolment.members").to_numpy())
        sec.charts.append(_chart(F.band_chart(months, mean, lo, hi, title="Members enrolled",
                                              subtitle="Customers who have joined the programme, at month end",
                                              kind="count", name="members", what="members"), wide=True))
    for name, figures in mech.items():
        rows = [[label.capitalize(), _generic_value(label, v, cur)] for label, v in _flatten(figures)]
        if rows:
            sec.tables.append(Table([MECHANIC_LABELS.get(name, name.capitalize()), "Over the horizon"], rows,
                                    numeric=(1,)))
    return sec if sec.tables or sec.charts else None


def segments_section(doc: dict) -> Section | None:
    segs = doc.get("segments")
    gap = doc.get("naive_member_gap")
    if not segs and not gap:
        return None
    cur = doc.get("currency", "")
    sec = Section("segments", "Who responds")
    if segs:
        names = list(segs)
        sec.paragraphs.append("The change against no programme in each customer segment, so a targeted programme is "
                              "read where it was aimed.")
        series = {}
        for metric, label in (("orders", "orders"), ("revenue", "revenue")):
            vals = []
            for s in names:
                r = _get(segs, s, metric, "lift", "relative") or {}
                vals.append((r.get("mean"), r.get("ci_low"), r.get("ci_high")))
            series[label] = vals
        sec.charts.append(_chart(F.grouped_interval_bars(names, series, title="Lift by customer segment",
                                                         subtitle=f"Relative change against no programme, "
                                                                  f"with {LEVEL} intervals",
                                                         kind="share", what="change against no programme")))
        rows = []
        for s in names:
            o, r, ret = (_get(segs, s, k, "lift", "absolute") or {} for k in ("orders", "revenue", "retention_rate"))
            rows.append([s, count(o.get("mean"), True), pct(_get(segs, s, "orders", "lift", "relative", "mean"), True),
                         money(r.get("mean"), cur, True), pct(_get(segs, s, "revenue", "lift", "relative", "mean"), True),
                         points_change(ret.get("mean"))])
        sec.tables.append(Table(["Segment", "Orders", "relative", "Revenue", "relative", "Retention"], rows,
                                numeric=(1, 2, 3, 4, 5), caption="Change against no programme over the horizon"))
    if gap:
        _naive_gap(sec, gap, cur)
    return sec


NAIVE_ROWS = (("per_member", "Per member, with the programme", "amount"),
              ("per_non_member", "Per non-member", "amount"),
              ("per_member_without_programme", "Per member, had there been no programme", "amount"),
              ("naive_gap", "Naive gap: members against non-members", "signed"),
              ("causal_effect_on_members", "Causal effect on members: with against without the programme", "signed"),
              ("selection_share", "Share of the gap that is who joined (selection)", "share"))


def _naive_gap(sec: Section, gap: dict, cur: str):
    """Members against non-members (what a CRM dashboard shows) beside what the programme did."""
    measures = [k for k, v in gap.items() if isinstance(v, dict)]
    spend = gap.get("spend") if isinstance(gap.get("spend"), dict) else None
    text = ("What a CRM dashboard shows after launch, members against non-members, beside what the programme did to "
            "the same members (the programme against no programme, on the same customers). Members are partly the "
            "customers who would have bought more anyway, so the naive gap overstates the effect.")
    if spend and spend.get("naive_gap") is not None and spend.get("causal_effect_on_members") is not None:
        naive = spend["naive_gap"]
        text += (f" Here members spend {pct(abs(naive))} {'more' if naive >= 0 else 'less'} than non-members, but the "
                 f"programme changed their spend by {pct(spend['causal_effect_on_members'], True)}")
        text += (f": {pct(spend['selection_share'])} of the gap is who joined, not what the programme did."
                 if spend.get("selection_share") is not None else ".")
    if gap.get("member_share") is not None:
        text += f" Members: {pct(gap['member_share'])} of the customers active at launch."
    sec.paragraphs.append(text)
    pairs = _naive_pairs(gap)
    if pairs:
        sec.charts.append(_chart(F.grouped_interval_bars(
            [p[0] for p in pairs], {"members vs non-members (naive)": [(p[1], None, None) for p in pairs],
                                    "with vs without the programme (causal)": [(p[2], None, None) for p in pairs]},
            title="Naive member gap against the causal effect",
            subtitle="Naive: members against non-members. Causal: against themselves without it",
            kind="share", what="difference")))
    if measures:
        rows = []
        for key, label, how in NAIVE_ROWS:
            if not any(key in gap[m] for m in measures):
                continue
            cells = []
            for m in measures:
                v = gap[m].get(key)
                if how == "amount":
                    cells.append(money(v, cur if m == "spend" else "") if m == "spend" else F.fmt_value("ratio", v))
                elif how == "signed":
                    cells.append(pct(v, True))
                else:
                    cells.append(pct(v))
            rows.append([label, *cells])
        if rows:
            sec.tables.append(Table(["Customers active at launch", *[m.replace("_", " ") for m in measures]], rows,
                                    numeric=tuple(range(1, 1 + len(measures))),
                                    caption="Over the horizon, per customer; members are those who joined"))


def _naive_pairs(gap: dict) -> list:
    """(metric, naive, causal) where the gap gives both for a metric as relative numbers."""
    out = []
    for metric, v in gap.items():
        if not isinstance(v, dict):
            continue
        naive = v.get("naive_gap", next((v[k] for k in v if "naive" in k or "gap" in k), None))
        causal = v.get("causal_effect_on_members", next((v[k] for k in v if "causal" in k or k == "lift"), None))
        naive = naive.get("mean") if isinstance(naive, dict) else naive
        causal = causal.get("mean") if isinstance(causal, dict) else causal
        if isinstance(naive, (int, float)) and isinstance(causal, (int, float)):
            out.append((metric.replace("_", " "), naive, causal))
    return out


def run_page(inp: RunInputs, psa=None, sweep=None) -> Page:
    import yaml
    doc = inp.doc
    months = _months(inp.monthly)
    resolved = yaml.safe_load(inp.scenario_yaml) or {}
    cur = doc.get("currency", "")
    n = int(doc.get("replications") or 0)
    facts = [f"{count(doc.get('customers_at_launch'))} customers at launch",
             f"{len(months)} months from {month_name(months[0])}" if months else f"{doc.get('horizon_days')} days",
             _plural(n, "replication") + f", seed {doc.get('seed')}", f"amounts in {cur}"]
    sections = [changes_section(doc, months), lift_section(inp, months), payback_section(inp, months),
                money_section(inp), points_section(inp, months), tiers_section(inp, months),
                other_mechanics_section(inp, months), segments_section(doc)]
    if psa is not None:
        sections += psa_sections(psa)
    if sweep is not None:
        sections += sweep_sections(sweep)
    sections.append(assumptions_section(inp.assumptions))
    warnings = []
    if doc.get("interrupted"):
        warnings.append(f"Interrupted: this report covers the {_plural(n, 'replication')} that finished, of the "
                        f"{resolved.get('replications', '?')} asked for.")
    requested = resolved.get("replications")
    embedded = resolved
    return Page(kind="run", title=doc.get("scenario") or resolved.get("name", "loyalsim report"),
                subtitle=resolved.get("description") or "", facts=facts,
                verdict=run_verdict(doc, months, psa), sections=[s for s in sections if s is not None],
                sources=[Source("Resolved scenario", "scenario.yaml", inp.scenario_yaml)],
                command="loyalsim run scenario.yaml", version=inp.version, seed=doc.get("seed"),
                replications=requested if requested is not None else n, embedded_id="loyalsim-scenario",
                embedded=embedded, warnings=warnings)


def render_run(source, *, psa=None, sweep=None) -> str:
    """The run report as HTML text.

    ``source``: a ``sim.Result``, a saved ``--out`` folder (path), or ``RunInputs``.
    ``psa`` / ``sweep``: optional study results (shapes in ``psa_sections`` and
    ``sweep_sections``) whose sections are added, and whose probability of paying
    enters the verdict.
    """
    if isinstance(source, RunInputs):
        inp = source
    elif isinstance(source, (str, Path)):
        inp = load_saved_run(source)
    else:
        inp = run_inputs(source)
    return render_page(run_page(inp, psa=psa, sweep=sweep))


# --------------------------------------------------------------------------- the compare report

def compare_verdict(doc: dict, months: list) -> Verdict:
    cur = doc.get("currency", "")
    ranking = doc.get("ranking") or []
    n = int(doc.get("replications") or 0)
    span = f"over {len(months)} months" if months else f"over {doc.get('horizon_days')} days"
    if not ranking:
        return Verdict("unsure", "Nothing to compare", "No strategy finished.", [], _how_sure(n))
    best = ranking[0]
    ip = best.get("incremental_profit") or {}
    mean, lo, hi = ip.get("mean"), ip.get("ci_low"), ip.get("ci_high")
    name = best["strategy"]
    bn = best.get("beats_next") or {}
    p = bn.get("probability")
    if p is None or not bn.get("strategy"):
        vs = ""
    elif p >= 0.95:
        vs = f" It beats the runner-up, {bn['strategy']}, with probability {probability(p)}."
    else:
        vs = (f" It beats the runner-up, {bn['strategy']}, with probability {probability(p)} only: "
              "not yet a clear winner.")
    if mean is None:
        tone, head, sentence = "unsure", "Cannot tell", "No incremental profit could be computed."
    elif lo is None:
        tone, head = "unsure", "Cannot tell yet"
        sentence = (f"{name} comes first with {money(mean, cur, True)} of incremental profit {span}, but one "
                    "replication gives no interval: run more replications.")
    elif lo > 0:
        tone, head = "pays", "Best strategy pays"
        sentence = (f"{name} pays best: it adds {money(mean, cur)} of profit {span} "
                    f"({LEVEL} interval {money(lo)} to {money(hi, cur)}).{vs}")
    elif hi < 0:
        tone, head = "fails", "None pays"
        sentence = (f"None of the {len(ranking)} strategies pays: the least costly, {name}, loses "
                    f"{money(-mean, cur)} {span} ({LEVEL} interval {money(-hi)} to {money(-lo, cur)} lost).")
    else:
        tone, head = "unsure", "Cannot tell yet"
        sentence = (f"{name} comes first with {money(mean, cur, True)} of incremental profit {span}, but its "
                    f"{LEVEL} interval ({money(lo, signed=True)} to {money(hi, cur, True)}) includes zero: cannot tell "
                    f"yet whether it pays.{vs}")
    roi = best.get("roi") or {}
    tiles = [Tile("Best strategy" if tone == "pays" else "Ranked first", name,
                  f"of {_plural(len(ranking), 'strategy', 'strategies')}, by incremental profit"),
             Tile("Its incremental profit", money(mean, cur, True), f"{LEVEL}: {_interval_text(ip, cur=cur)}"),
             Tile("Beats the runner-up", probability(p) if p is not None else "n/a",
                  "probability, on the same customers" if p is not None else "only one strategy"),
             Tile("Return on its cost", pct(roi.get("mean")) if roi.get("mean") is not None else "n/a",
                  f"{LEVEL}: {_interval_text(roi, 'share')}" if roi.get("mean") is not None else ""),
             Tile("Payback", f"Month {best['payback_month']}" if best.get("payback_month") else "Not within the horizon",
                  month_name(months[best["payback_month"] - 1]) if best.get("payback_month") and months
                  and best["payback_month"] <= len(months) else "")]
    return Verdict(tone, head, sentence, tiles, _how_sure(n))


def compare_page(inp: CompareInputs) -> Page:
    import yaml
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    months = _months(m)
    ranking = doc.get("ranking") or []
    names = [r["strategy"] for r in ranking]
    n = int(doc.get("replications") or 0)
    sections = []

    sec = Section("strategies", "Strategies side by side")
    sec.paragraphs.append("Every strategy runs on the same customers and the same chance events as one shared "
                          "no-programme baseline, so the differences between them are the strategies' and nothing else. "
                          "Ranked by incremental profit; 'beats the next' is the probability that a strategy's "
                          "incremental profit exceeds the next one's, on paired replications.")
    ips = [r.get("incremental_profit") or {} for r in ranking]
    extra = [f"<br>return on cost {pct(_get(r, 'roi', 'mean'))}" for r in ranking]
    sec.charts.append(_chart(F.interval_bars(
        names, [i.get("mean") for i in ips], [i.get("ci_low") for i in ips], [i.get("ci_high") for i in ips],
        title="Incremental profit by strategy",
        subtitle=f"Over the horizon against no programme, {cur}, with {LEVEL} intervals",
        kind="money", cur=cur, what="incremental profit", extra_hover=extra), wide=True))
    rows = []
    for r in ranking:
        ip = r.get("incremental_profit") or {}
        bn = r.get("beats_next") or {}
        cls = "good" if (ip.get("ci_low") or 0) > 0 else "bad" if (ip.get("ci_high") or 0) < 0 else ""
        rows.append([str(r["rank"]), Cell(r["strategy"], r.get("file") or ""),
                     Cell(money(ip.get("mean"), cur, True), cls=cls),
                     _interval_text(ip, cur=cur), pct(_get(r, "roi", "mean")),
                     _payback_text(r.get("payback_month"), months) or "not within the horizon",
                     points_change(_get(r, "retention_lift", "mean")), money(r.get("programme_cost"), cur),
                     f"{probability(bn['probability'])} vs #{r['rank'] + 1}" if bn.get("probability") is not None else ""])
    sec.tables.append(Table(["#", "Strategy", "Incremental profit", f"{LEVEL} interval", "Return on cost", "Payback",
                             "Retention", "Programme cost", "Beats the next"], rows, numeric=(2, 3, 4, 6, 7, 8)))
    sections.append(sec)

    if m is not None and not m.empty:
        sec = Section("payback", "Month by month: cumulative incremental profit")
        sec.paragraphs.append("The running total of each strategy's profit minus the no-programme profit. Where a line "
                              "crosses zero for good, that strategy has paid back.")
        items = []
        for name in names:
            diff = F.paired_difference(m, name, "profit")
            if diff.empty:
                continue
            items.append((name, *F.t_band(np.cumsum(diff.to_numpy(), axis=0))))
        if items:
            sec.charts.append(_chart(F.multi_band_chart(
                months, items, title="Cumulative incremental profit by strategy",
                subtitle=f"Added up month by month, {cur}; shaded: {LEVEL} intervals", cur=cur), wide=True))
        sections.append(sec)

    sec = Section("changes", "What each strategy changes")
    series = {}
    for metric, label in (("revenue", "revenue"), ("orders", "orders"), ("average_check", "average check"),
                          ("purchase_frequency", "purchases per customer")):
        vals = []
        for name in names:
            rel = _get(doc, "strategies", name, "lift", metric, "relative") or {}
            vals.append((rel.get("mean"), rel.get("ci_low"), rel.get("ci_high")))
        series[label] = vals
    sec.charts.append(_chart(F.grouped_interval_bars(names, series, title="Lift against no programme",
                                                     subtitle=f"Relative change over the horizon, with {LEVEL} intervals",
                                                     kind="share", what="change against no programme"), wide=True))
    sections.append(sec)

    lines = {}
    for name in names:
        for k, v in (_get(doc, "strategies", name, "economics", "programme_lines") or {}).items():
            lines.setdefault(k, {})[name] = v
    if lines:
        sec = Section("money", "Where the money goes")
        sec.paragraphs.append("Each strategy's programme cost, by ledger line (mean over replications).")
        order = sorted(lines, key=lambda k: -sum(abs(v) for v in lines[k].values()))
        sec.charts.append(_chart(F.stacked_bars(names, {line_label(k): [lines[k].get(n, 0.0) for n in names] for k in order},
                                                title="Programme cost by strategy and ledger line",
                                                subtitle=f"Over the horizon, {cur}", cur=cur), wide=True))
        income_rows = []
        for name in names:
            for k, v in (_get(doc, "strategies", name, "economics", "programme_income_lines") or {}).items():
                if v:
                    income_rows.append([name, line_label(k), money(v, cur)])
        if income_rows:
            sec.tables.append(Table(["Strategy", "Programme income", "Amount"], income_rows, numeric=(2,)))
        sections.append(sec)

    sections.append(assumptions_section([], per_strategy=inp.assumptions))
    sources, embedded = [], []
    for i, (name, file, text) in enumerate(inp.sources):
        fname = f"strategy_{i + 1}.yaml"
        sources.append(Source(f"{name} ({file})", fname, text))
        embedded.append({"strategy": name, "file": file, "scenario": yaml.safe_load(text)})
    first = yaml.safe_load(inp.sources[0][2]) if inp.sources else {}
    facts = [_plural(len(names), "strategy", "strategies"),
             f"{len(months)} months from {month_name(months[0])}" if months else f"{doc.get('horizon_days')} days",
             _plural(n, "replication") + f", seed {doc.get('seed')}", f"amounts in {cur}"]
    warnings = []
    if doc.get("interrupted"):
        warnings.append(f"Interrupted: this report covers the {_plural(n, 'replication')} that finished.")
    return Page(kind="compare", title="Strategies compared", subtitle=", ".join(names), facts=facts,
                verdict=compare_verdict(doc, months), sections=sections, sources=sources,
                command="loyalsim compare " + " ".join(s.file_name for s in sources), version=inp.version,
                seed=doc.get("seed"), replications=first.get("replications", n), embedded_id="loyalsim-scenarios",
                embedded=embedded, warnings=warnings)


def render_compare(source) -> str:
    """The compare report as HTML text; ``source``: a ``sim.Comparison`` or ``CompareInputs``."""
    inp = source if isinstance(source, CompareInputs) else compare_inputs(source)
    return render_page(compare_page(inp))


# --------------------------------------------------------------------------- sweeps

def _sweep_table(sweep: dict) -> pd.DataFrame:
    table = sweep.get("table")
    if table is None:
        raise ValueError("sweep: no 'table' (one row per point x replication)")
    df = table.copy() if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    return df


def sweep_sections(sweep: dict) -> list:
    """Sections for a parameter sweep (``loyalsim sweep``).

    ``sweep`` is a dict:

        {
          "currency": "EUR",
          "design": "grid",            # or "latin hypercube", "sobol", "morris" (text shown to the reader)
          "varied": ["programme.points.earn_per_currency", ...],   # the varied fields, in order
          "metric": "incremental_profit",                          # optional: the column ranked on
          "table": DataFrame or list of dicts, one row per point x replication, columns:
              point (int), replication (int),
              one column per varied field, named as in "varied" (its value at that point),
              incremental_profit (currency: programme minus no programme over the horizon),
              and any other metric or lift columns (e.g. "roi", "lift.orders"), shown in the table
              of best points as their mean,
        }

    Every point is assumed to run programme vs no programme on the same customers
    and chance events. One varied field gives a response curve with its band,
    two fields on a full grid a heatmap, otherwise one scatter per field; the
    best point (highest mean of the metric) is marked, and the best points listed.
    """
    cur = sweep.get("currency", "")
    varied = list(sweep.get("varied") or [])
    metric = sweep.get("metric", "incremental_profit")
    df = _sweep_table(sweep)
    if df.empty or metric not in df.columns:
        return [Section("sweep", "Sweep", paragraphs=["The sweep has no results to show."])]
    others = [c for c in df.columns if c not in ("point", "replication", metric, *varied)
              and pd.api.types.is_numeric_dtype(df[c])]
    rows = []
    for point, d in df.groupby("point", sort=True):
        mean, lo, hi = F.t_band(d[metric].to_numpy(dtype=float)[None, :])
        rows.append({"point": point, **{v: d[v].iloc[0] for v in varied}, "mean": mean[0], "lo": lo[0], "hi": hi[0],
                     **{o: float(d[o].mean()) for o in others}, "n": len(d)})
    agg = pd.DataFrame(rows)
    best = agg.loc[agg["mean"].idxmax()]
    n_reps = int(agg["n"].max())
    sec = Section("sweep", "Sweep: how the answer moves with the programme's settings")
    where = ", ".join(f"{v} = {_value_text(best[v])}" for v in varied)
    sec.paragraphs.append(
        f"{_plural(len(agg), 'point')} ({sweep.get('design', 'design not stated')}), {_plural(n_reps, 'replication')} "
        f"each, every point against no programme on the same customers and chance events. The best point is {where}: "
        f"{money(best['mean'], cur, True)} of incremental profit"
        + ("." if math.isnan(best["lo"])
           else f" ({LEVEL} interval {money(best['lo'], signed=True)} to {money(best['hi'], cur, True)})."))
    label = "Incremental profit" if metric == "incremental_profit" else metric.replace("_", " ").capitalize()
    if len(varied) == 1:
        v = varied[0]
        a = agg.sort_values(v)
        sec.charts.append(_chart(F.response_curve(
            a[v].astype(float).tolist(), a["mean"], a["lo"], a["hi"], title=f"{label} over {v}",
            subtitle=f"Mean over replications with its {LEVEL} interval, {cur}; star: the best point", xtitle=v, cur=cur,
            best=(float(best[v]), float(best["mean"]))), wide=True))
    elif len(varied) == 2 and agg[varied[0]].nunique() * agg[varied[1]].nunique() == len(agg):
        x, y = varied
        xs, ys = sorted(agg[x].unique()), sorted(agg[y].unique())
        grid = agg.pivot_table(index=y, columns=x, values="mean").reindex(index=ys, columns=xs)
        sec.charts.append(_chart(F.heatmap([float(a) for a in xs], [float(b) for b in ys], grid.to_numpy(),
                                           title=f"{label} over {x} and {y}",
                                           subtitle=f"Mean over replications, {cur}; green pays, red loses; "
                                                    "star: the best point",
                                           xtitle=x, ytitle=y, cur=cur, best=(float(best[x]), float(best[y]))), wide=True))
    else:
        for v in varied:
            sec.charts.append(_chart(F.scatter_points(agg[v].astype(float).tolist(), agg["mean"].tolist(),
                                                      title=f"{label} against {v}",
                                                      subtitle=f"Each point's mean over replications, {cur}", xtitle=v,
                                                      cur=cur, best=(float(best[v]), float(best["mean"])))))
    top = agg.sort_values("mean", ascending=False).head(10)
    table_rows = []
    for _, r in top.iterrows():
        table_rows.append([*[_value_text(r[v]) for v in varied], money(r["mean"], cur, True),
                           "no interval" if math.isnan(r["lo"])
                           else f"{money(r['lo'], signed=True)} to {money(r['hi'], cur, True)}",
                           *[_sweep_value(o, r[o], cur) for o in others]])
    sec.tables.append(Table([*varied, label, f"{LEVEL} interval", *[_sweep_column(o) for o in others]], table_rows,
                            numeric=tuple(range(len(varied) + 2 + len(others))),
                            caption="The best points, by mean " + label.lower()))
    return [sec]


def _sweep_column(name: str) -> str:
    if name == "roi":
        return "Return on cost"
    if name.startswith("lift."):
        return f"{name.removeprefix('lift.').replace('_', ' ')}: change"
    return name.replace("_", " ")


def _sweep_value(name, v, cur) -> str:
    """Lift columns are relative changes, roi a ratio: both as percentages; others by their name."""
    if name == "roi" or name.startswith("lift."):
        return pct(v, signed=name.startswith("lift."))
    return _generic_value(name, v, cur)


def render_sweep(sweep: dict, *, title="Sweep", scenario_yaml: str | None = None, seed=None, replications=None,
                 version=None) -> str:
    """A page for a sweep alone (the sweep command's --html)."""
    import yaml
    from sim import __version__
    secs = sweep_sections(sweep)
    df = _sweep_table(sweep)
    metric = sweep.get("metric", "incremental_profit")
    cur = sweep.get("currency", "")
    means = df.groupby("point")[metric].mean() if metric in df.columns and not df.empty else pd.Series(dtype=float)
    if means.empty:
        verdict = Verdict("unsure", "No results", "The sweep has no results to show.", [], "")
    else:
        share = float((means > 0).mean())
        tone = "pays" if share == 1 else "fails" if share == 0 else "unsure"
        verdict = Verdict(tone, {"pays": "Pays everywhere", "fails": "Pays nowhere"}.get(tone, "Pays in part"),
                          f"The programme pays at {pct(share)} of the {_plural(len(means), 'point')} swept; the best "
                          f"gives {money(float(means.max()), cur, True)} of incremental profit, the worst "
                          f"{money(float(means.min()), cur, True)}.",
                          [Tile("Best point", money(float(means.max()), cur, True), "incremental profit"),
                           Tile("Points that pay", pct(share), f"of {_plural(len(means), 'point')}")],
                          _how_sure(int(df["replication"].nunique()) if "replication" in df.columns else 0,
                                    listed=False))
    sources = [Source("Resolved scenario", "scenario.yaml", scenario_yaml)] if scenario_yaml else []
    page = Page(kind="sweep", title=title, subtitle=", ".join(sweep.get("varied") or []), facts=[f"amounts in {cur}"],
                verdict=verdict, sections=secs, sources=sources, command="loyalsim sweep scenario.yaml",
                version=version or __version__, seed=seed, replications=replications, embedded_id="loyalsim-scenario",
                embedded=yaml.safe_load(scenario_yaml) if scenario_yaml else None)
    return render_page(page)


# --------------------------------------------------------------------------- uncertainty (PSA)

def _psa_probability(psa: dict):
    if psa.get("probability_pays") is not None:
        return float(psa["probability_pays"])
    draws = [x for x in psa.get("incremental_profit") or [] if x is not None]
    return float(np.mean(np.asarray(draws) > 0)) if draws else None


def psa_sections(psa: dict) -> list:
    """Sections for a probabilistic sensitivity analysis (``loyalsim psa``).

    ``psa`` is a dict:

        {
          "currency": "EUR",
          "draws": 200,                                   # optional; default len(incremental_profit)
          "incremental_profit": [float, ...],             # one per draw of the uncertain assumptions
          "probability_pays": 0.78,                       # optional; default share of draws above zero
          "acceptability": {"calendar_month": ["2027-01", ...],   # or "month": [1, 2, ...]
                            "probability": [0.0, ...]},   # P(cumulative incremental profit > 0 by that month)
          "evpi": 120000.0,                               # optional: expected value of perfect information
          "evppi": [{"group": "tier response", "value": 80000.0,
                     "parameters": ["programme.tiers.behaviour.status_intensity", ...]}, ...],
          "tornado": {"base": 1.2e6,                      # incremental profit at the central values
                      "rows": [{"parameter": "programme.points.behaviour.goal_gradient",
                                "low": 0.1, "high": 0.6,          # the parameter's range
                                "at_low": 0.4e6, "at_high": 1.9e6}, ...]},   # incremental profit at each end
          "expected_loss": {"launch": 50000.0, "do_not_launch": 900000.0},   # optional
        }

    Any key but ``incremental_profit`` may be left out; its chart is then left out.
    """
    cur = psa.get("currency", "")
    draws = np.asarray([x for x in psa.get("incremental_profit") or [] if x is not None], dtype=float)
    p = _psa_probability(psa)
    sec = Section("uncertainty", "How sure, given what we do not know")
    if draws.size:
        p5, p50, p95 = np.percentile(draws, [5, 50, 95])
        text = (f"{_plural(int(psa.get('draws') or draws.size), 'draw')} of the uncertain assumptions, each run against "
                f"no programme on the same customers. Incremental profit: mean {money(float(draws.mean()), cur, True)}, "
                f"median {money(float(p50), cur, True)}, 90% of draws between {money(float(p5), signed=True)} and "
                f"{money(float(p95), cur, True)}. Probability the programme pays: {probability(p)}.")
        loss = psa.get("expected_loss") or {}
        if loss:
            text += (f" Expected loss if launched: {money(loss.get('launch'), cur)}; if not launched: "
                     f"{money(loss.get('do_not_launch'), cur)}.")
        sec.paragraphs.append(text)
        sec.charts.append(_chart(F.histogram(
            draws, title="Incremental profit over the assumptions' plausible ranges",
            subtitle=f"One bar per range of incremental profit, {cur}; dashed: zero, mean, 5th and 95th percentiles",
            cur=cur, marks=[(0.0, "zero", F.BAD), (float(draws.mean()), "mean", F.PROGRAMME),
                            (float(p5), "5th pct", F.MUTED), (float(p95), "95th pct", F.MUTED)])))
    acc = psa.get("acceptability") or {}
    if acc.get("probability"):
        x = acc.get("calendar_month") or acc.get("month") or list(range(1, len(acc["probability"]) + 1))
        sec.charts.append(_chart(F.probability_curve(
            [str(v) for v in x] if acc.get("calendar_month") else list(x), acc["probability"],
            title="Probability of having paid back, by month",
            subtitle="Share of draws whose cumulative incremental profit is above zero by that month",
            what="probability of having paid back", dates=bool(acc.get("calendar_month")))))
    evppi = psa.get("evppi") or []
    if evppi:
        rows = sorted(evppi, key=lambda r: -(r.get("value") or 0))
        evpi = psa.get("evpi")
        sec.charts.append(_chart(F.interval_bars(
            [r["group"] for r in rows], [r.get("value") for r in rows], [None] * len(rows), [None] * len(rows),
            title="Which assumption decides it: value of knowing it (EVPPI)",
            subtitle=f"Expected gain from knowing each group before deciding, {cur}"
                     + (f"; all (EVPI): {money(evpi)}" if evpi is not None else ""),
            kind="money", cur=cur, what="EVPPI", colours=[F.PROGRAMME] * len(rows),
            extra_hover=["<br>" + ", ".join(r.get("parameters") or []) for r in rows])))
    tor = psa.get("tornado") or {}
    if tor.get("rows"):
        trows = sorted(tor["rows"], key=lambda r: -abs(r["at_high"] - r["at_low"]))
        for r in trows:
            r.setdefault("label", r["parameter"])
        sec.charts.append(_chart(F.tornado(
            trows, float(tor.get("base", 0.0)), title="One at a time: incremental profit over each assumption's range",
            subtitle=f"Bars from the central estimate to each end of the range, {cur}; widest first", cur=cur),
            wide=True))
    if not sec.charts and not sec.paragraphs:
        sec.paragraphs.append("The uncertainty analysis has no results to show.")
    sec.notes.append("These figures include uncertainty about the assumptions as well as simulation noise.")
    return [sec]


def render_psa(psa: dict, *, title="Uncertainty analysis", scenario_yaml: str | None = None, seed=None,
               replications=None, version=None) -> str:
    """A page for an uncertainty analysis alone (the psa command's --html)."""
    import yaml
    from sim import __version__
    cur = psa.get("currency", "")
    p = _psa_probability(psa)
    draws = [x for x in psa.get("incremental_profit") or [] if x is not None]
    mean = float(np.mean(draws)) if draws else None
    if p is None:
        verdict = Verdict("unsure", "No results", "The uncertainty analysis has no results to show.", [], "")
    else:
        tone = "pays" if p >= 0.95 else "fails" if p <= 0.05 else "unsure"
        head = {"pays": "Pays", "fails": "Does not pay"}.get(tone, "Uncertain")
        best_group = max(psa.get("evppi") or [{}], key=lambda r: r.get("value") or 0).get("group")
        sentence = (f"The probability that the programme pays is {probability(p)}, over the plausible ranges of the "
                    f"assumptions; expected incremental profit {money(mean, cur, True)}.")
        if best_group:
            sentence += f" The assumption that matters most to the decision: {best_group}."
        verdict = Verdict(tone, head, sentence,
                          [Tile("Probability it pays", probability(p), f"over {_plural(len(draws), 'draw')}"),
                           Tile("Expected incremental profit", money(mean, cur, True), "mean over the draws")],
                          _how_sure(0, psa, listed=False))
    sources = [Source("Resolved scenario", "scenario.yaml", scenario_yaml)] if scenario_yaml else []
    page = Page(kind="psa", title=title, subtitle="", facts=[f"amounts in {cur}"], verdict=verdict,
                sections=psa_sections(psa), sources=sources, command="loyalsim psa scenario.yaml",
                version=version or __version__, seed=seed, replications=replications,
                embedded_id="loyalsim-scenario", embedded=yaml.safe_load(scenario_yaml) if scenario_yaml else None)
    return render_page(page)


# --------------------------------------------------------------------------- optimisation

_OPT_KIND = {"money": "money", "ratio": "share", "points": "pts"}


def _opt_value(kind, x, cur="", signed=True) -> str:
    return F.fmt_value(_OPT_KIND.get(kind, "money"), x, cur, signed)


def _opt_interval(kind, est: dict, cur) -> str:
    if not est or est.get("ci_low") is None:
        return ""
    return f" ({LEVEL} interval {_opt_value(kind, est['ci_low'])} to {_opt_value(kind, est['ci_high'], cur)})"


def optimise_sections(opt: dict) -> list:
    """Sections for an optimisation (``loyalsim optimise``).

    ``opt`` is a dict:

        {
          "summary": the JSON document of the optimisation (OptimiseResult.summary(): objective(s), bounds,
                     trials counts, search_best, finalists, selection, chosen, runner_up, robust, pareto_front),
          "trials": DataFrame, one row per trial: trial, state, one column per varied field, the mean of each
                    measure over the trial's replications (incremental_profit, npv, roi, ...), feasible (bool),
        }

    Sections: the search (each design's observed value by trial and against each varied field, or the
    Pareto front for two objectives), the selection (the finalists on fresh replications, the choice, how
    sure, the runner-up) and, when asked for, robustness to the uncertain assumptions.
    """
    doc = opt["summary"]
    df = opt["trials"]
    cur = doc.get("currency", "")
    obj = doc["objective"]
    kind = doc.get("objective_kind", "money")
    fk = _OPT_KIND.get(kind, "money")
    what = obj.replace("_", " ")
    varied = list(doc.get("varied") or [])
    t = doc["trials"]
    reps = len(doc.get("search_replications") or [])
    secs = []
    sec = Section("search", "The search: designs tried within the bounds")
    bounds = "; ".join(f"{b['field']} " + (", ".join(_value_text(v) for v in b["values"]) if b.get("values") is not None
                                           else f"{_value_text(b['low'])} to {_value_text(b['high'])}")
                       for b in doc.get("bounds") or [])
    sec.paragraphs.append(
        f"{_plural(t['told'], 'design')} tried by {doc.get('sampler', 'the optimiser')} (seed {doc.get('seed')}), each "
        f"on {_plural(reps, 'replication')} against no programme on the same customers and chance events, so "
        f"differences between designs are the settings' effect. Bounds: {bounds}."
        + (f" Constraints: {', '.join(doc['constraints'])}; {_plural(t['infeasible'], 'design')} broke them and "
           "can never be chosen." if doc.get("constraints") else ""))
    done = df[df["state"] == "complete"] if not df.empty else df
    ch = doc.get("chosen") or {}
    chosen_trial = None
    for f in doc.get("finalists") or []:
        if ch and f["label"] == ch.get("label"):
            chosen_trial = f.get("trial")
    if len(doc.get("objectives") or []) > 1 and not done.empty:
        o1, o2 = doc["objectives"]
        kinds = [_OPT_KIND.get(k, "money") for k in doc.get("objective_kinds") or ["money", "money"]]
        feas = done[done["feasible"]]
        front = set(r["trial"] for r in doc.get("pareto_front") or [])
        sec.charts.append(_chart(F.pareto_chart(
            feas[o1].tolist(), feas[o2].tolist(), [tr in front for tr in feas["trial"]],
            title=f"The trade-off: {o1.replace('_', ' ')} against {o2.replace('_', ' ')}",
            subtitle="Each feasible design's mean over the search's replications; joined: the Pareto front",
            xtitle=o1.replace("_", " "), ytitle=o2.replace("_", " "), xkind=kinds[0], ykind=kinds[1], cur=cur,
            labels=[f"trial {tr}" for tr in feas["trial"]]), wide=True))
        rows = [[r["label"], _opt_value(doc["objective_kinds"][0], r[o1], cur), _opt_value(doc["objective_kinds"][1], r[o2], cur)]
                for r in doc.get("pareto_front") or []]
        sec.tables.append(Table(["Design", o1.replace("_", " "), o2.replace("_", " ")], rows, numeric=(1, 2),
                                caption="The Pareto front: no other design tried is better on both"))
        secs.append(sec)
        return secs
    if not done.empty and obj in done.columns:
        ys = done[obj].tolist()
        feas = done["feasible"].tolist()
        labels = [f"trial {tr}" for tr in done["trial"]]
        chosen_point = None
        if chosen_trial is not None and chosen_trial in set(done["trial"]):
            row = done[done["trial"] == chosen_trial].iloc[0]
            chosen_point = (int(row["trial"]), float(row[obj]))
        sec.charts.append(_chart(F.trials_chart(
            done["trial"].tolist(), ys, feas, title=f"{what.capitalize()} of each design, in the order tried",
            subtitle=f"Mean over the search's {_plural(reps, 'replication')} ({cur if fk == 'money' else what}); "
                     "line: the best observed so far", xtitle="trial", kind=fk, cur=cur, what=what,
            chosen=chosen_point, best_so_far=doc["directions"][0] == "maximize", labels=labels), wide=len(varied) != 1))
        for v in varied[:4]:
            if v not in done.columns:
                continue
            xs = done[v].tolist()
            cp = None
            if chosen_point is not None:
                cp = (done[done["trial"] == chosen_trial].iloc[0][v], chosen_point[1])
            sec.charts.append(_chart(F.trials_chart(
                xs, ys, feas, title=f"{what.capitalize()} against {v.split('.')[-1]}",
                subtitle=f"{v}: each design's mean over the search's replications", xtitle=v, kind=fk, cur=cur,
                what=what, chosen=cp, labels=labels)))
    sb = doc.get("search_best")
    if sb:
        sec.notes.append(f"The best observation of the search ({_opt_value(kind, sb['observed'], cur)}, trial "
                         f"{sb['trial']}) is the luckiest of {_plural(t['told'], 'noisy trial')} as well as the best: "
                         "it is not the reported figure (the winner's curse). The designs below are re-run on fresh "
                         "replications.")
    secs.append(sec)
    sel = doc.get("selection")
    if sel:
        secs.append(_selection_section(doc, kind, cur))
    if doc.get("robust"):
        secs.append(_robust_section(doc["robust"], kind, cur))
    return secs


def _selection_section(doc, kind, cur) -> Section:
    sel, ch = doc["selection"], doc["chosen"]
    fk = _OPT_KIND.get(kind, "money")
    what = doc["objective"].replace("_", " ")
    est = ch.get("estimate") or {}
    delta = _opt_value(kind, sel.get("indifference"), cur, signed=False)
    prob = sel.get("probability_within_indifference") or {}
    pcs = sel.get("probability_correct_selection") or {}
    sec = Section("selection", "The selection: which design, and how sure")
    n_fin = sel["designs"] - 1
    if ch.get("no_programme"):
        bp = doc.get("best_programme") or {}
        text = (f"No programme is the choice: none of the {_plural(n_fin, 'best design')} beats doing nothing on "
                f"{what}.")
        if bp:
            text += (f" The best of them, {bp['label']}, makes {_opt_value(kind, (bp.get('estimate') or {}).get('mean'), cur)}"
                     f"{_opt_interval(kind, bp.get('estimate') or {}, cur)} on fresh replications.")
    else:
        text = (f"The choice is {ch['label']}: {what} {_opt_value(kind, est.get('mean'), cur)}"
                f"{_opt_interval(kind, est, cur)}, re-estimated on {_plural(est.get('n', 0), 'fresh replication')} "
                "that neither the search nor the selection used.")
    sec.paragraphs.append(text)
    if sel.get("guarantee"):
        sec.paragraphs.append(
            f"How sure: the {_plural(n_fin, 'best design')} and no programme ran on the same fresh replications "
            f"(Kim and Nelson's KN procedure, {_plural(sel['replications_used'], 'replication')} in all, more where the "
            f"decision was close). It picks the best with probability at least "
            f"{probability(pcs.get('guaranteed_at_least'))} whenever the best leads the others by {delta} or more "
            f"(the indifference zone, {sel.get('indifference_basis')}; closer designs count as equally good). "
            f"On the replications "
            f"run, the probability that the choice is within {delta} of every other is "
            f"{'' if (prob.get('empirical_lower_bound') or 0) > 0.995 else 'at least '}"
            f"{probability(prob.get('empirical_lower_bound'))}.")
    else:
        sec.paragraphs.append(
            f"How sure: not guaranteed. The selection stopped at its cap of {sel.get('max_replications')} replications "
            f"with {', '.join(sel.get('survivors') or [])} still within {delta} of each other; the choice had the best "
            "mean among them.")
    ru = doc.get("runner_up")
    if ru:
        diff = ru.get("chosen_minus_runner_up") or {}
        sec.paragraphs.append(
            f"Runner-up: {ru['label']}" + ("" if ru.get("no_programme") else
                                           f", {_opt_value(kind, (ru.get('estimate') or {}).get('mean'), cur)}")
            + (f"; the choice gives {_opt_value(kind, diff['mean'], cur)} more"
               + (f" ({LEVEL} interval {_opt_value(kind, diff['ci_low'])} to {_opt_value(kind, diff['ci_high'], cur)})"
                  if diff.get("ci_low") is not None else "") if diff.get("mean") is not None else "") + ".")
    fin = doc.get("finalists") or []
    if fin:
        sec.charts.append(_chart(F.interval_bars(
            [f["label"] for f in fin], [f["selection_mean"] for f in fin], [f["ci_low"] for f in fin],
            [f["ci_high"] for f in fin], title=f"The finalists on fresh replications: {what}",
            subtitle=f"Mean over each design's selection replications with its {LEVEL} interval; the search's own "
                     "figures are in the table", kind=fk, cur=cur, what=what), wide=True))
        rows = []
        for f in fin:
            chosen = f["label"] == ch.get("label")
            rows.append([Cell(f["label"], cls="strong" if chosen else ""),
                         _opt_value(kind, f["search_observed"], cur),
                         _opt_value(kind, f["selection_mean"], cur),
                         "no interval" if f["ci_low"] is None else
                         f"{_opt_value(kind, f['ci_low'])} to {_opt_value(kind, f['ci_high'], cur)}",
                         count(f["replications"]),
                         "chosen" if chosen else ("still in" if f["eliminated_after"] is None
                                                  else f"out after {f['eliminated_after']}")])
        sec.tables.append(Table(["Design", "In the search", "On fresh replications", f"{LEVEL} interval",
                                 "Replications", "Outcome"], rows, numeric=(1, 2, 3, 4),
                                caption="The search's figure is flattered by the search (the winner's curse); the "
                                        "fresh one is not"))
    return sec


def _robust_section(rob, kind, cur) -> Section:
    sec = Section("robust", "Robust to what we do not know")
    sec.paragraphs.append(
        f"The finalists across {_plural(rob['n_draws'], 'draw')} of {_plural(len(rob['parameters']), 'uncertain assumption')} "
        "(their plausible ranges from the evidence), each design's settings on top of each draw, ranked by the "
        "expected value and by the mean of the worst 10% of draws (CVaR): a design that wins only when the "
        "assumptions are kind is flagged.")
    rows = []
    for r in sorted(rob["rows"], key=lambda r: r["rank_expected"]):
        rows.append([r["label"], _opt_value(kind, r["expected"], cur), _opt_value(kind, r["cvar10"], cur),
                     probability(r["probability_best"]), str(r["rank_cvar10"])])
    sec.tables.append(Table(["Design", "Expected", "Worst 10% (CVaR)", "Probability best", "Rank by CVaR"], rows,
                            numeric=(1, 2, 3, 4), caption="Over the draws of the uncertain assumptions"))
    flags: dict = {}
    for f in rob.get("flags") or []:
        flags.setdefault(f["label"], []).append(f["text"])
    for label, texts in flags.items():
        sec.notes.append(f"{label}: {'; and '.join(texts)}.")
    if not rob.get("flags"):
        sec.notes.append(f"{rob['best_in_expectation']} is best both in expectation and in the worst 10% of draws.")
    return sec


def render_optimise(opt: dict, *, title="Optimisation", scenario_yaml: str | None = None, seed=None,
                    replications=None, version=None) -> str:
    """A page for an optimisation alone (the optimise command's --html)."""
    import yaml
    from sim import __version__
    doc = opt["summary"]
    cur = doc.get("currency", "")
    kind = doc.get("objective_kind", "money")
    what = doc["objective"].replace("_", " ")
    ch = doc.get("chosen")
    sel = doc.get("selection") or {}
    if len(doc.get("objectives") or []) > 1:
        n = len(doc.get("pareto_front") or [])
        verdict = Verdict("neutral", "A trade-off", f"{_plural(n, 'design')} on the Pareto front of "
                          f"{' and '.join(o.replace('_', ' ') for o in doc['objectives'])}: each is the best available "
                          "for its balance of the two.", [Tile("Designs on the front", count(n), "")], "")
    elif not ch:
        verdict = Verdict("unsure", "No choice", "No design tried meets the constraints." if doc["trials"]["complete"]
                          else "The optimisation has no results to show.", [], "")
    else:
        est = ch.get("estimate") or {}
        delta = _opt_value(kind, sel.get("indifference"), cur, signed=False)
        pcs = sel.get("probability_correct_selection") or {}
        sure = (f"at least {probability(pcs.get('guaranteed_at_least'))}" if sel.get("guarantee") else "not guaranteed")
        if ch.get("no_programme"):
            bp = (doc.get("best_programme") or {}).get("estimate") or {}
            verdict = Verdict("fails", "No design pays",
                              f"Doing nothing beats every design tried; the best of them makes "
                              f"{_opt_value(kind, bp.get('mean'), cur)} of {what} on fresh replications.",
                              [Tile("Best design's " + what, _opt_value(kind, bp.get("mean"), cur), "on fresh replications"),
                               Tile("Chance the selection picks the best", sure,
                                    f"KN, when the best leads by {delta} or more")], "")
        else:
            pays = est.get("mean") is not None and (est["mean"] > 0 or kind != "money")
            tone = "pays" if pays and sel.get("guarantee") else "unsure"
            verdict = Verdict(tone, "Best design found" if tone == "pays" else "Best design, with care",
                              f"{ch['label']}: {what} {_opt_value(kind, est.get('mean'), cur)}"
                              f"{_opt_interval(kind, est, cur)} on fresh replications; the selection picks the best of "
                              f"the finalists with probability {sure} whenever it leads the others by {delta} or "
                              "more.",
                              [Tile(what.capitalize(), _opt_value(kind, est.get("mean"), cur), "on fresh replications"),
                               Tile("Chance the selection picks the best", sure,
                                    f"KN, when the best leads by {delta} or more"),
                               Tile("Runner-up", (doc.get("runner_up") or {}).get("label", "none"), "")],
                              "")
    sources = [Source("Resolved scenario", "scenario.yaml", scenario_yaml)] if scenario_yaml else []
    page = Page(kind="optimise", title=title, subtitle=", ".join(doc.get("varied") or []),
                facts=[f"amounts in {cur}"], verdict=verdict, sections=optimise_sections(opt), sources=sources,
                command="loyalsim optimise scenario.yaml", version=version or __version__, seed=seed,
                replications=replications, embedded_id="loyalsim-scenario",
                embedded=yaml.safe_load(scenario_yaml) if scenario_yaml else None)
    return render_page(page)


# --------------------------------------------------------------------------- the page

_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
        _ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return _ENV


def script_json(x) -> str:
    """JSON safe inside a <script> element: '<', '>' and '&' escaped as \\u sequences (still valid JSON)."""
    text = json.dumps(x, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs
    js = get_plotlyjs()
    if "</script" in js.lower():  # would end the inline script early
        raise RuntimeError("this plotly.js cannot be inlined: it contains '</script'")
    return js


def render_page(page: Page) -> str:
    from markupsafe import Markup
    n = 0
    for sec in page.sections:
        for chart in sec.charts:
            n += 1
            chart.id = f"chart-{n}"
            chart.json = Markup(script_json(chart.figure))
    template = _environment().get_template("report.html.j2")
    return template.render(page=page, plotly_js=Markup(plotly_js()),
                           embedded_json=Markup(script_json(page.embedded)) if page.embedded is not None else None)


def write_report(path, html: str, option="--html") -> Path:
    """Write the page whole or not at all (a temporary file, then a rename), so an interrupted
    write never leaves half a report; a folder that cannot be written is the user's to fix."""
    import os
    import uuid
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"{option} {path}: cannot write the report ({e.strerror})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_writable(path, option="--html"):
    """Before a long run: the report's folder must exist (so the run is not wasted)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; allowed: a file name such as report.html")
    if not parent.is_dir():
        raise UserError(f"{option} {path}: the folder {parent} does not exist")
