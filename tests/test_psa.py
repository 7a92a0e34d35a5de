"""The probabilistic sensitivity analysis: priors, exact reproduction, the flagship, several strategies."""

import numpy as np
import pytest

import sim
from conftest import SCENARIOS, invoke, small
from sim.studies.priors import priors_of
from sim.studies.psa import run_psa

TINY = ["customers.initial=1500", "horizon_days=200", "customers.history_days=200"]


# --------------------------------------------------------------------------- the PSA

@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
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


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_several_strategies_get_the_probability_each_is_best():
    scs = [small(f, *[], customers=1200, days=200, history=200) for f in ("points_and_tiers.yaml", "tiers.yaml")]
    psa = run_psa(scs, draws=6, replications=2, tornado=False, backend="serial")
    dec = psa.summary()["decision"]
    assert dec["options"][0] == "no programme" and len(dec["options"]) == 3
    # recomputed from the draws themselves: doing nothing is best where both strategies lose money
    both_lose = float((psa.incremental.max(axis=1) <= 0).mean())
    assert dec["probability_best"]["no programme"] == pytest.approx(both_lose)




def test_truncated_normal_quantiles_match_scipy_in_both_tails():
    """The prior's inverse CDF against scipy.stats.truncnorm (an independent implementation), with
    the whole support far in a tail as well, where a naive ndtr difference loses every digit."""
    import numpy as np
    from scipy.stats import truncnorm

    from sim.studies.priors import Prior
    u = np.linspace(0.001, 0.999, 999)
    for lo, hi in ((10.0, None), (8.3, 12.0), (-1.0, 2.0), (None, 0.5), (-12.0, -9.0)):
        prior = Prior("x", "truncnormal", {"mean": 3.0, "sd": 2.0, "low": None if lo is None else 3 + 2 * lo,
                                           "high": None if hi is None else 3 + 2 * hi}, "g")
        ref = 3 + 2 * truncnorm.ppf(u, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        assert np.max(np.abs(prior.quantile(u) - ref)) < 1e-9, (lo, hi)
