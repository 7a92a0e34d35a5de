"""The engine's contract: common random numbers, reproducibility, the ledger, the points liability."""
import json

import numpy as np
import pytest

import sim
from conftest import one_replication, run_cli, small
from sim.engine import LoyaltyModel
from sim.metrics import HEADLINE
from sim.work import BASELINE, launch_base


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


def test_ledger_balances_and_books_every_order():
    sc = small("points_and_tiers.yaml", "economics.programme_fixed_cost_per_month=1000",
               "programme.points.expiry.months_after_earning=3", "programme.points.pending_days=10")
    m = _programme_model(sc)
    led = m.ledger
    revenue, income, cost = led.total("revenue"), led.total("income"), led.total("cost")
    # revenue + income - every cost line = profit, month by month
    assert np.allclose(revenue + income - cost, led.profit())
    by_line = sum(v if led.kinds[k] != "cost" else -v for k, v in led.lines.items())
    assert np.allclose(by_line, led.profit())
    # sales booked = the orders recorded; cost of goods follows the margin
    assert np.allclose(revenue, m.monthly["revenue"])
    assert np.allclose(led.lines[("base", "cost_of_goods")], revenue * (1 - sc.cfg.economics.gross_margin))
    # customers' own tallies agree with the ledger
    c = m.customers
    assert (c.year_orders[: c.n] == c.month_orders[:, : c.n].sum(axis=0)).all()  # trailing-year count kept in step
    assert c.horizon_spend[: c.n].sum() == pytest.approx(revenue.sum(), rel=1e-5)
    assert c.horizon_orders[: c.n].sum() == m.monthly["orders"].sum()
    # every programme cost line belongs to a mechanic
    owners = {k[0] for k, v in led.lines.items() if led.kinds[k] == "cost" and k[0] != "base" and v.any()}
    assert owners <= {"points", "tiers", "programme"}
    assert ("points", "rewards") in led.lines and ("tiers", "discounts") in led.lines


def test_points_liability_rolls_forward():
    sc = small("points_and_tiers.yaml", "programme.points.expiry.months_after_earning=2",
               "programme.points.expiry.inactivity_days=120", "programme.points.pending_days=14", days=300)
    m = _programme_model(sc)
    pts = m.mechanic("points").monthly
    opening = np.concatenate([[0.0], pts["points_outstanding"][:-1]])
    closing = opening + pts["points_issued"] - pts["points_redeemed"] - pts["points_expired"]
    assert np.allclose(closing, pts["points_outstanding"], rtol=1e-9, atol=1e-6)
    assert pts["points_expired"].sum() > 0 and pts["points_redeemed"].sum() > 0
    # the liability line's sum is the closing liability (it starts at zero)
    assert m.ledger.lines[("points", "points_liability_change")].sum() == pytest.approx(pts["liability"][-1])
    # and the liability is outstanding points at value x cost ratio x (1 - breakage)
    p = m.mechanic("points")
    assert pts["liability"][-1] == pytest.approx(pts["points_outstanding"][-1] * p.value * p.cost_ratio
                                                 * (1 - sc.cfg.programme.points.expected_breakage))
    # the customers' balances add up to what is outstanding
    assert p.balance[: m.customers.n].sum() + p.pending[: m.customers.n].sum() == pytest.approx(pts["points_outstanding"][-1])


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
