"""Simulated method of moments: root-finding on KPIs simulated by the engine.

With one seed (common random numbers) the simulated KPIs are deterministic
functions of the parameters, but not smooth ones: every customer's
contribution is a step function (an order crosses a window edge, a dropout
comes one order earlier), so on top of a smooth trend they carry a rough
component, about 0.1-0.3% between neighbouring parameter values on a base of
5,000-20,000 customers and up to about 1% over moves of a few percent. Hence:

* derivatives by forward differences with wide steps (0.15-0.5 in log or logit
  units), where the trend is well above the roughness; near the answer the
  Jacobian is kept (Broyden-updated only on steps wide enough to carry signal),
  never refreshed from tiny steps that would differentiate the roughness;
* a KPI that the parameters barely move (a weakly identified direction) is not
  put in the same Newton system as the well-identified ones, where the noise in
  its small derivative would throw the steps about: it gets its own bracketing
  root-find (``root1d``) around an inner Newton solve (``solve``).
"""
from __future__ import annotations

import numpy as np


class Budget(Exception):
    """The evaluation budget ran out."""


def solve(residuals, x0, lo, hi, steps, tol=0.005, max_evals=40, radius=0.7, max_radius=1.0,
          min_broyden_step=0.05, accept=None, f0=None, J0=None):
    """Find x with every |residuals(x)| <= tol (or the least-squares best within the budget).

    ``residuals`` maps a parameter vector (transformed: log, logit) to relative
    errors; ``lo``/``hi`` bound x; ``steps`` are the forward-difference steps;
    ``f0`` the residuals at x0 and ``J0`` a Jacobian when already known (a warm
    start). Steps are Newton (minimum norm when there are more parameters than
    residuals) while they succeed, damped Levenberg-Marquardt after a failure,
    and at most ``max_radius`` per coordinate. Once half the budget is spent, a
    point with every |residual| <= ``accept`` ends the search. Returns
    (x, f, evaluations, J) for the best point seen (smallest largest error);
    J is the last Jacobian, for the next warm start.
    """
    x = np.clip(np.asarray(x0, float), lo, hi)
    steps = np.asarray(steps, float)
    evals = [0]
    seen = []  # (x, f) of every point, the start included

    def F(z):
        if evals[0] >= max_evals:
            raise Budget
        evals[0] += 1
        fz = np.asarray(residuals(z), float)
        seen.append((z.copy(), fz.copy()))
        return fz

    def worst(fz):
        return float(np.max(np.abs(fz)))

    def jacobian(z, fz, h):
        J = np.empty((fz.size, z.size))
        for j in range(z.size):
            zj = z.copy()
            hj = h[j] if z[j] + h[j] <= hi[j] else -h[j]  # step inward at an upper bound
            zj[j] += hj
            J[:, j] = (F(zj) - fz) / hj
        return J

    J = None if J0 is None else np.array(J0, float)
    try:
        if f0 is None:
            f = F(x)
        else:
            f = np.asarray(f0, float)
            seen.append((x.copy(), f.copy()))
        if worst(f) <= tol:
            return x, f, evals[0], J
        if J is None:
            J = jacobian(x, f, steps)
        fails = 0
        mu = 0.0  # Levenberg-Marquardt damping: 0 is the Newton step
        while worst(f) > tol:
            if accept is not None and evals[0] >= max_evals // 2 and worst(f) <= accept:
                break
            if mu == 0.0:
                dx = np.linalg.lstsq(J, -f, rcond=1e-8)[0]
            else:
                A = J.T @ J
                dx = np.linalg.solve(A + mu * np.diag(np.diag(A)) + 1e-9 * np.eye(x.size), -J.T @ f)
            size = float(np.max(np.abs(dx)))
            if size > radius:
                dx *= radius / size
            xn = np.clip(x + dx, lo, hi)
            dx = xn - x
            if not np.any(dx):
                break  # pinned at the bounds: nothing more to gain in this direction
            fn = F(xn)
            if np.max(np.abs(dx)) >= min_broyden_step:
                # Broyden: the secant along a wide step corrects the Jacobian (noise-safe)
                J = J + np.outer(fn - f - J @ dx, dx) / float(dx @ dx)
            if float(fn @ fn) < float(f @ f):
                x, f = xn, fn
                radius = min(radius * 1.5, max_radius)
                mu = mu / 4.0 if mu > 1e-3 else 0.0
                fails = 0
            else:
                radius = max(radius / 2.0, 0.02)
                mu = max(mu * 4.0, 0.05)
                fails += 1
                if fails == 2:
                    # the linear model is off here: differentiate afresh where we stand
                    J = jacobian(x, f, steps * 0.5)
                elif fails >= 6:
                    break
    except Budget:
        pass
    xb, fb = min(seen, key=lambda s: worst(s[1]))
    return xb, fb, evals[0], J


def root1d(g, x0, lo, hi, step=1.0, tol=0.005, max_evals=12, increasing=True):
    """Root of a monotone, roughly evaluated function g on [lo, hi], by bracketing.

    From x0, step by ``step`` towards the root until the sign changes (or a
    bound is reached), then Illinois regula falsi inside the bracket, kept
    away from its ends so the bracket always shrinks. A bracket cannot be fooled
    by a noisy slope the way a secant step can. g may return NaN where it is
    undefined (e.g. the other targets cannot hold there): the walk stops there
    as at a bound. Returns (x, g(x), evaluations, reached) for the point with
    the smallest |g|; ``reached`` is False when g kept its sign up to the bound
    (no root in range: the target is beyond what the parameter can give), and x
    is then the end of the walk (the bound, or the last point before a wall).
    """
    sign = 1.0 if increasing else -1.0
    pts = []

    def G(x):
        if len(pts) >= max_evals:
            raise Budget
        v = float(g(x))
        pts.append((x, v))
        return v

    reached = False
    try:
        x, v = x0, G(x0)
        if v != v:
            pass  # undefined at the start: nothing to walk from
        elif abs(v) > tol:
            # walk towards the root: up if g is below it (g increasing), down otherwise
            d = step if sign * v < 0 else -step
            a, va = x, v
            while True:
                if (d > 0 and a >= hi) or (d < 0 and a <= lo):
                    break  # kept its sign to the bound
                b = min(max(a + d, lo), hi)
                vb = G(b)
                if vb != vb:
                    break  # undefined beyond here: a wall
                if abs(vb) <= tol or np.sign(vb) != np.sign(va):
                    reached = True
                    break
                a, va = b, vb
                d *= 1.5
            if reached and abs(vb) > tol:
                # a, b bracket the root; Illinois: halve the value kept at an end that stays twice
                side = 0
                while abs(b - a) > 1e-3:
                    c = (a * vb - b * va) / (vb - va)
                    w = abs(b - a)
                    c = min(max(c, min(a, b) + 0.1 * w), max(a, b) - 0.1 * w)
                    vc = G(c)
                    if vc != vc or abs(vc) <= tol:
                        break
                    if np.sign(vc) == np.sign(vb):
                        b, vb = c, vc
                        if side == -1:
                            va *= 0.5
                        side = -1
                    else:
                        a, va = c, vc
                        if side == 1:
                            vb *= 0.5
                        side = 1
            elif vb == vb and abs(vb) <= tol:
                reached = True
        else:
            reached = True
    except Budget:
        pass
    defined = [p for p in pts if p[1] == p[1]] or pts
    xb, vb = min(defined, key=lambda p: abs(p[1]) if p[1] == p[1] else np.inf)
    if abs(vb) <= tol:
        reached = True
    elif not reached:
        # out of reach: the end of the walk (the bound, or the last point before a wall),
        # where g came closest by its trend
        xb, vb = defined[-1]
    return xb, vb, len(pts), reached


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
        upper = np.broadcast_to(np.asarray(hi, dtype=float), x.shape)
        for j in range(x.size):
            xj = x.copy()
            h = step if x[j] + step <= upper[j] else -step  # at the upper bound: a backward difference
            xj[j] += h
            J[:, j] = (residuals(xj) - f) / h
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
