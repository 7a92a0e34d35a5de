"""The sweep report: how the answer moves with the programme's settings."""
from __future__ import annotations

import math

import pandas as pd

from reports import figures as F
from reports.html.common import LEVEL, bound_lines, chart, generic_value, how_sure, plural, value_text
from reports.html.inputs import StudyInputs
from reports.html.page import Page, Section, Source, Table, Tile, Verdict, render_page
from sim.format import money, pct


SHOWN = ("roi", "lift_revenue_relative", "lift_retention_rate")  # besides the metric, in the table of best points


def sweep_sections(inp: StudyInputs) -> list:
    """Sections for a parameter sweep: the response (a curve for one field, a heatmap for two on a
    grid, scatters otherwise) with the best point marked, and the best points listed. ``inp.table``
    has one row per point x replication: point, replication, one column per varied field and the
    incremental profit and lifts of that point in that replication."""
    doc = inp.doc
    sweep = {"currency": doc.get("currency", ""), "design": doc.get("design"), "varied": doc.get("varied") or []}
    metric = "incremental_profit"
    shown = ["point", "replication", *sweep["varied"], metric, *SHOWN]
    df = inp.table[[c for c in shown if c in inp.table.columns]].copy()
    cur = sweep.get("currency", "")
    varied = list(sweep.get("varied") or [])
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
    where = ", ".join(f"{v} = {value_text(best[v])}" for v in varied)
    sec.paragraphs.append(
        f"{plural(len(agg), 'point')} ({sweep.get('design', 'design not stated')}), {plural(n_reps, 'replication')} "
        f"each, every point against no programme on the same customers and chance events. The best point is {where}: "
        f"{money(best['mean'], cur, True)} of incremental profit"
        + ("." if math.isnan(best["lo"])
           else f" ({LEVEL} interval {money(best['lo'], signed=True)} to {money(best['hi'], cur, True)})."))
    sec.notes += bound_lines(doc, "the best point")
    label = "Incremental profit" if metric == "incremental_profit" else metric.replace("_", " ").capitalize()
    if len(varied) == 1:
        v = varied[0]
        a = agg.sort_values(v)
        sec.charts.append(chart(F.response_curve(
            a[v].astype(float).tolist(), a["mean"], a["lo"], a["hi"], title=f"{label} over {v}",
            subtitle=f"Mean over replications with its {LEVEL} interval, {cur}; star: the best point", xtitle=v, cur=cur,
            best=(float(best[v]), float(best["mean"]))), wide=True))
    elif len(varied) == 2 and agg[varied[0]].nunique() * agg[varied[1]].nunique() == len(agg):
        x, y = varied
        xs, ys = sorted(agg[x].unique()), sorted(agg[y].unique())
        grid = agg.pivot_table(index=y, columns=x, values="mean").reindex(index=ys, columns=xs)
        sec.charts.append(chart(F.heatmap([float(a) for a in xs], [float(b) for b in ys], grid.to_numpy(),
                                           title=f"{label} over {x} and {y}",
                                           subtitle=f"Mean over replications, {cur}; green pays, red loses; "
                                                    "star: the best point",
                                           xtitle=x, ytitle=y, cur=cur, best=(float(best[x]), float(best[y]))), wide=True))
    else:
        for v in varied:
            sec.charts.append(chart(F.scatter_points(agg[v].astype(float).tolist(), agg["mean"].tolist(),
                                                      title=f"{label} against {v}",
                                                      subtitle=f"Each point's mean over replications, {cur}", xtitle=v,
                                                      cur=cur, best=(float(best[v]), float(best["mean"])))))
    top = agg.sort_values("mean", ascending=False).head(10)
    table_rows = []
    for _, r in top.iterrows():
        table_rows.append([*[value_text(r[v]) for v in varied], money(r["mean"], cur, True),
                           "no interval" if math.isnan(r["lo"])
                           else f"{money(r['lo'], signed=True)} to {money(r['hi'], cur, True)}",
                           *[_sweep_value(o, r[o], cur) for o in others]])
    sec.tables.append(Table([*varied, label, f"{LEVEL} interval", *[_sweep_column(o) for o in others]], table_rows,
                            numeric=tuple(range(len(varied) + 2 + len(others))),
                            caption="The best points, by mean " + label.lower()))
    return [sec]


def _sweep_column(name: str) -> str:
    """The sweep table's columns (sim.studies.sweep): lift_<metric> is a change, lift_<metric>_relative the same as a share."""
    if name == "roi":
        return "Return on cost"
    if name.startswith("lift_"):
        metric = name.removeprefix("lift_")
        if metric.endswith("_relative"):
            return f"{metric.removesuffix('_relative').replace('_', ' ')}: change (%)"
        return f"{metric.replace('_', ' ')}: change"
    return name.replace("_", " ")


def _sweep_value(name, v, cur) -> str:
    """Relative lifts and roi as percentages; absolute lifts in their metric's own unit."""
    if name == "roi" or (name.startswith("lift_") and name.endswith("_relative")):
        return pct(v, signed=name != "roi")
    if name.startswith("lift_"):
        return generic_value(name.removeprefix("lift_"), v, cur)
    return generic_value(name, v, cur)


def sweep_tiles(doc: dict) -> list:
    cur = doc.get("currency", "")
    best = (doc.get("best") or [None])[0]
    if best is None:
        return []
    share = doc.get("pays_at_share_of_points")
    return [Tile("Best point", money(best["incremental_profit"]["mean"], cur, True), "incremental profit"),
            Tile("Points that pay", pct(share), f"of {plural(int(doc.get('points') or 0), 'point')}")]


def sweep_page(inp: StudyInputs) -> Page:
    doc = inp.doc
    cur = doc.get("currency", "")
    sources = [Source(label, "scenario.yaml", text) for label, text in inp.sources]
    return Page(kind="sweep", title=f"Sweep: {doc.get('scenario')}", subtitle=", ".join(doc.get("varied") or []),
                facts=[f"{plural(int(doc.get('points') or 0), 'point')} ({doc.get('design')})",
                       plural(int(doc.get("replications") or 0), "replication") + " each", f"amounts in {cur}"],
                verdict=Verdict.of(doc.get("verdict"), sweep_tiles(doc),
                                   how_sure(int(doc.get("replications") or 0), listed=False)),
                sections=sweep_sections(inp), sources=sources, command="loyalsim sweep scenario.yaml",
                version=inp.version, seed=doc.get("seed"), replications=doc.get("replications"),
                embedded_id="loyalsim-scenario", embedded=_parsed(sources), warnings=_interrupted(doc))


def _parsed(sources):
    import yaml
    return yaml.safe_load(sources[0].yaml) if sources else None


def _interrupted(doc) -> list:
    return ["Interrupted: this report covers the points and replications that finished."] if doc.get("interrupted") \
        else []


def render_sweep(inp: StudyInputs) -> str:
    """A page for a sweep (the sweep command's --html, and loyalsim report DIR)."""
    return render_page(sweep_page(inp))
