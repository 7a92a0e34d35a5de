"""Regenerate the committed numerical baseline: the --json of a few tiny runs and one study.

    python tests/baseline/regenerate.py          # rewrite every case's JSON here
    python tests/baseline/regenerate.py --check  # say which numbers moved, change nothing

tests/test_baseline.py runs the same cases and fails on any number that differs from the
files here, so a change in numbers always shows as a diff of these files, explained in the
commit that makes it (a refactor must change none). Only numbers are compared: labels,
sentences and file paths may change without a regeneration.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# name -> the command line (after 'loyalsim'); tiny on purpose: the whole set runs in ~20 s on one core
TINY = ["--set", "customers.initial=2000", "--set", "customers.acquisition.per_day=1", "--set", "horizon_days=365",
        "--backend", "serial", "--json"]
CASES = {
    "flagship": ["run", "scenarios/points_and_tiers.yaml", "-r", "3", *TINY],
    "subscription": ["run", "scenarios/subscription_vip.yaml", "-r", "3", *TINY],
    "all_mechanics": ["run", "scenarios/strategy_all_mechanics.yaml", "-r", "2", *TINY],
    "psa": ["psa", "scenarios/points_and_tiers.yaml", "--set", "customers.initial=800", "--set",
            "customers.acquisition.per_day=0.4", "--set", "horizon_days=365", "--draws", "6", "-r", "2",
            "--no-tornado", "--backend", "serial", "--json"],
}
REL, ABS = 1e-9, 1e-6  # summation order may differ in the last bits across numpy builds; nothing else may


def run_case(name: str) -> dict:
    """The JSON document of one case, run in this process from the project's root."""
    from sim.cli import main
    import os
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(CASES[name])
    finally:
        os.chdir(cwd)
    if code != 0:
        raise RuntimeError(f"baseline case {name}: loyalsim exited with {code}")
    return json.loads(out.getvalue())


def numbers(doc, path="") -> dict:
    """Every number in a JSON document, by its path (booleans and text left out)."""
    out = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.update(numbers(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.update(numbers(v, f"{path}[{i}]"))
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        out[path] = float(doc)
    return out


def differences(expected: dict, got: dict) -> list[str]:
    """What moved: numbers that differ, numbers that appeared or disappeared."""
    a, b = numbers(expected), numbers(got)
    out = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            out.append(f"{k}: {a[k]!r} is gone")
        elif k not in a:
            out.append(f"{k}: new number {b[k]!r}")
        elif not math.isclose(a[k], b[k], rel_tol=REL, abs_tol=ABS):
            out.append(f"{k}: {a[k]!r} -> {b[k]!r}")
    return out


def path_of(name: str) -> Path:
    return HERE / f"{name}.json"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    moved = 0
    for name in CASES:
        doc = run_case(name)
        if check:
            diff = differences(json.loads(path_of(name).read_text()), doc)
            moved += len(diff)
            print(f"{name}: {len(diff)} numbers moved" + "".join(f"\n  {d}" for d in diff[:40]))
        else:
            path_of(name).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path_of(name).relative_to(ROOT)}")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
