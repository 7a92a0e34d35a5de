"""RFM segments and the population block written for scenarios."""

import math

import numpy as np
import pytest
import yaml

from calibration.datasets import cdnow_path
from calibration.models.base import ModelFit
from calibration.pipeline import calibrate
from calibration.population import format_population_block, population_block, write_population_block
from calibration.segments import SEGMENT_RULES, quintile_score, rfm_scores
from sim.errors import UserError


@pytest.fixture(scope="module")
def result():
    return calibrate(cdnow_path(), calibration_end="1997-09-30", model="bgnbd", segments=True)


def fake_fit(model, **params):
    return ModelFit(model=model, params=params, log_likelihood=0.0, converged=True, standard_errors={},
                    n_customers=1, iterations=1, seconds=0.0, message="converged")


def test_quintile_scores_share_ties():
    values = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 5])
    assert quintile_score(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert quintile_score(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_every_customer_gets_exactly_one_segment(result):
    scores = rfm_scores(result.summary)
    assert (scores["segment"] != "").all()
    names = [name for name, _, _ in SEGMENT_RULES]
    assert set(scores["segment"]) <= set(names)
    # the rules are exhaustive on the whole score grid
    R, F = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    for x in (np.zeros_like(R), np.ones_like(R)):
        hits = sum(rule(R, F, x).astype(int) for _, _, rule in SEGMENT_RULES)
        assert (hits >= 1).all()


def test_segments_have_shares_and_parameters(result):
    segments = result.segments
    assert math.isclose(sum(s.share for s in segments), 1.0)
    assert sum(s.customers for s in segments) == 2357
    champions = next(s for s in segments if s.name == "champions")
    assert champions.spend_source == "fitted on the segment"
    # segments of one-time buyers cannot be fitted and say so
    hibernating = next(s for s in segments if s.name == "hibernating")
    assert hibernating.purchase_source.startswith("population parameters: only 0 repeat buyers")
    assert hibernating.purchase == result.fits["bgnbd"].params


def test_population_block_contract(result, tmp_path):
    block = result.population_block()
    customers = block["customers"]
    assert customers["time_unit"] == "week"
    assert list(customers["purchase"]) == ["model", "r", "alpha", "a", "b"]
    assert customers["purchase"]["model"] == "bgnbd"
    assert customers["purchase"]["r"] == pytest.approx(0.243, rel=0.01)
    assert list(customers["spend"]) == ["p", "q", "gamma"]
    shares = [s["share"] for s in customers["segments"]]
    assert abs(sum(shares) - 1.0) < 1e-12
    for segment in customers["segments"]:
        assert list(segment) == ["name", "share", "purchase", "spend"]
        assert segment["purchase"]["model"] == "bgnbd"

    path = write_population_block(tmp_path / "population.yaml", block, source="CDNOW_sample.txt",
                                  n_customers=2357, n_transactions=6696, segments=result.segments)
    text = path.read_text()
    assert text.startswith("# written by loyalsim calibrate from CDNOW_sample.txt on ")
    assert "2357 customers, 6696 transactions" in text.splitlines()[0]
    assert yaml.safe_load(text) == block


def test_population_block_without_segments_and_for_pareto():
    block = population_block(fake_fit("paretonbd", r=0.553, alpha=10.578, s=0.606, beta=11.669),
                             fake_fit("gammagamma", p=6.25, q=3.74, gamma=15.44), time_unit="day")
    assert block == {"customers": {
        "time_unit": "day",
        "purchase": {"model": "paretonbd", "r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        "spend": {"p": 6.25, "q": 3.74, "gamma": 15.44},
    }}
    text = format_population_block(block, source="x.csv", n_customers=3, n_transactions=4)
    assert yaml.safe_load(text) == block
    with pytest.raises(UserError, match="time_unit: 'fortnight'"):
        population_block(fake_fit("bgnbd", r=1, alpha=1, a=1, b=1), fake_fit("gammagamma", p=1, q=2, gamma=1),
                         time_unit="fortnight")


def test_no_block_from_a_fit_that_did_not_converge():
    result = calibrate(cdnow_path(), maxiter=2)
    assert result.problems()
    with pytest.raises(UserError, match="did not converge.*no parameters written"):
        result.population_block()
