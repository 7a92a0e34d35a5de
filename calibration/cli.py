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

from calibration.pipeline import MODEL_CHOICES, calibrate
from calibration.population import write_population_block
from calibration.report import report_dict, report_text
from calibration.summary import DAYS_PER_UNIT
from calibration.transactions import RETURNS_POLICIES
from sim.errors import UserError

DESCRIPTION = """\
Fit BG/NBD, Pareto/NBD (purchasing) and Gamma-Gamma (spend per order) to a
transaction log, check them on a holdout period, and write the 'customers:'
population block that scenarios include.
"""

EPILOG = """\
FILE is CSV, Parquet, or whitespace-separated text without a header (such as the
CDNOW sample). Purchases by one customer on one day are merged into one
transaction. Example:
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
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="transaction log (CSV, Parquet or whitespace text)")
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
    parser.add_argument("--calibration-end", metavar="DATE",
                        help="last day of the calibration period (YYYY-MM-DD); later purchases are the holdout")
    parser.add_argument("--time-unit", choices=list(DAYS_PER_UNIT), default="week",
                        help="unit of time for recency, T, alpha and beta (default: week)")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="best",
                        help="purchase model to write (default: best, the better-fitting converged one)")
    parser.add_argument("--segments", action="store_true", help="add RFM segments to the population block")
    parser.add_argument("--out", metavar="FILE.yaml", help="write the population block to this file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the text report")
    parser.add_argument("--targets", metavar="FILE", help="calibrate to KPI targets (not available yet)")
    parser.add_argument("--maxiter", type=int, default=500, metavar="N",
                        help="optimiser iteration limit per fit (default: 500)")


def run(args: argparse.Namespace) -> int:
    """Run ``loyalsim calibrate``; return the exit code."""
    if getattr(args, "targets", None):
        raise UserError(f"--targets {args.targets}: calibration to KPI targets is not available yet; "
                        "calibrate from a transaction log FILE instead")
    if not args.file:
        raise UserError("calibrate: FILE is required: a transaction log (CSV, Parquet or whitespace text)")
    if args.maxiter < 1:
        raise UserError(f"--maxiter: {args.maxiter} is not allowed; use a positive number of iterations")
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: the folder {Path(args.out).resolve().parent} does not exist")

    result = calibrate(
        args.file,
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        date_format=args.date_format,
        returns=args.returns,
        calibration_end=args.calibration_end,
        time_unit=args.time_unit,
        model=args.model,
        segments=args.segments,
        maxiter=args.maxiter,
    )
    if args.json:
        print(json.dumps(report_dict(result), allow_nan=False))
    else:
        print(report_text(result))

    problems = result.problems()
    if problems:
        print("loyalsim: calibrate: " + "; ".join(problems) + "; no parameters written", file=sys.stderr)
        return 2
    if args.out:
        write_population_block(
            args.out, result.population_block(), source=result.log.source,
            n_customers=result.summary.n_customers, n_transactions=result.log.n_transactions,
            segments=result.segments,
        )
        note = f"wrote the population block to {args.out}"
        print(note, file=sys.stderr if args.json else sys.stdout)
    return 0
