"""The HTML report: one self-contained file a marketing lead opens and forwards, one module per report type.

    from reports.html import render_run, render_compare
    html = render_run(sim.run("scenarios/points_and_tiers.yaml"))   # or a saved --out folder
    Path("flagship.html").write_text(html)

* ``run``: one programme against no programme (``loyalsim run --html``);
* ``compare``: strategies side by side (``loyalsim compare --html``);
* ``sweep``, ``psa``, ``optimise``: the studies (their commands' ``--html``);
* ``evidence``: the field results suite (``loyalsim evidence --html``);
* ``render_saved(DIR)``: the page of whatever a command saved with ``--out DIR``, chosen by its
  summary's ``kind`` (``loyalsim report DIR``).

Renderers only: every page reads a summary and the tables behind its charts, and shows the
summary's own verdict (sim.verdict); nothing here simulates or decides. ``page`` holds the page
model and the template's rendering; ``inputs`` what each report reads, live or saved, made equal
so both give the same bytes; ``common`` the pieces the pages share.
"""
from __future__ import annotations

from pathlib import Path

from reports.html.backtest import render_backtest
from reports.html.compare import render_compare
from reports.html.evidence import render_evidence
from reports.html.inputs import (
    RunInputs, StudyInputs, compare_inputs, load_saved_compare, load_saved_run, load_saved_study, optimise_inputs,
    psa_inputs, run_inputs, saved_summary, sweep_inputs,
)
from reports.html.optimise import render_optimise
from reports.html.page import check_writable, render_page, write_report
from reports.html.psa import render_psa
from reports.html.run import render_run
from reports.html.sweep import render_sweep
from sim.errors import UserError

__all__ = ["RunInputs", "StudyInputs", "check_writable", "compare_inputs", "render_evidence", "load_saved_run", "optimise_inputs",
           "render_backtest",
           "psa_inputs", "render_compare", "render_optimise", "render_page", "render_psa", "render_run",
           "render_saved", "render_sweep", "run_inputs", "sweep_inputs", "write_report"]


def render_saved(folder) -> str:
    """The report of a folder written with ``--out DIR``, by the kind its summary.json says it is."""
    folder = Path(folder)
    kind, doc = saved_summary(folder)
    if kind == "run":
        return render_run(load_saved_run(folder, doc))
    if kind == "comparison":
        return render_compare(load_saved_compare(folder, doc))
    if kind in ("sweep", "psa", "optimise"):
        inp = load_saved_study(folder, kind, doc)
        return {"sweep": render_sweep, "psa": render_psa, "optimise": render_optimise}[kind](inp)
    if kind == "evidence":
        return render_evidence(doc)
    raise UserError(f"{folder / 'summary.json'}: a summary of {kind}, which has no HTML report yet; its figures are in "
                    "that file")
