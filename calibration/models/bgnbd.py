"""BG/NBD: Poisson purchasing with a chance of dropping out after each purchase.

Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing
Science 24(2). While alive a customer buys at rate lambda ~ Gamma(r, alpha); after
each purchase they drop out with probability p ~ Beta(a, b). A customer is
summarised by x (repeat purchases), t_x (time of the last one) and T (time since
the first purchase), all measured from the first purchase.

Log-likelihood of one customer (their eq. 6), in logs:

    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

with the last bracket evaluated by logaddexp.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln

from calibration.models.base import Compressed, ModelFit, compress, maximise, unpack
from calibration.models.special import expected_given_alive

NAME = "bgnbd"
LABEL = "BG/NBD"
SHAPES = ("r", "a")  # heterogeneity shapes (a, b -> infinity together is the ridge); see base.MAX_SHAPE
PARAMS = ("r", "alpha", "a", "b")


class BGNBDFit(ModelFit):
    """A fitted BG/NBD model; methods give its predictions."""

    def expected_purchases(self, t):
        return expected_purchases(self.params, t)

    def conditional_expected_purchases(self, t, x, t_x, T):
        return conditional_expected_purchases(self.params, t, x, t_x, T)

    def probability_alive(self, x, t_x, T):
        return probability_alive(self.params, x, t_x, T)


def _unpack(params):
    return unpack(params, PARAMS)


def _pieces(r, alpha, a, b, x, t_x, T):
    """The two terms of the likelihood bracket, in logs, and the common part."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    survived = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full(np.shape(x), -np.inf)
    xr = x[repeat]
    dropped[repeat] = np.log(a) - np.log(b + xr - 1.0) - (r + xr) * np.log(alpha + t_x[repeat])
    return common, survived, dropped


def customer_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """ln L for each customer."""
    r, alpha, a, b = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    common, survived, dropped = _pieces(r, alpha, a, b, x, t_x, T)
    return common + np.logaddexp(survived, dropped)


def log_likelihood(params, x, t_x, T, weights=None) -> float:
    """Sum of ln L over customers (``weights``: how many customers each row stands for)."""
    ll = customer_log_likelihood(params, x, t_x, T)
    return float(np.sum(ll if weights is None else weights * ll))


def gradient(params, x, t_x, T, weights=None) -> np.ndarray:
    """d(sum ln L)/d(r, alpha, a, b), analytic."""
    r, alpha, a, b = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else weights
    _, survived, dropped = _pieces(r, alpha, a, b, x, t_x, T)
    total = np.logaddexp(survived, dropped)
    share_dropped = np.exp(dropped - total)      # posterior weight of "dropped out after t_x"
    share_alive = 1.0 - share_dropped
    log_at = np.log(alpha + t_x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - share_alive * np.log(alpha + T) - share_dropped * log_at
    d_alpha = r / alpha - (r + x) * (share_alive / (alpha + T) + share_dropped / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + share_dropped / a
    b_x1 = np.where(x > 0, b + x - 1.0, 1.0)
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - share_dropped / b_x1
    return np.array([np.sum(w * d) for d in (d_r, d_alpha, d_a, d_b)])


def start_values(data: Compressed) -> np.ndarray:
    """Rough start: r = 1, alpha from the mean purchase rate, a = b = 1."""
    mean_T = np.average(data.T, weights=data.count)
    mean_x = np.average(data.x, weights=data.count)
    return np.array([1.0, max(mean_T, 1e-3) / (1.0 + mean_x), 1.0, 1.0])


def fit(x, t_x, T, *, start=None, maxiter: int = 500) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit to per-customer (x, t_x, T)."""
    data = compress(x, t_x, T)
    result = maximise(
        NAME, PARAMS,
        lambda th: log_likelihood(th, data.x, data.t_x, data.T, data.count),
        start_values(data) if start is None
        else np.asarray([start[k] for k in PARAMS] if isinstance(start, dict) else start, float),
        data.n_customers,
        gradient=lambda th: gradient(th, data.x, data.t_x, data.T, data.count),
        shapes=SHAPES,
        maxiter=maxiter,
    )
    return BGNBDFit(**vars(result))


def expected_purchases(params, t):
    """E[X(t)]: expected repeat purchases in (0, t] of a customer who first bought at 0."""
    r, alpha, a, b = _unpack(params)
    return expected_given_alive(r, alpha, a, b, np.asarray(t, float))


def probability_alive(params, x, t_x, T):
    """P(still alive at T | x, t_x, T)."""
    r, alpha, a, b = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    with np.errstate(divide="ignore"):
        log_odds = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
            -np.inf,
        )
    return 1.0 / (1.0 + np.exp(log_odds))


def conditional_expected_purchases(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T]: expected purchases in the next t after T.

    Alive at T, the customer's rate and dropout probability are updated to
    Gamma(r+x, alpha+T) and Beta(a, b+x); the expected count is P(alive) times
    E[X(t)] under the updated parameters (Fader, Hardie & Lee 2005, eq. 10).
    """
    r, alpha, a, b = _unpack(params)
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    given_alive = expected_given_alive(r + x, alpha + T, a, b + x, np.broadcast_to(np.asarray(t, float), x.shape))
    return probability_alive(params, x, t_x, T) * given_alive
