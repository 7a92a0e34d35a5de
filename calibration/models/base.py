"""Maximum-likelihood machinery shared by the models.

Parameters are all positive, so the optimiser works on their logarithms
(unconstrained, and the scale of alpha in days or years does not matter).
BFGS maximises the mean log-likelihood per customer; a few Newton steps with a
finite-difference Hessian then polish the optimum. The same Hessian gives the
standard errors: SE(log theta) from the inverse of the observed information, and
SE(theta) = theta * SE(log theta) by the delta method.

A fit is ``converged`` only when all of these hold:

- the optimiser stopped on its own tolerance, not on ``maxiter``;
- the log-likelihood and its gradient are finite;
- the Hessian is negative definite (a proper interior maximum, not a parameter
  running to 0 or infinity);
- the Newton decrement g' H^-1 g (twice the log-likelihood still to gain) is below
  1e-6;
- every parameter is identified: the standard error of its log is below 3;
- no shape parameter has run past ``MAX_SHAPE`` toward a limiting model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize

LOG_BOUND = 25.0           # parameters stay within exp(+-25): 1e-11 .. 7e10
NEWTON_DECREMENT_TOL = 1e-6
# A parameter whose log has a standard error above 3 is uncertain by a factor of
# e^3 = 20 either way at one SE: the data do not pin it down. This is what a fit
# running along a ridge to a limiting model (e.g. a, b -> infinity with a/(a+b)
# fixed: the same dropout probability for everyone) looks like.
MAX_LOG_STANDARD_ERROR = 3.0
# Shape parameters (r, s, a and b together, p, q) above 1000 mean a coefficient of
# variation below 3%: the fit is heading for the limit in which everyone has the
# same purchase rate, dropout or spend, where the likelihood's supremum lies at
# infinity. Such a fit is reported as not converged.
MAX_SHAPE = 1e3


@dataclass
class ModelFit:
    """A fitted model: parameters by their standard names and how the fit went."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    standard_errors: dict[str, float]
    n_customers: int
    iterations: int
    seconds: float
    message: str
    log_covariance: list | None = None  # of the log parameters (inverse of the negative Hessian), when definite

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "params": dict(self.params),
            "standard_errors": dict(self.standard_errors),
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "n_customers": self.n_customers,
            "iterations": self.iterations,
            "seconds": self.seconds,
            "message": self.message,
        }


@dataclass
class Compressed:
    """Customers with identical (x, t_x, T) collapsed into one row with a count."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    count: np.ndarray

    @property
    def n_customers(self) -> int:
        return int(self.count.sum())


def compress(x, t_x, T) -> Compressed:
    """De-duplicate (x, t_x, T); logs counted in days repeat the same triples a lot."""
    frame = pd.DataFrame({"x": np.asarray(x, float), "t_x": np.asarray(t_x, float), "T": np.asarray(T, float)})
    if frame.isna().any().any() or not np.isfinite(frame.to_numpy()).all():
        raise ValueError("x, t_x and T must be finite numbers")
    if (frame["x"] < 0).any() or (frame["t_x"] < 0).any() or (frame["t_x"] > frame["T"] + 1e-9).any():
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every customer")
    grouped = frame.groupby(["x", "t_x", "T"], sort=False).size().reset_index(name="count")
    return Compressed(
        grouped["x"].to_numpy(), grouped["t_x"].to_numpy(), grouped["T"].to_numpy(), grouped["count"].to_numpy(float)
    )


def maximise(
    model: str,
    names: tuple[str, ...],
    log_likelihood: Callable[[np.ndarray], float],
    start: np.ndarray,
    n_customers: int,
    *,
    gradient: Callable[[np.ndarray], np.ndarray] | None = None,
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
    log_likelihood_many: Callable[[np.ndarray], np.ndarray] | None = None,
    shapes: tuple[str, ...] = (),
    maxiter: int = 500,
) -> ModelFit:
    """Maximise ``log_likelihood(theta)`` (theta > 0, in ``names`` order) from ``start``.

    ``gradient(theta)`` is d LL / d theta when known (``value_and_gradient(theta)``
    returns both from one pass); otherwise central differences
    on log theta are used, evaluated in one batch by ``log_likelihood_many(thetas)``
    when the model provides it. ``shapes`` names the parameters whose running off
    to infinity means a limiting model (see ``MAX_SHAPE``).
    """
    began = time.perf_counter()
    scale = 1.0 / max(n_customers, 1)
    shape_index = [names.index(n) for n in shapes]

    def ll_log(phi):
        with np.errstate(all="ignore"):
            value = log_likelihood(np.exp(phi))
        return value if np.isfinite(value) else -np.inf

    def ll_log_many(phis):
        if log_likelihood_many is None:
            return np.array([ll_log(phi) for phi in phis])
        with np.errstate(all="ignore"):
            values = np.asarray(log_likelihood_many(np.exp(phis)), float)
        return np.where(np.isfinite(values), values, -np.inf)

    if value_and_gradient is not None:
        def ll_and_grad_log(phi):
            theta = np.exp(phi)
            with np.errstate(all="ignore"):
                value, g = value_and_gradient(theta)
            return (value if np.isfinite(value) else -np.inf), np.asarray(g, float) * theta
    elif gradient is not None:
        def ll_and_grad_log(phi):
            theta = np.exp(phi)
            value = ll_log(phi)
            with np.errstate(all="ignore"):
                return value, gradient(theta) * theta
    else:
        def ll_and_grad_log(phi):
            return ll_log(phi), _central_gradient(ll_log_many, phi)
    analytic = value_and_gradient is not None or gradient is not None

    def grad_log(phi):
        return ll_and_grad_log(phi)[1]

    def objective(phi):
        # Outside +-LOG_BOUND a quadratic wall keeps the search in a range where
        # exp() and the special functions are meaningful.
        inside = np.clip(phi, -LOG_BOUND, LOG_BOUND)
        excess = phi - inside
        value, g = ll_and_grad_log(inside)
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return 1e300, -np.sign(phi) * 1e6
        return -value * scale + 1e3 * np.sum(excess**2), -g * scale + 2e3 * excess

    def runaway(phi):
        """Shape parameters far past MAX_SHAPE: the search is following a ridge to infinity."""
        return [names[i] for i in shape_index if phi[i] > np.log(3 * MAX_SHAPE)]

    def stop_on_runaway(phi):
        if runaway(phi):
            raise StopIteration

    phi0 = np.clip(np.log(np.asarray(start, float)), -LOG_BOUND + 1, LOG_BOUND - 1)
    # BFGS: with three or four parameters a dense quasi-Newton update is cheap (and
    # scipy's L-BFGS-B spends milliseconds per iteration in overhead here).
    with np.errstate(all="ignore"):
        result = minimize(objective, phi0, jac=True, method="BFGS", callback=stop_on_runaway,
                          options={"maxiter": maxiter, "gtol": 1e-6})
    phi = np.clip(result.x, -LOG_BOUND, LOG_BOUND)
    stopped_on_limit = result.nit >= maxiter or result.status == 1
    ran_away = runaway(phi)

    hessian = None
    decrement = np.inf
    if not stopped_on_limit and not ran_away:
        # Newton polish: the optimiser's tolerance is on the mean log-likelihood; a
        # few Newton steps pin the maximum down to the 1e-6 level in total LL.
        for _ in range(6):
            hessian = _hessian(ll_log_many, grad_log, phi, analytic=analytic)
            g = grad_log(phi)
            if not (_negative_definite(hessian) and np.all(np.isfinite(g))):
                decrement = np.inf
                break
            step = np.linalg.solve(-hessian, g)
            decrement = float(g @ step)
            if decrement < NEWTON_DECREMENT_TOL:
                break
            trial = np.clip(phi + step, -LOG_BOUND, LOG_BOUND)
            if not ll_log(trial) > ll_log(phi):
                break
            phi = trial
        else:
            hessian = _hessian(ll_log_many, grad_log, phi, analytic=analytic)
            g = grad_log(phi)
            decrement = float(g @ np.linalg.solve(-hessian, g)) if _negative_definite(hessian) else np.inf

    value = ll_log(phi)
    theta = np.exp(phi)
    standard_errors = {n: float("nan") for n in names}
    covariance = None
    definite = hessian is not None and _negative_definite(hessian)
    at_bound = bool(np.any(np.abs(phi) >= LOG_BOUND - 1e-6))
    unidentified = []
    if definite:
        covariance = np.linalg.inv(-hessian)
        se_log = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        standard_errors = {n: float(t * s) for n, t, s in zip(names, theta, se_log)}
        unidentified = [n for n, s in zip(names, se_log) if s > MAX_LOG_STANDARD_ERROR]
    limiting = [names[i] for i in shape_index if theta[i] > MAX_SHAPE]

    problems = []
    if stopped_on_limit:
        problems.append(f"stopped after {result.nit} iterations (maxiter={maxiter}) before converging")
    elif not np.isfinite(value):
        problems.append("the log-likelihood is not finite where the optimiser stopped")
    elif limiting or ran_away:
        which = limiting or ran_away
        problems.append(
            f"{', '.join(which)} {'is' if len(which) == 1 else 'are'} running off to infinity (above {MAX_SHAPE:g}): "
            "the likelihood keeps rising toward a limiting model in which that trait no longer varies between "
            "customers, so these data do not identify this model")
    elif at_bound or not definite:
        problems.append("no interior maximum: the likelihood is flat or still rising as a parameter goes to 0 "
                        "or infinity, so these data do not identify this model")
    elif unidentified:
        problems.append(f"{', '.join(unidentified)} not identified: the likelihood is nearly flat along a ridge "
                        f"(standard error of log {unidentified[0]} above {MAX_LOG_STANDARD_ERROR:g})")
    elif decrement >= NEWTON_DECREMENT_TOL:
        problems.append(f"the gradient is not yet zero (Newton decrement {decrement:.3g})")
    converged = not problems
    return ModelFit(
        model=model,
        params={n: float(t) for n, t in zip(names, theta)},
        log_likelihood=float(value),
        converged=converged,
        standard_errors=standard_errors,
        n_customers=int(n_customers),
        iterations=int(result.nit),
        seconds=time.perf_counter() - began,
        message="converged" if converged else problems[0],
        log_covariance=covariance.tolist() if covariance is not None else None,
    )


def _central_gradient(f_many, phi, h=1e-5):
    k = phi.size
    steps = np.eye(k) * h
    values = f_many(np.vstack([phi + steps, phi - steps]))
    return (values[:k] - values[k:]) / (2 * h)


def _hessian(f_many, grad, phi, *, analytic: bool):
    """Finite-difference Hessian of the log-likelihood on log parameters."""
    k = phi.size
    if analytic:
        h = 1e-5
        H = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            H[:, j] = (grad(phi + e) - grad(phi - e)) / (2 * h)
        return (H + H.T) / 2
    h = 1e-4
    eye = np.eye(k) * h
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    points = [phi] + [phi + eye[i] for i in range(k)] + [phi - eye[i] for i in range(k)]
    for i, j in pairs:
        points += [phi + eye[i] + eye[j], phi + eye[i] - eye[j], phi - eye[i] + eye[j], phi - eye[i] - eye[j]]
    values = f_many(np.vstack(points))
    f0, plus, minus = values[0], values[1:k + 1], values[k + 1:2 * k + 1]
    H = np.diag((plus - 2 * f0 + minus) / h**2)
    for n, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = values[2 * k + 1 + 4 * n: 2 * k + 5 + 4 * n]
        H[i, j] = H[j, i] = (pp - pm - mp + mm) / (4 * h**2)
    return H


def _negative_definite(H) -> bool:
    if not np.all(np.isfinite(H)):
        return False
    return bool(np.all(np.linalg.eigvalsh(H) < 0))


def unpack(params, names):
    """Parameter values in the order of ``names``, from a dict by name or a sequence."""
    if isinstance(params, dict):
        return tuple(float(params[k]) for k in names)
    return tuple(float(v) for v in params)
