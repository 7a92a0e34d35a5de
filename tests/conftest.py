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
    from sim.scenario import validate
    from sim.work import run_models
    return run_models(validate(base), programmes)


def one_replication(sc, arms: dict, replication=0):
    """Records of one replication: "baseline" and each named arm (a scenario, or a programme block)."""
    from sim.work import Unit, _plain_block, record_key, simulate
    scs = {n: (a if hasattr(a, "cfg") else sc.with_overrides({"programme": _plain_block(a)})) for n, a in arms.items()}
    unit = Unit(sc, replication, tuple((record_key(sc, replication, a), a) for a in scs.values()), True)
    recs = simulate(unit)
    return {"baseline": recs[0], **dict(zip(scs, recs[1:]))}
