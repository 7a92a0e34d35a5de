"""``loyalsim calibrate``: fit the customer base of a scenario from a transaction log.

The main CLI (``sim/cli.py``) calls :func:`register` on its subparsers; the chosen
subcommand's ``func`` (:func:`run`) returns the exit code. User errors are raised
as :class:`sim.errors.UserError` / :class:`sim.errors.DataError`, which the main
CLI prints as one ``loyalsim: <message>`` line with exit code 2. A fit that does
not converge is not an exception: the report says so, no parameters are written,
and :func:`run` returns 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.errors import UserError

# Choices shown by --help, kept here so the command line starts without loading the fitting code
# (tests hold them equal to calibration.pipeline, .summary and .transactions).
MODEL_CHOICES = ("bgnbd", "paretonbd", "best")
TIME_UNITS = ("day", "week", "month", "year")
RETURNS_POLICIES = ("net", "net-drop-zero", "ignore", "error")
DUPLICATES_POLICIES = ("keep", "drop", "error")

DESCRIPTION = """\
Fit BG/NBD, Pareto/NBD (purchasing) and Gamma-Gamma (spend per order) to a
transaction log, check them on a holdout period, and write the 'customers:'
population block that scenarios include.
"""

EPILOG = """\
FILE is CSV (comma, semicolon, tab or pipe separated; decimal point or decimal
comma), Parquet, whitespace-separated text without a header (such as the CDNOW
sample), any of these compressed with gzip, bzip2, xz or zip, or an Excel .xlsx
workbook (needs the openpyxl package). Text may be UTF-8, UTF-16 with a
byte-order mark, or Windows-1252/Latin-1 (read with a warning). Purchases by one
customer on one day are merged into one transaction; purchases dated after today
are refused. Example:
  loyalsim calibrate orders.csv --calibration-end 2024-06-30 --out population.yaml
"""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``calibrate`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "calibrate", help="fit the customer base from a transaction log",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    register_backtest(subparsers)
    register_init(subparsers)
    return parser


INIT_TEMPLATE = """\
# A scenario around the customer base calibrated in {base}, written by loyalsim init.
# Answer the questions marked ANSWER before trusting a verdict: they are your business's
# numbers, and no log holds them. Then: loyalsim run {out_name} --html report.html
name: {name}
description: "A points programme on the real customers of {base_name}"
horizon_days: 730             # two years after launch
start_date: {start}          # launch: the day after the calibration period
replications: 20

customers:
  include: {base_rel}
{start_line}
economics:
  currency: EUR               # ANSWER: your currency label
  gross_margin: 0.30          # ANSWER: gross margin on list price (grocery 0.25-0.30, fashion 0.5-0.6)
  delivery_fee: 0             # ANSWER: what customers pay per delivery (0 if they collect or it is free)
  programme_setup_cost: 50000 # ANSWER: launch cost (platform set-up, cards, training)
  programme_fixed_cost_per_month: 5000   # ANSWER: running cost (licence, CRM staff)
  discount_rate: 0.10         # for lifetime value

# One programme to start from: points on spend, redeemed as a discount. Change it, or
# add tiers (programme.tiers, with count_history: true to place your customers by their
# own spend), a paid subscription, campaigns: loyalsim validate {out_name} --explain lists
# every field with its default, range and source.
programme:
  points:
    earn_per_currency: 1      # ANSWER: points per unit of currency paid
    point_value: 0.01         # ANSWER: what a point is worth at redemption (1 point per 1.00 -> 1% back)
    reward_type: discount
    redemption: {{mode: threshold, threshold: 500}}
    expiry: {{months_after_earning: 24}}
"""


def register_init(subparsers) -> argparse.ArgumentParser:
    """Add the ``init`` subcommand: a commented scenario around a calibrated base."""
    parser = subparsers.add_parser(
        "init", help="write a commented scenario around a calibrated customer base",
        description="Write a scenario that includes a population block written by loyalsim calibrate --out (and "
                    "starts from its twin when it has one), with the economics a user must answer and one "
                    "programme block to start from. The scenario is validated before it is written.")
    parser.add_argument("base", metavar="POPULATION.yaml", help="the block loyalsim calibrate --out wrote")
    parser.add_argument("--out", metavar="FILE.yaml", required=True, help="the scenario to write")
    parser.add_argument("--force", action="store_true", help="overwrite FILE.yaml if it exists")
    parser.set_defaults(func=run_init)
    return parser


def run_init(args: argparse.Namespace) -> int:
    import datetime as dt
    import os

    import yaml

    from sim.scenario import load
    base, out = Path(args.base), Path(args.out)
    if not base.is_file():
        raise UserError(f"init: {base} does not exist; write it with loyalsim calibrate LOG --out {base}")
    try:
        block = yaml.safe_load(base.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"init: {base} is not YAML ({type(e).__name__})") from None
    customers = block.get("customers") if isinstance(block, dict) else None
    if not isinstance(customers, dict):
        raise UserError(f"init: {base} has no 'customers:' block; allowed: a block written by loyalsim calibrate --out")
    if out.exists() and not args.force:
        raise UserError(f"init: --out {out} exists; use --force to overwrite it")
    _check_out(args)
    start = dt.date.today() + dt.timedelta(days=1)
    import re
    m = re.search(r"^# calibration end: (\d{4}-\d{2}-\d{2})", base.read_text(encoding="utf-8"), re.M)
    if m:
        start = dt.date.fromisoformat(m.group(1)) + dt.timedelta(days=1)
    twin = customers.get("twin")
    start_line = ("  start: twin                 # the real customers of the log, each one agent (docs/twin.md)\n"
                  if twin else "")
    text = INIT_TEMPLATE.format(base=base, base_name=base.name, out_name=out.name, name=out.stem.replace("_", " "),
                                start=start.isoformat(), start_line=start_line,
                                base_rel=os.path.relpath(base.resolve(), out.resolve().parent))
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load(tmp)
    except UserError:
        tmp.unlink()
        raise
    os.replace(tmp, out)
    print(f"wrote {out}: answer the lines marked ANSWER, then loyalsim run {out}")
    return 0


def register_backtest(subparsers) -> argparse.ArgumentParser:
    """Add the ``backtest`` subcommand: the twin's no-programme world against the log's holdout."""
    parser = subparsers.add_parser(
        "backtest", help="check the simulated world against what the log's customers did next",
        description="Calibrate on the log up to --calibration-end, run the no-programme world of the twin (the real "
                    "customers at that date) through the holdout, and set it against what those customers actually "
                    "did: repeat transactions, revenue, active customers, by month and per customer.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example:\n  loyalsim backtest orders.csv --calibration-end 2024-06-30 -r 20 --html backtest.html")
    parser.add_argument("file", metavar="FILE", help="transaction log (as for loyalsim calibrate)")
    parser.add_argument("--calibration-end", metavar="DATE", required=True,
                        help="last day of the calibration period (YYYY-MM-DD)")
    parser.add_argument("--holdout-end", metavar="DATE", help="last day of the holdout (default: the log's last day)")
    parser.add_argument("-r", "--replications", type=int, default=20, metavar="N",
                        help="simulated worlds (default: 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--customer-col", metavar="NAME", help="customer id column")
    parser.add_argument("--date-col", metavar="NAME", help="purchase date column")
    parser.add_argument("--amount-col", metavar="NAME", help="order value column")
    parser.add_argument("--date-format", metavar="FMT", help="strftime format of the dates")
    parser.add_argument("--time-unit", choices=TIME_UNITS, default="week", help="unit of time (default: week)")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="best", help="purchase model (default: best)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the text report")
    parser.add_argument("--html", metavar="FILE", help="write a small HTML page with the tracking plot")
    parser.set_defaults(func=run_backtest)
    return parser


def run_backtest(args: argparse.Namespace) -> int:
    """Run ``loyalsim backtest``; return the exit code."""
    if not 2 <= args.replications <= 1000:
        raise UserError(f"--replications: {args.replications}; allowed: 2 to 1000 (the range needs several worlds)")
    if args.html:
        from reports.html.page import check_writable
        check_writable(args.html)
    from calibration.backtest import backtest
    from sim.documents import stamp
    from sim.plain import plain
    from sim.verdict import of_backtest
    doc = backtest(args.file, calibration_end=args.calibration_end, holdout_end=args.holdout_end,
                   replications=args.replications, seed=args.seed, time_unit=args.time_unit, model=args.model,
                   customer_col=args.customer_col, date_col=args.date_col, amount_col=args.amount_col,
                   date_format=args.date_format)
    doc = stamp("backtest", plain(doc))
    doc["verdict"] = of_backtest(doc).as_dict()
    if args.json:
        print(json.dumps(doc, allow_nan=False))
    else:
        from reports.terminal import render
        print(render(doc))
    if args.html:
        from reports.html import render_backtest
        from reports.html.page import write_report
        write_report(args.html, render_backtest(doc))
        print(f"wrote the backtest page to {args.html}", file=sys.stderr if args.json else sys.stdout)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="transaction log (CSV, Parquet, whitespace text, gzip/zip of those, or Excel .xlsx)")
    columns = parser.add_argument_group("columns (guessed from the names when not given)")
    columns.add_argument("--customer-col", metavar="NAME", help="customer id column")
    columns.add_argument("--date-col", metavar="NAME", help="purchase date column")
    columns.add_argument("--amount-col", metavar="NAME", help="order value column")
    columns.add_argument("--date-format", metavar="FMT",
                         help="strftime format of the dates, e.g. '%%d/%%m/%%Y' (default: YYYYMMDD, ISO, or d/m/Y "
                              "vs m/d/Y told apart from the data)")
    parser.add_argument("--returns", choices=RETURNS_POLICIES, default="net",
                        help="negative and zero amounts: net (default: returns netted into the same day, days with "
                             "net < 0 dropped, free orders kept), net-drop-zero, ignore, error")
    parser.add_argument("--duplicates", choices=DUPLICATES_POLICIES, default="keep",
                        help="rows that repeat an earlier row exactly: keep (default, with a warning: identical "
                             "order lines), drop (a log exported twice), error")
    parser.add_argument("--calibration-end", metavar="DATE",
                        help="last day of the calibration period (YYYY-MM-DD); later purchases are the holdout")
    parser.add_argument("--time-unit", choices=TIME_UNITS, default="week",
                        help="unit of time for recency, T, alpha and beta (default: week)")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="best",
                        help="purchase model to write (default: best, the better-fitting converged one)")
    parser.add_argument("--segments", action="store_true", help="add RFM segments to the population block")
    parser.add_argument("--out", metavar="FILE.yaml", help="write the population block to this file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the text report")
    parser.add_argument("--targets", metavar="FILE",
                        help="no log? calibrate the base to the KPIs you know (YAML: retention_rate, average_check, "
                             "purchase_frequency, loyal_share, repeat_purchase_rate, customers) by simulation")
    parser.add_argument("--response", metavar="FILE",
                        help="fit a scenario's programme-response strengths to observed lifts "
                             "(YAML: scenario, lifts); --out writes the response block")
    parser.add_argument("--beyond-evidence", action="store_true",
                        help="with --response: let the strengths go past the evidence ranges (to the schema's limit, 20x "
                             "the defaults) to see what reaching the lifts would take; the block is written with a warning")
    parser.add_argument("--acquisition-per-day", type=float, metavar="X",
                        help="genuinely new customers a day, if you know it (default: estimated with the log's left "
                             "edge taken out; the report says how)")
    parser.add_argument("--acquisition-from", metavar="DATE",
                        help="first purchases from DATE on are new customers: the rate is their count a day from DATE "
                             "to the calibration end")
    parser.add_argument("--no-twin", action="store_true",
                        help="with --out: do not write the twin (the per-customer Parquet file beside the block)")
    parser.add_argument("--twin-salt", metavar="HEX|FILE",
                        help="the salt of the twin's customer hashes (hex, or a .salt file from an earlier run) to "
                             "keep the hashes equal across calibrations; default: a new salt, written beside the twin")
    parser.add_argument("--maxiter", type=int, default=500, metavar="N",
                        help="optimiser iteration limit per fit (default: 500)")


def run(args: argparse.Namespace) -> int:
    """Run ``loyalsim calibrate``; return the exit code."""
    if getattr(args, "targets", None) or getattr(args, "response", None):
        if args.file:
            raise UserError("calibrate: give a transaction log FILE, or --targets, or --response, not several")
        if args.targets and args.response:
            raise UserError("calibrate: --targets and --response are separate steps; run them one at a time")
        _check_out(args)
        return _run_targets(args) if args.targets else _run_response(args)
    if not args.file:
        raise UserError("calibrate: FILE is required: a transaction log (CSV, Parquet or whitespace text)")
    from calibration.pipeline import calibrate
    from calibration.population import write_population_block
    from calibration.report import report_dict, report_text
    if args.maxiter < 1:
        raise UserError(f"--maxiter: {args.maxiter} is not allowed; use a positive number of iterations")
    _check_out(args)
    if args.acquisition_per_day is not None and args.acquisition_from:
        raise UserError("calibrate: give --acquisition-per-day or --acquisition-from, not both")

    result = calibrate(
        args.file,
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        date_format=args.date_format,
        returns=args.returns,
        duplicates=args.duplicates,
        calibration_end=args.calibration_end,
        time_unit=args.time_unit,
        model=args.model,
        segments=args.segments,
        maxiter=args.maxiter,
        acquisition_per_day=args.acquisition_per_day,
        acquisition_from=args.acquisition_from,
    )
    # warnings and problems first, then the results (a reader of a long report sees them at the top)
    problems = result.problems()
    if problems:
        print("loyalsim: calibrate: " + "; ".join(problems) + "; no parameters written", file=sys.stderr, flush=True)
    check = _backtest_check(result, args)
    if args.json:
        print(json.dumps({**report_dict(result), "backtest": check}, allow_nan=False))
    else:
        print(report_text(result) + _backtest_lines(check))
    if problems:
        return 2
    if args.out:
        block = result.population_block()
        twin_note = ""
        if not args.no_twin:
            from calibration.twin import new_salt, read_salt, twin_path, twin_table, write_twin
            tpath = twin_path(args.out)
            salt = read_salt(args.twin_salt) if args.twin_salt else new_salt(tpath)
            write_twin(tpath, twin_table(result, salt), result)
            block["customers"]["twin"] = tpath.name
            twin_note = (f", the twin of its {result.summary.n_customers:,} customers to {tpath} "
                         f"(customer ids as salted hashes; the salt is in {tpath}.salt: keep it private)")
        write_population_block(
            args.out, block, source=result.log.source,
            n_customers=result.summary.n_customers, n_transactions=result.log.n_transactions,
            segments=result.segments, calibration_end=result.summary.calibration_end.date().isoformat(),
        )
        note = f"wrote the population block to {args.out}" + twin_note
        from calibration.population import uncertainty_block, write_uncertainty_block
        unc = uncertainty_block(result.purchase_fit, result.spend_fit)
        if unc["uncertainty"]["parameters"]:
            upath = Path(args.out).with_suffix(".uncertainty.yaml")
            write_uncertainty_block(upath, unc, source=result.log.source)
            note += f", and the fitted parameters' uncertainty to {upath} (for loyalsim psa)"
        print(note, file=sys.stderr if args.json else sys.stdout)
    return 0


BACKTEST_WORLDS = 5            # calibrate's own check: a few worlds (loyalsim backtest runs 20 by default)
BACKTEST_MAX_CUSTOMERS = 200_000  # above this the check is left to loyalsim backtest (it would double the wait)


def _backtest_check(result, args) -> dict | None:
    """With a holdout: the twin's no-programme world against it, in brief (None without one)."""
    summary = result.summary
    if not summary.has_holdout or result.problems():
        return None
    if summary.n_customers > BACKTEST_MAX_CUSTOMERS:
        return {"skipped": f"{summary.n_customers:,} customers: run loyalsim backtest for the check"}
    from calibration.backtest import MIN_HOLDOUT_DAYS, MIN_REPEAT_CUSTOMERS, simulate_holdout
    days = (summary.holdout_end - summary.calibration_end).days
    if days < MIN_HOLDOUT_DAYS or int((summary.customers["frequency"] > 0).sum()) < MIN_REPEAT_CUSTOMERS:
        return {"skipped": f"the holdout needs {MIN_HOLDOUT_DAYS} days and {MIN_REPEAT_CUSTOMERS} repeat customers"}
    from sim.plain import plain
    from sim.verdict import of_backtest
    doc = plain(simulate_holdout(result, replications=BACKTEST_WORLDS))
    keep = ("holdout", "per_customer_correlation", "closed_form_correlation", "acquisition_per_day", "replications",
            "tolerance")
    brief = {k: doc[k] for k in keep}
    brief["verdict"] = of_backtest(doc).as_dict()
    return brief


def _backtest_lines(check) -> str:
    if not check:
        return ""
    if "skipped" in check:
        return f"\n\nBacktest: not run ({check['skipped']})."
    h = check["holdout"]
    s = h["simulated"]
    out = ["", "", f"Backtest: the twin's no-programme world over the holdout ({check['replications']} worlds; "
           "loyalsim backtest for the months and more worlds)"]
    for key, label in (("transactions", "repeat transactions"), ("revenue", "revenue"),
                       ("active_customers", "active customers")):
        out.append(f"  {label:22} actual {h['actual'][key]:>12,.0f}   simulated {s[key]['mean']:>12,.0f}   "
                   f"error {100 * (h['error'][key] or 0):+.1f}%")
    corr, closed = check["per_customer_correlation"], check["closed_form_correlation"]
    if corr is not None and closed is not None:
        out.append(f"  per-customer correlation {corr:.3f} (closed form {closed:.3f})")
    v = check["verdict"]
    out.append(f"  {v['headline']}: {v['sentence']}")
    out += [f"  {n}" for n in v["notes"]]
    return "\n".join(out)


def _check_out(args):
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: the folder {Path(args.out).resolve().parent} does not exist")


def _write_yaml(path, block, header):
    import yaml
    Path(path).write_text(header + yaml.safe_dump(block, sort_keys=False))


def _run_targets(args) -> int:
    """KPI calibration: the base's parameters from the KPIs a business knows, by simulation."""
    from calibration.kpi import fit_kpis, read_targets, render
    targets = read_targets(args.targets)
    fit = fit_kpis(targets)
    if args.json:
        print(json.dumps({
            "targets": fit.targets, "achieved": fit.achieved, "errors": fit.errors,
            "within_tolerance": fit.within_tolerance, "tolerance": fit.tolerance, "conflicts": fit.conflicts,
            "params": fit.params, "spend": fit.spend, "simulations": fit.evaluations,
            "other_seeds": {"seeds": fit.check_seeds, "customers": fit.check_customers, "kpis": fit.check},
            "population": fit.block(targets.customers, targets.history_days),
        }, allow_nan=False))
    else:
        print(render(fit))
    if not fit.within_tolerance:
        print("loyalsim: calibrate --targets: the KPIs could not all be met within "
              f"{fit.tolerance:.0%}; no parameters written", file=sys.stderr)
        return 2
    if args.out:
        _write_yaml(args.out, fit.block(targets.customers, targets.history_days),
                    f"# written by loyalsim calibrate --targets {args.targets}: BG/NBD and Gamma-Gamma parameters\n"
                    "# whose simulated no-programme KPIs match the targets (simulated method of moments)\n")
        print(f"wrote the population block to {args.out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _run_response(args) -> int:
    """Programme response from evidence: response strengths that reproduce observed lifts."""
    from calibration.response import fit_response, read_evidence, render, response_block
    evidence = read_evidence(args.response)
    fit = fit_response(evidence, beyond_evidence=getattr(args, "beyond_evidence", False))
    if args.json:
        print(json.dumps({
            "strengths": fit.strengths, "baseline": fit.baseline, "programme": fit.programme,
            "target_lifts": fit.targets, "simulated_lifts": fit.achieved, "errors": fit.errors,
            "notes": fit.notes, "simulations": fit.evaluations,
        }, allow_nan=False))
    else:
        print(render(fit))
    if not fit.within_tolerance:
        print("loyalsim: calibrate --response: the lifts are out of reach within the evidence ranges of the response "
              "strengths; no response block written", file=sys.stderr)
        return 2
    if args.out:
        beyond = {c: s for c, s in fit.strengths.items() if s > 2.0}
        warning = ("# WARNING: beyond the evidence: " + ", ".join(f"{c} {s:.3g}x" for c, s in beyond.items())
                   + " the evidence-sized defaults (the evidence allows up to 2x)\n") if beyond else ""
        _write_yaml(args.out, response_block(fit),
                    f"# written by loyalsim calibrate --response {args.response}: response strengths per channel\n"
                    + warning + "# include it in the scenario: response: {include: THIS_FILE}\n")
        print(f"wrote the response block to {args.out}", file=sys.stderr if args.json else sys.stdout)
    return 0
