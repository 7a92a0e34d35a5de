"""What the terminal says reads right: significant figures, no effect, one replication, payback, names."""
import json

import pytest

from conftest import SCENARIOS, invoke

TINY = ["--set", "customers.initial=800", "--set", "horizon_days=120", "--set", "customers.history_days=120"]


def test_a_programme_with_no_effect_says_so_and_never_pays_back():
    r = invoke("run", SCENARIOS / "no_programme.yaml", *TINY, "-r", "2", "-j", "1")
    assert r.returncode == 0, r.stderr
    assert "NO EFFECT" in r.stdout
    assert "Payback: month" not in r.stdout and "PAYS" not in r.stdout
    doc = json.loads(invoke("run", SCENARIOS / "no_programme.yaml", *TINY, "-r", "2", "-j", "1", "--json").stdout)
    assert doc["economics"]["payback_month"] is None
    # a change from nothing has no relative size: null, not +0.0%
    assert doc["lift"]["programme_cost"]["relative"]["mean"] is None


def test_one_replication_cannot_claim_certainty():
    r = invoke("run", SCENARIOS / "points_and_tiers.yaml", *TINY, "-r", "1")
    assert r.returncode == 0, r.stderr
    assert "1 replication," in r.stdout and "1 replications" not in r.stdout
    lines = r.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Verdict"))
    verdict = " ".join(x.strip() for x in lines[at:at + 3])
    assert "ONE REPLICATION" in verdict and "no interval to say how sure" in verdict and "-r 10" in verdict
    assert "PAYS" not in verdict.replace("DOES NOT PAY", "")


def test_small_checks_keep_their_significant_figures():
    r = invoke("run", SCENARIOS / "coffee_stamp_card.yaml", *TINY, "-r", "2", "-j", "1")
    line = next(x for x in r.stdout.splitlines() if x.startswith("Average check (list price)"))
    base, prog, change = line.split()[4:7]
    assert base.count(".") == 1 and len(base.replace(".", "")) == 4  # 4.xxx, not 5
    assert change.startswith(("+", "-")) and change != "+0"


def test_the_verdict_says_what_its_interval_covers():
    r = invoke("run", SCENARIOS / "points_and_tiers.yaml", *TINY, "-r", "3", "-j", "1")
    assert "simulation noise only" in r.stdout and "loyalsim psa" in r.stdout


def test_compare_prints_whole_strategy_names(tmp_path):
    long = "A strategy whose name is much longer than thirty-four characters"
    p = tmp_path / "long.yaml"
    p.write_text((SCENARIOS / "tiers.yaml").read_text().replace("name: Bronze/Silver/Gold tiers", f"name: {long}"))
    (tmp_path / "bases").mkdir()
    (tmp_path / "bases" / "retailer.yaml").write_text((SCENARIOS / "bases" / "retailer.yaml").read_text())
    r = invoke("compare", SCENARIOS / "points_and_tiers.yaml", p, *TINY, "-r", "2", "-j", "1")
    assert r.returncode == 0, r.stderr
    assert long in r.stdout


@pytest.mark.parametrize("scenario", ["campaigns.yaml", "referrals.yaml"])
def test_payback_is_immediate_only_with_nothing_to_recover(scenario):
    doc = json.loads(invoke("run", SCENARIOS / scenario, *TINY, "-r", "2", "-j", "1", "--json").stdout)
    monthly = doc["economics"]["monthly_incremental_profit"]
    import numpy as np
    cum = np.cumsum(monthly)
    if doc["economics"]["payback_immediate"]:
        assert (cum >= 0).all() and cum[-1] > 0
    elif doc["economics"]["payback_month"] == 1:
        pytest.fail("month 1 payback without being ahead from the first month")
