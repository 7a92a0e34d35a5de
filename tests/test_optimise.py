"""Finding the best programme: the search, the selection's guarantee, the winner's curse, resuming, bad input."""
import hashlib
import json
import math
import re
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from conftest import ROOT, SCENARIOS, invoke
from sim.studies import optimise as opt
from sim.studies.selection import kn
from sim.studies.sweep import Factor

TINY = ["--set", "customers.initial=800", "--set", "horizon_days=90", "--set", "customers.history_days=90"]
QUICK = ["--finalists", "2", "--initial", "3", "--max-replications", "6", "--confirm", "2", "-j", "2"]
VIP = SCENARIOS / "subscription_vip.yaml"


# --------------------------------------------------------------------------- stubs (no simulator)

def crn_toy(means, sds, rho, seed):
    """k designs with known normal means and sds; replication r moves every design together (correlation rho
    between any two designs' noise), as common random numbers do. Design with sd 0 is a constant."""
    rng = np.random.default_rng(seed)
    cache = {}

    def sample(d, r):
        if r not in cache:
            cache[r] = (rng.standard_normal(), rng.standard_normal(len(means)))
        z, e = cache[r]
        return means[d] + sds[d] * (math.sqrt(rho) * z + math.sqrt(1 - rho) * e[d])
    return sample


def _unit_normal(*key) -> float:
    """A standard normal that is a pure function of its key (a design and a replication seed)."""
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).digest()
    return float(np.random.default_rng(int.from_bytes(h[:8], "little")).standard_normal())


class StubEvaluator:
    """A stand-in for the simulator: design x in [0, 1] has mean f(x); replication r adds a common shock (the
    same for every design: CRN) and the design's own noise; both are pure functions of (world, design, r)."""

    workers = 2

    def __init__(self, f, common=10.0, own=10.0, world=0, downside=None):
        self.f, self.common, self.own, self.world = f, common, own, world
        self.calls = []            # (designs, replications) asked for
        self.downside = downside   # for evaluate_draws: x -> (mean, spread) over the draws

    def check(self, design):
        return None

    def value(self, design, r):
        x = design["x"]
        return (self.f(x) + self.common * _unit_normal(self.world, "common", r)
                + self.own * _unit_normal(self.world, design, r))

    def evaluate(self, designs, replications):
        reps = list(replications)
        self.calls.append((list(designs), reps))
        out = {}
        for i, d in enumerate(designs):
            for r in reps:
                v = self.value(d, r)
                out[(i, r)] = {**opt.no_programme_measures(1e6), "incremental_profit": v, "npv": v,
                               "liability_end": 100 * d["x"], "programme_cost": 50.0}
        return out

    def evaluate_draws(self, designs, draws, seed):
        out = {}
        for i, d in enumerate(designs):
            for k in range(draws):
                z = _unit_normal("draw", seed, k)          # the same world for every design in draw k
                mean, spread = self.downside(d["x"])
                v = mean + spread * z
                out[(i, k)] = {**opt.no_programme_measures(1e6), "incremental_profit": v}
        return out, ["assumption"]


def toy_problem(**kw):
    base = dict(factors=[Factor("x", 0.0, 1.0)], budget=20, replications=2, batch=4, seed=1, finalists=4,
                indifference=5.0, initial=10, max_replications=200, confirm=10)
    base.update(kw)
    return opt.Problem(**base)


def test_measures_of_one_replication():
    """NPV discounts each month's incremental profit at economics.discount_rate (end of month, as the lifetime
    value does); cost per member divides by enrolment's members, or by active customers without enrolment."""
    from types import SimpleNamespace as NS
    from sim.studies.plan import Outcome
    base = NS(metrics={"profit": 1000.0, "retention_rate": 0.60, "revenue": 5000.0, "programme_cost": 0.0},
              series={"profit": np.full(12, 100.0)}, mechanics={})
    prog = NS(metrics={"profit": 1240.0, "retention_rate": 0.62, "revenue": 5600.0, "programme_cost": 80.0,
                       "active_customers_end": 40.0},
              series={"profit": np.full(12, 120.0)},
              mechanics={"enrolment": {"members_end": 20.0}, "points": {"liability_end": 33.0}})
    m = opt.measures_of(Outcome(0, 0, base, prog), 0.10)
    monthly = (1.10) ** (1 / 12) - 1
    assert m["incremental_profit"] == 240.0 and m["roi"] == 3.0 and m["liability_end"] == 33.0
    assert m["npv"] == pytest.approx(sum(20.0 / (1 + monthly) ** k for k in range(1, 13)))
    assert m["retention_lift"] == pytest.approx(0.02) and m["programme_cost_per_member"] == 4.0
    prog.mechanics = {}
    m = opt.measures_of(Outcome(0, 0, base, prog), 0.10)
    assert m["programme_cost_per_member"] == 2.0 and m["liability_end"] == 0.0
    c = opt.parse_constraint(" programme_cost_per_member <= 3 ")
    assert c.violation(2.0) < 0 < c.violation(4.0) and c.violation(math.nan) == math.inf
    assert opt.parse_constraint("retention_lift>=0.01").violation(0.02) < 0


# --------------------------------------------------------------------------- the selection (KN)

@pytest.mark.parametrize("config", ["slippage", "several good"])
def test_kn_selects_correctly_at_least_at_its_nominal_level(config):
    """300 repetitions of KN on a toy with known means: the share that pick a design within delta of the best
    is at least 1 - alpha. The slippage configuration (the best exactly delta ahead of all the others, which
    tie) is the hardest the indifference zone allows; the noise is correlated across designs (CRN), unequal,
    and one design is a constant (no programme)."""
    delta, alpha = 1.0, 0.05
    if config == "slippage":
        means, sds = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0], [3.0, 2.0, 4.0, 3.0, 2.5, 0.0]
    else:  # two designs within delta of the best: picking any of the three is right
        means, sds = [1.0, 0.6, 0.2, -0.3, -1.0, 0.0], [3.0, 2.0, 4.0, 3.0, 2.5, 0.0]
    good = {d for d, m in enumerate(means) if m > max(means) - delta}
    hits, stages = 0, []
    for s in range(300):
        res = kn(len(means), crn_toy(means, sds, 0.6, s), delta=delta, alpha=alpha, n0=10, max_replications=1000,
                 replications=range(1000, 2000))
        assert res.guarantee
        hits += res.chosen in good
        stages.append(res.stages())
    assert hits / 300 >= 1 - alpha, f"P(correct selection) {hits / 300:.3f} below {1 - alpha}"
    assert min(stages) >= 10 and max(stages) > 10   # it spends more where the decision is close


def test_kn_decisions_do_not_depend_on_how_far_ahead_it_fetches():
    means, sds = [0.0, 0.4, 1.0, 0.8, 0.0], [3.0, 2.0, 4.0, 3.0, 0.0]
    a = kn(5, crn_toy(means, sds, 0.5, 7), delta=0.5, n0=8, max_replications=500, lookahead=1)
    b = kn(5, crn_toy(means, sds, 0.5, 7), delta=0.5, n0=8, max_replications=500, lookahead=6)
    assert a.chosen == b.chosen and a.values == b.values and a.eliminated == b.eliminated


def test_kn_ends_on_identical_designs_and_reports_a_cap_without_a_guarantee():
    same = kn(3, lambda d, r: [5.0, 5.0, 1.0][d] + _unit_normal(r), delta=0.1, n0=5, max_replications=50)
    assert same.guarantee and same.chosen == 0 and same.stages() == 5
    capped = kn(2, crn_toy([0.0, 0.01], [5.0, 5.0], 0.0, 1), delta=0.01, n0=5, max_replications=20)
    assert not capped.guarantee and capped.stopped == "cap" and capped.stages() == 20


# --------------------------------------------------------------------------- the winner's curse

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_the_winners_curse_is_visible_in_the_search_and_removed_in_the_report():
    """Many designs with the same true mean: the search's best observation is biased upward (it is the
    luckiest); the reported estimate comes from fresh replications and is not."""
    mu = 100.0
    search_bias, reported_bias = [], []
    for world in range(16):
        ev = StubEvaluator(lambda x: mu, common=10.0, own=10.0, world=world)
        res = opt.run_optimise(toy_problem(seed=world + 1), ev)
        doc = res.summary()
        search_reps = set(doc["search_replications"])
        est = doc["chosen"]["estimate"]
        assert not doc["chosen"]["no_programme"]
        assert set(est["replications"]).isdisjoint(search_reps)
        assert set(range(opt.SELECT_FROM, opt.SELECT_FROM + 1000)).isdisjoint(search_reps)
        assert est["source"] == "fresh replications after the selection"
        search_bias.append(doc["search_best"]["observed"] - mu)
        reported_bias.append(est["mean"] - mu)
    sb, rb = np.array(search_bias), np.array(reported_bias)
    se = lambda x: x.std(ddof=1) / math.sqrt(x.size)  # noqa: E731
    assert sb.mean() > 4 * se(sb), f"the search's best is not flattered: {sb.mean():.1f} +/- {se(sb):.1f}"
    assert abs(rb.mean()) < 3 * se(rb), f"the reported estimate is biased: {rb.mean():.1f} +/- {se(rb):.1f}"
    assert sb.mean() > rb.mean() + 5


def test_same_seed_same_trials_and_infeasible_designs_are_never_finalists():
    f = lambda x: 100 - 400 * (x - 0.6) ** 2  # noqa: E731
    cons = [opt.parse_constraint("liability_end<=50")]   # x <= 0.5: the unconstrained best (0.6) is out
    runs = [opt.run_optimise(toy_problem(seed=s, constraints=cons), StubEvaluator(f, world=3)) for s in (5, 5, 6)]
    params = [[r["design"]["x"] for r in res.rows] for res in runs]
    assert params[0] == params[1] and params[0] != params[2]
    res = runs[0]
    assert any(not r["feasible"] for r in res.rows)
    assert all(r["feasible"] and r["design"]["x"] <= 0.5 for r in res.finalists)
    assert res.chosen_design is not None and res.chosen_design["x"] <= 0.5
    rows = res.trials_table()
    assert set(rows.columns) >= {"trial", "x", "incremental_profit", "feasible", "finalist", "violated"}
    assert not rows[~rows.feasible].finalist.any()


def test_two_objectives_give_a_pareto_front():
    f = lambda x: 100 * x  # noqa: E731   profit rises with x, and so does the liability (100 x): a trade-off
    p = toy_problem(objectives=["incremental_profit", "liability_end"], budget=24, confirm=4)
    res = opt.run_optimise(p, StubEvaluator(f, common=1.0, own=1.0))
    doc = res.summary()
    front = doc["pareto_front"]
    assert len(front) >= 3
    xs = [r["design"]["x"] for r in front]
    assert xs == sorted(xs, reverse=True)     # ranked by profit: the more profit, the more liability
    for a in front:   # no design on the front is beaten on both by another one
        assert not any(b["incremental_profit"] > a["incremental_profit"] and b["liability_end"] < a["liability_end"]
                       for b in front)
    assert doc["pareto_front_confirmed"] and "chosen" not in doc


def test_robust_ranking_flags_a_design_that_wins_only_under_optimistic_assumptions():
    """x near 1 is best in expectation but falls hardest in bad worlds; x near 0 earns less but safely."""
    ev = StubEvaluator(lambda x: 50 + 10 * x, common=1.0, own=1.0,
                       downside=lambda x: (50 + 10 * x, 5 + 200 * x))
    res = opt.run_optimise(toy_problem(robust_draws=60, budget=12, finalists=4), ev)
    rob = res.summary()["robust"]
    exp_best = rob["best_in_expectation"]
    assert exp_best != rob["best_in_cvar10"]
    assert any(f["label"] == exp_best and f["flag"] == "optimistic" for f in rob["flags"])
    assert any(f["flag"] == "loses in the downside" for f in rob["flags"])
    row = {r["label"]: r for r in rob["rows"]}
    assert row["no programme"]["expected"] == 0 and row["no programme"]["cvar10"] == 0
    assert opt.cvar([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1) == 1 and opt.cvar(list(range(20)), 0.1) == 0.5


# --------------------------------------------------------------------------- on the simulator

@pytest.mark.slow
def test_the_optimiser_finds_the_grid_optimum_of_a_one_dimensional_response(tmp_path):
    """The paid membership's annual fee: too cheap gives the benefits away, too dear and few join or
    stay; profit peaks in between (about 200-300: members renew by what they get against the fee).
    A 15-point grid and a 20-trial search run on the same two replication seeds (common random
    numbers), so both look at the same sample path of the response: no noise separates the search's
    best from the grid's but the path's own roughness. The search's best must be within 2% of the
    grid's best. For scale: two standard errors of a paired difference between two grid points on
    R = 2 (from the grid's point x replication residuals) are several times 2%, so 2% asks the search
    to find the top of the same path, not just to land in the noise band around it."""
    from sim.studies.plan import run_variants
    # without the launch and running costs (30k + 3k a month, which at 2,000 customers no fee repays):
    # the fee's own response, which rises while fees grow faster than the members they lose
    sc = sim.load(VIP, {"customers.initial": 2000, "horizon_days": 365, "customers.history_days": 365,
                        "economics.programme_setup_cost": 0, "economics.programme_fixed_cost_per_month": 0})
    store = tmp_path / "store"
    grid = np.linspace(100, 1500, 15)
    out, _ = run_variants([sc.with_overrides({"programme.subscription.fee": float(g)}) for g in grid], 2,
                          workers=2, store=store)
    y = np.array([[out[(i, r)].lift("profit") for r in range(2)] for i in range(len(grid))])
    means = y.mean(axis=1)
    best = means.max()
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    se_pair = math.sqrt(2 * (resid ** 2).sum() / ((y.shape[0] - 1) * (y.shape[1] - 1)) / y.shape[1])
    assert best > 0 and means.argmax() not in (0, len(grid) - 1)   # an interior optimum that pays
    p = opt.problem_of(sc, vary=["programme.subscription.fee=100:1500"], budget=20, replications=2)
    study = opt.search(p, opt.SimulationEvaluator(sc, workers=2, store=store))
    found = max(r["means"]["incremental_profit"] for r in opt.trial_rows(p, study))
    assert found >= best - 0.02 * abs(best), (found, best, se_pair)
    assert 2 * se_pair > 0.02 * abs(best)   # the criterion is finer than the noise between two designs


def _trials_complete(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_a_killed_run_resumes_and_ends_with_the_same_choice(tmp_path):
    """SIGKILL mid-search, start the same command again: it completes the batch it was in (its finished
    replications are read from the store) and continues. Every proposal is seeded by the trial's number and
    the trials told before it, and every evaluation is a pure function of the design and the replication
    seed, so it ends with the same trials, the same selection and the same document as an uninterrupted run."""
    args = ["optimise", VIP, *TINY, "--vary", "programme.subscription.fee=20:1500", "--budget", "8", "--batch", "2",
            *QUICK, "--json"]
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "sim", *map(str, args), "--out", str(killed)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and _trials_complete(killed / "optuna.db") < 2 and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    told = _trials_complete(killed / "optuna.db")
    assert 2 <= told < 8
    resumed = invoke(*args, "--out", killed)
    fresh = invoke(*args, "--out", tmp_path / "fresh")
    assert resumed.returncode == 0 and fresh.returncode == 0, resumed.stderr + fresh.stderr
    a, b = json.loads(resumed.stdout), json.loads(fresh.stdout)
    assert a["trials"]["told"] == 8
    assert a == b
    assert (killed / "best.yaml").read_text() == (tmp_path / "fresh" / "best.yaml").read_text()


@pytest.mark.slow
def test_a_run_killed_inside_ask_resumes_with_the_same_proposals(tmp_path):
    """A SIGKILL can land inside Optuna's ``ask``: the trial row is written, its parameters not yet. The
    storage is put in that state by hand (from a finished run: trials 0-1 told, 2 asked, 3 created with
    no parameter, none after), and the same command resumes it: the missing parameter is drawn by the
    trial's own seeded sampler, so the run ends with the same document as an uninterrupted one."""
    args = ["optimise", VIP, *TINY, "--vary", "programme.subscription.fee=20:1500", "--budget", "6", "--batch", "2",
            *QUICK, "--json"]
    fresh = invoke(*args, "--out", tmp_path / "fresh")
    cut = tmp_path / "cut"
    first = invoke(*args, "--out", cut)
    assert fresh.returncode == 0 and first.returncode == 0, fresh.stderr + first.stderr
    with sqlite3.connect(cut / "optuna.db") as con:
        ids = dict(con.execute("select number, trial_id from trials"))
        children = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")
                    if t != "trials" and "trial_id" in [c[1] for c in con.execute(f"pragma table_info({t})")]]
        gone = [(ids[n],) for n in ids if n >= 4]
        for t in children:   # trials 4 and later never existed
            con.executemany(f"delete from {t} where trial_id = ?", gone)
        for i in (ids[2], ids[3]):   # asked, never told
            con.execute("delete from trial_values where trial_id = ?", (i,))
            con.execute("delete from trial_user_attributes where trial_id = ?", (i,))
        con.execute("delete from trial_params where trial_id = ?", (ids[3],))   # killed inside ask
        con.executemany("delete from trials where trial_id = ?", gone)
        con.execute("update trials set state = 'RUNNING', datetime_complete = NULL where trial_id in (?, ?)",
                    (ids[2], ids[3]))
        assert con.execute("select count(*) from trial_params where trial_id = ?", (ids[3],)).fetchone()[0] == 0
    resumed = invoke(*args, "--out", cut)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout) == json.loads(fresh.stdout)


CLI_ARGS = ["optimise", VIP, *TINY, "--vary", "programme.subscription.fee=20:1500",
            "--vary", "programme.subscription.term=year,month", "--constraint", "programme_cost_per_member<=1e9",
            "--budget", "6", *QUICK]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optimise")
    out, html = tmp / "opt", tmp / "opt.html"
    r = invoke(*CLI_ARGS, "--out", out, "--html", html, "--format", "csv")
    assert r.returncode == 0, r.stderr
    return {"out": out, "html": html, "stdout": r.stdout, "tmp": tmp}


@pytest.mark.slow  # 7 s measured: out of the fast tier (-m 'not slow')
def test_cli_outputs_best_yaml_that_runs_tables_json_and_html(cli_run):
    out, html = cli_run["out"], cli_run["html"]
    for words in ("Best design for", "How sure", "Runner-up", "fresh replications"):
        assert words in cli_run["stdout"]
    assert {"best.yaml", "trials.csv", "evaluations.csv", "summary.json", "optuna.db"} <= {p.name for p in out.iterdir()}
    import pandas as pd
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 6 and {"programme.subscription.fee", "programme.subscription.term",
                                 "incremental_profit", "npv", "roi", "retention_lift", "liability_end",
                                 "programme_cost_per_member", "feasible"} <= set(trials.columns)
    ev = pd.read_csv(out / "evaluations.csv")
    assert set(ev.stage) >= {"search", "selection", "confirm"}
    assert set(ev[ev.stage == "search"].replication).isdisjoint(ev[ev.stage != "search"].replication)
    doc = json.loads((out / "summary.json").read_text())
    best = sim.load(out / "best.yaml")       # a ready scenario: the chosen settings on the base
    design = doc["chosen"]["design"] or doc["best_programme"]["design"]
    assert best.cfg.programme.subscription.fee == design["programme.subscription.fee"]
    assert best.cfg.programme.subscription.term == design["programme.subscription.term"]
    run = invoke("run", out / "best.yaml", "-r", "1", "--json", "--backend", "serial")
    assert run.returncode == 0, run.stderr
    page = html.read_text()
    assert "optimisation report" in page and "The selection: which design, and how sure" in page
    # --json prints the same document (a rerun finds every trial and replication: nothing is computed again)
    again = invoke(*CLI_ARGS, "--out", out, "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == doc


@pytest.mark.slow  # 7 s measured: out of the fast tier (-m 'not slow')
def test_optimisation_report_in_a_browser(cli_run):
    """The page opens offline with every chart drawn (the same check as the other reports)."""
    import test_report as tr
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed")
    exe = tr._chromium()
    if not exe:
        pytest.skip("headless Chromium not found")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=tr.CHROMIUM_ARGS)
        try:
            seen = tr.open_report(browser, cli_run["html"], cli_run["tmp"] / "optimise_top.png",
                                  also_as="optimise_top.png")
        finally:
            browser.close()
    tr.assert_read_cleanly(seen, min_charts=3)
    assert re.search(r"BEST DESIGN|NO DESIGN PAYS", seen["verdict"].upper())


def test_the_optimise_block_in_the_scenario(tmp_path):
    sc = sim.load(VIP)
    raw = sc.raw()
    raw["optimise"] = {"budget": 12, "objective": "npv", "constraints": ["retention_lift>=0.001"],
                       "vary": {"programme.subscription.fee": "20:300", "programme.subscription.trial_days": [0, 30]},
                       "select": {"finalists": 3, "indifference": 2000, "confidence": 0.9}}
    from sim.scenario import validate
    sc2 = validate(raw, "block.yaml")
    p = opt.problem_of(sc2)
    assert p.budget == 12 and p.objectives == ["npv"] and p.finalists == 3 and p.indifference == 2000.0
    assert p.confidence == 0.9 and [c.text() for c in p.constraints] == ["retention_lift>=0.001"]
    assert [f.field for f in p.factors] == ["programme.subscription.fee", "programme.subscription.trial_days"]
    assert p.factors[1].values == [0, 30]
    # the command line wins over the block
    p2 = opt.problem_of(sc2, vary=["programme.subscription.fee=50:60"], objectives=["roi"], budget=3)
    assert [f.field for f in p2.factors] == ["programme.subscription.fee"] and p2.objectives == ["roi"]
    assert p2.budget == 3
    # the block does not change what a run computes
    assert sc2.programme_identity() == sc.programme_identity()


@pytest.mark.parametrize("extra, words", [
    (["--vary", "programme.subscription.feee=1:10"], "did you mean 'fee'"),
    (["--vary", "programme.points.earn_per_currency=0.1:0.2"], "no programme.points"),
    (["--vary", "programme.subscription.fee=10:1"], "LOW <= HIGH"),
    (["--vary", "programme.subscription.fee=-10:5"], "programme.subscription.fee"),
    (["--vary", "programme.subscription.fee=a:b"], "is not LOW:HIGH"),
    (["--vary", "programme.subscription.term=year,decade"], "decade"),
    (["--vary", "programme.subscription=1:2"], "is a section"),
    (["--vary", "programme.subscription.fee=1:10", "--objective", "incremental_proft"],
     "did you mean 'incremental_profit'"),
    (["--vary", "programme.subscription.fee=1:10", "--objective", "npv", "--objective", "roi",
      "--objective", "retention_lift"], "allowed: one, or two"),
    (["--vary", "programme.subscription.fee=1:10", "--constraint", "liability<=5"], "unknown measure"),
    (["--vary", "programme.subscription.fee=1:10", "--constraint", "liability_end<5"], "allowed: <= or >="),
    (["--vary", "programme.subscription.fee=1:10", "--constraint", "liability_end<=lots"], "not a finite number"),
    (["--vary", "programme.subscription.fee=1:10", "--indifference", "-5"], "allowed: a number > 0"),
    (["--vary", "programme.subscription.fee=1:10", "--indifference", "much"], "--indifference"),
    (["--vary", "programme.subscription.fee=1:10", "--budget", "0"], "--budget"),
    (["--vary", "programme.subscription.fee=1:10", "--confidence", "1.5"], "--confidence"),
    (["--vary", "programme.subscription.fee=1:10", "--objective", "roi", "--indifference", "1%"], "money objectives"),
    ([], "nothing to vary"),
])
def test_bad_input_gets_one_clear_line_and_exit_2(extra, words):
    r = invoke("optimise", VIP, *TINY, *extra)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
