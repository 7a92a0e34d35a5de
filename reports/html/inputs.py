"""What each report reads: a summary of its kind and the tables behind its charts, live or saved.

A report from a live result and one from the files that result saved (``--out DIR``,
then ``loyalsim report DIR``) are built from equal inputs, so they are byte for byte
the same: the live inputs are normalised to what the files read back as (JSON
round trip, the dtypes CSV and Parquet give). Every input holds the summary
document (``doc``, whose ``kind`` says what it is) and, for the reproduce block, the
resolved scenario(s) as YAML text; nothing here reads a value out of that YAML that
the summary already holds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports.html.common import BASELINE_ARM, PROGRAMME_ARM
from sim.documents import kind_of
from sim.errors import UserError
from sim.plain import plain

SUMMARY, RESOLVED, ASSUMPTIONS, COST_LINES = ("summary.json", "scenario.resolved.yaml", "assumptions.json",
                                              "cost_lines")


@dataclass
class RunInputs:
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


@dataclass
class StudyInputs:
    """A sweep, an uncertainty analysis or an optimisation: its summary, its table, its scenario(s)."""
    doc: dict
    table: pd.DataFrame               # sweep: point x replication; psa: draw x strategy; optimise: trials
    sources: list                     # [(label, resolved YAML)]
    version: str
    assumptions: dict = field(default_factory=dict)   # strategy name -> assumption rows (psa)


def json_normal(x):
    """What a JSON file would give back: tuples as lists, NaN as null, dates as text."""
    return json.loads(json.dumps(plain(x), default=str))


def normal_frame(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """A table with the dtypes a CSV or Parquet file reads back as."""
    if df is None:
        return None
    df = df.reset_index(drop=True).copy()
    for c in df.columns:
        if c in ("arm", "calendar_month", "mechanic", "line", "kind", "strategy", "state"):
            df[c] = df[c].astype(str)
        elif c in ("replication", "month", "point", "draw", "trial"):
            df[c] = pd.to_numeric(df[c]).astype("int64")
        elif pd.api.types.is_bool_dtype(df[c]):
            df[c] = df[c].astype(bool)
        elif pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].astype("float64")
    return df


def resolved_yaml(scenario, extra=None) -> str:
    """The fully resolved scenario as YAML (``extra``: blocks added, e.g. the sweep that was run)."""
    import yaml
    return yaml.safe_dump({**scenario.resolved(), **(extra or {})}, sort_keys=False)


def assumption_rows(scenario) -> list:
    from sim.scenario import assumptions
    return json_normal(assumptions(scenario))


def version() -> str:
    from sim.version import __version__
    return __version__


# --------------------------------------------------------------------------- live results

def run_inputs(result, arm=None) -> RunInputs:
    """The inputs of a run report from a live ``sim.Result``."""
    arm_name = result._default_arm(arm)
    doc = json_normal(result.summary(arm_name))
    monthly = result.monthly
    if not monthly.empty:
        monthly = monthly[monthly["arm"].isin([BASELINE_ARM, arm_name])].copy()
        monthly.loc[monthly["arm"] == arm_name, "arm"] = PROGRAMME_ARM
    cost = result.cost_lines
    if not cost.empty:
        cost = cost[cost["arm"].isin([BASELINE_ARM, arm_name])].copy()
        cost.loc[cost["arm"] == arm_name, "arm"] = PROGRAMME_ARM
    scenario = result.arms[arm_name]
    return RunInputs(doc, normal_frame(monthly), resolved_yaml(scenario), assumption_rows(scenario), version(),
                     normal_frame(cost))


def compare_inputs(comparison) -> CompareInputs:
    result = comparison.result
    sources, rows = [], {}
    for name, scenario in result.arms.items():
        sources.append((name, comparison.files.get(name, str(scenario.file)), resolved_yaml(scenario)))
        rows[name] = assumption_rows(scenario)
    return CompareInputs(json_normal(comparison.summary()), normal_frame(result.monthly), sources, rows, version())


def sweep_inputs(result, scenario_text: str) -> StudyInputs:
    """A live sweep (sim.studies.sweep.SweepResult) with the resolved scenario that runs it again."""
    return StudyInputs(json_normal(result.summary()), normal_frame(result.report_table()),
                       [("Resolved scenario", scenario_text)], version())


def psa_inputs(psa, scenarios) -> StudyInputs:
    """A live uncertainty analysis (sim.studies.psa.PSAResult) of one or more strategies."""
    names = list(psa.strategies)
    sources = [(name if len(names) > 1 else "Resolved scenario", resolved_yaml(sc))
               for name, sc in zip(names, scenarios)]
    return StudyInputs(json_normal(psa.summary()), normal_frame(psa.table()), sources, version(),
                       {name: assumption_rows(sc) for name, sc in zip(names, scenarios)})


OPTIMISE_SOURCE = "Resolved scenario (with the optimisation it ran)"


def optimise_inputs(result, scenario_text: str) -> StudyInputs:
    """A live optimisation (sim.studies.optimise.OptimiseResult)."""
    return StudyInputs(json_normal(result.summary()), normal_frame(result.trials_table()),
                       [(OPTIMISE_SOURCE, scenario_text)], version())


# --------------------------------------------------------------------------- saved folders

def _read_csv(path):
    """Floats read back exactly as written (pandas 3 does by default; older pandas needs asking)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


def read_table(folder: Path, stem: str, required: bool):
    """DIR/stem.parquet or DIR/stem.csv; with both (runs with either --format), the newer."""
    found = [(folder / (stem + suffix), reader) for suffix, reader in ((".parquet", pd.read_parquet), (".csv", _read_csv))
             if (folder / (stem + suffix)).exists()]
    if found:
        path, reader = max(found, key=lambda f: f[0].stat().st_mtime)
        try:
            return reader(path)
        except Exception as e:  # noqa: BLE001 - a damaged file of any kind: say which and why, never a traceback
            raise UserError(f"{path}: cannot read it ({type(e).__name__}: {e}); run the command that wrote it "
                            "again") from None
    if required:
        raise UserError(f"{folder}: no {stem}.csv or {stem}.parquet beside {SUMMARY}; the folder is incomplete: run "
                        "the command that wrote it again")
    return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable JSON file ({e})") from None


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise UserError(f"{path.parent}: no {path.name} ({what}); the folder is incomplete: run the command that "
                        "wrote it again")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read it ({e})") from None


def saved_summary(folder) -> tuple[str, dict]:
    """(kind, summary) of a folder written with --out, checked (sim.documents.kind_of)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; expected a folder written with --out DIR (loyalsim run, compare, "
                        "sweep, psa or optimise)")
    summary = folder / SUMMARY
    if not summary.is_file():
        raise UserError(f"{folder}: no {SUMMARY}; expected a folder written with --out DIR (loyalsim run, compare, "
                        "sweep, psa or optimise)")
    doc = _read_json(summary)
    return kind_of(doc, summary), doc


def load_saved_run(folder, doc=None) -> RunInputs:
    """The inputs of a run report from a ``loyalsim run --out DIR`` folder, without simulating."""
    folder = Path(folder)
    if doc is None:
        kind, doc = saved_summary(folder)
        if kind != "run":
            raise UserError(f"{folder / SUMMARY}: a summary of {kind}, not of a run")
    monthly = read_table(folder, "monthly", required=True)
    text = _read_text(folder / RESOLVED, "the resolved scenario")
    rows_path = folder / ASSUMPTIONS
    rows = _read_json(rows_path) if rows_path.exists() else None
    cost = read_table(folder, COST_LINES, required=False)
    return RunInputs(json_normal(doc), normal_frame(monthly), text, None if rows is None else json_normal(rows),
                     doc.get("loyalsim_version", "unknown"), normal_frame(cost))


def load_saved_compare(folder, doc) -> CompareInputs:
    folder = Path(folder)
    monthly = read_table(folder, "monthly", required=True)
    sources, rows = [], {}
    names = list(doc.get("strategies") or {})
    for i, name in enumerate(names):
        text = _read_text(folder / f"strategy_{i + 1}.resolved.yaml", f"the resolved scenario of {name}")
        sources.append((name, (doc["strategies"][name] or {}).get("file", ""), text))
        path = folder / f"strategy_{i + 1}.assumptions.json"
        rows[name] = json_normal(_read_json(path)) if path.exists() else []
    return CompareInputs(json_normal(doc), normal_frame(monthly), sources, rows, doc.get("loyalsim_version", "unknown"))


STUDY_TABLES = {"sweep": "sweep", "psa": "draws", "optimise": "trials"}


def load_saved_study(folder, kind, doc) -> StudyInputs:
    folder = Path(folder)
    table = read_table(folder, STUDY_TABLES[kind], required=True)
    sources = []
    names = list(doc.get("strategies") or {}) if kind == "psa" else []
    if len(names) > 1:
        for i, name in enumerate(names):
            path = folder / (RESOLVED if i == 0 else f"strategy_{i + 1}.resolved.yaml")
            sources.append((f"{name}", _read_text(path, f"the resolved scenario of {name}")))
    elif (folder / RESOLVED).is_file():
        label = OPTIMISE_SOURCE if kind == "optimise" else "Resolved scenario"
        sources.append((label, _read_text(folder / RESOLVED, "the resolved scenario")))
    return StudyInputs(json_normal(doc), normal_frame(table), sources, doc.get("loyalsim_version", "unknown"))
