"""Charts for the HTML report (``reports.html``); numbers are formatted by ``sim.format``.

Every chart is a Plotly figure returned as plain JSON-ready data (``{"data":
[...], "layout": {...}}``); the page draws it with the plotly.js it inlines
once. Figures are built through ``plotly.graph_objects`` so a misspelt
property fails here, in Python, rather than silently in a reader's browser.

Numbers are written for a reader, not a programmer: money in thousands or
millions with the currency ("2.61m EUR"), shares as percentages ("35%"),
changes with their sign. Money axes are scaled to one unit per chart (the
axis title says "EUR m"), because SI prefixes read wrongly for money ("1.2G",
and "300m" for 0.3).
"""
from __future__ import annotations


import numpy as np
import pandas as pd

# one set of formats for every output, the charts' hover texts and axes too
from sim.format import money, month_name, pct
from sim.plain import plain
from sim.format import undefined as _bad
from sim.format import value as fmt_value

# One look for every chart: system fonts (nothing fetched), white background, light grid.
FONT = "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#6b7280"
GRID = "#e5e7eb"
GOOD = "#15803d"
BAD = "#b91c1c"
PROGRAMME = "#1d4ed8"
BASELINE = "#9ca3af"
COLOURS = ("#1d4ed8", "#ea580c", "#15803d", "#7c3aed", "#b91c1c", "#0891b2", "#ca8a04", "#db2777", "#4b5563")
HEIGHT = 360


# --------------------------------------------------------------------------- numbers for a reader

def scale(values, cur=None):
    """(divisor, axis unit) that keeps a chart's numbers short: EUR m, EUR k, or thousands."""
    v = np.asarray([x for x in values if not _bad(x)], dtype=float)
    top = float(np.max(np.abs(v))) if v.size else 0.0
    if top >= 2e9:
        div, word, short = 1e9, "billions", "bn"
    elif top >= 2e6:
        div, word, short = 1e6, "millions", "m"
    elif top >= 2e4:
        div, word, short = 1e3, "thousands", "k"
    else:
        div, word, short = 1.0, "", ""
    if cur is not None:
        return div, f"{cur} {short}".strip()
    return div, word


# --------------------------------------------------------------------------- statistics over replications

def t_band(values: np.ndarray, level=0.95):
    """Mean and Student-t interval over replications (columns) for each row; NaN-safe.

    With one replication there is no interval: low and high are NaN.
    """
    from sim.metrics import t_quantile
    v = np.asarray(values, dtype=float)
    n = np.sum(~np.isnan(v), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(v, axis=1) / np.maximum(n, 1), np.nan)
        dev = np.where(np.isnan(v), 0.0, v - mean[:, None])
        sd = np.sqrt(np.sum(dev ** 2, axis=1) / np.maximum(n - 1, 1))
        q = np.array([t_quantile(0.5 + level / 2, k - 1) if k >= 2 else np.nan for k in n])
        half = q * sd / np.sqrt(np.maximum(n, 1))
    return mean, mean - half, mean + half


def per_replication(monthly: pd.DataFrame, arm: str, column: str) -> pd.DataFrame:
    """One row per month, one column per replication, for one arm's series."""
    d = monthly[monthly["arm"] == arm]
    if column not in d.columns:
        return pd.DataFrame()
    return d.pivot_table(index="month", columns="replication", values=column, aggfunc="first", dropna=False)


def paired_difference(monthly: pd.DataFrame, arm: str, column: str, baseline="baseline") -> pd.DataFrame:
    """Programme minus baseline per month and replication (the same customers and chance events)."""
    p = per_replication(monthly, arm, column)
    b = per_replication(monthly, baseline, column)
    if p.empty or b.empty:
        return pd.DataFrame()
    reps = [r for r in p.columns if r in b.columns]
    return p[reps] - b[reps]


def calendar(monthly: pd.DataFrame) -> list:
    """The calendar month ('2027-04') of each simulated month, in order."""
    if "calendar_month" not in monthly.columns:
        return [f"month {m}" for m in sorted(monthly["month"].unique())]
    first = monthly.drop_duplicates("month").sort_values("month")
    return [str(c) for c in first["calendar_month"]]


# --------------------------------------------------------------------------- figure building

MODEBAR = 30  # px at the top of every chart that Plotly's toolbar takes when a reader hovers over it


def _layout(title, subtitle=None, **extra) -> dict:
    # the title starts below the toolbar's strip, so the toolbar never sits on it
    head = dict(text=f"<b>{title}</b>", x=0.01, xanchor="left", yref="container", y=1, yanchor="top",
                pad=dict(t=MODEBAR + 4), font=dict(size=15))
    if subtitle:
        head["subtitle"] = dict(text=subtitle, font=dict(size=12, color=MUTED))
    lay = dict(
        title=head,
        font=dict(family=FONT, size=12, color=INK),
        paper_bgcolor="white", plot_bgcolor="white",
        height=HEIGHT + MODEBAR, margin=dict(l=72, r=24, t=(64 if subtitle else 44) + MODEBAR, b=56),
        legend=dict(orientation="h", x=0, y=-0.16, xanchor="left", yanchor="top", traceorder="normal"),
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        separators=".,",
    )
    lay.update(extra)
    x_title = (lay.get("xaxis") or {}).get("title", {}).get("text")
    if x_title and lay.get("showlegend", True) and lay["legend"].get("orientation") == "h":
        # a legend under an axis title would sit on it: move it below the title
        lay["legend"] = dict(lay["legend"], y=-0.3)
        lay["margin"] = dict(lay["margin"], b=max(lay["margin"]["b"], 92))
    return lay


def _axis(title=None, **extra) -> dict:
    ax = dict(gridcolor=GRID, linecolor="#9ca3af", zerolinecolor=MUTED, zerolinewidth=1, automargin=True,
              title=dict(text=title or "", font=dict(size=12, color=MUTED)))
    ax.update(extra)
    return ax


def _month_axis(**extra) -> dict:
    return _axis(None, type="date", tickformat="%b %Y", hoverformat="%b %Y", **extra)


def _value_axis(kind, unit_title, **extra) -> dict:
    if kind == "share" or kind == "pts":
        return _axis(unit_title, tickformat=".0%" if kind == "share" else "+.1%", **extra)
    return _axis(unit_title, tickformat=",.3~f", **extra)


def figure(data: list, layout: dict) -> dict:
    """Validate through plotly.graph_objects, then plain JSON-ready data (numbers rounded)."""
    import plotly.graph_objects as go
    fig = go.Figure(data=data, layout=dict(layout, template="none"))
    out = fig.to_plotly_json()
    out["layout"].pop("template", None)
    return _plain(out)


def _plain(x):
    """Plain data (sim.plain) with floats to 6 significant figures: plenty for a chart, a smaller file."""
    x = plain(x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.6g}")
    return x


def _rgba(hex_colour, alpha):
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def band_traces(x, mean, low, high, *, name, colour, hover, band_name="95% interval", show_band_legend=True,
                dash=None) -> list:
    """A line with its shaded interval (hover on the line only; the band is drawn, not hovered)."""
    import plotly.graph_objects as go
    traces = []
    if np.any(~np.isnan(np.asarray(low, dtype=float))):
        traces.append(go.Scatter(x=x, y=list(high), mode="lines", line=dict(width=0), hoverinfo="skip",
                                 showlegend=False, legendgroup=band_name + name))
        traces.append(go.Scatter(x=x, y=list(low), mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(colour, 0.18), hoverinfo="skip", name=band_name,
                                 showlegend=show_band_legend, legendgroup=band_name + name))
    traces.append(go.Scatter(x=x, y=list(mean), mode="lines+markers", name=name, marker=dict(size=5),
                             line=dict(color=colour, width=2.5, dash=dash), customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>"))
    return traces


def band_chart(months, mean, low, high, *, title, subtitle, kind, cur="", name="programme minus no programme",
               colour=PROGRAMME, what="", relative=None, marker=None) -> dict:
    """A monthly series with its band; ``kind`` money/count/share/pts/ratio sets units and formats."""
    mean, low, high = (np.asarray(a, dtype=float) for a in (mean, low, high))
    div, unit = scale(np.concatenate([mean, low, high]), cur if kind == "money" else None) \
        if kind in ("money", "count") else (1.0, "")
    hover = []
    for i, m in enumerate(months):
        txt = f"<b>{month_name(m)}</b> (month {i + 1})<br>{what}: {fmt_value(kind, mean[i], cur, signed=True)}"
        if relative is not None and not _bad(relative[i]):
            txt += f" ({pct(relative[i], signed=True)})"
        if not np.isnan(low[i]):
            txt += (f"<br>95% interval: {fmt_value(kind, low[i], cur, signed=True)} to "
                    f"{fmt_value(kind, high[i], cur, signed=True)}")
        hover.append(txt)
    unit_title = unit if kind == "money" else (f"{what}, {unit}" if unit else what) if kind == "count" else what
    traces = band_traces(months, mean / div, low / div, high / div, name=name, colour=colour, hover=hover)
    shapes, notes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0,
                          line=dict(color=MUTED, width=1))], []
    if marker is not None:
        at, label = marker
        shapes.append(dict(type="line", xref="x", x0=at, x1=at, yref="paper", y0=0, y1=1,
                           line=dict(color=GOOD, width=2, dash="dash")))
        notes.append(dict(x=at, xref="x", y=1, yref="paper", text=label, showarrow=False, xanchor="left",
                          yanchor="top", xshift=4, font=dict(color=GOOD, size=12), bgcolor="rgba(255,255,255,0.8)"))
    layout = _layout(title, subtitle, xaxis=_month_axis(), yaxis=_value_axis(kind, unit_title), shapes=shapes,
                     annotations=notes, hovermode="closest")
    return figure(traces, layout)


def lines_chart(months, series: dict, *, title, subtitle, kind, cur="", what="", stacked=False, colours=None,
                bars=False, relative_to_zero=False) -> dict:
    """Several monthly series (name -> values) as lines, stacked areas or grouped bars."""
    import plotly.graph_objects as go
    allv = np.concatenate([np.asarray(v, dtype=float) for v in series.values()]) if series else np.array([])
    if stacked and series:
        allv = np.sum([np.asarray(v, dtype=float) for v in series.values()], axis=0)
    div, unit = scale(allv, cur if kind == "money" else None) if kind in ("money", "count") else (1.0, "")
    traces = []
    for i, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        colour = (colours or COLOURS)[i % len(colours or COLOURS)]
        hover = [f"<b>{month_name(m)}</b> (month {j + 1})<br>{name}: {fmt_value(kind, values[j], cur)}"
                 for j, m in enumerate(months)]
        common = dict(x=months, y=list(values / div), name=name, customdata=hover,
                      hovertemplate="%{customdata}<extra></extra>")
        if bars:
            traces.append(go.Bar(marker=dict(color=colour), **common))
        elif stacked:
            traces.append(go.Scatter(mode="lines", stackgroup="one", line=dict(color=colour, width=1),
                                     fillcolor=_rgba(colour, 0.55), **common))
        else:
            traces.append(go.Scatter(mode="lines+markers", marker=dict(size=4), line=dict(color=colour, width=2.2),
                                     **common))
    unit_title = unit if kind == "money" else (f"{what}, {unit}" if unit else what)
    extra = dict(barmode="relative" if relative_to_zero else "group") if bars else {}
    layout = _layout(title, subtitle, xaxis=_month_axis(), yaxis=_value_axis(kind, unit_title),
                     hovermode="x unified", **extra)
    return figure(traces, layout)


def rollforward_chart(months, movements: dict, closing, *, title, subtitle, cur) -> dict:
    """Monthly movements of a balance as bars (up adds, down takes away) and the closing balance as a line."""
    import plotly.graph_objects as go
    allv = np.concatenate([np.asarray(v, dtype=float) for v in movements.values()] + [np.asarray(closing, dtype=float)])
    div, unit = scale(allv, cur)
    traces = []
    colours = [PROGRAMME, GOOD, "#ca8a04", BAD, "#7c3aed"]
    for i, (name, values) in enumerate(movements.items()):
        values = np.asarray(values, dtype=float)
        hover = [f"<b>{month_name(m)}</b><br>{name}: {money(values[j], cur, signed=True)}" for j, m in enumerate(months)]
        traces.append(go.Bar(x=months, y=list(values / div), name=name, marker=dict(color=colours[i % len(colours)]),
                             customdata=hover, hovertemplate="%{customdata}<extra></extra>"))
    closing = np.asarray(closing, dtype=float)
    hover = [f"<b>{month_name(m)}</b><br>liability at month end: {money(closing[j], cur)}" for j, m in enumerate(months)]
    traces.append(go.Scatter(x=months, y=list(closing / div), name="liability at month end", mode="lines+markers",
                             line=dict(color=INK, width=2.2), marker=dict(size=4), customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>"))
    layout = _layout(title, subtitle, barmode="relative", xaxis=_month_axis(), yaxis=_axis(unit, tickformat=",.3~f"),
                     hovermode="x unified")
    return figure(traces, layout)


def waterfall_chart(steps: list, *, title, subtitle, cur) -> dict:
    """From incremental gross profit to incremental profit: [(label, amount, measure)], measure
    'absolute' (the start), 'relative' (a cost, negative, or income, positive) or 'total' (the end)."""
    import plotly.graph_objects as go
    amounts = [a for _, a, _ in steps]
    running, levels = 0.0, []
    for _, a, m in steps:
        running = a if m in ("absolute", "total") else running + a
        levels.append(running)
    div, unit = scale(amounts + levels, cur)
    labels = [s[0] for s in steps]
    text = [money(a, signed=(m == "relative")) for _, a, m in steps]
    hover = [f"<b>{lab}</b><br>{money(a, cur, signed=(m == 'relative'))}" for lab, a, m in steps]
    trace = go.Waterfall(
        orientation="h", y=labels, x=[a / div for a in amounts], measure=[m for *_, m in steps],
        text=text, textposition="outside", cliponaxis=False, customdata=hover,
        hovertemplate="%{customdata}<extra></extra>",
        connector=dict(line=dict(color=GRID, width=1)),
        increasing=dict(marker=dict(color=GOOD)), decreasing=dict(marker=dict(color=BAD)),
        totals=dict(marker=dict(color=PROGRAMME)),
    )
    height = max(HEIGHT, 64 + 34 * len(steps) + 60)
    # room either side for the amounts written beside the bars, clear of the line names
    lo, hi = min(levels + [0.0]) / div, max(levels + [0.0]) / div
    pad = 0.14 * ((hi - lo) or 1.0)
    layout = _layout(title, subtitle, height=height, showlegend=False,
                     xaxis=_axis(unit, tickformat=",.3~f", zeroline=True, range=[lo - pad, hi + pad]),
                     yaxis=_axis(None, autorange="reversed", type="category"),
                     margin=dict(l=24, r=64, t=64 + MODEBAR, b=56))
    return figure([trace], layout)


def interval_bars(names, mean, low, high, *, title, subtitle, kind, cur="", what="", colours=None,
                  horizontal=True, extra_hover=None) -> dict:
    """One bar per item with its 95% interval as an error bar (green gains, red losses)."""
    import plotly.graph_objects as go
    mean = np.asarray([np.nan if _bad(v) else v for v in mean], dtype=float)
    low = np.asarray([np.nan if _bad(v) else v for v in low], dtype=float)
    high = np.asarray([np.nan if _bad(v) else v for v in high], dtype=float)
    div, unit = scale(np.concatenate([mean, low, high]), cur if kind == "money" else None) \
        if kind in ("money", "count") else (1.0, "")
    colour = colours or [GOOD if (not np.isnan(v) and v >= 0) else BAD for v in mean]
    hover = []
    for i, n in enumerate(names):
        t = f"<b>{n}</b><br>{what}: {fmt_value(kind, mean[i], cur, signed=True)}"
        if not np.isnan(low[i]):
            t += (f"<br>95% interval: {fmt_value(kind, low[i], cur, signed=True)} to "
                  f"{fmt_value(kind, high[i], cur, signed=True)}")
        if extra_hover:
            t += extra_hover[i]
        hover.append(t)
    has_err = bool(np.any(~np.isnan(low)))
    err = dict(type="data", symmetric=False, array=list(np.nan_to_num((high - mean) / div)),
               arrayminus=list(np.nan_to_num((mean - low) / div)), color=INK, thickness=1.4, width=6) \
        if has_err else None
    values = list(mean / div)
    text = [fmt_value(kind, v, cur, signed=True) for v in mean]
    unit_title = unit if kind == "money" else (f"{what}, {unit}" if unit else what)
    if horizontal:
        trace = go.Bar(y=list(names), x=values, orientation="h", marker=dict(color=colour), error_x=err,
                       customdata=hover, hovertemplate="%{customdata}<extra></extra>", text=text,
                       textposition="none")
        height = max(HEIGHT - 60, 90 + 48 * len(names))
        layout = _layout(title, subtitle, height=height, showlegend=False,
                         xaxis=_value_axis(kind, unit_title, zeroline=True),
                         yaxis=_axis(None, autorange="reversed", type="category"))
    else:
        trace = go.Bar(x=list(names), y=values, marker=dict(color=colour), error_y=err, customdata=hover,
                       hovertemplate="%{customdata}<extra></extra>")
        layout = _layout(title, subtitle, showlegend=False, xaxis=_axis(None, type="category"),
                         yaxis=_value_axis(kind, unit_title, zeroline=True))
    return figure([trace], layout)


def grouped_interval_bars(groups, series: dict, *, title, subtitle, kind, what="", horizontal=False) -> dict:
    """Bars per group (segments, strategies), one colour per series: {series name: [(mean, low, high)]}."""
    import plotly.graph_objects as go
    traces = []
    for i, (name, values) in enumerate(series.items()):
        mean = np.asarray([np.nan if _bad(v[0]) else v[0] for v in values], dtype=float)
        low = np.asarray([np.nan if _bad(v[1]) else v[1] for v in values], dtype=float)
        high = np.asarray([np.nan if _bad(v[2]) else v[2] for v in values], dtype=float)
        hover = []
        for j, g in enumerate(groups):
            t = f"<b>{g}</b><br>{name}: {fmt_value(kind, mean[j], signed=True)}"
            if not np.isnan(low[j]):
                t += f"<br>95% interval: {fmt_value(kind, low[j], signed=True)} to {fmt_value(kind, high[j], signed=True)}"
            hover.append(t)
        err = dict(type="data", symmetric=False, array=list(np.nan_to_num(high - mean)),
                   arrayminus=list(np.nan_to_num(mean - low)), color=INK, thickness=1.2, width=4) \
            if np.any(~np.isnan(low)) else None
        colour = COLOURS[i % len(COLOURS)]
        if horizontal:
            traces.append(go.Bar(y=list(groups), x=list(mean), orientation="h", name=name, error_x=err,
                                 marker=dict(color=colour), customdata=hover,
                                 hovertemplate="%{customdata}<extra></extra>"))
        else:
            traces.append(go.Bar(x=list(groups), y=list(mean), name=name, error_y=err, marker=dict(color=colour),
                                 customdata=hover, hovertemplate="%{customdata}<extra></extra>"))
    if horizontal:
        layout = _layout(title, subtitle, barmode="group", height=max(HEIGHT, 120 + 20 * len(groups) * max(1, len(series))),
                         xaxis=_value_axis(kind, what, zeroline=True),
                         yaxis=_axis(None, autorange="reversed", type="category"))
    else:
        layout = _layout(title, subtitle, barmode="group", xaxis=_axis(None, type="category"),
                         yaxis=_value_axis(kind, what, zeroline=True))
    return figure(traces, layout)


def stacked_bars(groups, series: dict, *, title, subtitle, cur) -> dict:
    """Horizontal stacked bars: one bar per group (strategy), one segment per series (a ledger line)."""
    import plotly.graph_objects as go
    totals = np.sum([np.asarray(v, dtype=float) for v in series.values()], axis=0) if series else np.zeros(len(groups))
    div, unit = scale(list(totals), cur)
    traces = []
    for i, (name, values) in enumerate(series.items()):
        hover = [f"<b>{g}</b><br>{name}: {money(values[j], cur)}" for j, g in enumerate(groups)]
        traces.append(go.Bar(y=list(groups), x=[v / div for v in values], orientation="h", name=name,
                             marker=dict(color=COLOURS[i % len(COLOURS)]), customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>"))
    layout = _layout(title, subtitle, barmode="stack", height=max(HEIGHT, 140 + 48 * len(groups)),
                     legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", traceorder="normal"),
                     xaxis=_axis(unit, tickformat=",.3~f"), yaxis=_axis(None, autorange="reversed", type="category"))
    return figure(traces, layout)


def histogram(values, *, title, subtitle, cur, marks=()) -> dict:
    """The distribution of an amount over draws, with marked values [(x, label, colour)]."""
    import plotly.graph_objects as go
    v = np.asarray([x for x in values if not _bad(x)], dtype=float)
    div, unit = scale(v, cur)
    trace = go.Histogram(x=list(v / div), nbinsx=min(40, max(8, int(np.sqrt(max(v.size, 1))) * 2)),
                         marker=dict(color=_rgba(PROGRAMME, 0.75), line=dict(color="white", width=0.5)),
                         hovertemplate=f"%{{x}} {unit}: %{{y}} draws<extra></extra>")
    shapes, notes = [], []
    for i, (x, label, colour) in enumerate(marks):
        if _bad(x):
            continue
        shapes.append(dict(type="line", xref="x", x0=x / div, x1=x / div, yref="paper", y0=0, y1=1,
                           line=dict(color=colour, width=2, dash="dash")))
        notes.append(dict(x=x / div, xref="x", y=1 - 0.09 * i, yref="paper", text=label, showarrow=False,
                          xanchor="left", xshift=4, yanchor="top", font=dict(color=colour, size=12),
                          bgcolor="rgba(255,255,255,0.8)"))
    layout = _layout(title, subtitle, showlegend=False, bargap=0.04, shapes=shapes, annotations=notes,
                     xaxis=_axis(unit, tickformat=",.3~f"), yaxis=_axis("draws", tickformat=",d"))
    return figure([trace], layout)


def multi_band_chart(months, items: list, *, title, subtitle, cur) -> dict:
    """Several monthly money series with their bands: [(name, mean, low, high)], one colour each."""
    allv = np.concatenate([np.asarray(a, dtype=float) for it in items for a in it[1:]])
    div, unit = scale(allv, cur)
    traces = []
    for k, (name, mean, low, high) in enumerate(items):
        mean, low, high = (np.asarray(a, dtype=float) for a in (mean, low, high))
        hover = []
        for i, m in enumerate(months):
            t = f"<b>{name}</b><br>{month_name(m)} (month {i + 1}): {money(mean[i], cur, signed=True)}"
            if not np.isnan(low[i]):
                t += f"<br>95% interval: {money(low[i], cur, signed=True)} to {money(high[i], cur, signed=True)}"
            hover.append(t)
        traces += band_traces(months, mean / div, low / div, high / div, name=name, colour=COLOURS[k % len(COLOURS)],
                              hover=hover, band_name=f"{name}: 95% interval", show_band_legend=False)
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color=MUTED, width=1))]
    layout = _layout(title, subtitle, shapes=shapes, hovermode="closest", xaxis=_month_axis(),
                     yaxis=_axis(unit, tickformat=",.3~f"), height=HEIGHT + 60)
    return figure(traces, layout)


def probability_curve(months, probability, *, title, subtitle, what, dates=True) -> dict:
    """A probability over the months (0..1 shown as %), with 50% marked."""
    import plotly.graph_objects as go
    hover = [f"<b>{month_name(m) if dates else f'month {m}'}</b><br>{what}: {pct(p)}" for m, p in zip(months, probability)]
    trace = go.Scatter(x=months, y=list(probability), mode="lines+markers", line=dict(color=PROGRAMME, width=2.5),
                       marker=dict(size=5), customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                       name=what)
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0.5, y1=0.5,
                   line=dict(color=MUTED, width=1, dash="dot"))]
    layout = _layout(title, subtitle, showlegend=False, shapes=shapes,
                     xaxis=_month_axis() if dates else _axis("month after launch", tickformat="d"),
                     yaxis=_axis("probability", tickformat=".0%", range=[0, 1.02]))
    return figure([trace], layout)


def tornado(rows: list, base: float, *, title, subtitle, cur) -> dict:
    """One-way sensitivity: per parameter, incremental profit at its low and high value, around ``base``."""
    import plotly.graph_objects as go
    names = [r["label"] for r in rows]
    lows = [r["at_low"] for r in rows]
    highs = [r["at_high"] for r in rows]
    div, unit = scale(lows + highs + [base], cur)
    traces = []
    for label, values, colour, ends in (("at the low end of its range", lows, "#ea580c", [r["low"] for r in rows]),
                                         ("at the high end of its range", highs, PROGRAMME, [r["high"] for r in rows])):
        hover = [f"<b>{n}</b> = {e}<br>incremental profit {money(v, cur, signed=True)} "
                 f"({money(v - base, cur, signed=True)} against the central estimate)"
                 for n, v, e in zip(names, values, ends)]
        traces.append(go.Bar(y=names, x=[(v - base) / div for v in values], base=base / div, orientation="h",
                             name=label, marker=dict(color=colour), customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>"))
    shapes = [dict(type="line", xref="x", x0=base / div, x1=base / div, yref="paper", y0=0, y1=1,
                   line=dict(color=INK, width=1.5))]
    layout = _layout(title, subtitle, barmode="overlay", shapes=shapes, height=max(HEIGHT, 140 + 40 * len(rows)),
                     xaxis=_axis(unit, tickformat=",.3~f"), yaxis=_axis(None, autorange="reversed", type="category"))
    return figure(traces, layout)


def response_curve(xs, mean, low, high, *, title, subtitle, xtitle, cur, best=None, extra_lines=None) -> dict:
    """Incremental profit over one varied field, with its band and the best point marked."""
    import plotly.graph_objects as go
    mean, low, high = (np.asarray(a, dtype=float) for a in (mean, low, high))
    div, unit = scale(np.concatenate([mean, low, high]), cur)
    hover = []
    for i, x in enumerate(xs):
        t = f"<b>{xtitle} = {x:g}</b><br>incremental profit {money(mean[i], cur, signed=True)}"
        if not np.isnan(low[i]):
            t += f"<br>95% interval: {money(low[i], cur, signed=True)} to {money(high[i], cur, signed=True)}"
        hover.append(t)
    traces = band_traces(list(xs), mean / div, low / div, high / div, name="incremental profit", colour=PROGRAMME,
                         hover=hover)
    if best is not None:
        bx, by = best
        traces.append(go.Scatter(x=[bx], y=[by / div], mode="markers+text", name="best point",
                                 marker=dict(symbol="star", size=16, color=GOOD, line=dict(color="white", width=1)),
                                 text=["best"], textposition="top center", hoverinfo="skip"))
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color=MUTED, width=1))]
    layout = _layout(title, subtitle, shapes=shapes, hovermode="closest", xaxis=_axis(xtitle),
                     yaxis=_axis(unit, tickformat=",.3~f"))
    return figure(traces, layout)


def heatmap(xs, ys, z, *, title, subtitle, xtitle, ytitle, cur, best=None) -> dict:
    """Incremental profit over two varied fields (a grid), the best cell marked."""
    import plotly.graph_objects as go
    z = np.asarray(z, dtype=float)
    div, unit = scale(z.ravel(), cur)
    hover = [[f"<b>{xtitle} = {x:g}, {ytitle} = {y:g}</b><br>incremental profit {money(z[j, i], cur, signed=True)}"
              for i, x in enumerate(xs)] for j, y in enumerate(ys)]
    top = float(np.nanmax(np.abs(z))) / div if np.any(~np.isnan(z)) else 1.0
    traces = [go.Heatmap(x=list(xs), y=list(ys), z=(z / div).tolist(), customdata=hover,
                         hovertemplate="%{customdata}<extra></extra>", zmid=0, zmin=-top, zmax=top,
                         colorscale=[[0, BAD], [0.5, "#f8fafc"], [1, GOOD]],
                         colorbar=dict(title=dict(text=unit), tickformat=",.3~f"))]
    if best is not None:
        traces.append(go.Scatter(x=[best[0]], y=[best[1]], mode="markers+text", text=["best"],
                                 textposition="top center", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="star", size=18, color=INK, line=dict(color="white", width=1))))
    layout = _layout(title, subtitle, xaxis=_axis(xtitle), yaxis=_axis(ytitle))
    return figure(traces, layout)


def scatter_points(xs, values, *, title, subtitle, xtitle, cur, best=None) -> dict:
    """Incremental profit at each sampled point against one varied field (Latin hypercube, Sobol...)."""
    import plotly.graph_objects as go
    v = np.asarray(values, dtype=float)
    div, unit = scale(v, cur)
    hover = [f"<b>{xtitle} = {x:g}</b><br>incremental profit {money(y, cur, signed=True)}" for x, y in zip(xs, v)]
    traces = [go.Scatter(x=list(xs), y=list(v / div), mode="markers", marker=dict(color=PROGRAMME, size=7, opacity=0.7),
                         customdata=hover, hovertemplate="%{customdata}<extra></extra>", name="point")]
    if best is not None:
        traces.append(go.Scatter(x=[best[0]], y=[best[1] / div], mode="markers", name="best point", hoverinfo="skip",
                                 marker=dict(symbol="star", size=16, color=GOOD, line=dict(color="white", width=1))))
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color=MUTED, width=1))]
    layout = _layout(title, subtitle, shapes=shapes, showlegend=False, xaxis=_axis(xtitle),
                     yaxis=_axis(unit, tickformat=",.3~f"))
    return figure(traces, layout)


def trials_chart(xs, values, feasible, *, title, subtitle, xtitle, kind, cur, what, chosen=None, best_so_far=False,
                 labels=None) -> dict:
    """An optimisation's trials: each design's observed value against a setting (or the trial number),
    infeasible designs greyed, the chosen design starred, and optionally the best value so far as a line."""
    import plotly.graph_objects as go
    v = np.asarray([np.nan if _bad(x) else x for x in values], dtype=float)
    div, unit = scale(v, cur) if kind == "money" else (1.0, "")
    ok = np.asarray(feasible, dtype=bool)
    labels = labels or [""] * len(xs)
    traces = []
    for mask, name, colour in ((ok, "design", PROGRAMME), (~ok, "breaks a constraint", BASELINE)):
        idx = [i for i in range(len(xs)) if mask[i] and not np.isnan(v[i])]
        if not idx:
            continue
        hover = [f"<b>{labels[i] or f'{xtitle} = {xs[i]}'}</b><br>{what}: {fmt_value(kind, v[i], cur, signed=True)}"
                 for i in idx]
        traces.append(go.Scatter(x=[xs[i] for i in idx], y=list(v[idx] / div), mode="markers", name=name,
                                 marker=dict(color=colour, size=7, opacity=0.75), customdata=hover,
                                 hovertemplate="%{customdata}<extra></extra>"))
    if best_so_far and ok.any():
        run, best, ys = [], -np.inf, []
        for i in range(len(xs)):
            if ok[i] and not np.isnan(v[i]):
                best = max(best, v[i])
            run.append(xs[i])
            ys.append(best / div if np.isfinite(best) else None)
        traces.append(go.Scatter(x=run, y=ys, mode="lines", name="best so far (as observed)",
                                 line=dict(color=MUTED, width=1.5, shape="hv"), hoverinfo="skip"))
    if chosen is not None:
        traces.append(go.Scatter(x=[chosen[0]], y=[chosen[1] / div], mode="markers", name="chosen design",
                                 hoverinfo="skip", marker=dict(symbol="star", size=16, color=GOOD,
                                                               line=dict(color="white", width=1))))
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color=MUTED, width=1))]
    ytitle = unit if kind == "money" else what
    layout = _layout(title, subtitle, shapes=shapes, hovermode="closest", xaxis=_axis(xtitle),
                     yaxis=_value_axis(kind, ytitle) if kind in ("share", "pts") else _axis(ytitle, tickformat=",.3~f"))
    return figure(traces, layout)


def pareto_chart(x, y, front, *, title, subtitle, xtitle, ytitle, xkind, ykind, cur, labels=None) -> dict:
    """Two objectives of every feasible design, the Pareto front joined and highlighted."""
    import plotly.graph_objects as go
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    front = np.asarray(front, dtype=bool)
    labels = labels or [""] * len(x)
    hover = [f"<b>{labels[i]}</b><br>{xtitle}: {fmt_value(xkind, x[i], cur, signed=True)}<br>"
             f"{ytitle}: {fmt_value(ykind, y[i], cur, signed=True)}" for i in range(len(x))]
    traces = [go.Scatter(x=list(x[~front]), y=list(y[~front]), mode="markers", name="design",
                         marker=dict(color=BASELINE, size=7, opacity=0.7),
                         customdata=[h for h, f in zip(hover, front) if not f],
                         hovertemplate="%{customdata}<extra></extra>")]
    order = np.argsort(x[front])
    traces.append(go.Scatter(x=list(x[front][order]), y=list(y[front][order]), mode="lines+markers",
                             name="Pareto front", marker=dict(color=PROGRAMME, size=9),
                             line=dict(color=PROGRAMME, width=1.5, dash="dot"),
                             customdata=[hover[i] for i in np.flatnonzero(front)[order]],
                             hovertemplate="%{customdata}<extra></extra>"))
    layout = _layout(title, subtitle, hovermode="closest", xaxis=_axis(xtitle, tickformat=",.3~f"),
                     yaxis=_axis(ytitle, tickformat=",.3~f"))
    return figure(traces, layout)
