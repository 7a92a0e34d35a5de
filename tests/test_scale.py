"""customers.scale_to: a sample of a twin (or a panel) reported for the whole base, sampling error included.

The twin comes from a log of known truth (calibration.synthetic, 8,000 existing customers, calibrated by
calibration.pipeline) tiled to 40,000 rows with fresh hashes (as benchmarks/bench_scale.py makes its
2,000,000): a twin CI can run whole, so the scaled sample is checked against the whole run's answer.
Fixed seeds; each tolerance is argued where it is asserted.
"""
from __future__ import annotations

import numpy as np
import pytest

from calibration.synthetic import make_log, write_csv

ROWS = 40_000
SAMPLE = 2_000
DAYS = 60


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """(twin path, the population block's customers without the twin file): 40,000 rows."""
    from calibration.pipeline import calibrate
    from calibration.twin import twin_table, write_twin
    folder = tmp_path_factory.mktemp("scale")
    log, _ = make_log(existing=8_000, days=400, seed=11)
    write_csv(log, folder / "log.csv")
    result = calibrate(folder / "log.csv", calibration_end="2024-12-30")
    table = twin_table(result, b"scale-test-salt!")
    big = table.iloc[np.tile(np.arange(len(table)), -(-ROWS // len(table)))[:ROWS]].reset_index(drop=True)
    big["customer_hash"] = np.random.default_rng(1).integers(0, 2**63, ROWS, dtype=np.int64).astype(np.uint64)
    block = {k: v for k, v in result.population_block()["customers"].items() if k != "twin"}
    return write_twin(folder / "big.twin.parquet", big, result), block


def scenario(twin, reps, seed=5, economics=None, **customers):
    from sim.scenario import validate
    path, block = twin
    return validate({"name": "scale", "horizon_days": DAYS, "start_date": "2024-12-31", "replications": reps,
                     "seed": seed, "economics": economics or {},
                     "customers": {**block, "start": "twin", "twin": str(path), **customers},
                     "programme": {"points": {"earn_per_currency": 1.0}}})


def run(s, reps, **kw):
    from sim.runner import run_arms
    return run_arms(s, {"programme": s}, reps, **kw)


def values(res, metric, arm="baseline"):
    return np.array([r.metrics[metric] for r in res.records(arm)])


@pytest.fixture(scope="module")
def runs(twin):
    """The whole twin (4 replications), the scaled sample and the fixed sample (20 each)."""
    return {"whole": run(scenario(twin, 4), 4),
            "scaled": run(scenario(twin, 20, sample=SAMPLE, scale_to=ROWS), 20),
            "fixed": run(scenario(twin, 20, sample=SAMPLE), 20)}


@pytest.mark.slow  # 12 s measured (the twin and the three runs, shared with the next test)
def test_the_scaled_sample_covers_the_whole_twins_answer(runs):
    from sim.metrics import interval
    whole, scaled = runs["whole"], runs["scaled"]
    doc = scaled.summary()
    assert doc["customers_at_launch"] == ROWS
    assert doc["scaling"]["sampled"] == SAMPLE and doc["scaling"]["to"] == ROWS
    assert "scaled from 2,000 sampled customers to 40,000" in doc["scaling"]["note"]
    for metric in ("revenue", "orders", "profit", "active_customers_end"):
        full, part = values(whole, metric), values(scaled, metric)
        iv = interval(part)
        # the whole twin's mean has its own noise (4 replications): its standard error is about a tenth of
        # the scaled interval's half-width here, so the 95% t-interval over 20 sampled replications covers it
        # with probability close to 95% (checked at these seeds); and the gap between the two means stays
        # within 3 standard errors of the difference (a 0.3% event for an unbiased estimate)
        assert iv["ci_low"] <= full.mean() <= iv["ci_high"], (metric, full.mean(), iv)
        se = np.sqrt(part.var(ddof=1) / part.size + full.var(ddof=1) / full.size)
        assert abs(part.mean() - full.mean()) < 3 * se, metric
    # ratios are not scaled: retention and the average check of the sample read as the whole twin's
    for metric in ("retention_rate", "average_check"):
        assert values(scaled, metric).mean() == pytest.approx(values(whole, metric).mean(), rel=0.02)
    # the incremental profit (the programme's answer): common random numbers make both arms' noise cancel,
    # so the whole twin's own noise (4 replications) is no longer small beside the scaled interval; the
    # check is the difference of the two means against its standard error
    full, part = whole.incremental_profit(), scaled.incremental_profit()
    se = np.sqrt(part.var(ddof=1) / part.size + full.var(ddof=1) / full.size)
    assert abs(part.mean() - full.mean()) < 3 * se


@pytest.mark.slow  # shares the previous test's runs
def test_the_scaled_interval_carries_the_sampling_error_a_fixed_sample_lacks(runs):
    f = ROWS / SAMPLE
    whole, scaled, fixed = (values(runs[k], "revenue") for k in ("whole", "scaled", "fixed"))
    fixed = fixed * f
    # a fixed sample's replications differ only by the customers' chance behaviour; a fresh sample each
    # replication adds who is in it: the spread is wider (by about 1.3x at these seeds)
    assert scaled.std(ddof=1) > 1.1 * fixed.std(ddof=1)
    # and the fixed sample, scaled by hand, misses the whole twin by more than its own interval allows:
    # its error is one draw of the sampling error, which its interval does not see
    se_fixed = fixed.std(ddof=1) / np.sqrt(fixed.size)
    assert abs(fixed.mean() - whole.mean()) > 2.1 * se_fixed


def test_each_replication_draws_a_fresh_stratified_sample_shared_by_both_arms(twin):
    """The sampling error is really there: the scaled launch history moves between replications as
    stratified sampling says, and not within one (both arms start from the same customers)."""
    from sim.twin import read, scaled_sample
    _, cols = read(twin[0])
    f = ROWS / SAMPLE
    totals = []
    for seed in range(40):
        s = scaled_sample(cols, SAMPLE, seed, with_replacement=False)
        assert s["x"].size == SAMPLE and np.unique(s["draw_key"]).size == SAMPLE
        totals.append(float(s["window_spend"].astype(np.float64).sum()) * f)
        if seed == 0:
            again = scaled_sample(cols, SAMPLE, 0, with_replacement=False)
            assert np.array_equal(again["customer_hash"], s["customer_hash"])
            # proportional allocation: each RFM segment keeps its share of the twin (to one customer)
            seg_all = np.asarray(cols["segment"]).astype(str)
            seg = np.asarray(s["segment"]).astype(str)
            for name in np.unique(seg_all):
                assert abs((seg == name).sum() - SAMPLE * (seg_all == name).mean()) <= 1
    # the stratified estimator's standard deviation: N sqrt((1 - n/N) sum_h W_h S_h^2 / n)
    spend = cols["window_spend"].astype(np.float64)
    seg_all = np.asarray(cols["segment"]).astype(str)
    within = sum((seg_all == g).mean() * spend[seg_all == g].var(ddof=1) for g in np.unique(seg_all))
    sd = ROWS * np.sqrt((1 - SAMPLE / ROWS) * within / SAMPLE)
    # 40 draws: the sample sd is within about 1 +- 0.11 x the true one (sqrt(1/(2 x 39))); 30% leaves room
    assert np.std(totals, ddof=1) == pytest.approx(sd, rel=0.3)
    assert abs(np.mean(totals) - spend.sum()) < 3 * sd / np.sqrt(len(totals))


def test_scaled_totals_are_the_sample_times_n_over_its_size_with_fixed_costs_once(twin):
    """A plain check on one replication: the record's totals against the finished models' own numbers."""
    from sim.work import Unit, record_key, run_models, simulate
    eco = {"programme_fixed_cost_per_month": 1000.0, "programme_setup_cost": 5000.0}
    s = scenario(twin, 1, economics=eco, sample=500, scale_to=ROWS)
    f = ROWS / 500
    base, prog = simulate(Unit(s, 0, ((record_key(s, 0, s), s),)))
    models = run_models(s, {"programme": s})
    for rec, model in ((base, models["baseline"]), (prog, models["programme"])):
        led = model.ledger
        fixed = sum(float(led.lines[k].sum()) for k in (("programme", "setup"), ("programme", "fixed_running"))
                    if k in led.lines)
        assert rec.metrics["revenue"] == pytest.approx(f * float(model.monthly["revenue"].sum()))
        assert rec.metrics["orders"] == pytest.approx(f * float(model.monthly["orders"].sum()))
        assert rec.metrics["profit"] == pytest.approx(f * (float(led.profit().sum()) + fixed) - fixed)
        # the ledger's scaled lines still add up to the scaled profit
        lines = sum(rec.revenue_lines.values()) + sum(rec.income_lines.values()) - sum(rec.cost_lines.values())
        assert lines == pytest.approx(rec.metrics["profit"])
        assert rec.series["revenue"].sum() == pytest.approx(rec.metrics["revenue"])
        assert rec.series["profit"].sum() == pytest.approx(rec.metrics["profit"])
        c = model.customers
        assert rec.metrics["retention_rate"] == pytest.approx(
            float(model.monthly["retained_end"][-1]) / int(c.active_at_launch[: c.n].sum()))
    assert prog.cost_lines["programme.setup"] == 5000.0  # the business's, not 80 x
    assert prog.mechanics["points"]["points_issued"] == pytest.approx(
        f * models["programme"].mechanic("points").summary()["points_issued"])
    assert prog.mechanics["points"]["redemption_rate"] == models["programme"].mechanic("points").summary()[
        "redemption_rate"]


def test_a_panel_standing_for_a_chain_is_bootstrapped(twin):
    """No sample and scale_to above the twin's rows: each replication a resample with replacement; a customer
    drawn twice is two agents with the same history and their own behaviour."""
    from sim.twin import read, scaled_sample
    _, cols = read(twin[0])
    s = scaled_sample(cols, ROWS, 3, with_replacement=True)
    h = s["customer_hash"]
    assert h.size == ROWS
    distinct = np.unique(h).size
    # drawing n of n with replacement leaves out (1 - 1/n)^n = 1/e of them: 63.2% distinct, sd ~0.2 points
    assert distinct / ROWS == pytest.approx(1 - np.exp(-1), abs=0.01)
    assert np.unique(s["draw_key"]).size == ROWS  # every agent draws its own behaviour
    other = scaled_sample(cols, ROWS, 4, with_replacement=True)
    assert not np.array_equal(np.sort(other["customer_hash"]), np.sort(h))
    sc = scenario(twin, 1, scale_to=4 * ROWS)
    doc = run(sc, 1).summary()
    assert doc["scaling"]["to"] == 4 * ROWS and doc["scaling"]["sampled"] == ROWS


@pytest.mark.slow  # 4 s measured: a process pool's start
def test_the_same_seed_gives_the_same_scaled_numbers_on_every_backend(twin):
    s = scenario(twin, 2, sample=300, scale_to=ROWS)
    serial, pool = run(s, 2), run(s, 2, backend="process", workers=2)
    for a, b in zip(serial.records("baseline") + serial.records("programme"),
                    pool.records("baseline") + pool.records("programme")):
        assert a.metrics == b.metrics


def test_without_scale_to_a_sample_is_the_fixed_nested_one(twin):
    from sim.twin import read, sample_rows
    _, cols = read(twin[0])
    h = cols["customer_hash"].astype(np.uint64)
    small, large = set(h[sample_rows(h, 500)]), set(h[sample_rows(h, 2000)])
    assert small < large


@pytest.mark.parametrize("customers, problem", [
    ({"start": "mature", "scale_to": 100000}, "allowed only with start: twin"),
    ({"sample": 2000, "scale_to": 1000}, "at least the customers simulated (2,000 sampled"),
    ({"scale_to": 10}, "at least the customers simulated (40,000"),
    ({"sample": 2000, "scale_to": 2.5e5 + 0.5}, "whole number"),
])
def test_bad_scale_to_is_one_line_naming_the_file_and_field(twin, tmp_path, capsys, customers, problem):
    import yaml

    from sim.cli import main
    path, block = twin
    doc = {"name": "t", "customers": {**block, "start": "twin", "twin": str(path), **customers}}
    if customers.get("start") == "mature":
        doc["customers"].pop("twin")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "s.yaml" in err[0] and "customers.scale_to" in err[0], err
    assert problem in err[0], err


def test_a_service_desk_does_not_scale(twin):
    from sim.errors import ScenarioError
    from sim.scenario import validate
    path, block = twin
    with pytest.raises(ScenarioError, match="customers.scale_to.*service desk"):
        validate({"name": "t", "customers": {**block, "start": "twin", "twin": str(path), "sample": 100,
                                             "scale_to": ROWS}, "programme": {"service": {}}})


def test_every_intensive_key_a_mechanic_declares_is_one_of_its_figures():
    """A misspelt INTENSIVE key would scale a rate: each must name a summary or series key the mechanic gives."""
    from conftest import small

    from sim.mechanics import MECHANICS
    from sim.work import run_models
    sc = small("strategy_all_mechanics.yaml", customers=800, days=60, history=60)
    model = run_models(sc, {"all": sc})["all"]

    def keys(d):
        for k, v in d.items():
            yield k
            if isinstance(v, dict):
                yield from keys(v)
    ran = {m.name: set(keys(m.summary())) | set(m.series()) for m in model.mechanics}
    for name, cls in MECHANICS.items():
        if cls.INTENSIVE:
            assert name in ran, f"{name} does not run in strategy_all_mechanics.yaml"
            assert cls.INTENSIVE <= ran[name], (name, cls.INTENSIVE - ran[name])
