"""The command line as a user meets it: clear messages and exit code 2 for bad input, never a traceback."""
import json

import pytest

from conftest import ROOT, invoke, run_cli

GOOD = """
name: t
horizon_days: 120
replications: 2
customers: {initial: 500, history_days: 120}
programme:
  points: {earn_per_currency: 0.1, point_value: 0.1}
"""


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text,field,words", [
    (GOOD.replace("horizon_days", "horizon_dayz"), "horizon_dayz", "did you mean 'horizon_days'"),
    (GOOD.replace("points:", "pionts:"), "programme.pionts", "did you mean 'points'"),
    (GOOD.replace("initial: 500", "initial: lots"), "customers.initial", "whole number"),
    (GOOD.replace("initial: 500", "initial: -3"), "customers.initial", ">= 1"),
    (GOOD + "economics: {gross_margin: 1.7}\n", "economics.gross_margin", "<= 1"),
    (GOOD.replace("customers: {", "customers: {purchase: {r: -0.2}, "), "customers.purchase.r", "> 0"),
    (GOOD.replace("customers: {", "customers: {start: old, "), "customers.start", "mature, fresh"),
    (GOOD.replace("customers: {", "customers: {segments: [{name: a, share: 0.5}], "), "customers.segments", "sum to 1"),
    (GOOD.replace("point_value: 0.1", "point_value: 0"), "programme.points.point_value", "> 0"),
    (GOOD + "  tiers: {levels: [{name: A, threshold: 0}, {name: B, threshold: 0}]}\n", "programme.tiers.levels[1].threshold",
     "greater than"),
    ("name: [unclosed\n", None, "not valid YAML"),
    ("", None, "empty"),
    ("- just\n- a list\n", None, "mapping"),
])
def test_bad_scenarios_get_one_clear_line_and_exit_2(tmp_path, text, field, words):
    p = write(tmp_path, text)
    for cmd in ("validate", "run"):
        r = invoke(cmd, p)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        assert str(p) in r.stderr
        if field:
            assert field in r.stderr
        assert words in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_missing_file_and_bad_overrides(tmp_path):
    r = invoke("run", tmp_path / "nope.yaml")
    assert r.returncode == 2 and "file not found" in r.stderr and "Traceback" not in r.stderr
    p = write(tmp_path, GOOD)
    r = invoke("run", p, "--set", "customers.initial=abc")
    assert r.returncode == 2 and "customers.initial" in r.stderr
    r = invoke("run", p, "--set", "nonsense")
    assert r.returncode == 2 and "dotted.path=value" in r.stderr
    r = invoke("run", p, "--set", "programme.points.redemption.threshhold=5")
    assert r.returncode == 2 and "did you mean 'threshold'" in r.stderr
    r = write(tmp_path, "name: x\ncustomers: {include: missing_base.yaml}\n", "inc.yaml")
    r = invoke("validate", r)
    assert r.returncode == 2 and "missing_base.yaml" in r.stderr and "Traceback" not in r.stderr


def test_overrides_and_shorthands_reach_the_run(tmp_path):
    p = write(tmp_path, GOOD)
    r = invoke("run", p, "--json", "--seed", "7", "-r", "3", "--set", "horizon_days=90", "-j", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["seed"], doc["replications"], doc["horizon_days"]) == (7, 3, 90)


def test_the_installed_command_runs_as_a_process(tmp_path):
    p = write(tmp_path, GOOD)
    r = run_cli("run", p, "-r", "1", "-j", "1")
    assert r.returncode == 0 and "Verdict" in r.stdout, r.stderr
    r = run_cli("validate", tmp_path / "missing.yaml")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_every_library_scenario_validates():
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        r = invoke("validate", f)
        assert r.returncode == 0, (f, r.stderr)


def test_run_table_speaks_to_a_marketing_lead(tmp_path):
    p = write(tmp_path, GOOD)
    r = invoke("run", p, "-j", "1")
    assert r.returncode == 0, r.stderr
    for words in ("Customers retained", "Average check", "Purchases per active customer", "Programme cost",
                  "Incremental profit", "Verdict", "95%"):
        assert words in r.stdout


@pytest.mark.slow  # 5 s measured: out of the fast tier (-m 'not slow')
def test_out_dir_writes_series_and_resumes(tmp_path):
    p = write(tmp_path, GOOD)
    out = tmp_path / "out"
    r = invoke("run", p, "--out", out, "-j", "1", "--json")
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert (out / "monthly.csv").exists() and (out / "scenario.resolved.yaml").exists()
    assert (out / "summary.json").exists() and (out / "report.png").exists()
    records = sorted((out / "store" / "records").glob("*/*.parquet"))
    assert len(records) == 4  # baseline and programme, two replications
    import pandas as pd
    df = pd.read_csv(out / "monthly.csv")
    assert set(df.arm) == {"baseline", "programme"} and set(df.replication) == {0, 1}
    assert {"revenue", "profit", "active_end", "points.liability"} <= set(df.columns)
    # an interrupted run leaves finished replications; a rerun reuses them and agrees
    records[1].unlink()
    r2 = invoke("run", p, "--out", out, "-j", "1", "--json")
    assert r2.stdout == r.stdout
    # a different scenario does not reuse them
    r3 = invoke("run", p, "--out", out, "-j", "1", "--json", "--seed", "3")
    assert json.loads(r3.stdout)["lift"] != first["lift"]


def test_compare_ranks_strategies_on_shared_customers(tmp_path):
    a = write(tmp_path, GOOD.replace("name: t", "name: small points"), "a.yaml")
    b = write(tmp_path, GOOD.replace("name: t", "name: rich points").replace("point_value: 0.1", "point_value: 1"), "b.yaml")
    r = invoke("compare", a, b, "--json", "-j", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    ranks = doc["ranking"]
    # both strategies and no programme, best first: no programme is an option with zero incremental profit
    assert [x["rank"] for x in ranks] == [1, 2, 3]
    assert sorted(x["strategy"] for x in ranks) == ["no programme", "rich points", "small points"]
    means = [x["incremental_profit"]["mean"] for x in ranks]
    assert means == sorted(means, reverse=True)
    assert next(x for x in ranks if x.get("no_programme"))["incremental_profit"]["mean"] == 0.0
    assert 0.0 <= ranks[0]["beats_next"]["probability"] <= 1.0
    assert ranks[2]["beats_next"] is None
    assert doc["kind"] == "comparison" and doc["verdict"]["kind"] in ("pays", "does_not_pay", "cannot_tell")
    # the two strategies share one baseline
    assert doc["strategies"]["small points"]["baseline"] == doc["strategies"]["rich points"]["baseline"]
    c = write(tmp_path, GOOD.replace("initial: 500", "initial: 600"), "c.yaml")
    r = invoke("compare", a, c)
    assert r.returncode == 2 and "customers" in r.stderr and "Traceback" not in r.stderr
    txt = invoke("compare", a, b, "-j", "1")
    assert "beats next" in txt.stdout
    # programme costs belong to each strategy; the margin belongs to the shared baseline
    d = write(tmp_path, GOOD.replace("name: t", "name: costly") + "economics: {programme_fixed_cost_per_month: 5000}\n", "d.yaml")
    r = invoke("compare", a, d, "--json", "-j", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    costs = {x["strategy"]: x["programme_cost"] for x in doc["ranking"] if not x.get("no_programme")}
    assert costs["costly"] > costs["small points"] + 5000
    e = write(tmp_path, GOOD.replace("name: t", "name: margin") + "economics: {gross_margin: 0.5}\n", "e.yaml")
    r = invoke("compare", a, e)
    assert r.returncode == 2 and "economics.gross_margin" in r.stderr
