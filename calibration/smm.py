"""Simulated method of moments: a small damped Gauss-Newton for fits that run the engine.

The objectives here are deterministic (one seed, common random numbers) and
smooth at the scale of a few percent, but granular below that (a base of a few
thousand customers), so derivatives are taken with a wide forward step.
"""
from __future__ import annotations

import numpy as np


def gauss_newton(residuals, x0, lo, hi, max_evals=60, step=0.1, tol=1e-4):
    """Levenberg-Marquardt with forward differences, for a few parameters.

    Damping grows when a step fails (without paying for a new Jacobian) and
    shrinks when it succeeds; bounds clip the parameters (log scale here).
    """
    x = np.asarray(x0, float)
    f = residuals(x)
    evals = 1
    mu = 1e-2
    while evals + x.size + 1 <= max_evals and float(f @ f) > 1e-8:
        J = np.empty((f.size, x.size))
        for j in range(x.size):
            xj = x.copy()
            xj[j] += step
            J[:, j] = (residuals(xj) - f) / step
            evals += 1
        A = J.T @ J
        g = J.T @ f
        cost = float(f @ f)
        accepted = False
        while evals < max_evals:
            dx = np.linalg.solve(A + mu * (np.diag(np.diag(A)) + 1e-9 * np.eye(x.size)), -g)
            xn = np.clip(x + dx, lo, hi)
            fn = residuals(xn)
            evals += 1
            if float(fn @ fn) < cost:
                x, f, accepted = xn, fn, True
                mu = max(mu / 3.0, 1e-6)
                break
            mu *= 4.0
            if mu > 1e6:
                break
        if not accepted or np.max(np.abs(dx)) < tol:
            break
    return x
