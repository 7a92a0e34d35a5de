"""Deciding under uncertainty: how likely a choice pays, what choosing wrong costs, what learning is worth.

Net benefits come as an (n draws x k options) array: for a launch decision,
option 0 is "no programme" (net benefit 0) and option 1 the programme
(its incremental profit in that draw). Then, as health economics does before
funding a treatment (Claxton 1999; Briggs, Claxton & Sculpher 2006):

* probability each option is best; expected loss of each choice,
  E[max_k NB_k - NB_choice] (the average regret);
* EVPI, the expected value of perfect information: E[max_k NB_k] - max_k E[NB_k],
  what deciding with every uncertainty resolved would be worth;
* EVPPI of a group of parameters, by regression on the PSA draws (Strong, Oakley
  & Brennan 2014, Medical Decision Making 34(3)): the conditional expected net
  benefit E[NB_k | theta_group] is estimated by a smooth regression of NB_k on
  the group's draws, and EVPPI = mean_draws max_k g_k - max_k mean_draws g_k;
* EVSI of a study whose result is a summary statistic, by the same regression
  on a simulated statistic (Strong, Brennan & Oakley 2015, MDM 35(5)).

The regression is a penalised regression spline (cubic truncated-power basis
at quantile knots, plus pairwise products whenever the draws afford them), its
smoothing chosen by generalised cross-validation: the GAM Strong et al. use,
written out in numpy. Simulation noise in the net benefits falls into its
residual, so EVPPI and EVSI are of the assumptions alone. EVPI is computed from
the draws as they are: each draw's simulation noise counts as something
perfect information would resolve, so it is an upper bound, close when the
noise is a small share of the spread (the PSA reports that share).
"""
from __future__ import annotations

import numpy as np


def decision(nb: np.ndarray) -> dict:
    """Probability each option is best, expected net benefit and expected loss of each."""
    nb = np.asarray(nb, dtype=np.float64)
    best = nb.max(axis=1)
    winner = nb.argmax(axis=1)
    k = nb.shape[1]
    return {
        "expected": nb.mean(axis=0).tolist(),
        "probability_best": [float((winner == j).mean()) for j in range(k)],
        "expected_loss": [float((best - nb[:, j]).mean()) for j in range(k)],
        "evpi": float(best.mean() - nb.mean(axis=0).max()),
    }


def evpi(nb) -> float:
    nb = np.asarray(nb, dtype=np.float64)
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def evppi(nb, x) -> float:
    """EVPPI of the parameters in ``x`` (n draws x p), by regression of each option's net benefit."""
    return _evppi_fit(nb, x)[0]


# A regression that spends more than this share of the draws on its own degrees of freedom follows
# their noise as much as the parameters: its EVPPI is biased upwards (Strong et al. 2014 advise
# thousands of draws for groups of several parameters).
MAX_FIT_SHARE = 0.2


def _evppi_fit(nb, x) -> tuple[float, float]:
    """(EVPPI, the largest share of the draws a regression's effective degrees of freedom take).

    Only options that are the best in at least one draw compete: an option best in no draw is
    never the choice of perfect information, so a regression that made it look best somewhere
    would only add its fitting noise (and EVPI, which the draws give directly, says so)."""
    nb = np.asarray(nb, dtype=np.float64)
    winners = np.unique(nb.argmax(axis=1))
    if winners.size < 2:
        return 0.0, 0.0  # the same option is best in every draw: nothing to learn (EVPI is zero)
    nb = nb[:, winners]
    fits, share = [], 0.0
    for j in range(nb.shape[1]):
        if np.ptp(nb[:, j]) > 0:
            fitted, edf = smooth(x, nb[:, j], return_edf=True)
            share = max(share, edf / nb.shape[0])
        else:
            fitted = nb[:, j]
        fits.append(fitted)
    fitted = np.column_stack(fits)
    value = float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max())
    return max(value, 0.0), share


def evppi_of_group(nb, x, evpi_value: float, permutations: int = 3, seed: int = 11) -> dict:
    """A group's EVPPI as reported: never above EVPI (its theoretical bound), with the noise floor of
    its regression, and said to be unreliable when the draws are too few for the group's size.

    The noise floor is the same regression's EVPPI on the draws with the group's rows shuffled
    (the parameters no longer linked to the net benefits): what fitting noise alone gives at
    this number of draws. An estimate not clearly above it (twice) says nothing about the group."""
    raw, share = _evppi_fit(nb, x)
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    floor = float(np.mean([_evppi_fit(nb, x[rng.permutation(x.shape[0])])[0] for _ in range(permutations)])) \
        if raw > 0 else 0.0
    capped = raw > evpi_value
    value = min(raw, max(evpi_value, 0.0))
    noisy = raw > 0 and raw <= 2.0 * floor
    out = {"evppi": value, "noise_floor": min(floor, max(evpi_value, 0.0)),
           "reliable": not capped and not noisy and share <= MAX_FIT_SHARE}
    if capped:
        out["note"] = (f"the regression gave {raw:,.0f}, above EVPI ({evpi_value:,.0f}), which bounds it: too few draws "
                       "for this group's size; shown at EVPI; run more draws (--draws)")
    elif noisy:
        out["note"] = (f"not clearly above what the same regression finds on shuffled draws ({floor:,.0f}): too few "
                       "draws for this group's size to say what knowing it is worth; run more draws (--draws)")
    elif share > MAX_FIT_SHARE:
        out["note"] = (f"the regression used {100 * share:.0f}% of the draws as degrees of freedom: too few draws for "
                       "this group's size, the figure is biased upwards; run more draws (--draws)")
    return out


def evsi(nb, statistic) -> float:
    """EVSI of a study reporting ``statistic`` (one simulated value per draw), by the same regression."""
    return evppi(nb, np.asarray(statistic, dtype=np.float64).reshape(len(statistic), -1))


# --------------------------------------------------------------------------- the regression

def _basis(x, knots=8, interactions=True):
    """Columns: linear terms, cubic truncated powers at quantile knots (penalised), pairwise products."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, p = x.shape
    keep = [j for j in range(p) if np.ptp(x[:, j]) > 0]
    x = x[:, keep]
    p = x.shape[1]
    z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    lin = [z]
    pen = []
    k = min(knots, max(0, n // (4 * max(p, 1)) - 1))
    for j in range(p):
        qs = np.unique(np.quantile(z[:, j], np.linspace(0, 1, k + 2)[1:-1])) if k > 0 else []
        for q in qs:
            pen.append(np.maximum(z[:, j] - q, 0.0) ** 3)
    # pairwise products, penalised with the splines, for every group the draws can afford (all
    # columns at most half the draws): without them a group's EVPPI misses what its parameters
    # do together (a status worth that matters only at a high intensity)
    products = p * (p - 1) // 2
    if interactions and p > 1 and 1 + p + len(pen) + products <= n // 2:
        for a in range(p):
            for b in range(a + 1, p):
                pen.append(z[:, a] * z[:, b])
    lin = np.column_stack([np.ones(n)] + lin) if p else np.ones((n, 1))
    pen = np.column_stack(pen) if pen else np.zeros((n, 0))
    if pen.shape[1]:
        pen = pen / np.where(pen.std(axis=0) > 0, pen.std(axis=0), 1.0)
    return lin, pen


def smooth(x, y, lambdas=None, return_edf=False):
    """Fitted values of a penalised regression spline of y on x, smoothing by GCV (and, with
    ``return_edf``, its effective degrees of freedom: the trace of the smoother)."""
    y = np.asarray(y, dtype=np.float64)
    lin, pen = _basis(x)
    X = np.column_stack([lin, pen])
    n = y.size
    if X.shape[1] >= n:  # too few draws for the basis: linear fit only
        X = lin
        pen = np.zeros((n, 0))
    d = np.r_[np.zeros(lin.shape[1]), np.ones(X.shape[1] - lin.shape[1])]
    XtX, Xty = X.T @ X, X.T @ y
    best = None
    for lam in (lambdas if lambdas is not None else np.logspace(-4, 4, 17)):
        A = XtX + lam * np.diag(d) + 1e-10 * np.eye(X.shape[1])
        try:
            beta = np.linalg.solve(A, Xty)
            trace = float(np.trace(np.linalg.solve(A, XtX)))
        except np.linalg.LinAlgError:
            continue
        fitted = X @ beta
        rss = float(((y - fitted) ** 2).sum())
        gcv = n * rss / max(n - trace, 1e-9) ** 2
        if best is None or gcv < best[0]:
            best = (gcv, fitted, trace)
    if best is None:
        best = (None, np.full(n, y.mean()), 1.0)
    return (best[1], best[2]) if return_edf else best[1]
