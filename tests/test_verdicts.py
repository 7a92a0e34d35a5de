"""One verdict per answer: decided once (sim.verdict), the same kind on the terminal, in the JSON and in the HTML.

The end-to-end cases are the ones a new user meets first: no programme with one and with three
replications, the flagship, a comparison and a three-strategy uncertainty analysis. The unit
tests hold the rules themselves, on documents built to sit on each side of each line.
"""
import json
import re

import numpy as np
import pytest

from conftest import SCENARIOS, invoke
from sim import verdict

TINY = ["--set", "customers.initial=800", "--set", "horizon_days=150", "--set", "customers.history_days=150",
        "--set", "customers.acquisition.per_day=0.5", "-j", "1"]
CASES = {
    "no_programme_r1": ["run", SCENARIOS / "no_programme.yaml", "-r", "1"],
    "no_programme_r3": ["run", SCENARIOS / "no_programme.yaml", "-r", "3"],
    "flagship": ["run", SCENARIOS / "points_and_tiers.yaml", "-r", "3"],
    "comparison": ["compare", SCENARIOS / "points_and_tiers.yaml", SCENARIOS / "tiers.yaml", "-r", "2"],
    "psa_3": ["psa", SCENARIOS / "points_and_tiers.yaml", SCENARIOS / "tiers.yaml", SCENARIOS / "simple_points.yaml",
              "--draws", "6", "-r", "2", "--no-tornado"],
}


@pytest.mark.slow  # 8 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("case", list(CASES))
def test_terminal_json_and_html_give_the_same_verdict(case, tmp_path):
    args = [*CASES[case], *TINY, "--store", tmp_path / "store"]
    r = invoke(*args, "--json", "--html", tmp_path / "page.html")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    v = doc["verdict"]
    assert v["kind"] in verdict.KINDS and v["sentence"]
    page = (tmp_path / "page.html").read_text()
    assert re.findall(r'id="verdict" data-kind="([a-z_]+)"', page) == [v["kind"]]
    terminal = invoke(*args).stdout          # the same records, from the store
    heads = [line for line in terminal.splitlines() if line.startswith("Verdict:")]
    assert len(heads) == 1 and heads[0].startswith(f"Verdict: {v['headline']}:"), heads
    if case.startswith("no_programme"):
        assert v["kind"] == "no_effect"      # one replication or three: nothing changed, nothing was spent


# --------------------------------------------------------------------------- the rules

def _run_doc(mean, lo, hi, n=5, orders=10.0, cost=100.0):
    return {"currency": "EUR", "replications": n, "horizon_days": 365, "gross_margin": 0.3,
            "economics": {"incremental_profit": {"mean": mean, "ci_low": lo, "ci_high": hi}},
            "lift": {"orders": {"absolute": {"mean": orders}}}, "programme": {"programme_cost": cost},
            "baseline": {"revenue": 1e6}}


@pytest.mark.parametrize("mean, lo, hi, n, kind", [
    (5.0, 1.0, 9.0, 5, "pays"),
    (-5.0, -9.0, -1.0, 5, "does_not_pay"),
    (1.0, -3.0, 5.0, 5, "cannot_tell"),
    (1.0, 0.0, 2.0, 5, "cannot_tell"),       # an interval that touches zero does not exclude it
    (5.0, None, None, 1, "one_replication"),
])
def test_a_run_verdict_follows_its_interval(mean, lo, hi, n, kind):
    assert verdict.of_run(_run_doc(mean, lo, hi, n)).kind == kind


def test_no_effect_needs_nothing_changed_and_nothing_spent():
    assert verdict.of_run(_run_doc(0.0, 0.0, 0.0, orders=0.0, cost=0.0)).kind == "no_effect"
    assert verdict.of_run(_run_doc(0.0, None, None, n=1, orders=0.0, cost=0.0)).kind == "no_effect"
    # zero profit by coincidence, with orders moved and money spent, is not "no effect"
    assert verdict.of_run(_run_doc(0.0, 0.0, 0.0, orders=3.0, cost=50.0)).kind != "no_effect"


def test_a_losing_run_says_what_break_even_needs():
    notes = " ".join(verdict.of_run(_run_doc(-300.0, -400.0, -200.0)).notes)
    assert "1,000 EUR more sales" in notes  # 300 / a 30% margin


def _comparison(means, cis, n=5):
    ranking = [{"strategy": f"s{i}", "incremental_profit": {"mean": m, "ci_low": c[0], "ci_high": c[1]},
                "verdict": {"kind": "cannot_tell"}} for i, (m, c) in enumerate(zip(means, cis))]
    ranking.append({"strategy": "no programme", "no_programme": True, "incremental_profit": {"mean": 0.0}})
    ranking.sort(key=lambda r: -r["incremental_profit"]["mean"])
    return {"currency": "EUR", "replications": n, "horizon_days": 365, "ranking": ranking}


def test_a_comparison_recommends_a_strategy_only_when_it_pays():
    v = verdict.of_comparison(_comparison([5.0, 2.0], [(1.0, 9.0), (-1.0, 5.0)]))
    assert v.kind == "pays" and v.recommendation == "s0"
    v = verdict.of_comparison(_comparison([-5.0, -2.0], [(-9.0, -1.0), (-4.0, -0.5)]))
    assert v.kind == "does_not_pay" and v.recommendation == "no programme" and "s1" in v.sentence
    v = verdict.of_comparison(_comparison([-1.0], [(-5.0, 3.0)]))
    assert v.kind == "cannot_tell" and v.recommendation == "no programme"


def _psa(p_best_programme, p_pays, grade=None, evppi_share=0.9):
    return {"currency": "EUR", "evpi": 1000.0, "largest_evppi_group": "g",
            "evppi": {"g": {"parameters": ["x.y"], "evppi": 1000.0 * evppi_share}},
            "parameters": [{"field": "x.y", "grade": grade}],
            "strategies": {"p": {"incremental_profit": {"mean": 10.0}, "probability_pays": p_pays}},
            "decision": {"options": ["no programme", "p"], "best_on_expectation": "p",
                         "expected_incremental_profit": {"no programme": 0.0, "p": 10.0},
                         "probability_best": {"no programme": 1 - p_best_programme, "p": p_best_programme}}}


def test_a_study_verdict_is_sure_only_in_nine_worlds_out_of_ten():
    assert verdict.of_psa(_psa(0.95, 0.95)).kind == "pays"
    assert verdict.of_psa(_psa(0.6, 0.6)).kind == "cannot_tell"


def test_a_decision_that_rests_on_an_unmeasured_size_says_so():
    v = verdict.of_psa(_psa(0.95, 0.95, grade="assumption"))
    assert v.rests_on and "whose size no study has measured" in " ".join(v.notes) and "x.y" in " ".join(v.notes)
    assert not verdict.of_psa(_psa(0.95, 0.95, grade="measured")).rests_on
    # a group that carries little of the value of information is not what the decision rests on
    assert not verdict.of_psa(_psa(0.95, 0.95, grade="assumption", evppi_share=0.2)).rests_on


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        verdict.Verdict("maybe", "x").as_dict()


# --------------------------------------------------------------------------- the figures the verdicts read

def test_the_payback_probability_never_falls():
    from sim.studies.psa import paid_back_by_month
    # one world above zero at month 2, below at 3, above from 4: it has paid back for good only from month 4
    cum = np.array([[-1.0, 1.0, -1.0, 1.0, 2.0], [-1.0, -1.0, 1.0, 2.0, 3.0], [-2.0, -1.0, -1.0, -1.0, -1.0]])
    p = paid_back_by_month(cum)
    assert p.tolist() == pytest.approx([0.0, 0.0, 1 / 3, 2 / 3, 2 / 3])
    assert (np.diff(p) >= 0).all()


def test_evppi_is_never_above_evpi_and_says_when_draws_are_too_few():
    from sim.studies import voi
    rng = np.random.default_rng(4)
    n = 40
    x = rng.normal(size=(n, 6))             # a group of six parameters, none of which matters
    nb = np.column_stack([np.zeros(n), rng.normal(0, 1.0, n)])
    evpi = voi.evpi(nb)
    got = voi.evppi_of_group(nb, x, evpi)
    assert got["evppi"] <= evpi + 1e-12
    assert not got["reliable"] and "draws" in got["note"]
    # an option that is never best: nothing to learn
    always = np.column_stack([np.zeros(n), -1.0 - rng.random(n)])
    assert voi.evpi(always) == 0 and voi.evppi_of_group(always, x, 0.0)["evppi"] == 0.0
    # a parameter that decides everything, with draws to spare: EVPPI close to EVPI and reliable
    m = 400
    z = rng.normal(size=(m, 1))
    nb = np.column_stack([np.zeros(m), 3.0 * z[:, 0]])
    evpi = voi.evpi(nb)
    got = voi.evppi_of_group(nb, z, evpi)
    assert got["reliable"] and got["evppi"] == pytest.approx(evpi, rel=0.05)
