"""The backtest page: the twin's no-programme world tracked against the customers' own holdout."""
from __future__ import annotations

import json

from reports import figures as F
from reports.html.common import chart
from reports.html.page import Cell, Page, Section, Table, Tile, Verdict, render_page
from sim.format import pct
from sim.version import __version__


def render_backtest(doc: dict) -> str:
    """A page for a backtest summary (``loyalsim backtest --html``)."""
    h = doc["holdout"]
    months = [m["month"] + "-01" for m in doc["monthly"]]
    tiles = [Tile("repeat transactions", f"{h['simulated']['transactions']['mean']:,.0f}",
                  f"actual {h['actual']['transactions']:,.0f} ({pct(h['error']['transactions'], signed=True, digits=1)})"),
             Tile("revenue", f"{h['simulated']['revenue']['mean']:,.0f}",
                  f"actual {h['actual']['revenue']:,.0f} ({pct(h['error']['revenue'], signed=True, digits=1)})"),
             Tile("per-customer correlation", f"{doc['per_customer_correlation'] or 0:.3f}",
                  f"closed form {doc['closed_form_correlation']:.3f}")]
    series = {
        "actual": [m["actual_transactions"] for m in doc["monthly"]],
        "simulated (mean of the worlds)": [m["simulated_transactions"] for m in doc["monthly"]],
    }
    tracking = F.lines_chart(months, series, title="Repeat transactions by month",
                             subtitle="the twin's no-programme world against the log's holdout", kind="count",
                             what="transactions")
    buyers = F.lines_chart(months, {"actual": [m["actual_buyers"] for m in doc["monthly"]],
                                    "simulated": [m["simulated_buyers"] for m in doc["monthly"]]},
                           title="Customers buying in the month", subtitle="actual against simulated", kind="count",
                           what="customers")
    rows = []
    for key in ("transactions", "revenue", "active_customers"):
        s = h["simulated"][key]
        rows.append([Cell(key.replace("_", " ")), Cell(f"{h['actual'][key]:,.0f}"), Cell(f"{s['mean']:,.0f}"),
                     Cell(f"{s['ci_low']:,.0f} to {s['ci_high']:,.0f}"),
                     Cell(pct(s["error"], signed=True, digits=1),
                          cls="good" if abs(s["error"] or 0) <= doc["tolerance"][key] else "bad"),
                     Cell(pct(doc["tolerance"][key]))])
    totals = Table(["", "actual", "simulated", "95% of worlds", "error", "tolerance"], rows, numeric=(1, 2, 3, 4, 5))
    freq = Table(["x", "customers", "actual", "simulated", "closed form"],
                 [[Cell(r["frequency"]), Cell(f"{r['customers']:,}"), Cell(f"{r['actual_mean']:.2f}"),
                   Cell(f"{r['simulated_mean']:.2f}"), Cell(f"{r['closed_form_mean']:.2f}")]
                  for r in doc["by_frequency"]], numeric=(1, 2, 3, 4),
                 caption="mean holdout transactions by calibration frequency")
    sections = [
        Section("totals", "The holdout, simulated and actual", tables=[totals],
                paragraphs=[f"{doc['replications']} simulated worlds of the {doc['customers']:,} customers at "
                            f"{doc['calibration_end']}, with no programme and no acquisition, over "
                            f"{doc['holdout_days']} days."]),
        Section("tracking", "Month by month", charts=[chart(tracking, wide=True), chart(buyers, wide=True)]),
        Section("frequency", "By calibration frequency", tables=[freq]),
    ]
    page = Page(kind="backtest", title=f"Backtest: {doc['file']}", subtitle=f"calibration to {doc['calibration_end']}, "
                f"holdout to {doc['holdout_end']}", facts=[f"{doc['customers']:,} customers", doc["model"]],
                verdict=Verdict.of(doc.get("verdict"), tiles, "the range of the simulated worlds"),
                sections=sections, sources=[], command=f"loyalsim backtest {doc['file']}",
                version=doc.get("loyalsim_version", __version__), seed=doc.get("seed"),
                replications=doc.get("replications"), embedded_id="loyalsim-backtest",
                embedded=json.loads(json.dumps({k: doc[k] for k in ("holdout", "per_customer_correlation",
                                                                    "closed_form_correlation")})))
    return render_page(page)
