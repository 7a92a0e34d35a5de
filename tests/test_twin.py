"""The twin: real customers as the launch base, an acquisition rate that knows the log's left edge, a backtest.

Logs of known truth come from calibration.synthetic (Pareto/NBD purchasing, Gamma-Gamma spend, per day):
(a) an existing base observed from a date, (b) regular weekly shoppers, (c) genuine newcomers at a known
rate. Fixed seeds; each tolerance is argued from the sample size where it is asserted.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from calibration.synthetic import make_log, write_csv

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT / "calibration" / "data" / "CDNOW_sample.txt"
SALT = b"twin-test-salt-16"
CAL_END = "2024-12-30"        # day 364 of logs that start on 2024-01-01: one year, then a half-year holdout
DAYS = 547
NEW_PER_DAY = 4.0


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(a) + (c): 3,000 customers alive at the log's left edge, plus newcomers at 4 a day."""
    from calibration.pipeline import calibrate
    log, truth = make_log(existing=3000, acquisition_per_day=NEW_PER_DAY, days=DAYS, seed=3)
    path = tmp_path_factory.mktemp("mixed") / "log.csv"
    write_csv(log, path)
    return path, log, truth, calibrate(path, calibration_end=CAL_END)


@pytest.fixture(scope="module")
def mixed_twin(mixed, tmp_path_factory):
    """The twin of the mixed log, its launch base, and the truth of each row."""
    from calibration.twin import hash_ids, twin_table, write_twin
    from sim.scenario import validate
    from sim.twin import load
    from sim.work import launch_base
    _, _, truth, result = mixed
    path = write_twin(tmp_path_factory.mktemp("twin") / "pop.twin.parquet", twin_table(result, SALT), result)
    block = result.population_block()["customers"]
    scenario = validate({"name": "t", "horizon_days": 30, "start_date": "2024-12-31", "replications": 1,
                         "customers": {**block, "start": "twin", "twin": str(path)}})
    base = launch_base(scenario, 7)
    _, cols = load(path)
    rows = np.argsort(-cols["T_days"], kind="stable")  # the engine's row order
    by_hash = pd.Series(truth.index, index=hash_ids(truth.index, SALT))
    row_truth = truth.loc[by_hash.loc[cols["customer_hash"][rows]].to_numpy()]
    return path, scenario, base, {k: v[rows] for k, v in cols.items()}, row_truth


# --------------------------------------------------------------------------- acquisition

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_acquisition_recovers_the_known_rate_of_new_customers(mixed):
    _, _, truth, result = mixed
    acq = result.acquisition
    arrived = int(((truth["arrival_day"] >= 0) & (truth["arrival_day"] <= 364)).sum())
    true_rate = arrived / 365
    # ~1,460 newcomers: their count alone is known to 1/sqrt(1460) = 2.6%; the 25% leaves room for
    # the fitted curve of the existing base's first appearances, which the estimate subtracts
    assert acq.method == "appearance-curve"
    assert abs(acq.per_day / true_rate - 1) < 0.25, (acq.per_day, true_rate)
    # counting every first purchase as new (what calibrate used to write) is more than twice the truth
    assert acq.naive_rate > 2 * true_rate
    assert result.population_block()["customers"]["acquisition"]["per_day"] == pytest.approx(acq.per_day, rel=1e-3)
    # initial and the fit count the same customers
    assert result.population_block()["customers"]["initial"] == result.summary.n_customers == result.fits[
        result.purchase_model].n_customers


def test_a_base_with_no_newcomers_gets_a_rate_near_zero():
    from calibration.pipeline import calibrate
    log, _ = make_log(existing=3000, days=DAYS, seed=5)
    result = calibrate(_frame(log), calibration_end=CAL_END)
    # the late third still sees ~1 slow existing buyer a day for the first time; the curve takes them out:
    # what is left would add under 10% to the base in a year (against ~100% if every first purchase counted)
    assert result.acquisition.per_day * 365 < 0.10 * result.summary.n_customers
    assert result.acquisition.naive_rate * 365 > 0.9 * result.summary.n_customers


def test_cdnow_is_reported_as_a_closed_cohort():
    from calibration.pipeline import calibrate
    result = calibrate(CDNOW, calibration_end="1997-09-30")
    assert result.acquisition.method == "closed-cohort" and result.acquisition.per_day == 0.0


@pytest.mark.slow  # 13 s measured: out of the fast tier (-m 'not slow')
def test_a_rate_that_would_double_the_base_is_a_problem_and_the_user_can_set_it(tmp_path):
    from calibration.pipeline import calibrate
    log, _ = make_log(existing=300, acquisition_per_day=20.0, days=DAYS, seed=2)
    result = calibrate(_frame(log), calibration_end=CAL_END)
    assert any("more than double" in p for p in result.problems())
    given = calibrate(_frame(log), calibration_end=CAL_END, acquisition_per_day=20.0)
    assert given.acquisition.method == "given" and not given.problems()
    since = calibrate(_frame(log), calibration_end=CAL_END, acquisition_from="2024-07-01")
    assert since.acquisition.method == "from-date" and 15 < since.acquisition.per_day < 25


def _frame(log):
    from calibration.transactions import read_transactions
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        write_csv(log, path)
        return read_transactions(path)


# --------------------------------------------------------------------------- the twin's traits

def test_the_twins_traits_track_the_truth(mixed_twin):
    _, scenario, c, cols, truth = mixed_twin
    n = scenario.cfg.customers.initial
    assert n == len(truth) <= c.n_scheduled  # then the horizon's acquisitions
    alive_true = (truth["death_day"] > 364).to_numpy()
    # ~3,900 customers: the drawn share alive has a binomial SE of 0.7%; 3 points allows the model's own
    # P(alive) error on top
    assert abs(c.alive[:n].mean() - alive_true.mean()) < 0.03
    # the drawn purchase rates rank customers as their true rates do (posterior draws add noise, so not 1)
    assert spearmanr(c.lam[:n], truth["lam"]).correlation > 0.6
    # the mean rate of those drawn alive is the true mean of the alive to within 15% (the SD of lambda over
    # the mean is 1/sqrt(r) = 1.1, so the mean of ~3,000 is known to 2%; the rest is the fit's)
    assert abs(c.lam[:n][c.alive[:n]].mean() / truth["lam"][alive_true].mean() - 1) < 0.15
    # spend: customers with three or more repeat purchases have their own mean spend drawn closely
    spend = c.spend_shape[:n] / c.spend_rate[:n]
    many = cols["x"] >= 3
    assert np.corrcoef(spend[many], truth["mean_spend"][many])[0, 1] > 0.8
    # real history: last purchase, lifetime orders
    assert (c.present[:n]).all() and (c.last_order_day[:n] <= -1).all()
    assert (c.orders[:n] == cols["x"] + 1).all()


def test_the_twin_reproduces_the_calibration_periods_facts(mixed, mixed_twin):
    _, log, _, result = mixed
    _, scenario, c, cols, _ = mixed_twin
    n = scenario.cfg.customers.initial
    assert n == result.summary.n_customers
    # the ring holds the eleven months before launch: the log's spend over those 11 x 30.44 days, computed here
    # from the raw log, customer by customer
    end = pd.Timestamp(CAL_END)
    recent = log[(log["date"] <= end) & ((end - log["date"]).dt.days < int(11 * 365.25 / 12))]
    by_customer = recent.groupby("customer")["amount"].sum()
    ring = c.trailing_spend()[:n]
    assert abs(ring.sum() / by_customer.sum() - 1) < 0.01
    # the share of customers above each tier threshold at launch, from the twin and from the log
    from calibration.twin import hash_ids
    hashed = pd.Series(by_customer.to_numpy(), index=hash_ids(by_customer.index, SALT))
    actual = hashed.reindex(cols["customer_hash"], fill_value=0.0).to_numpy()
    for threshold in (100.0, 300.0, 1000.0):
        assert abs((ring >= threshold).mean() - (actual >= threshold).mean()) < 0.01, threshold


def test_common_random_numbers_and_reproducible_samples(mixed_twin):
    from sim.twin import sample_rows
    from sim.work import launch_base
    path, scenario, base, cols, _ = mixed_twin
    again = launch_base(scenario, 7)
    n = scenario.cfg.customers.initial
    assert np.array_equal(again.lam[:n], base.lam[:n]) and np.array_equal(again.alive[:n], base.alive[:n])
    other = launch_base(scenario, 8)
    assert not np.array_equal(other.lam[:n], base.lam[:n])          # another seed, other draws
    assert np.array_equal(other.last_order_day[:n], base.last_order_day[:n])  # the same real history
    h = cols["customer_hash"].astype(np.uint64)
    half, quarter = sample_rows(h, 0.5), sample_rows(h, 0.25)
    assert half.size == round(0.5 * h.size) and set(quarter) <= set(half)
    assert np.array_equal(sample_rows(h, 100), sample_rows(h, 100))
    sampled = scenario.with_overrides({"customers.sample": 0.5})
    assert sampled.cfg.customers.initial == half.size
    from sim.errors import ScenarioError
    with pytest.raises(ScenarioError, match="customers.sample"):
        scenario.with_overrides({"customers.start": "mature", "customers.sample": 0.5})


def test_both_arms_start_from_the_same_twin(mixed_twin):
    from sim.engine import LoyaltyModel
    from sim.work import launch_base
    _, scenario, _, _, _ = mixed_twin
    sc = scenario.with_overrides({"programme.points.earn_per_currency": 1.0})
    base = launch_base(sc, 3)
    a = LoyaltyModel(sc, 3, programme=None, customers=base).run()
    b = LoyaltyModel(sc, 3, programme=sc.cfg.programme, customers=base).run()
    n = sc.cfg.customers.initial
    assert np.array_equal(a.customers.uid[:n], b.customers.uid[:n])
    assert a.monthly["orders"].sum() > 0 and b.monthly["orders"].sum() > 0


# --------------------------------------------------------------------------- the backtest

@pytest.mark.slow
@pytest.mark.parametrize("case", ["existing+new", "regular"])
def test_the_backtest_passes_on_logs_of_known_truth(case, tmp_path):
    from calibration.backtest import TOLERANCE, backtest
    kw = dict(existing=2500, acquisition_per_day=3.0) if case == "existing+new" else dict(
        existing=2000, regular=0.3, acquisition_per_day=1.0)
    log, _ = make_log(days=DAYS, seed=11, **kw)
    path = tmp_path / "log.csv"
    write_csv(log, path)
    doc = backtest(path, calibration_end=CAL_END, replications=10)
    err = doc["holdout"]["error"]
    # ~2,500 customers make ~3,000-6,000 holdout purchases: a Poisson SE under 2%, so the stated tolerance
    # (10% on transactions) is a test of the model and the twin, not of the noise
    assert abs(err["transactions"]) < TOLERANCE["transactions"], err
    assert abs(err["revenue"]) < TOLERANCE["revenue"], err
    assert doc["closed_form_correlation"] - doc["per_customer_correlation"] < TOLERANCE["correlation"]
    # the simulated mean by calibration frequency matches the closed-form conditional expectation. A customer's
    # holdout count is heavy-tailed (a Gamma rate times a Poisson count): measured on this log, one customer-world
    # of the x = 0 row has an SD of about 4 purchases against a mean of 1.2, so 200 customers x 10 worlds give an
    # SE of 0.09 (7%); rows of repeat buyers are tighter (SD about the mean). 4 SE: 30% for x = 0, 15% for the rest
    for row in doc["by_frequency"]:
        if row["customers"] >= 50 and row["closed_form_mean"] > 0.5:
            tolerance = 0.30 if row["frequency"] == "0" else 0.15
            assert abs(row["simulated_mean"] / row["closed_form_mean"] - 1) < tolerance, row


@pytest.mark.slow
def test_backtest_on_cdnow_tracks_the_closed_form():
    from calibration.backtest import backtest
    doc = backtest(CDNOW, calibration_end="1997-09-30", replications=40)
    # the simulation of the fitted model lands on the model's own conditional expectation: 40 worlds of
    # ~1,700 purchases have an SE of the mean of ~0.4%; 3% is the stated agreement (sim.verdict.MODEL_AGREEMENT)
    cf = doc["holdout"]["closed_form"]["transactions"]
    assert abs(doc["holdout"]["simulated"]["transactions"]["mean"] / cf - 1) < 0.03
    # per-customer correlation: the mean of 40 worlds per customer against the closed form's expectation
    assert abs(doc["per_customer_correlation"] - doc["closed_form_correlation"]) < 0.03
    for key in ("transactions", "revenue"):
        assert doc["holdout"]["actual"][key] > 0 and doc["holdout"]["simulated"][key]["ci_low"] > 0


# --------------------------------------------------------------------------- the command line and bad input

def test_calibrate_writes_the_twin_and_a_scenario_runs_from_it(tmp_path, capsys):
    from sim.cli import main
    out = tmp_path / "pop.yaml"
    assert main(["calibrate", str(CDNOW), "--calibration-end", "1997-09-30", "--out", str(out)]) == 0
    text = capsys.readouterr()
    assert "Base and acquisition" in text.out and "closed-cohort" in text.out and "Backtest: the twin" in text.out
    import yaml
    block = yaml.safe_load(out.read_text())["customers"]
    assert block["twin"] == "pop.twin.parquet" and block["initial"] == 2357
    assert (tmp_path / "pop.twin.parquet.salt").is_file()
    import pyarrow.parquet as pq
    names = pq.read_schema(tmp_path / "pop.twin.parquet").names
    assert "customer_hash" in names and not any(n in names for n in ("customer", "name", "email"))
    sub = tmp_path / "scenarios"
    sub.mkdir()
    (sub / "s.yaml").write_text("name: t\nhorizon_days: 60\nreplications: 2\ncustomers:\n"
                                "  include: ../pop.yaml\n  start: twin\n  sample: 0.5\n")
    assert main(["run", str(sub / "s.yaml"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["customers_at_launch"] == round(0.5 * 2357)


@pytest.mark.slow  # 5 s measured: out of the fast tier (-m 'not slow')
def test_calibrate_json_has_the_acquisition_and_problems_come_first(tmp_path, capfd):
    from sim.cli import main
    log, _ = make_log(existing=300, acquisition_per_day=20.0, days=DAYS, seed=2)
    path = tmp_path / "log.csv"
    write_csv(log, path)
    assert main(["calibrate", str(path), "--calibration-end", CAL_END, "--json"]) == 2
    captured = capfd.readouterr()
    doc = json.loads(captured.out)
    assert doc["acquisition"]["per_day"] > 0 and doc["initial"] == doc["customers"]
    assert any("more than double" in p for p in doc["problems"])
    assert "more than double" in captured.err


@pytest.mark.parametrize("fault", ["missing", "not_parquet", "other_format", "other_shape"])
def test_a_bad_twin_file_is_one_line_and_exit_2(tmp_path, capsys, fault):
    from sim.cli import main
    import pyarrow as pa
    import pyarrow.parquet as pq
    twin = tmp_path / "t.parquet"
    if fault == "not_parquet":
        twin.write_text("customer,date\n1,2024-01-01\n")
    elif fault == "other_format":
        pq.write_table(pa.table({"x": [1]}).replace_schema_metadata({"loyalsim.kind": "twin",
                                                                      "loyalsim.format": "99"}), twin)
    elif fault == "other_shape":
        pq.write_table(pa.table({"x": [1]}).replace_schema_metadata({"loyalsim.kind": "twin", "loyalsim.format": "1",
                                                                      "model": "bgnbd"}), twin)
    (tmp_path / "s.yaml").write_text("name: t\ncustomers:\n  start: twin\n  twin: t.parquet\n")
    assert main(["run", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("loyalsim: ") and "customers.twin" in err[0] and "t.parquet" in err[0]
    expected = {"missing": "does not exist", "not_parquet": "not a Parquet file", "other_format": "format '99'",
                "other_shape": "lacks the columns"}[fault]
    assert expected in err[0]


def test_backtest_refuses_a_short_holdout_and_too_few_repeaters(tmp_path, capsys):
    from sim.cli import main
    assert main(["backtest", str(CDNOW), "--calibration-end", "1998-06-10"]) == 2
    assert "at least 28" in capsys.readouterr().err
    log, _ = make_log(existing=80, days=DAYS, seed=4)
    path = tmp_path / "small.csv"
    write_csv(log, path)
    assert main(["backtest", str(path), "--calibration-end", CAL_END]) == 2
    assert "at least 100" in capsys.readouterr().err


def test_backtest_command_json_and_html(tmp_path, capsys):
    from sim.cli import main
    page = tmp_path / "bt.html"
    assert main(["backtest", str(CDNOW), "--calibration-end", "1997-09-30", "-r", "4", "--json",
                 "--html", str(page)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "backtest" and doc["verdict"]["kind"] in ("matches", "does_not_match")
    for key in ("transactions", "revenue"):
        assert doc["holdout"]["actual"][key] > 0 and doc["holdout"]["simulated"][key]["mean"] > 0
    assert {"ci_low", "ci_high"} <= set(doc["holdout"]["simulated"]["transactions"])
    assert "error" in doc["holdout"] and "acquisition_per_day" in doc
    assert doc["holdout"]["actual"]["transactions"] == 1882  # CDNOW's published holdout count
    assert "Backtest" in page.read_text()


def test_tiers_count_each_twin_customers_own_spend_before_launch(mixed, mixed_twin):
    """With count_history, a tier programme on the twin qualifies each customer on their own pre-launch spend."""
    from calibration.twin import hash_ids
    from sim.engine import LoyaltyModel
    from sim.work import launch_base
    _, log, _, _ = mixed
    _, scenario, _, cols, _ = mixed_twin
    levels = [{"name": "basic", "threshold": 0}, {"name": "silver", "threshold": 150},
              {"name": "gold", "threshold": 500}]
    sc = scenario.with_overrides({"programme.points.earn_per_currency": 1.0, "programme.tiers.levels": levels,
                                  "programme.tiers.count_history": True})
    model = LoyaltyModel(sc, 3, programme=sc.cfg.programme, customers=launch_base(sc, 3))
    tiers = model.mechanic("tiers")
    n = sc.cfg.customers.initial
    level = tiers.qualified_level(np.arange(n))
    # from the raw log: each customer's spend over the 11 months before the launch month (the window's months
    # before launch), with the log's customers matched to the twin's rows through their hashes
    end = pd.Timestamp(CAL_END)
    recent = log[(log["date"] <= end) & ((end - log["date"]).dt.days < int(11 * 365.25 / 12))]
    by_customer = recent.groupby("customer")["amount"].sum()
    spend = pd.Series(by_customer.to_numpy(), index=hash_ids(by_customer.index, SALT)).reindex(
        cols["customer_hash"], fill_value=0.0).to_numpy()
    for i, threshold in enumerate((150.0, 500.0), start=1):
        # the same customers on both sides, so only the month boundaries (a day or two of 30.44-day months
        # against calendar ones) can move a customer across a threshold: within 1 point
        assert abs((level >= i).mean() - (spend >= threshold).mean()) < 0.01
        assert (level >= i).mean() > 0.05  # the thresholds are crossed by some, so the check can fail
    plain = sc.with_overrides({"programme.tiers.count_history": False})
    off = LoyaltyModel(plain, 3, programme=plain.cfg.programme, customers=launch_base(plain, 3))
    assert (off.mechanic("tiers").qual[:n] == 0).all()   # the default: everyone starts from zero


def test_init_writes_a_commented_scenario_that_runs_on_the_twin(tmp_path, capsys):
    from sim.cli import main
    from sim.scenario import load
    base = tmp_path / "pop.yaml"
    assert main(["calibrate", str(CDNOW), "--calibration-end", "1997-09-30", "--out", str(base)]) == 0
    (tmp_path / "s").mkdir()
    out = tmp_path / "s" / "mine.yaml"
    assert main(["init", str(base), "--out", str(out)]) == 0
    text = out.read_text()
    assert "ANSWER" in text and "gross_margin" in text and "delivery_fee" in text and "start: twin" in text
    sc = load(out)
    assert sc.cfg.customers.start == "twin" and sc.cfg.customers.initial == 2357
    assert str(sc.cfg.start_date) == "1997-10-01"    # the day after the calibration end
    assert sc.cfg.programme.points is not None
    capsys.readouterr()
    assert main(["init", str(base), "--out", str(out)]) == 2   # never overwrites without --force
    assert "exists" in capsys.readouterr().err
