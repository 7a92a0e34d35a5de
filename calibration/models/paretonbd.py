"""Pareto/NBD: Poisson purchasing for an exponentially distributed lifetime.

Schmittlein, Morrison & Colombo (1987); likelihood as in Fader & Hardie (2005),
"A note on deriving the Pareto/NBD model and related expressions". While alive a
customer buys at rate lambda ~ Gamma(r, alpha); their lifetime is exponential with
rate mu ~ Gamma(s, beta).

Log-likelihood of one customer:

    ln L = ln G(r+x) - ln G(r) + r ln alpha + s ln beta
           + ln[ (alpha+T)^-(r+x) (beta+T)^-s  +  s * I ]
    I = integral from t_x to T of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau

The first term is "alive at T", the second "died at some tau in (t_x, T]". The
textbook writes s*I as s/(r+s+x) times a difference of two 2F1 values with separate
branches for alpha >= beta and alpha < beta; we compute ln I directly and stably
(:func:`calibration.models.special.log_power_integral`), which covers both branches
and alpha = beta without cancellation.

The gradient is analytic: the series for ln I is differentiated term by term
(central differences only for the rare rows outside the series' range). The fit
runs on de-duplicated (x, t_x, T) rows.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from calibration.models.base import Compressed, ModelFit, compress, maximise, unpack
from calibration.models.special import log_exprel, log_power_integral

NAME = "paretonbd"
LABEL = "Pareto/NBD"
SHAPES = ("r", "s")  # heterogeneity shapes; see base.MAX_SHAPE
PARAMS = ("r", "alpha", "s", "beta")


class ParetoNBDFit(ModelFit):
    """A fitted Pareto/NBD model; methods give its predictions."""

    def expected_purchases(self, t):
        return expected_purchases(self.params, t)

    def conditional_expected_purchases(self, t, x, t_x, T):
        return conditional_expected_purchases(self.params, t, x, t_x, T)

    def probability_alive(self, x, t_x, T):
        return probability_alive(self.params, x, t_x, T)


def _unpack(params):
    return unpack(params, PARAMS)


def _log_terms(r, alpha, s, beta, x, t_x, T):
    """ln of the 'alive at T' term and of the 's * I' term (without the common factor)."""
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) + log_power_integral(r + x, s + 1.0, alpha, beta, t_x, T)
    return alive, died


def customer_log_likelihood(params, x, t_x, T) -> np.ndarray:
    r, alpha, s, beta = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    alive, died = _log_terms(r, alpha, s, beta, x, t_x, T)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died)


def log_likelihood(params, x, t_x, T, weights=None) -> float:
    ll = customer_log_likelihood(params, x, t_x, T)
    return float(np.sum(ll if weights is None else weights * ll))


def log_likelihood_and_gradient(params, x, t_x, T, weights=None) -> tuple[float, np.ndarray]:
    """Summed ln L and its gradient in (r, alpha, s, beta), from one pass over the customers."""
    r, alpha, s, beta = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_i, (d_p, d_q, d_P, d_Q) = log_power_integral(r + x, s + 1.0, alpha, beta, t_x, T, gradient=True)
    died = np.log(s) + log_i
    total = np.logaddexp(alive, died)
    share_died = np.exp(died - total)            # posterior weight of "died in (t_x, T]"; 0 when t_x = T
    share_alive = 1.0 - share_died

    def weighted(d):
        return np.where(share_died > 0, share_died * d, 0.0)

    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + total
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - share_alive * np.log(alpha + T) + weighted(d_p)
    d_alpha = r / alpha - share_alive * (r + x) / (alpha + T) + weighted(d_P)
    d_s = np.log(beta) - share_alive * np.log(beta + T) + share_died / s + weighted(d_q)
    d_beta = s / beta - share_alive * s / (beta + T) + weighted(d_Q)
    gradient = np.array([w @ d_r, w @ d_alpha, w @ d_s, w @ d_beta])
    return float(w @ ll), gradient


def log_likelihood_many(thetas, x, t_x, T, weights=None) -> np.ndarray:
    """Summed ln L for several parameter vectors (rows of ``thetas``) in one pass.

    Finite-difference gradients and Hessians need many nearby evaluations; doing
    them together keeps numpy's per-call overhead out of the fit time.
    """
    thetas = np.atleast_2d(np.asarray(thetas, float))
    r, alpha, s, beta = (thetas[:, i, None] for i in range(4))
    x, t_x, T = (np.asarray(v, float)[None, :] for v in (x, t_x, T))
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) + log_power_integral(r + x, s + 1.0, alpha, beta, t_x, T)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died)
    w = np.ones(x.shape[1]) if weights is None else np.asarray(weights, float)
    return ll @ w


def start_values(data: Compressed, purchase_start=None) -> np.ndarray:
    """Start from (r, alpha) of a BG/NBD fit when given, else rough guesses; s = 1, beta = mean T."""
    mean_T = max(float(np.average(data.T, weights=data.count)), 1e-3)
    mean_x = float(np.average(data.x, weights=data.count))
    if purchase_start is not None:
        r, alpha = purchase_start
    else:
        r, alpha = 1.0, mean_T / (1.0 + mean_x)
    return np.array([r, alpha, 1.0, mean_T])


def fit(x, t_x, T, *, start=None, maxiter: int = 500) -> ParetoNBDFit:
    """Maximum-likelihood Pareto/NBD fit to per-customer (x, t_x, T)."""
    data = compress(x, t_x, T)
    if start is None:
        start = start_values(data)
    elif isinstance(start, dict):
        start = [start[k] for k in PARAMS]
    result = maximise(
        NAME, PARAMS,
        lambda th: log_likelihood(th, data.x, data.t_x, data.T, data.count),
        np.asarray(start, float),
        data.n_customers,
        value_and_gradient=lambda th: log_likelihood_and_gradient(th, data.x, data.t_x, data.T, data.count),
        shapes=SHAPES,
        maxiter=maxiter,
    )
    return ParetoNBDFit(**vars(result))


def expected_purchases(params, t):
    """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], stable at s = 1."""
    r, alpha, s, beta = _unpack(params)
    t = np.asarray(t, float)
    L = np.log1p(t / beta)
    return r / alpha * beta * L * np.exp(log_exprel(-(s - 1.0) * L))


def probability_alive(params, x, t_x, T):
    r, alpha, s, beta = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    alive, died = _log_terms(r, alpha, s, beta, x, t_x, T)
    return 1.0 / (1.0 + np.exp(died - alive))


def conditional_expected_purchases(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)."""
    r, alpha, s, beta = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    t = np.broadcast_to(np.asarray(t, float), x.shape)
    L = np.log1p(t / (beta + T))
    given_alive = (r + x) / (alpha + T) * (beta + T) * L * np.exp(log_exprel(-(s - 1.0) * L))
    return given_alive * probability_alive(params, x, t_x, T)
