"""Deciding under uncertainty: sweeps, the PSA, the value of information and pilots, against known answers."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

import sim
from conftest import ROOT, SCENARIOS, invoke, run_cli, small
from sim.errors import ScenarioError
from sim.studies import voi
from sim.studies.priors import priors_of
from sim.studies.psa import run_psa
from sim.studies.sweep import factor, run_sweep

TINY = ["customers.initial=1500", "horizon_days=200", "customers.history_days=200"]


# --------------------------------------------------------------------------- value of information: closed forms

def _ev_max0(mu, sd):
    """E[max(X, 0)] - max(mu, 0) for X ~ N(mu, sd^2): the EVPI of a two-option linear decision."""
    return sd * norm.pdf(mu / sd) + mu * norm.cdf(mu / sd) - max(mu, 0.0)


def test_evpi_and_evppi_match_closed_forms_on_a_linear_normal_decision():
    # INB = mu + b . theta, theta ~ N(0, I): INB ~ N(mu, |b|^2) and E[INB | theta_G] ~ N(mu, |b_G|^2),
    # so EVPI and every EVPPI have closed forms. The smallest value here (theta_3 alone, 1.67) is the
    # hardest: a small difference of two means, and its regression sees the other parameters as
    # noise (slope standard error 0.29 of 20, which moves this EVPPI by ~4%). At 40,000 draws both
    # errors are about 4-5% of it, so 10% is a bit over two standard errors
    rng = np.random.default_rng(11)
    n = 40000
    theta = rng.standard_normal((n, 3))
    b = np.array([50.0, 30.0, 20.0])
    mu = 20.0
    nb = np.column_stack([np.zeros(n), mu + theta @ b + rng.normal(0, 5, n)])  # plus a little simulation noise
    assert voi.evpi(nb) == pytest.approx(_ev_max0(mu, math.hypot(math.hypot(*b), 5)), rel=0.10)
    values = {}
    for g in ([0], [1], [2], [0, 1], [0, 1, 2]):
        values[tuple(g)] = voi.evppi(nb, theta[:, g])
        assert values[tuple(g)] == pytest.approx(_ev_max0(mu, float(np.linalg.norm(b[g]))), rel=0.10), g
    # never more than all of it, and never less when a parameter joins the group
    assert all(v <= voi.evpi(nb) for v in values.values())
    assert values[(0,)] <= values[(0, 1)] <= values[(0, 1, 2)]
    assert values[(1,)] <= values[(0, 1)]


def test_an_irrelevant_parameter_has_no_value_of_information():
    rng = np.random.default_rng(3)
    theta = rng.standard_normal((3000, 2))
    nb = np.column_stack([np.zeros(3000), 10 + 40 * theta[:, 0]])
    assert voi.evppi(nb, theta[:, [1]]) < 0.05 * voi.evpi(nb)


# --------------------------------------------------------------------------- sweeps

def test_a_sweep_over_a_field_that_does_nothing():
    """A monthly points cap far above anything earned changes nothing: on common random numbers
    every point's lift is exactly that of the point with the same earn rate, and its Sobol
    indices are zero; the earn rate itself moves the answer."""
    sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", customers=1500, days=200, history=200, reps=1)
    factors = [factor("programme.points.earn_per_currency", "0.05:0.5"),
               factor("programme.points.caps.per_month", "1e8:2e8")]
    res = run_sweep(sc, factors, "sobol", samples=8, replications=1, backend="serial")
    idx = res.indices
    cap, earn = idx["programme.points.caps.per_month"], idx["programme.points.earn_per_currency"]
    assert cap["first_order"] == 0.0 and cap["total_order"] == 0.0
    assert earn["total_order"] > 0.5
    t = res.table
    for _, same in t.groupby("programme.points.earn_per_currency"):
        assert same["lift_revenue"].nunique() == 1 and same["incremental_profit"].nunique() == 1


def test_sweep_points_share_the_baseline_and_match_plain_runs():
    sc = small("points_and_tiers.yaml", *[], customers=1500, days=200, history=200, reps=2)
    res = run_sweep(sc, [factor("programme.points.earn_per_currency", [0.05, 0.2])], "grid", replications=2,
                    backend="serial")
    # every point's baseline is the same record per replication, and a point reproduces a plain run
    plain = sim.run(sc.with_overrides({"programme.points.earn_per_currency": 0.2}), backend="serial")
    got = res.table.query("`programme.points.earn_per_currency` == 0.2").sort_values("replication")
    assert got["incremental_profit"].tolist() == list(plain.incremental_profit())


def test_sweep_command_tables_and_bad_input(tmp_path):
    out = tmp_path / "sw"
    r = invoke("sweep", "scenarios/points_and_tiers.yaml", "--vary", "programme.points.earn_per_currency=0.05:0.2:2",
               "--vary", "programme.tiers.downgrade=none,one_step", "-r", "1", *sum((["--set", s] for s in TINY), []),
               "--out", out, "--format", "csv", "--json", "-j", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["points"] == 4 and doc["varied"] == ["programme.points.earn_per_currency", "programme.tiers.downgrade"]
    import pandas as pd
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 4 and {"point", "replication", "incremental_profit", "lift_revenue"} <= set(table.columns)
    for bad, says in (("programme.points.earn_per_currency=0.3:0.1", "LOW <= HIGH"),
                      ("programme.points.earn_rate=0.1,0.2", "earn_rate"),
                      ("programme.points.earn_per_currency=-1,0.1", "earn_per_currency")):
        r = invoke("sweep", "scenarios/points_and_tiers.yaml", "--vary", bad, "-r", "1")
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, (bad, r.stderr)


# --------------------------------------------------------------------------- the PSA

def test_zero_width_priors_reproduce_the_plain_run_exactly(tmp_path):
    p = tmp_path / "fixed.yaml"
    p.write_text(f"include: {SCENARIOS / 'points_and_tiers.yaml'}\n"
                 "uncertainty:\n  defaults: false\n  parameters:\n"
                 "    programme.points.behaviour.goal_gradient: {dist: uniform, low: 0.8, high: 0.8}\n"
                 "    response.value_half: {dist: fixed, value: 0.1}\n")
    sc = sim.load(p, {k.split("=")[0]: float(k.split("=")[1]) for k in TINY})
    psa = run_psa([sc], draws=4, replications=2, tornado=False, backend="serial")
    plain = sim.run(sc, replications=2, backend="serial").incremental_profit()
    assert list(psa.incremental[:, 0]) == [plain[d % 2] for d in range(4)]
    doc = psa.summary()
    assert doc["evpi"] == 0.0
    assert doc["strategies"][psa.strategies[0]]["noise_share_of_variance"] == pytest.approx(1.0)


def test_default_priors_come_from_the_evidence_ranges():
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml")
    pr = priors_of(sc)
    fields = pr.fields
    assert "programme.points.behaviour.goal_gradient" in fields and "programme.enrolment.share" in fields
    assert "response.intensity" not in fields  # a calibration knob, not an assumption to draw
    assert not any(f.startswith("programme.subscription") for f in fields)  # not in this programme
    assert set(pr.groups) >= {"points response", "tiers response", "who joins (enrolment)", "value curve"}
    draws = pr.sample(500, 1)
    gg = draws[:, fields.index("programme.points.behaviour.goal_gradient")]
    assert 0.5 <= gg.min() and gg.max() <= 1.2 and abs(np.median(gg) - 0.83) < 0.05  # triangular 0.5 / 0.8 / 1.2


def test_bad_uncertainty_blocks_name_the_field(tmp_path):
    cases = {
        "programme.points.earn_rate: {dist: uniform, low: 0, high: 1}": "not a numeric field",
        "programme.points.behaviour.goal_gradient: {dist: gaussian, mean: 1, sd: 1}": "allowed: uniform",
        "programme.points.behaviour.goal_gradient: {dist: normal, mean: 1, sd: 1}": "outside what the field allows",
        "programme.enrolment.share: {dist: uniform, low: 0.6, high: 0.2}": "low <= high",
    }
    for text, says in cases.items():
        p = tmp_path / "u.yaml"
        p.write_text(f"include: {SCENARIOS / 'points_and_tiers.yaml'}\nuncertainty:\n  parameters:\n    {text}\n")
        r = invoke("psa", p, "--draws", "2")
        assert r.returncode == 2 and says in r.stderr and "uncertainty.parameters" in r.stderr, (text, r.stderr)


@pytest.mark.slow
def test_flagship_psa_is_unsure_and_names_what_decides_it():
    """The flagship at its size, its default priors: it may or may not pay (0 < p < 1), and the
    value of information names a group. (The README's 200-draw figures come from the full run.)"""
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml")
    psa = run_psa([sc], draws=40, replications=2, tornado=False, workers=2)
    doc = psa.summary()
    p = doc["strategies"][psa.strategies[0]]["probability_pays"]
    assert 0.0 < p < 1.0, p
    assert doc["evpi"] > 0 and doc["largest_evppi_group"] in doc["evppi"]
    assert all(g["evppi"] <= doc["evpi"] * 1.001 for g in doc["evppi"].values())


def test_several_strategies_get_the_probability_each_is_best():
    scs = [small(f, *[], customers=1200, days=200, history=200) for f in ("points_and_tiers.yaml", "tiers.yaml")]
    psa = run_psa(scs, draws=6, replications=2, tornado=False, backend="serial")
    dec = psa.summary()["decision"]
    assert dec["options"][0] == "no programme" and len(dec["options"]) == 3
    assert sum(dec["probability_best"].values()) == pytest.approx(1.0)


# --------------------------------------------------------------------------- pilots

def test_pilot_power_rises_with_size_and_length_and_evsi_stays_below_evpi():
    from sim.studies.pilot import add_evsi, run_pilot
    # a programme with an effect a pilot can find (a 10% points reward; about +10% in orders)
    sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", "programme.points.point_value=1.0",
               customers=6000, days=730, history=365)
    powers = {}
    for members, months in ((500, 6), (2000, 6), (2000, 12)):
        res = run_pilot(sc, members, members, months, replications=3, evsi=False, backend="serial")
        d = res.summary()
        powers[(members, months)] = d["power_normal_approximation"]
        assert d["minimum_detectable_lift"] > 0
    assert powers[(500, 6)] < powers[(2000, 6)] < powers[(2000, 12)], powers
    # EVSI, by regression on the PSA draws, is at most EVPI, and grows with the pilot's size
    res = run_pilot(sc, 1000, 1000, 6, replications=3, draws=30, psa_replications=2, backend="serial")
    doc = res.summary()
    evsis = [s["evsi"] for s in doc["sizes"]]
    assert all(e <= doc["evpi"] * 1.001 for e in evsis), (evsis, doc["evpi"])
    assert evsis[0] <= evsis[-1] + 1e-6


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
