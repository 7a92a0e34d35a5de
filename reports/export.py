"""Files a run writes: the JSON document, the monthly series, the resolved scenario, the report's inputs, report.png."""
from __future__ import annotations

import json
from pathlib import Path

from sim.plain import plain as clean


def dumps(doc) -> str:
    """The JSON text of a result document (undefined numbers as null)."""
    return json.dumps(clean(doc), indent=2, sort_keys=False)


def write_json(path, doc):
    Path(path).write_text(dumps(doc) + "\n")


def write_table(df, path: Path, fmt="csv"):
    """A tidy table as CSV or Parquet (the suffix follows the format)."""
    path = Path(path).with_suffix("." + fmt)
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def resolved_text(scenario) -> str:
    """The fully resolved scenario as YAML (what --out saves and the HTML report embeds)."""
    import yaml
    return yaml.safe_dump(scenario.resolved(), sort_keys=False)


def write_resolved(out_dir: Path, scenario, name="scenario.resolved.yaml"):
    (Path(out_dir) / name).write_text(resolved_text(scenario))


def write_report_inputs(out_dir: Path, result, fmt="csv") -> list:
    """What ``loyalsim report DIR`` needs beyond the summary and monthly series, so it renders
    the run's report without simulating: the ledger lines per replication, the assumptions
    in force and the loyalsim version that produced the numbers."""
    from sim.scenario import assumptions
    out_dir = Path(out_dir)
    written = [write_table(result.cost_lines, out_dir / "cost_lines", fmt).name]
    rows = json.loads(json.dumps(clean(assumptions(result.scenario)), default=str))
    (out_dir / "assumptions.json").write_text(json.dumps(rows, indent=2) + "\n")
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
        report_png(df, doc, out_dir / "report.png")
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
        (out_dir / f"strategy_{i}.assumptions.json").write_text(json.dumps(rows, indent=2) + "\n")
        written += [f"strategy_{i}.resolved.yaml", f"strategy_{i}.assumptions.json"]
    return written
