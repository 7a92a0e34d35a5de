"""The value of information (sim.studies.voi) against closed forms."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from sim.studies import voi

TINY = ["customers.initial=1500", "horizon_days=200", "customers.history_days=200"]


# --------------------------------------------------------------------------- value of information: closed forms

def _ev_max0(mu, sd):
    """E[max(X, 0)] - max(mu, 0) for X ~ N(mu, sd^2): the EVPI of a two-option linear decision."""
    return sd * norm.pdf(mu / sd) + mu * norm.cdf(mu / sd) - max(mu, 0.0)


def test_evpi_and_evppi_match_closed_forms_on_a_linear_normal_decision():
    # INB = mu + b . theta, theta ~ N(0, I): INB ~ N(mu, |b|^2) and E[INB | theta_G] ~ N(mu, |b_G|^2),
    # so EVPI and every EVPPI have closed forms. The smallest value here (theta_3 alone, 1.67) is the
    # hardest: a small difference of two means, and its regression sees the other parameters as
    # noise (slope standard error 0.29 of 20, which moves this EVPPI by ~4%). At 40,000 draws both
    # errors are about 4-5% of it, so 10% is a bit over two standard errors
    rng = np.random.default_rng(11)
    n = 40000
    theta = rng.standard_normal((n, 3))
    b = np.array([50.0, 30.0, 20.0])
    mu = 20.0
    nb = np.column_stack([np.zeros(n), mu + theta @ b + rng.normal(0, 5, n)])  # plus a little simulation noise
    assert voi.evpi(nb) == pytest.approx(_ev_max0(mu, math.hypot(math.hypot(*b), 5)), rel=0.10)
    values = {}
    for g in ([0], [1], [2], [0, 1], [0, 1, 2]):
        values[tuple(g)] = voi.evppi(nb, theta[:, g])
        assert values[tuple(g)] == pytest.approx(_ev_max0(mu, float(np.linalg.norm(b[g]))), rel=0.10), g
    # never more than all of it, and never less when a parameter joins the group
    assert all(v <= voi.evpi(nb) for v in values.values())
    assert values[(0,)] <= values[(0, 1)] <= values[(0, 1, 2)]
    assert values[(1,)] <= values[(0, 1)]


def test_an_irrelevant_parameter_has_no_value_of_information():
    rng = np.random.default_rng(3)
    theta = rng.standard_normal((3000, 2))
    nb = np.column_stack([np.zeros(3000), 10 + 40 * theta[:, 0]])
    assert voi.evppi(nb, theta[:, [1]]) < 0.05 * voi.evpi(nb)


