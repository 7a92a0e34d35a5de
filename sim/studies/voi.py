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
    nb = np.asarray(nb, dtype=np.float64)
    fitted = np.column_stack([smooth(x, nb[:, j]) if np.ptp(nb[:, j]) > 0 else nb[:, j] for j in range(nb.shape[1])])
    value = float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max())
    return max(value, 0.0)


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


def smooth(x, y, lambdas=None) -> np.ndarray:
    """Fitted values of a penalised regression spline of y on x, smoothing by GCV."""
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
            best = (gcv, fitted)
    return best[1] if best is not None else np.full(n, y.mean())
