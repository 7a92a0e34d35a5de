"""Gamma-Gamma model of spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", JMR; Fader & Hardie (2013), "The Gamma-Gamma model of monetary value".
Each transaction of a customer is worth z ~ Gamma(p, nu); across customers
nu ~ Gamma(q, gamma). It is fitted on customers with at least one repeat purchase
(x > 0), using zbar, the mean value of their x repeat transactions. Customers whose
repeat purchases are all worth 0 carry no spend information and are left out.

Log-likelihood convention. We use the density of the observed mean zbar given x:

    ln f(zbar | x) = ln G(px+q) - ln G(px) - ln G(q) + q ln gamma
                     + (px-1) ln zbar + px ln x - (px+q) ln(gamma + x zbar)

This is the convention that gives the published CDNOW value -4055.92. The density
of the sum x*zbar would be lower by sum(ln x) per data set, and a likelihood with
only the parameter-dependent terms would differ again; the maximum is the same.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from calibration.models.base import ModelFit, maximise, unpack

NAME = "gammagamma"
LABEL = "Gamma-Gamma"
SHAPES = ("p", "q")  # heterogeneity shapes; see base.MAX_SHAPE
PARAMS = ("p", "q", "gamma")


class GammaGammaFit(ModelFit):
    """A fitted Gamma-Gamma spend model."""

    def conditional_expected_spend(self, x, zbar):
        return conditional_expected_spend(self.params, x, zbar)

    @property
    def mean_spend(self) -> float:
        return mean_spend(self.params)


def _unpack(params):
    return unpack(params, PARAMS)


def spenders(x, zbar):
    """Mask of customers the model is fitted on: a repeat purchase with positive mean value."""
    x, zbar = np.asarray(x, float), np.asarray(zbar, float)
    return (x > 0) & (zbar > 0)


def customer_log_likelihood(params, x, zbar) -> np.ndarray:
    p, q, gamma = _unpack(params)
    x, zbar = np.asarray(x, float), np.asarray(zbar, float)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
        + (px - 1.0) * np.log(zbar) + px * np.log(x) - (px + q) * np.log(gamma + x * zbar)
    )


def log_likelihood(params, x, zbar) -> float:
    return float(np.sum(customer_log_likelihood(params, x, zbar)))


def gradient(params, x, zbar) -> np.ndarray:
    p, q, gamma = _unpack(params)
    x, zbar = np.asarray(x, float), np.asarray(zbar, float)
    px = p * x
    common = digamma(px + q)
    log_total = np.log(gamma + x * zbar)
    d_p = x * (common - digamma(px) + np.log(zbar) + np.log(x) - log_total)
    d_q = common - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * zbar)
    return np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])


def fit(x, zbar, *, start=None, maxiter: int = 500) -> GammaGammaFit:
    """Fit on the customers with x > 0 and zbar > 0 (the others are ignored)."""
    x, zbar = np.asarray(x, float), np.asarray(zbar, float)
    keep = spenders(x, zbar)
    x, zbar = x[keep], zbar[keep]
    if x.size == 0:
        raise ValueError("no customer has a repeat purchase with a positive value")
    if start is None:
        start = np.array([1.0, 2.0, float(np.mean(zbar))])   # mean spend p*gamma/(q-1) = mean zbar
    elif isinstance(start, dict):
        start = np.array([start[k] for k in PARAMS], float)
    result = maximise(
        NAME, PARAMS,
        lambda th: log_likelihood(th, x, zbar),
        np.asarray(start, float),
        int(x.size),
        gradient=lambda th: gradient(th, x, zbar),
        shapes=SHAPES,
        maxiter=maxiter,
    )
    return GammaGammaFit(**vars(result))


def mean_spend(params) -> float:
    """Population mean spend per transaction, p gamma / (q - 1) (infinite when q <= 1)."""
    p, q, gamma = _unpack(params)
    return p * gamma / (q - 1.0) if q > 1.0 else float("inf")


def conditional_expected_spend(params, x, zbar):
    """E[Z | x, zbar]: a weighted mean of the population mean and the customer's own zbar.

    Customers with x = 0 get the population mean.
    """
    p, q, gamma = _unpack(params)
    x, zbar = np.asarray(x, float), np.asarray(zbar, float)
    zbar = np.where(x > 0, zbar, 0.0)
    return p * (gamma + x * zbar) / (p * x + q - 1.0)
