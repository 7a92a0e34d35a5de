"""What ``optimise --out DIR`` writes: best.yaml, the tables, summary.json, and where Optuna keeps its trials."""
from __future__ import annotations

import json

from sim.errors import UserError
from sim.files import write_atomic, write_text
from sim.plain import plain
from sim.studies.optimise.result import OptimiseResult, table_cell

HINT = "free space or make the folder writable, then run the same command again"  # as every other output's


# --------------------------------------------------------------------------- the best design as a scenario

def best_yaml(scenario, design: dict, doc: dict | None = None) -> str:
    """The base scenario as written (includes resolved) with the chosen settings applied: ready to run."""
    import yaml

    from sim.scenario import apply_override, validate
    raw = scenario.raw()
    for k, v in design.items():
        apply_override(raw, k, v, file=str(scenario.file))
    validate(raw, file=str(scenario.file))   # it runs as it is
    head = ["# The best design found by 'loyalsim optimise' (loyalsim run this file to see it in full).",
            f"# Base scenario: {scenario.file}", "# Settings chosen:"]
    head += [f"#   {k}: {json.dumps(v)}" for k, v in design.items()]
    if doc:
        ch = doc.get("chosen") or {}
        est = (ch.get("estimate") or {}) if not ch.get("no_programme") else \
            ((doc.get("best_programme") or {}).get("estimate") or {})
        if ch.get("no_programme"):
            head.append("# Note: no programme beat every design in the selection; this is the best programme design.")
        if est.get("mean") is not None:
            obj = doc.get("objective", "incremental_profit")
            head.append(f"# {obj} on {est.get('n')} fresh replications: {est['mean']:,.0f}"
                        + (f" (95% interval {est['ci_low']:,.0f} to {est['ci_high']:,.0f})"
                           if est.get("ci_low") is not None else ""))
    return "\n".join(head) + "\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- files

RESOLVED = "scenario.resolved.yaml"


def stated_yaml(scenario, problem) -> str:
    """The resolved scenario with the ``optimise:`` block that states this problem, as YAML: what the report's
    reproduce section shows, and what ``loyalsim optimise`` runs again with no options."""
    import yaml

    from sim.studies.optimise.problem import problem_block
    stated = scenario.with_overrides({"optimise": problem_block(problem)})
    return yaml.safe_dump(stated.resolved(), sort_keys=False)


def storage_url(out_dir):
    """Optuna's SQLite storage in DIR/optuna.db (None: in memory, not resumable)."""
    if out_dir is None:
        return None
    from pathlib import Path
    return f"sqlite:///{(Path(out_dir) / 'optuna.db').resolve()}"


def _database_path(storage):
    from pathlib import Path
    text = str(storage)
    return Path(text[len("sqlite:///"):]) if text.startswith("sqlite:///") else None


def _what_to_do(path) -> str:
    return (f"delete it to start the search afresh (the replications in {path.parent / 'store'} are kept and reused) "
            "or use another --out")


def check_storage(storage, study_name: str):
    """The search's SQLite database is whole, Optuna's, and holds this problem's study (or none yet).

    A file torn by a killed disk or a copy cut short, a SQLite file of another tool, or the trials
    of another problem left in the same --out folder are each a UserError naming the file and what
    to do, before Optuna reads or writes anything in it."""
    import sqlite3

    path = _database_path(storage)
    if path is None or not path.exists():
        return
    if path.is_dir():
        raise UserError(f"{path}: is a folder; the search keeps its trials in a file of that name: move the folder "
                        "away or use another --out")
    if path.stat().st_size == 0:
        return   # an empty file is an empty database
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            check = con.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            names = ([r[0] for r in con.execute("SELECT study_name FROM studies")]
                     if {"studies", "alembic_version"} <= tables else [])
        finally:
            con.close()
    except sqlite3.Error as e:
        raise UserError(f"{path}: the search's Optuna database is damaged or not a database ({e}); "
                        + _what_to_do(path)) from None
    if not check or check[0] != "ok":
        found = check[0] if check else "no answer"
        raise UserError(f"{path}: the search's Optuna database is damaged (SQLite's check: {found}); " + _what_to_do(path))
    if tables and not {"studies", "alembic_version"} <= tables:
        shown = ", ".join(sorted(tables)[:4]) + (", ..." if len(tables) > 4 else "")
        raise UserError(f"{path}: a SQLite database of another tool (tables {shown}), not the trials of a loyalsim "
                        "optimise search; move it away or use another --out")
    others = [n for n in names if n != study_name]
    if others and study_name not in names:
        ours = [n for n in others if n.startswith("loyalsim-optimise-")]
        if not ours:
            raise UserError(f"{path}: holds Optuna studies of another tool ({', '.join(others[:3])}), not the trials of "
                            "a loyalsim optimise search; move it away or use another --out")
        raise UserError(f"{path}: holds the trials of another optimisation problem (study {ours[0]}; this one is "
                        f"{study_name}: a different scenario, --vary, --objective, --constraint, --replications, "
                        "--batch or --seed); " + _what_to_do(path))


def storage_error(storage, error, doing="open") -> UserError:
    """Optuna could not open (or read or write) its storage: one line naming the file, with the reason."""
    path = _database_path(storage)
    error = error.__cause__ or error      # Optuna's StorageInternalError says less than the database's own error
    reason = (str(error).splitlines() or [""])[0][:200] or type(error).__name__
    if path is None:
        return UserError(f"{storage}: Optuna cannot {doing} the search's storage ({type(error).__name__}: {reason})")
    todo = ("another search may be using this --out: let it finish, or use another --out" if "locked" in reason
            else _what_to_do(path))
    return UserError(f"{path}: Optuna cannot {doing} the search's database ({type(error).__name__}: {reason}); {todo}")


def write_outputs(out_dir, scenario, res: OptimiseResult, doc: dict, fmt="parquet") -> list:
    """best.yaml, trials.<fmt>, evaluations.<fmt>, summary.json, scenario.resolved.yaml (with the problem as its
    optimise: block, for ``loyalsim report DIR``) and (two objectives) pareto.csv in out_dir."""
    from pathlib import Path

    out = Path(out_dir)
    written = []

    def table(df, stem):
        path = out / f"{stem}.{fmt}"
        if fmt == "parquet":
            df = df.copy()
            for c in df.columns:   # mixed objects (a design field holding lists) as text, so Parquet takes them
                if df[c].dtype == object:
                    df[c] = df[c].map(lambda v: v if v is None or isinstance(v, (str, bool)) else json.dumps(v)
                                      if isinstance(v, (list, dict)) else str(v) if not isinstance(v, (int, float))
                                      else v)
            def parquet(tmp, df=df):
                try:
                    df.to_parquet(tmp, index=False)
                except (TypeError, ValueError):
                    df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(tmp, index=False)
            write_atomic(path, parquet, str(path), HINT)
        else:
            write_atomic(path, lambda tmp, df=df: df.to_csv(tmp, index=False), str(path), HINT)
        written.append(path.name)

    table(res.trials_table(), "trials")
    table(res.evaluations_table(), "evaluations")
    best = res.chosen_design if res.chosen_design is not None else res.design(res.best_programme)
    if best is not None:
        write_text(out / "best.yaml", best_yaml(scenario, best, doc), str(out / "best.yaml"), HINT)
        written.insert(0, "best.yaml")
    if res.problem.multi and res.pareto:
        import pandas as pd
        rows = [{"trial": r["trial"], **{f.field: table_cell(r["design"].get(f.field)) for f in res.problem.factors},
                 **{o: r["means"][o] for o in res.problem.objectives}} for r in res.pareto]
        write_atomic(out / "pareto.csv", lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False), str(out / "pareto.csv"), HINT)
        written.append("pareto.csv")
    write_text(out / RESOLVED, stated_yaml(scenario, res.problem), str(out / RESOLVED), HINT)
    written.append(RESOLVED)
    write_text(out / "summary.json", json.dumps(plain(doc), indent=2) + "\n", str(out / "summary.json"), HINT)
    written.append("summary.json")
    return written
