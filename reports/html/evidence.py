"""The field results page (``loyalsim evidence --html``): each published study, what it measured, what
loyalsim predicts and whether that falls inside the published range; the misses with their reasons."""
from __future__ import annotations

from reports.html.common import LEVEL, plural
from reports.html.page import Cell, Page, Section, Source, Table, Tile, Verdict, render_page
from sim.format import figure, figure_interval, published_range


def rows_table(doc) -> Table:
    rows = []
    for r in doc["rows"]:
        m, unit = r["measured"], r["unit"]
        rows.append([Cell(r["study"], r["citation"]), Cell(r["setting"], r["shows"]),
                     Cell(figure(unit, m["value"]), f"{m['text']}; range {published_range(unit, m['low'], m['high'])}"),
                     Cell(figure_interval(unit, r["predicted"]), plural(int(r["predicted"]["replications"]),
                                                                       "replication")),
                     Cell("yes" if r["within"] else "miss", "", "good" if r["within"] else "bad"),
                     "in sample" if r["in_sample"] else "out of sample"])
    return Table(["Study", "Setting", "Measured", f"Predicted ({LEVEL} interval)", "In range", "Check"], rows,
                 numeric=(2, 3))


def evidence_sections(doc) -> list:
    sec = Section("evidence", "Published field results, replicated")
    sec.paragraphs.append(
        "Each row replicates a published field study: a scenario set from the study's control group or pre-period "
        "(the control may be calibrated to the study's control; the treatment effect never is), run against the "
        "arms the study compared on the same customers and chance events. A row is in sample when a default was "
        "sized from that very study: it checks that the default still says what it was set to say, and is not a "
        "prediction. Out-of-sample rows are the test.")
    sec.tables.append(rows_table(doc))
    misses = [r for r in doc["rows"] if not r["within"]]
    out = Section("misses", "The misses, and why")
    if not misses:
        out.paragraphs.append("Every row falls inside its published range.")
    for r in misses:
        why = r.get("miss") or r.get("note") or "no reason recorded"
        out.paragraphs.append(f"{r['study']}: measured {r['measured']['text']}; loyalsim predicts "
                              f"{figure_interval(r['unit'], r['predicted'])}. {why[:1].upper() + why[1:]}.")
    notes = Section("notes", "What each row could not confirm")
    for r in doc["rows"]:
        if r.get("note"):
            notes.paragraphs.append(f"{r['study']}: {r['note']}.")
    return [sec, out, notes]


def evidence_page(doc, sources=()) -> Page:
    rows = doc["rows"]
    hit = sum(1 for r in rows if r["within"])
    out = [r for r in rows if not r["in_sample"]]
    tiles = [Tile("Reproduced", f"{hit} of {len(rows)}", "inside the published range"),
             Tile("Out of sample", f"{sum(1 for r in out if r['within'])} of {len(out)}", "no default sized from the study")]
    return Page(kind="evidence", title="loyalsim held against published field results",
                subtitle=f"{plural(len(rows), 'study row')}", facts=[plural(len(rows), "row"),
                                                                     f"{len(out)} out of sample"],
                verdict=Verdict.of(doc.get("verdict"), tiles,
                                   f"How sure: each prediction's {LEVEL} interval is over the experiment's "
                                   "replications (simulation noise), at the default assumptions."),
                sections=evidence_sections(doc), sources=[Source(label, name, text) for label, name, text in sources],
                command="loyalsim evidence" + (" --quick" if doc.get("quick") else ""),
                version=doc.get("loyalsim_version", ""), seed=None,
                replications=", ".join(sorted({str(r["predicted"]["replications"]) for r in rows})),
                embedded_id="loyalsim-evidence", embedded={"rows": rows})


def render_evidence(doc, sources=()) -> str:
    """The page of a field results summary; ``sources``: (label, file name, YAML text) of its scenarios."""
    return render_page(evidence_page(doc, sources))
