"""``python -m calibration [calibrate] FILE ...``: the calibrate command on its own.

Same options and exit codes as ``loyalsim calibrate``: user errors print one
``loyalsim: <message>`` line on stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import sys

from calibration.cli import register
from sim.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m calibration")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "calibrate" and argv[0] not in ("-h", "--help"):
        argv.insert(0, "calibrate")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"loyalsim: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)


if __name__ == "__main__":
    sys.exit(main())
