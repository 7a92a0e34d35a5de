"""The engine's contract: common random numbers, reproducibility, the ledger, the points liability."""
import json

import numpy as np
import pytest

import sim
from conftest import ROOT, one_replication, run_cli, small
from sim.engine import LoyaltyModel
from sim.metrics import HEADLINE
from sim.work import BASELINE, launch_base, run_models


def _records(sc, replications, arm="programme"):
    res = sim.run(sc, replications=replications, backend="serial")
    return res.records(BASELINE), res.records(arm)


def test_empty_programme_gives_exactly_zero_lift():
    sc = small("no_programme.yaml")
    doc = sim.run(sc, replications=3, backend="serial").summary()
    for k in HEADLINE:
        lift = doc["lift"][k]["absolute"]
        assert lift["mean"] == 0.0 and lift["ci_low"] == 0.0 and lift["ci_high"] == 0.0, k
    assert doc["baseline"] == doc["programme"]


@pytest.mark.parametrize("path,overrides", [
    ("simple_points.yaml", ["programme.points.enabled=false"]),
    ("tiers.yaml", ["programme.tiers.enabled=false"]),
])
def test_switched_off_mechanic_gives_exactly_the_baseline(path, overrides):
    sc = small(path, *overrides)
    r = one_replication(sc, {"programme": sc})
    b, p = r[BASELINE].metrics, r["programme"].metrics
    assert p == b  # everything, fixed running cost included: a switched-off programme costs nothing


@pytest.mark.slow  # 9 s measured: out of the fast tier (-m 'not slow')
def test_same_seed_same_json_serially_and_in_parallel(tmp_path):
    args = ["run", "scenarios/points_and_tiers.yaml", "--json", "--set", "customers.initial=1500",
            "--set", "horizon_days=200", "--set", "customers.history_days=200", "-r", "4"]
    serial = run_cli(*args, "-j", "1")
    parallel = run_cli(*args, "-j", "2")
    assert serial.returncode == 0, serial.stderr
    assert parallel.returncode == 0, parallel.stderr
    assert serial.stdout == parallel.stdout
    doc = json.loads(serial.stdout)
    for key in ("scenario", "seed", "replications", "horizon_days", "baseline", "programme", "lift", "economics"):
        assert key in doc
    need = ("retention_rate", "churn_rate", "average_check", "purchase_frequency", "repeat_purchase_rate",
            "loyal_share", "orders", "revenue", "gross_profit", "programme_cost", "profit", "active_customers_end")
    for k in need:
        assert k in doc["baseline"] and k in doc["programme"]
        assert set(doc["lift"][k]) == {"absolute", "relative"}
        assert set(doc["lift"][k]["absolute"]) == {"mean", "ci_low", "ci_high"}
    for k in ("incremental_profit", "roi"):
        assert set(doc["economics"][k]) == {"mean", "ci_low", "ci_high"}
    assert "payback_month" in doc["economics"]


@pytest.mark.slow
def test_paired_interval_is_narrower_than_independent_runs():
    """Common random numbers: the paired lift's CI must be far narrower than the
    CI of the difference between two independently seeded sets of runs."""
    sc = small("points_and_tiers.yaml", customers=2000, reps=8)
    paired_base, paired_prog = _records(sc, 8)
    other = small("points_and_tiers.yaml", "seed=999", customers=2000, reps=8)
    _, indep = _records(other, 8)
    for metric in ("orders", "revenue", "profit"):
        base = np.array([r.metrics[metric] for r in paired_base])
        prog = np.array([r.metrics[metric] for r in paired_prog])
        prog_indep = np.array([r.metrics[metric] for r in indep])
        se_paired = (prog - base).std(ddof=1) / np.sqrt(len(base))
        se_indep = np.sqrt(base.var(ddof=1) / len(base) + prog_indep.var(ddof=1) / len(prog_indep))
        assert se_paired < 0.5 * se_indep, (metric, se_paired, se_indep)


def _programme_model(sc, seed=11):
    base = launch_base(sc, seed)
    m = LoyaltyModel(sc, seed, programme=sc.cfg.programme, customers=base)
    return m.run()


def _with_order_log(sc, seed=11):
    """The programme arm of one replication with every priced and rewarded order recorded."""
    base = launch_base(sc, seed)
    m = LoyaltyModel(sc, seed, programme=sc.cfg.programme, customers=base)
    log = []
    m.order_observer = lambda o: log.append((o.day, o.gross.copy(), o.paid.copy(), o.free_delivery.copy(),
                                             o.points.copy()))
    return m.run(), log


def test_profit_recomputed_from_the_orders_themselves():
    """The ledger's profit against an independent count: what customers paid for each order, less
    the cost of the goods, the deliveries given free, the running and set-up costs and the paid
    acquisitions, and (IFRS 15) less the part of each sale deferred for the points it earned."""
    import calendar as cal
    sc = small("points_and_tiers.yaml", "economics.programme_fixed_cost_per_month=1000",
               "programme.points.expiry.months_after_earning=3", "programme.points.pending_days=10")
    m, log = _with_order_log(sc)
    eco = sc.cfg.economics
    pts_cfg = sc.cfg.programme.points
    horizon = [x for x in log if x[0] >= 0]
    paid = sum(x[2].sum() for x in horizon)
    gross = sum(x[1].sum() for x in horizon)
    free = sum(int(x[3].sum()) for x in horizon)
    assert free > 0 and paid < gross  # Gold's free delivery and discounts, points rewards all happened
    # the running cost: a month's fee spread over its days, for every day of the horizon
    start = sc.cfg.start_date
    import datetime as dt
    fixed = sum(eco.programme_fixed_cost_per_month / cal.monthrange(d.year, d.month)[1]
                for d in (start + dt.timedelta(days=i) for i in range(sc.cfg.horizon_days)))
    c = m.customers
    n = c.n
    acquired = int(((c.uid[:n] >= sc.cfg.customers.initial) & (c.born_day[:n] >= 0) & c.present[:n]).sum())
    cash = (paid - gross * (1 - eco.gross_margin) - eco.delivery_fee * free - fixed - eco.programme_setup_cost
            - acquired * sc.cfg.customers.acquisition.cost_per_customer)
    led = m.ledger
    profit = led.profit().sum()
    deferral = led.deferral().sum()
    assert profit - deferral == pytest.approx(cash, rel=1e-9, abs=1e-3)
    # IFRS 15: each sale's price allocated between the goods and its points by stand-alone
    # selling price, the points' being face value x (1 - expected breakage)
    ssp = [x[4] * pts_cfg.point_value * (1 - pts_cfg.expected_breakage) for x in horizon]
    allocated = sum(np.where(x[2] + s > 0, x[2] * s / np.maximum(x[2] + s, 1e-300), 0.0).sum()
                    for x, s in zip(horizon, ssp))
    assert allocated > 0
    assert -led.lines[("points", "revenue_deferred")].sum() == pytest.approx(allocated, rel=1e-9)
    released = led.lines[("points", "revenue_released")].sum()
    assert 0 < released < allocated
    # what was deferred is either recognised (redeemed or expired) or still owed at the end
    series = m.mechanic("points").monthly
    assert released + series["liability"][-1] == pytest.approx(allocated, rel=1e-9)
    assert profit == pytest.approx(cash - series["liability"][-1], rel=1e-9, abs=1e-3)


def test_points_liability_rolls_forward():
    sc = small("points_and_tiers.yaml", "programme.points.expiry.months_after_earning=2",
               "programme.points.expiry.inactivity_days=120", "programme.points.pending_days=14", days=300)
    m = _programme_model(sc)
    pts = m.mechanic("points").monthly
    opening = np.concatenate([[0.0], pts["points_outstanding"][:-1]])
    closing = opening + pts["points_issued"] - pts["points_redeemed"] - pts["points_expired"]
    assert np.allclose(closing, pts["points_outstanding"], rtol=1e-9, atol=1e-6)
    assert pts["points_expired"].sum() > 0 and pts["points_redeemed"].sum() > 0
    # the contract liability, month by month: opening + deferred - released = closing
    liab = pts["liability"]
    opening = np.concatenate([[0.0], liab[:-1]])
    released = pts["revenue_released_redeemed"] + pts["revenue_released_expired"]
    assert np.allclose(opening + pts["revenue_deferred"] - released, liab, rtol=1e-9, atol=1e-6)
    assert pts["revenue_released_expired"].sum() > 0  # breakage is recognised as points expire
    # the customers' balances add up to what is outstanding
    p = m.mechanic("points")
    assert p.balance[: m.customers.n].sum() + p.pending[: m.customers.n].sum() == pytest.approx(pts["points_outstanding"][-1])


BEHAVIOURAL = ("retention_rate", "latent_survival", "average_check", "purchase_frequency", "repeat_purchase_rate",
               "loyal_share", "orders", "revenue", "active_customers_end", "crr_formula")


def test_every_mechanic_with_no_response_moves_nothing_but_costs():
    """Every mechanic instantiated, every response strength 0: every behavioural lift is exactly 0
    (same customers, same chance events); only the money the programme gives away differs."""
    zero = [f"response.{k}=0" for k in ("intensity", "basket", "dropout", "referrals", "campaigns")]
    sc = small("strategy_all_mechanics.yaml", *zero, customers=2500, days=300, history=300)
    models = run_models(sc, {"programme": sc})
    from sim.mechanics import MECHANICS
    assert {m.name for m in models["programme"].mechanics} == set(MECHANICS)  # every mechanic there is
    r = one_replication(sc, {"programme": sc})
    b, p = r[BASELINE].metrics, r["programme"].metrics
    for k in BEHAVIOURAL:
        assert p[k] == b[k], k
    assert p["programme_cost"] > 0 and p["profit"] != b["profit"]
    # and with the default strengths the same programme does move behaviour
    moved = one_replication(sc.with_overrides({k.split("=")[0]: 1.0 for k in zero}), {"programme": sc.with_overrides(
        {k.split("=")[0]: 1.0 for k in zero})})
    assert moved["programme"].metrics["orders"] != moved[BASELINE].metrics["orders"]


def test_lift_is_read_per_segment_where_the_programme_was_aimed():
    from sim.scenario import validate
    raw = {
        "name": "segment promo", "horizon_days": 200, "replications": 2,
        "customers": {"initial": 3000, "history_days": 200,
                      "segments": [{"name": "bargain", "share": 0.4}, {"name": "regular", "share": 0.6}]},
        "programme": {"discounts": {"welcome": {"discount": 0.0}, "promotions": [
            {"name": "bargain week", "start": "2027-02-01", "end": "2027-02-21", "discount": 0.2,
             "segment": "bargain"}]}},
    }
    sc = validate(raw)
    doc = sim.run(sc, backend="serial").summary()
    seg = doc["segments"]
    assert seg["bargain"]["orders"]["lift"]["absolute"]["mean"] != 0  # the promotion (and its aftermath) acted here
    # the other segment sees the same customers and chance events, and no promotion: no change at all
    for k in ("orders", "revenue", "retention_rate"):
        assert seg["regular"][k]["lift"]["absolute"]["mean"] == 0.0
    total = sum(seg[s]["orders"]["programme"] for s in seg)
    assert total == pytest.approx(doc["programme"]["orders"])


def test_the_engine_runs_without_mesa_and_mesa_stays_whole_for_other_code():
    """Start-up: running a tiny arm and rendering its table loads neither mesa nor pandas, pyarrow,
    scipy.spatial or tqdm (the engine is a plain class). Other code that imports mesa afterwards (the
    reference model) gets mesa as it ships: every name in mesa.__all__, its real submodules (none a
    placeholder: each has its file), and inspect.getouterframes untouched."""
    import subprocess
    import sys
    code = (
        "import inspect, sys\n"
        "getouterframes = inspect.getouterframes\n"
        "import sim.engine, sim.results, reports.export\n"
        "from sim import scenario\n"
        "from sim.work import Unit, record_key, simulate\n"
        "sc = scenario.load('scenarios/points_and_tiers.yaml', ['customers.initial=200', 'horizon_days=20',\n"
        "                   'customers.history_days=20'])\n"
        "simulate(Unit(sc, 0, ((record_key(sc, 0, sc), sc),), True))\n"
        "early = sorted(m for m in ('mesa', 'pandas', 'pyarrow', 'scipy.spatial', 'tqdm') if m in sys.modules)\n"
        "import mesa, mesa.experimental, mesa.datacollection, mesa.batchrunner\n"
        "import sim.reference\n"
        "from mesa.datacollection import DataCollector\n"
        "from mesa import batch_run\n"
        "missing = [n for n in mesa.__all__ if getattr(mesa, n, None) is None]\n"
        "subs = [m for m in ('mesa.experimental', 'mesa.datacollection', 'mesa.batchrunner')\n"
        "        if getattr(sys.modules[m], '__file__', None) is None]\n"
        "ok = (not missing and not subs and mesa.DataCollector is DataCollector and isinstance(DataCollector, type)\n"
        "      and callable(batch_run) and issubclass(sim.reference.ReferenceModel, mesa.Model)\n"
        "      and inspect.getouterframes is getouterframes)\n"
        "print(early, missing, subs, ok)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(ROOT)).stdout.split()
    assert out == ["[]", "[]", "[]", "True"], out


def test_a_closed_model_leaves_nothing_in_a_reference_cycle():
    """LoyaltyModel.close() releases a finished arm: with the garbage collector off, the model, its
    mechanics and its customer arrays are freed as soon as the last reference goes (reference counting
    alone). Without close() the mechanics' links to the model and to each other keep them all alive
    until a collection, and memory grows with every unit a worker runs."""
    import gc
    import weakref

    from sim.mechanics import MECHANICS
    sc = small("strategy_all_mechanics.yaml", customers=800, days=60, history=60)
    seed = 5

    def finished():
        model = LoyaltyModel(sc, seed, programme=sc.cfg.programme, customers=launch_base(sc, seed)).run()
        assert len(model.mechanics) == len(MECHANICS)  # every mechanic there is
        refs = [weakref.ref(model), weakref.ref(model.customers.lam)] + [weakref.ref(m) for m in model.mechanics]
        return model, refs

    gc.collect()
    gc.disable()
    try:
        model, refs = finished()
        del model
        kept = sum(r() is not None for r in refs)  # the control: without close() all of it stays
        model, refs_closed = finished()
        model.close()
        del model
        freed = [r() is None for r in refs_closed]
    finally:
        gc.enable()
        gc.collect()
    assert kept == len(refs)
    assert all(freed), freed
