"""The loyalsim command: run, compare, report, validate and calibrate scenarios.

Every command is a thin shell over the Python API (sim.api): it loads the
scenario, runs it where the options say, and renders the answer.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from sim.version import __version__
from sim.errors import Interrupted, UserError


# --------------------------------------------------------------------------- options

def _scenario_options(p):
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a scenario field, e.g. --set programme.points.earn_per_currency=2 (repeatable)")
    p.add_argument("--seed", type=int, help="shorthand for --set seed=N")
    p.add_argument("--replications", "-r", type=int, metavar="N", help="shorthand for --set replications=N")


def _html_option(p):
    p.add_argument("--html", metavar="FILE",
                   help="also write the report as one self-contained HTML file with interactive charts "
                        "(opens offline in any browser; e-mail it as it is)")


def _run_options(p):
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="parallel workers (default: every core); the numbers do not depend on it")
    p.add_argument("--backend", default=None, metavar="NAME",
                   help="where to run: process (default: a local process pool), serial, dask (a local Dask "
                        "cluster) or dask://HOST:PORT (an existing Dask cluster); the numbers do not depend on it")
    p.add_argument("--scheduler", metavar="ADDRESS", help="the address of an existing Dask scheduler (implies dask)")
    p.add_argument("--store", metavar="DIR",
                   help="keep every finished replication here; a rerun (or more replications) computes only what is missing")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--cluster-timeout", metavar="SECONDS", default=None,
                   help="with an existing Dask cluster: stop (keeping what finished) when its scheduler has no worker "
                        "or does not answer for this long (default 30, or $LOYALSIM_CLUSTER_TIMEOUT)")
    p.add_argument("--max-memory", metavar="GB", default=None,
                   help="refuse a run whose estimated memory exceeds this many GB (default: the memory available "
                        "now, or $LOYALSIM_MAX_MEMORY; 0: no check)")


def _output_options(p, writes, table="the table", default_format="parquet", html=True):
    """--out DIR (what it writes, and the result store kept there), --format and --html."""
    p.add_argument("--out", metavar="DIR", help=f"write {writes} here, and keep the results in DIR/store "
                                                "(an interrupted command resumes)")
    p.add_argument("--format", choices=("csv", "parquet"), default=None,
                   help=f"with --out: {table}'s format (default: {default_format})")
    if html:
        _html_option(p)


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


def _progress(enabled, label="replications"):
    """A progress bar on stderr (a terminal only), shown from the start."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="", file=sys.stderr, leave=False)
        b = bar["bar"]
        b.n = done
        b.refresh()
        if done >= total:
            b.close()
    return update


def _store(args, out_dir=None):
    if args.store:
        from sim.files import writable_folder
        writable_folder(args.store, "--store")  # refused before any work, also by a command that may not need it
        return args.store
    return out_dir / "store" if out_dir is not None else None


def _interrupted_note(result, out_dir, store):
    kept = len(result.replications)
    where = f" (kept in {store}; run the same command again to finish)" if store else ""
    print(f"loyalsim: interrupted; reporting the {kept} finished replication{'s' if kept != 1 else ''}{where}",
          file=sys.stderr)


# --------------------------------------------------------------------------- commands

def cmd_validate(args) -> int:
    try:
        sc = _load(args.file, args)
    except UserError as e:
        if getattr(args, "json", False):  # the document says why; the one-line message still goes to stderr
            import json
            print(json.dumps({"file": str(args.file), "valid": False, "error": str(e)}, indent=2))
        raise
    if args.explain:
        from reports import explain
        if getattr(args, "json", False):
            from reports.export import dumps
            print(dumps({"file": str(args.file), "fields": explain.rows(sc)}))
        else:
            print(explain.render(sc))
        return 0
    mech = [k for k, v in sc.cfg.programme.items() if v is not None and v.get("enabled", True)]
    if getattr(args, "json", False):
        import json
        print(json.dumps({"file": str(args.file), "valid": True, "name": sc.name,
                          "customers": sc.cfg.customers.initial, "start": sc.cfg.customers.start,
                          "horizon_days": sc.cfg.horizon_days, "replications": sc.cfg.replications,
                          "programme": mech}, indent=2))
        return 0
    print(f"{args.file}: valid. '{sc.name}': {sc.cfg.customers.initial:,} customers "
          f"({sc.cfg.customers.start}), {sc.cfg.horizon_days} days, {sc.cfg.replications} replications; "
          f"programme: {', '.join(mech) if mech else 'none'}")
    return 0


def _note_on_scale(sc):
    """Warn when the customers acquired during the horizon outnumber the launch base: the answer is then
    mostly about new customers, which is rarely what a --set customers.initial meant."""
    c = sc.cfg.customers
    acquired = c.acquisition.per_day * sc.cfg.horizon_days
    if acquired > c.initial:
        print(f"loyalsim: note: {acquired:,.0f} customers are acquired during the horizon "
              f"(customers.acquisition.per_day {c.acquisition.per_day:g}) against {c.initial:,} at launch: most "
              "customers will be new ones; scale customers.acquisition.per_day with customers.initial",
              file=sys.stderr)


def _prepare_out(out_dir: Path):
    from sim.files import writable_folder
    writable_folder(out_dir, "--out")  # a folder that cannot be written is refused before any work


def cmd_run(args) -> int:
    import sim
    from reports.export import dumps, write_outputs
    from reports.terminal.run import render
    sc = _load(args.file, args)
    if args.format is not None and not args.out:
        raise UserError(f"--format {args.format}: only with --out DIR (it is the format of the monthly series "
                        "file written there); add --out DIR or drop --format")
    _check_html(args)
    from sim.limits import check_run
    check_run(sc, workers=args.workers, backend=args.backend)  # refuse a run that cannot fit before --out exists
    _note_on_scale(sc)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        _prepare_out(out_dir)
    store = _store(args, out_dir)
    result = sim.run(sc, workers=args.workers, backend=args.backend, scheduler=args.scheduler, store=store,
                     progress=_progress(not args.json))
    if not result.replications:
        raise Interrupted(result.signal or 2)
    from sim.limits import check_finite
    check_finite(result)
    doc = result.summary()
    if result.interrupted:
        _interrupted_note(result, out_dir, store)
    written = []
    if out_dir is not None:
        written = write_outputs(out_dir, result, doc, fmt=args.format or "csv", plots=not args.no_plots)
    if args.html:
        from reports.html import render_run
        _write_html(args.html, render_run(result))
    if args.json:
        print(dumps(doc))
    else:
        print(render(doc))
        if written:
            print(f"\nWrote {out_dir}/: {', '.join(written)}")
    return 128 + result.signal if result.interrupted else 0


def cmd_compare(args) -> int:
    import sim
    from reports.export import dumps, write_comparison
    from reports.terminal.compare import render
    scenarios = [_load(f, args) for f in args.files]
    if args.format is not None and not args.out:
        raise UserError(f"--format {args.format}: only with --out DIR (the format of the monthly series written there)")
    _check_html(args)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        _prepare_out(out_dir)
    store = _store(args, out_dir)
    comparison = sim.compare(scenarios, workers=args.workers, backend=args.backend, scheduler=args.scheduler,
                             store=store, progress=_progress(not args.json))
    if not comparison.result.replications:
        raise Interrupted(comparison.result.signal or 2)
    from sim.limits import check_finite
    check_finite(comparison.result)
    doc = comparison.summary()
    if comparison.interrupted:
        _interrupted_note(comparison.result, out_dir, store)
    written = write_comparison(out_dir, comparison, doc, fmt=args.format or "csv") if out_dir is not None else []
    if args.html:
        from reports.html import render_compare
        _write_html(args.html, render_compare(comparison))
    print(dumps(doc) if args.json else render(doc))
    if written and not args.json:
        print(f"\nWrote {out_dir}/: {', '.join(written)}")
    return 128 + comparison.result.signal if comparison.interrupted else 0


def _check_counts(args, **bounds):
    """The study's count options (draws, samples, ...) within (lo, hi), checked before anything runs."""
    from sim.errors import whole_option
    for name, (lo, hi) in bounds.items():
        if getattr(args, name) is not None:
            whole_option(getattr(args, name), "--" + name.replace("_", "-"), lo, hi)


def _check_html(args):
    """--html FILE: refused before anything is simulated if it cannot be written."""
    if args.html:
        from reports.html import check_writable
        check_writable(args.html)


def _write_html(path, page):
    """--html FILE: the report written, and said on stderr (stdout stays the table or the JSON)."""
    from reports.html import write_report
    write_report(path, page)
    print(f"Wrote {path}", file=sys.stderr)


def _study_out(args):
    """--out DIR for a study: the folder (created), its result store and the table format."""
    if args.format is not None and not args.out:
        raise UserError(f"--format {args.format}: only with --out DIR (the format of the table written there)")
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        _prepare_out(out_dir)
    _check_html(args)
    return out_dir, _store(args, out_dir), args.format or "parquet"


def _scenario_yaml(sc, extra=None):
    """The resolved scenario as YAML (with ``extra`` blocks, e.g. the sweep that was run), for reports."""
    import yaml
    return yaml.safe_dump({**sc.resolved(), **(extra or {})}, sort_keys=False)


def _sweep_block(factors, design, samples, replications):
    """The sweep as a scenario's sweep: block, so `loyalsim sweep` on the saved scenario runs it again."""
    vary = {f.field: list(f.values) if f.values is not None else f"{f.low:g}:{f.high:g}" + (f":{f.n}" if f.n else "")
            for f in factors}
    return {"sweep": {"design": design, "samples": samples, "replications": replications, "vary": vary}}


def cmd_sweep(args) -> int:
    from reports.export import dumps, write_json, write_table
    from reports.terminal.sweep import render
    from sim.studies.sweep import factors_of, run_sweep
    _check_counts(args, samples=(1, 100000))
    sc = _load(args.file, args)
    factors = factors_of(sc, args.vary)
    block = sc.cfg.get("sweep") or {}
    design = args.design or block.get("design", "grid")
    samples = args.samples or block.get("samples", 32)
    out_dir, store, fmt = _study_out(args)
    block = _sweep_block(factors, design, samples, args.replications or block.get("replications") or sc.cfg.replications)
    res = run_sweep(sc, factors, design, samples, args.replications, workers=args.workers, backend=args.backend,
                    scheduler=args.scheduler, store=store, progress=_progress(not args.json, "sweep"))
    if res.table.empty:
        raise Interrupted(res.interrupted or 2)
    doc = res.summary()
    if out_dir is not None:
        write_table(res.table, out_dir / "sweep", fmt)
        write_json(out_dir / "summary.json", doc)
        from reports.export import write_text
        write_text(out_dir / "scenario.resolved.yaml", _scenario_yaml(sc, block))
    if args.html:
        from reports.html import render_sweep, sweep_inputs
        _write_html(args.html, render_sweep(sweep_inputs(res, _scenario_yaml(sc, block))))
    print(dumps(doc) if args.json else render(doc))
    return 128 + res.interrupted if res.interrupted else 0


def cmd_psa(args) -> int:
    from reports.export import dumps, write_json, write_table
    from reports.terminal.psa import render
    from sim.studies.psa import run_psa
    _check_counts(args, draws=(2, 100000), sobol=(1, 100000), morris=(2, 100000))
    scenarios = [_load(f, args) for f in args.files]
    out_dir, store, fmt = _study_out(args)
    psa = run_psa(scenarios, args.draws, args.replications, tornado=not args.no_tornado, workers=args.workers,
                  backend=args.backend, scheduler=args.scheduler, store=store,
                  progress=_progress(not args.json, "draws"))
    if psa.values.shape[0] < 2:
        raise Interrupted(psa.interrupted or 2)
    if (args.sobol or args.morris) and not psa.interrupted:
        from sim.studies.sensitivity import uncertain_indices
        psa.sensitivity = uncertain_indices(scenarios[0], psa.priors, "sobol" if args.sobol else "morris",
                                            args.sobol or args.morris, workers=args.workers, backend=args.backend,
                                            scheduler=args.scheduler, store=store, noise_variance=psa.noise_variance(),
                                            progress=_progress(not args.json, "sensitivity"))
    doc = psa.summary()
    if out_dir is not None:
        from reports.export import write_resolved
        write_table(psa.table(), out_dir / "draws", fmt)
        write_json(out_dir / "summary.json", doc)
        write_resolved(out_dir, scenarios[0])
        for i, other in enumerate(scenarios[1:], start=2):
            write_resolved(out_dir, other, f"strategy_{i}.resolved.yaml")
    if args.html:
        from reports.html import psa_inputs, render_psa
        _write_html(args.html, render_psa(psa_inputs(psa, scenarios)))
    print(dumps(doc) if args.json else render(doc))
    return 128 + psa.interrupted if psa.interrupted else 0


def cmd_pilot(args) -> int:
    from reports.export import dumps, write_json
    from reports.terminal.pilot import render
    from sim.studies.pilot import run_pilot
    _check_counts(args, pilot_replications=(1, 10000), draws=(2, 100000))
    sc = _load(args.file, args)
    out_dir, store, _ = _study_out(args)
    res = run_pilot(sc, args.members, args.control, args.months, args.pilot_replications, args.draws,
                    args.replications, evsi=not args.no_evsi, workers=args.workers, backend=args.backend,
                    scheduler=args.scheduler, store=store, progress=_progress(not args.json, "pilots"))
    doc = res.summary()
    if out_dir is not None:
        write_json(out_dir / "summary.json", doc)
    print(dumps(doc) if args.json else render(doc))
    return 0


def cmd_optimise(args) -> int:
    from reports.export import dumps
    from reports.terminal.optimise import render
    from sim.studies import optimise as opt
    sc = _load(args.file, args)
    problem = opt.problem_of(sc, vary=args.vary, budget=args.budget, objectives=args.objective,
                             constraints=args.constraint, replications=args.replications, batch=args.batch,
                             finalists=args.finalists, indifference=args.indifference, confidence=args.confidence,
                             initial=args.initial, max_replications=args.max_replications, confirm=args.confirm,
                             robust=args.robust,
                             draws=args.draws)
    out_dir, store, fmt = _study_out(args)
    evaluator = opt.SimulationEvaluator(sc, workers=args.workers, backend=args.backend, scheduler=args.scheduler,
                                        store=store)
    try:
        res = opt.run_optimise(problem, evaluator, storage=opt.storage_url(out_dir), scenario=sc,
                               progress=lambda label: _progress(not args.json, label))
    except KeyboardInterrupt:
        kept = f"{out_dir}" if out_dir is not None else f"{store}" if store else None
        print("loyalsim: optimise: " + (f"finished trials and replications are kept in {kept}; run the same command "
                                        "again to continue" if kept else "nothing kept (add --out DIR to resume)"),
              file=sys.stderr)
        raise
    doc = res.summary()
    written = opt.write_outputs(out_dir, sc, res, doc, fmt) if out_dir is not None else []
    if args.html:
        from reports.html import optimise_inputs, render_optimise
        # the scenario with the problem as its optimise: block: it reproduces with no options
        _write_html(args.html, render_optimise(optimise_inputs(res, opt.stated_yaml(sc, problem))))
    if args.json:
        print(dumps(doc))
    else:
        print(render(doc))
        if written:
            print(f"\nWrote {out_dir}/: {', '.join(written)}")
    return 0


def cmd_evidence(args) -> int:
    """Published field results replicated: one row per study (sim.studies.evidence)."""
    from reports.export import dumps
    from reports.terminal.evidence import render
    from sim.studies.evidence import ROOT, EXPERIMENTS, run_evidence, studies_of
    _check_counts(args, replications=(2, 1000))
    studies_of(args.only)  # an unknown name is refused before anything runs
    _check_html(args)
    doc = run_evidence(only=args.only, quick=args.quick, replications=args.replications, workers=args.workers,
                       backend=args.backend, progress=_progress(not args.json, "replications"))
    if args.html:
        from reports.html import render_evidence
        files = dict.fromkeys(EXPERIMENTS[n].scenario for n in dict.fromkeys(
            s.experiment for s in studies_of(args.only)))
        sources = [(f, f, (ROOT / f).read_text(encoding="utf-8")) for f in files]
        _write_html(args.html, render_evidence(doc, sources))
    print(dumps(doc) if args.json else render(doc))
    return 0


def cmd_report(args) -> int:
    """The report of whatever a command saved with --out DIR, by its summary's kind (never simulates)."""
    from reports.html import check_writable, render_saved, write_report
    folder = Path(args.dir)
    out = Path(args.html) if args.html else folder / "report.html"
    check_writable(out)
    write_report(out, render_saved(folder))
    print(f"Wrote {out}")
    return 0


# --------------------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line reported in one line (exit code 2)."""

    def error(self, message):
        from sim.errors import printable
        command = self.prog.removeprefix("loyalsim").strip()
        self.exit(2, f"loyalsim: {command + ': ' if command else ''}{printable(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="loyalsim", description=__doc__.splitlines()[0],
                 epilog="Run 'loyalsim COMMAND --help' for a command's options. Exit codes: 0 done; 2 a mistake in "
                        "the input or a fault the user can fix (a file or folder that cannot be written: no space, no "
                        "permission, read-only; a Dask cluster lost mid-run), one line on stderr, finished work kept "
                        "in the store; 130/143 interrupted (Ctrl-C/SIGTERM), finished work kept.")
    ap.add_argument("--version", action="version", version=f"loyalsim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="simulate a scenario against a no-programme baseline",
                       description="Simulate a scenario's programme against no programme, on the same customers "
                                   "and random numbers, over its replications.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    _scenario_options(p)
    _run_options(p)
    _output_options(p, "the summary, monthly series, resolved scenario and report.png", "the monthly series",
                    "csv", html=False)
    p.add_argument("--no-plots", action="store_true", help="with --out: skip report.png")
    _html_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="rank strategies on the same customers and random numbers",
                       description="Rank strategies (scenario files on the same customer base) by incremental "
                                   "profit, with intervals and the probability each beats the next.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files (same customer base)")
    _scenario_options(p)
    _run_options(p)
    _output_options(p, "the summary, the monthly series and each strategy's resolved scenario", "the monthly series",
                    "csv")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="vary scenario fields and see how the answer moves",
                       description="Run a scenario at many settings (a grid, a Latin hypercube, a Sobol or Morris "
                                   "design), every point against no programme on the same customers.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=SPEC",
                   help="a field and its values: LOW:HIGH:N (N evenly spaced), LOW:HIGH (sampled designs) or A,B,C "
                        "(repeatable; default: the scenario's sweep: block)")
    p.add_argument("--design", choices=("grid", "lhs", "sobol", "morris"), default=None,
                   help="grid (every combination, the default), lhs (Latin hypercube), sobol (Saltelli sample and "
                        "Sobol indices) or morris (elementary effects)")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="lhs: points; sobol: base sample (N x (2k+2) points); morris: trajectories (default 32)")
    _scenario_options(p)
    _run_options(p)
    _output_options(p, "the sweep table (sweep.parquet) and summary.json")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("psa", help="how likely the programme pays, given what we don't know",
                       description="Probabilistic sensitivity analysis: draw the uncertain assumptions (the "
                                   "scenario's uncertainty: block, or every behavioural default's evidence range), run "
                                   "each draw against no programme, and report the probability of paying, the expected "
                                   "loss of each choice, when it pays back, and the value of information (EVPI, EVPPI).")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML file(s); several: which strategy is best")
    p.add_argument("--draws", type=int, default=None, metavar="N",
                   help="parameter sets to draw (default: the uncertainty block's, 200)")
    p.add_argument("--no-tornado", action="store_true", help="skip the one-at-a-time tornado")
    p.add_argument("--sobol", type=int, default=None, metavar="N",
                   help="also Sobol indices over the uncertain parameters (Saltelli base sample N)")
    p.add_argument("--morris", type=int, default=None, metavar="R", help="also Morris screening with R trajectories")
    _scenario_options(p)
    _run_options(p)
    _output_options(p, "every draw (draws.parquet) and summary.json", "the draws table")
    p.set_defaults(func=cmd_psa)

    p = sub.add_parser("pilot", help="is a pilot worth running before deciding?",
                       description="Simulate the pilot a retailer would run (a treated group offered the programme "
                                   "and a holdout control from the same base), report its power and the smallest lift "
                                   "it can detect, and what it is worth (EVSI) against its cost, at several sizes.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument("--members", type=int, required=True, metavar="N", help="customers offered the programme")
    p.add_argument("--control", type=int, required=True, metavar="M", help="customers held out")
    p.add_argument("--months", type=int, required=True, metavar="K", help="length of the pilot in months")
    p.add_argument("--pilot-replications", type=int, default=20, metavar="N",
                   help="simulated pilots for the power (default 20)")
    p.add_argument("--draws", type=int, default=None, metavar="N",
                   help="uncertainty draws for the value of the pilot (default: the uncertainty block's, 200)")
    p.add_argument("--no-evsi", action="store_true", help="power and detectable lift only (no uncertainty analysis)")
    _scenario_options(p)
    _run_options(p)
    p.add_argument("--out", metavar="DIR", help="write summary.json here and keep the results in DIR/store")
    p.add_argument("--format", choices=("csv", "parquet"), default=None, help=argparse.SUPPRESS)
    p.add_argument("--html", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_pilot)

    p = sub.add_parser("optimise", help="find the best programme design within bounds, and how sure that is",
                       description="Search a programme's settings within bounds (Optuna: TPE, or NSGA-II for two "
                                   "objectives), every design against no programme on the same customers; then pick "
                                   "among the best few and no programme with a guarantee (Kim & Nelson's KN procedure "
                                   "on fresh replications), and report the choice's profit re-estimated on replications "
                                   "the search never saw, how sure the selection is, and the runner-up.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=SPEC",
                   help="a field and its bounds: LOW:HIGH (a whole-number field stays whole) or A,B,C (a list of "
                        "values, e.g. downgrade policies); repeatable (default: the scenario's optimise: vary: block)")
    p.add_argument("--budget", type=int, default=None, metavar="N", help="designs to try (default 40)")
    p.add_argument("--objective", action="append", default=[], metavar="NAME",
                   help="incremental_profit (default), npv, roi or retention_lift; give two for a trade-off and a "
                        "Pareto front (e.g. --objective incremental_profit --objective liability_end)")
    p.add_argument("--constraint", action="append", default=[], metavar="NAME<=VALUE",
                   help="a limit on a design's mean, e.g. 'programme_cost_per_member<=40', 'liability_end<=300000', "
                        "'retention_lift>=0.01' (1 point); repeatable; a design that breaks one is never chosen")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="designs proposed at once (default 4; not tied to --workers, so the trials do not depend on it)")
    p.add_argument("--finalists", type=int, default=None, metavar="K",
                   help="best designs that go to the selection, with no programme (default 5)")
    p.add_argument("--indifference", default=None, metavar="AMOUNT",
                   help="differences smaller than this do not matter: an amount (e.g. 50000) or a share of the "
                        "no-programme profit (e.g. 0.2%%, the default)")
    p.add_argument("--confidence", type=float, default=None, metavar="P",
                   help="the selection's probability of picking the best when it leads the others by at least the "
                        "indifference zone (default 0.95)")
    p.add_argument("--initial", type=int, default=None, metavar="N",
                   help="fresh replications every finalist gets first in the selection (default 10)")
    p.add_argument("--max-replications", type=int, default=None, metavar="N",
                   help="the most fresh replications a finalist gets in the selection (default 200)")
    p.add_argument("--confirm", type=int, default=None, metavar="N",
                   help="fresh replications that re-estimate the chosen design after the selection (default 10)")
    p.add_argument("--robust", action="store_true",
                   help="also rank the finalists across draws of the uncertain assumptions, by expected profit and by "
                        "the mean of the worst 10%% of draws")
    p.add_argument("--draws", type=int, default=None, metavar="N", help="with --robust: draws (default 40)")
    _scenario_options(p)
    _run_options(p)
    p.add_argument("--out", metavar="DIR",
                   help="write best.yaml (ready to run), the trials table, summary.json and the Pareto front here; "
                        "keep Optuna's trials in DIR/optuna.db and the results in DIR/store (a killed run resumes)")
    p.add_argument("--format", choices=("csv", "parquet"), default=None,
                   help="with --out: the tables' format (default: parquet)")
    _html_option(p)
    p.set_defaults(func=cmd_optimise)

    p = sub.add_parser("evidence", help="replicate published field studies and hold loyalsim's predictions to them",
                       description="Run the replications of published field studies (scenarios/evidence/) and print "
                                   "one row per study: what it measured, what loyalsim predicts (95% interval over "
                                   "replications), whether that is inside the published range, and whether the "
                                   "check is in sample (a default was sized from that study) or out of sample.")
    p.add_argument("--only", metavar="NAME", help="one study (or an experiment's rows, or a name prefix)")
    p.add_argument("--quick", action="store_true", help="fewer replications and half the customers (wider intervals)")
    p.add_argument("--replications", "-r", type=int, metavar="N", help="replications of every experiment")
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N",
                   help="parallel workers (default: every core); the numbers do not depend on it")
    p.add_argument("--backend", default=None, metavar="NAME", help="process (default), serial or dask")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    _html_option(p)
    p.set_defaults(func=cmd_evidence)

    p = sub.add_parser("report", help="write the HTML report of a saved run, comparison or study (no simulation)",
                       description="Render the HTML report of whatever was saved with '--out DIR' (loyalsim run, "
                                   "compare, sweep, psa or optimise), from the files in DIR, without simulating "
                                   "again: DIR/summary.json says which kind of report it is.")
    p.add_argument("dir", metavar="DIR", help="a folder written by 'loyalsim run|compare|sweep|psa|optimise ... --out DIR'")
    p.add_argument("--html", metavar="FILE", help="where to write the report (default: DIR/report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="check a scenario file",
                       description="Check a scenario file; --explain lists every field with its value, default, "
                                   "range and source.")
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a scenario field (repeatable)")
    p.add_argument("--explain", action="store_true",
                   help="list every field in force: its value, default, plausible range and source")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (file, valid, name, customers, horizon_days, replications, "
                        "programme mechanics)")
    p.set_defaults(func=cmd_validate, seed=None, replications=None)

    from calibration.cli import register
    register(sub)
    return ap


def _on_sigterm(signum, frame):
    raise Interrupted(signum)


def main(argv=None) -> int:
    import warnings

    from sim.executors import set_cluster_timeout
    from sim.limits import set_max_memory
    ap = build_parser()
    args = ap.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with warnings.catch_warnings():
            # numpy's overflow/invalid-value notes are not for the user: bounded inputs keep results
            # finite, and a result that is not is refused by sim.limits.check_finite
            warnings.simplefilter("ignore", RuntimeWarning)
            set_max_memory(getattr(args, "max_memory", None))
            set_cluster_timeout(getattr(args, "cluster_timeout", None))
            return args.func(args)
    except UserError as e:
        from sim.errors import printable
        print(f"loyalsim: {printable(e)}", file=sys.stderr)  # one line, whatever odd text the message quotes
        return 2
    except KeyboardInterrupt as e:
        print("loyalsim: interrupted", file=sys.stderr)
        return e.exit_code if isinstance(e, Interrupted) else 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a write the machine refused, below a writer that names its file (sim.files)
        from sim.files import REFUSED, cause, errno_of
        if errno_of(e) not in REFUSED:
            raise
        where = e.filename or next((f"{o} {getattr(args, d)}" for o, d in (("--out", "out"), ("--store", "store"),
                                    ("--html", "html")) if getattr(args, d, None)), "an output file")
        print(f"loyalsim: {where}: {cause(e)}; free space or choose a file or folder this user can write, then run "
              "the same command again", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        set_max_memory(None)
        set_cluster_timeout(None)


if __name__ == "__main__":
    sys.exit(main())
