"""Files a run writes with --out: summary.json, the monthly series, report.png."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def monthly_table(results) -> pd.DataFrame:
    frames = []
    for r in results:
        for arm, a in r["arms"].items():
            if "frame" in a:
                frames.append(pd.DataFrame(a["frame"]))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True, sort=False)
    num = df.select_dtypes("number").columns
    df[num] = df[num].fillna(0.0)
    return df


def write_outputs(out_dir: Path, scenario, results, doc, fmt="csv", plots=True):
    from sim.cli import dumps
    out_dir = Path(out_dir)
    (out_dir / "summary.json").write_text(dumps(doc))
    df = monthly_table(results)
    if fmt == "parquet":
        df.to_parquet(out_dir / "monthly.parquet", index=False)
    else:
        df.to_csv(out_dir / "monthly.csv", index=False)
    if plots and not df.empty:
        from reports.plots import report_png
        report_png(df, doc, out_dir / "report.png")
    return json.loads((out_dir / "summary.json").read_text())
