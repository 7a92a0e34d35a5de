import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def scenarios_dir():
    return SCENARIOS


def small(path, *extra, customers=3000, days=365, reps=3, history=365):
    """Load a library scenario at test size (the rules are the same at any size)."""
    from sim import scenario
    over = [f"customers.initial={customers}", f"horizon_days={days}", f"replications={reps}",
            f"customers.history_days={history}", *extra]
    return scenario.load(SCENARIOS / path, over)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def invoke(*args):
    """Run the CLI in this process (fast); returns exit code, stdout and stderr like a subprocess."""
    import contextlib
    import io

    from sim.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse usage errors
            code = e.code
    return Result(code, out.getvalue(), err.getvalue())


def run_cli(*args, cwd=ROOT, timeout=600):
    """Run ``python -m sim`` as a separate process, as a user would."""
    import subprocess
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def run_programmes(programmes, base):
    """Each named programme from one launch base (replication 0); the finished models by arm name."""
    from sim.runner import run_arms
    from sim.scenario import validate
    res = run_arms(validate(base), 0, programmes, keep_models=True)
    return {k: v["model"] for k, v in res["arms"].items()}
