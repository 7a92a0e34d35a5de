"""Files a run writes: the JSON document, the monthly series, the resolved scenario, the report's inputs, report.png.

Each file is written whole or not at all (``sim.files.write_atomic``); a write the machine refuses
is one line naming the file and the cause (exit code 2), and the rerun, once it is fixed, finds the
finished replications in the result store and writes the same bytes.
"""
from __future__ import annotations

import json
from pathlib import Path

from sim.files import write_atomic
from sim.files import write_text as _write_text
from sim.plain import plain as clean

HINT = "free space or make the folder writable, then run the same command again"


def write_text(path, text: str):
    return _write_text(path, text, str(path), HINT)


def dumps(doc) -> str:
    """The JSON text of a result document (undefined numbers as null)."""
    return json.dumps(clean(doc), indent=2, sort_keys=False)


def write_json(path, doc):
    write_text(path, dumps(doc) + "\n")


def write_table(df, path: Path, fmt="csv"):
    """A tidy table as CSV or Parquet (the suffix follows the format)."""
    path = Path(path).with_suffix("." + fmt)
    if fmt == "parquet":
        return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False), str(path), HINT)
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False), str(path), HINT)


def resolved_text(scenario) -> str:
    """The fully resolved scenario as YAML (what --out saves and the HTML report embeds)."""
    import yaml
    return yaml.safe_dump(scenario.resolved(), sort_keys=False)


def write_resolved(out_dir: Path, scenario, name="scenario.resolved.yaml"):
    write_text(Path(out_dir) / name, resolved_text(scenario))


def write_report_inputs(out_dir: Path, result, fmt="csv") -> list:
    """What ``loyalsim report DIR`` needs beyond the summary and monthly series, so it renders
    the run's report without simulating: the ledger lines per replication, the assumptions
    in force and the loyalsim version that produced the numbers."""
    from sim.scenario import assumptions
    out_dir = Path(out_dir)
    written = [write_table(result.cost_lines, out_dir / "cost_lines", fmt).name]
    rows = json.loads(json.dumps(clean(assumptions(result.scenario)), default=str))
    write_text(out_dir / "assumptions.json", json.dumps(rows, indent=2) + "\n")
    return written + ["assumptions.json"]


def write_outputs(out_dir: Path, result, doc, fmt="csv", plots=True) -> list:
    """summary.json, the monthly series, the resolved scenario, what the HTML report needs
    (cost lines, assumptions, version) and (optionally) report.png in ``out_dir``; returns the file names."""
    out_dir = Path(out_dir)
    write_json(out_dir / "summary.json", doc)
    written = ["summary.json"]
    df = result.monthly
    written.append(write_table(df, out_dir / "monthly", fmt).name)
    write_resolved(out_dir, result.scenario)
    written.append("scenario.resolved.yaml")
    written += write_report_inputs(out_dir, result, fmt)
    if plots and not df.empty:
        from reports.plots import report_png
        write_atomic(out_dir / "report.png", lambda tmp: report_png(df, doc, tmp), str(out_dir / "report.png"), HINT)
        written.append("report.png")
    return written


def write_comparison(out_dir: Path, comparison, doc, fmt="csv") -> list:
    """A comparison's summary.json, its monthly series (every strategy and the baseline) and, per strategy,
    its resolved scenario and assumptions: what ``loyalsim report DIR`` renders the comparison from."""
    from sim.scenario import assumptions
    out_dir = Path(out_dir)
    write_json(out_dir / "summary.json", doc)
    written = ["summary.json", write_table(comparison.result.monthly, out_dir / "monthly", fmt).name]
    for i, scenario in enumerate(comparison.result.arms.values(), start=1):
        write_resolved(out_dir, scenario, f"strategy_{i}.resolved.yaml")
        rows = json.loads(json.dumps(clean(assumptions(scenario)), default=str))
        write_text(out_dir / f"strategy_{i}.assumptions.json", json.dumps(rows, indent=2) + "\n")
        written += [f"strategy_{i}.resolved.yaml", f"strategy_{i}.assumptions.json"]
    return written
