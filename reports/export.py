"""Files a run writes: the JSON document, the monthly series, the resolved scenario, report.png."""
from __future__ import annotations

import json
from pathlib import Path

from sim.results import clean


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


def write_resolved(out_dir: Path, scenario):
    import yaml
    (Path(out_dir) / "scenario.resolved.yaml").write_text(yaml.safe_dump(scenario.resolved(), sort_keys=False))


def write_outputs(out_dir: Path, result, doc, fmt="csv", plots=True) -> list:
    """summary.json, the monthly series and (optionally) report.png in ``out_dir``; returns the file names."""
    out_dir = Path(out_dir)
    write_json(out_dir / "summary.json", doc)
    written = ["summary.json"]
    df = result.monthly
    written.append(write_table(df, out_dir / "monthly", fmt).name)
    write_resolved(out_dir, result.scenario)
    written.append("scenario.resolved.yaml")
    if plots and not df.empty:
        from reports.plots import report_png
        report_png(df, doc, out_dir / "report.png")
        written.append("report.png")
    return written
