"""A killed sweep or uncertainty analysis resumes from the result store to the same answer."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

TINY = ["customers.initial=1500", "horizon_days=200", "customers.history_days=200"]


# --------------------------------------------------------------------------- resuming

def _children(pid):
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(d.name))
    return kids


@pytest.mark.parametrize("command", [
    ["sweep", "scenarios/points_and_tiers.yaml", "--vary", "programme.points.earn_per_currency=0.05:0.3:6", "-r", "2"],
    ["psa", "scenarios/points_and_tiers.yaml", "--draws", "12", "-r", "2", "--no-tornado"],
])
@pytest.mark.slow
def test_a_killed_study_resumes_from_the_store(tmp_path, command):
    store = tmp_path / "store"
    args = [*command, "--json", "-j", "2", "--store", str(store), *sum((["--set", s] for s in TINY), [])]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(store.glob("records/*/*.parquet"))) < 4 and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    kept = len(list(store.glob("records/*/*.parquet")))
    assert kept >= 4
    resumed = run_cli(*args)
    fresh = run_cli(*[a for a in args if a not in ("--store", str(store))])
    assert resumed.returncode == 0 and fresh.returncode == 0, resumed.stderr + fresh.stderr
    assert json.loads(resumed.stdout) == json.loads(fresh.stdout)
