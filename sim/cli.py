"""The ``loyalsim`` command: run, compare, validate and calibrate scenarios."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from sim import __version__
from sim.errors import UserError


def _common(p, many=False):
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a scenario field, e.g. --set programme.points.earn_per_currency=2 (repeatable)")
    p.add_argument("--seed", type=int, help="shorthand for --set seed=N")
    p.add_argument("--replications", "-r", type=int, help="shorthand for --set replications=N")
    p.add_argument("--workers", "-j", type=int, default=None,
                   help="parallel processes (default: all cores); results do not depend on it")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def _overrides(args):
    ov = list(args.overrides)
    if args.seed is not None:
        ov.append(f"seed={args.seed}")
    if args.replications is not None:
        ov.append(f"replications={args.replications}")
    return ov


def _load(path, args):
    from sim import scenario
    return scenario.load(path, _overrides(args))


def _progress(enabled):
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc="replications", unit="rep", file=sys.stderr, leave=False)
        b = bar["bar"]
        b.n = done
        b.refresh()
        if done >= total:
            b.close()
    return update


def _clean(x):
    """JSON without NaN: undefined numbers become null."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def dumps(doc) -> str:
    return json.dumps(_clean(doc), indent=2, sort_keys=False)


# --------------------------------------------------------------------------- commands

def cmd_validate(args) -> int:
    from sim import scenario
    sc = _load(args.file, args)
    if args.explain:
        from sim.schema import describe
        for field, default, doc in describe(scenario.scenario_schema()):
            print(f"{field:55} {default:>14}  {doc}")
        return 0
    mech = [k for k, v in sc.cfg.programme.items() if v is not None and v.get("enabled", True)]
    print(f"{args.file}: valid. '{sc.name}': {sc.cfg.customers.initial:,} customers "
          f"({sc.cfg.customers.start}), {sc.cfg.horizon_days} days, {sc.cfg.replications} replications; "
          f"programme: {', '.join(mech) if mech else 'none'}")
    return 0


def cmd_run(args) -> int:
    from reports.table import render
    from sim.runner import run_replications, summarise
    sc = _load(args.file, args)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        _prepare_out(out_dir, sc)
    results, complete = run_replications(sc, {"programme": sc.cfg.programme}, sc.cfg.replications,
                                         workers=args.workers, out_dir=out_dir, frames=out_dir is not None,
                                         progress=_progress(not args.json))
    if not results:
        print("loyalsim: interrupted before any replication finished", file=sys.stderr)
        return 130
    doc = summarise(sc, results, "programme")
    if not complete:
        doc["interrupted"] = True
        print(f"loyalsim: interrupted; reporting the {len(results)} finished replications"
              + (f" (saved in {out_dir}; run again with the same --out to finish)" if out_dir else ""), file=sys.stderr)
    if out_dir is not None:
        from reports.export import write_outputs
        write_outputs(out_dir, sc, results, doc, fmt=args.format, plots=not args.no_plots)
    if args.json:
        print(dumps(doc))
    else:
        print(render(doc))
        if out_dir is not None:
            print(f"\nWrote {out_dir}/: summary.json, monthly.{args.format}, scenario.resolved.yaml"
                  + ("" if args.no_plots else ", report.png"))
    return 0 if complete else 130


def _prepare_out(out_dir: Path, sc):
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out_dir}: cannot create the folder ({e.strerror})") from None
    import yaml
    (out_dir / "scenario.resolved.yaml").write_text(yaml.safe_dump(sc.resolved(), sort_keys=False))


def cmd_compare(args) -> int:
    from reports.compare import compare, render_compare
    scenarios = [_load(f, args) for f in args.files]
    doc = compare(scenarios, workers=args.workers, progress=_progress(not args.json))
    if args.json:
        print(dumps(doc))
    else:
        print(render_compare(doc))
    return 0 if not doc.get("interrupted") else 130


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="loyalsim", description=__doc__)
    ap.add_argument("--version", action="version", version=f"loyalsim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="simulate a scenario against a no-programme baseline")
    p.add_argument("file", help="scenario YAML file")
    _common(p)
    p.add_argument("--out", metavar="DIR", help="write monthly series, summary and the resolved scenario here (resumable)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="monthly series file format")
    p.add_argument("--no-plots", action="store_true", help="with --out: skip report.png")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="rank strategies on the same customers and random numbers")
    p.add_argument("files", nargs="+", help="scenario YAML files (same customer base)")
    _common(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("validate", help="check a scenario file")
    p.add_argument("file")
    _common(p)
    p.add_argument("--explain", action="store_true", help="list every field, its default and its source")
    p.set_defaults(func=cmd_validate)

    try:
        from calibration.cli import register
    except ImportError:
        register = None
    if register is not None:
        register(sub)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"loyalsim: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("loyalsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
