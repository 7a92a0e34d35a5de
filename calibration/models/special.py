"""Special functions for the BG/NBD and Pareto/NBD closed forms, computed stably.

Both models need Gauss hypergeometric functions 2F1 at arguments close to 1, with
parameters that grow with a customer's purchase count. ``scipy.special.hyp2f1``
overflows or returns nan there (we measured it), so the quantities the models need
are computed directly from series whose terms are all positive.

Pareto/NBD: :func:`log_power_integral`
    log of  I = integral from t_lo to t_hi of (P + tau)^-p (Q + tau)^-q dtau.
    The Pareto/NBD likelihood is a closed form plus s * I with p = r + x, q = s + 1,
    P = alpha, Q = beta (Fader & Hardie 2005, "A note on deriving the Pareto/NBD
    model"). The textbook form writes I as a difference of two 2F1 values, in a
    branch for alpha >= beta and one for alpha < beta; here, with Big = max(P, Q),
    small = min(P, Q), b the exponent of the factor with the smaller shift and
    A = p + q - 1, the substitution y = (Big - small) / (Big + tau) gives

        I = (Big - small)^-A * integral_{y_hi}^{y_lo} y^(A-1) (1 - y)^-b dy

    which we expand around y = 0 when y is small (every term positive, no
    difference of two large numbers, continuous through alpha = beta) and around
    y = 1 (in u = 1 - y) when y is close to 1, splitting the range where needed.
    Both branches of the textbook formula are the same integral with the roles of
    alpha and beta swapped, which is what Big/small does. Far out on the ridges an
    optimiser may explore (r + s + x in the thousands with one shift tiny against
    the other) the series would need too many terms, and composite Gauss-Legendre
    quadrature takes over. Accuracy against mpmath: about 1e-14 relative in the
    log over r, s in [0.05, 20], alpha/beta from 1e-9 to 1e9, x up to 300.

BG/NBD: :func:`expected_given_alive`
    E[(1 - exp(-lambda p t)) / p] for lambda ~ Gamma(r, alpha), p ~ Beta(a, b), which
    is (a+b-1)/(a-1) * [1 - (1-z)^r 2F1(r, b; a+b-1; z)], z = t / (alpha + t). With
    positive parameters the 2F1 series has positive terms; we sum it in log space
    with the (1-z)^r factor folded in, so it neither overflows nor loses digits.
    Within 1e-5 of a = 1 (where that form is 0/0) we interpolate in a across 1
    (relative error below 1e-6); when a + b <= 1 (its terms change sign; only
    extreme fits get there) we integrate over p by Gauss-Jacobi quadrature
    (relative error about 1e-5).
"""

from __future__ import annotations

import numpy as np
from scipy.special import exprel, gammaln, roots_jacobi

_TINY = 1e-300
_EPS = 1e-17
_A_NEAR_ONE = 1e-5
_MAX_SERIES_TERMS = 4000
_TILT_TERMS = 5.0   # rows whose y-series peaks beyond about this many terms are integrated by _log_tilted
_TILT_NODES = 32


def log_exprel(z):
    """log((exp(z) - 1) / z), stable for all real z (exprel(0) = 1)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > 50.0
    neg = z < -50.0
    mid = ~(big | neg)
    out[mid] = np.log(exprel(z[mid]))
    out[big] = z[big] - np.log(z[big]) + np.log1p(-np.exp(-z[big]))
    out[neg] = -np.log(-z[neg]) + np.log1p(-np.exp(z[neg]))
    return out


# ----------------------------------------------------------------------------- Pareto/NBD


def log_power_integral(p, q, P, Q, t_lo, t_hi, *, gradient: bool = False):
    """log of the integral over [t_lo, t_hi] of (P + tau)^-p (Q + tau)^-q.

    ``p, q > 0``, ``P, Q > 0`` and ``0 <= t_lo <= t_hi``; all broadcast together
    (so several parameter sets can be evaluated in one call). Returns -inf where
    t_lo == t_hi. With ``gradient=True`` also returns the partial derivatives of
    the log with respect to (p, q, P, Q), stacked on a new first axis: analytic
    where the y-series applies (nearly always), central differences elsewhere.
    """
    p, q, P, Q, t_lo, t_hi = np.broadcast_arrays(*(np.asarray(v, float) for v in (p, q, P, Q, t_lo, t_hi)))
    shape = p.shape
    p, q, P, Q, t_lo, t_hi = (np.ascontiguousarray(v).ravel() for v in (p, q, P, Q, t_lo, t_hi))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        value, partials = _log_power_integral(p, q, P, Q, t_lo, t_hi, gradient)
        if gradient:
            missing = ~np.all(np.isfinite(partials), axis=0) & np.isfinite(value)
            if missing.any():
                partials[:, missing] = _numeric_partials(p[missing], q[missing], P[missing], Q[missing],
                                                         t_lo[missing], t_hi[missing])
    if gradient:
        return value.reshape(shape), partials.reshape((4,) + shape)
    return value.reshape(shape)


def _numeric_partials(p, q, P, Q, t_lo, t_hi, relative_step=1e-6):
    args = [p, q, P, Q]
    partials = np.empty((4, p.size))
    for k in range(4):
        step = relative_step * np.maximum(args[k], 1e-3)
        up = list(args)
        down = list(args)
        up[k] = args[k] + step
        down[k] = args[k] - step
        hi, _ = _log_power_integral(*up, t_lo, t_hi, False)
        lo, _ = _log_power_integral(*down, t_lo, t_hi, False)
        partials[k] = (hi - lo) / (2 * step)
    return partials


def _log_power_integral(p, q, P, Q, t_lo, t_hi, gradient):
    big, small = np.maximum(P, Q), np.minimum(P, Q)
    p_is_small = P < Q                    # then the (P + tau) factor has the smaller shift
    b = np.where(p_is_small, p, q)        # exponent of the factor with the smaller shift
    A = p + q - 1.0
    gap = big - small

    y_lo_t = gap / (big + t_lo)             # y at t_lo: the larger y
    u_lo_t = (small + t_lo) / (big + t_lo)  # 1 - y at t_lo, computed without cancellation
    u_hi_t = (small + t_hi) / (big + t_hi)  # 1 - y at t_hi
    # Where to switch from the series around y = 0 to the one around y = 1: the
    # u-series alternates in sign and loses about 2 u (A - 1) / ln 10 digits, so
    # keep u below 1 / (A - 1) (and below 1/2).
    u_split = np.minimum(0.5, 1.0 / np.maximum(A - 1.0, _TINY))
    y_split = 1.0 - u_split

    out = np.full(p.shape, -np.inf)
    partials = np.full((4,) + p.shape, np.nan) if gradient else None
    # Up to y = 0.9 the y-series needs at most a few hundred cheap terms: use it alone.
    pure_y = y_lo_t <= np.maximum(y_split, 0.9)
    # ... but a customer with many purchases (b large) near y = 1 needs thousands, and the u-series has no
    # analytic gradient: those rows go to the tilted quadrature (exact in the dominant factor, 32 nodes)
    with np.errstate(divide="ignore"):
        series_terms = b * y_lo_t / np.maximum(1.0 - y_lo_t, _TINY)
    tilt = (np.where(_tilt_on_p(p, q, P, Q, t_lo, t_hi), p, q) >= 2.0) & (t_hi > t_lo) & (
        (series_terms > _TILT_TERMS) | ~pure_y)
    pure_y &= ~tilt
    pure_u = ~pure_y & ~tilt & (u_hi_t <= u_split)
    split = ~pure_y & ~pure_u & ~tilt
    if tilt.any():
        i = tilt
        value, d = _log_tilted(p[i], q[i], P[i], Q[i], t_lo[i], t_hi[i], gradient)
        out[i] = value
        if gradient:
            partials[:, i] = d

    if pure_y.any():
        i = pure_y
        base = big[i] + t_lo[i]
        one_minus_rho = (t_hi[i] - t_lo[i]) / (big[i] + t_hi[i])   # rho = (big + t_lo) / (big + t_hi)
        log_s, d = _log_series_y(y_lo_t[i], one_minus_rho, b[i], A[i], gradient=gradient)
        out[i] = -A[i] * np.log(base) + log_s
        if gradient:
            d_b, d_y, d_A, d_rho = d
            d_A = d_A - np.log(base)
            d_big = -A[i] / base + d_y * (small[i] + t_lo[i]) / base**2 + d_rho * (t_hi[i] - t_lo[i]) / (big[i] + t_hi[i]) ** 2
            d_small = -d_y / base
            ps = p_is_small[i]
            partials[0, i] = d_A + np.where(ps, d_b, 0.0)
            partials[1, i] = d_A + np.where(ps, 0.0, d_b)
            partials[2, i] = np.where(ps, d_small, d_big)
            partials[3, i] = np.where(ps, d_big, d_small)
    if pure_u.any():
        i = pure_u
        # ln(u_hi / u_lo), exact when t_hi is close to t_lo
        span = t_hi[i] - t_lo[i]
        log_ratio = np.log1p(span / (small[i] + t_lo[i])) - np.log1p(span / (big[i] + t_lo[i]))
        out[i] = -A[i] * np.log(gap[i]) + _log_series_u(u_hi_t[i], log_ratio, b[i], A[i])
    if split.any():
        i = split
        ym = y_split[i]
        y_hi_t = gap[i] / (big[i] + t_hi[i])
        lower = A[i] * np.log(ym) + _log_series_y(ym, (ym - y_hi_t) / ym, b[i], A[i])[0]
        upper = _log_series_u(u_split[i], np.log(u_split[i] / u_lo_t[i]), b[i], A[i])
        out[i] = -A[i] * np.log(gap[i]) + np.logaddexp(lower, upper)
    # Rows the series could not finish within _MAX_SERIES_TERMS (only where r + x + s
    # is in the hundreds or more and one shift is tiny against the other: the far
    # ridges an optimiser may wander along) are integrated by quadrature instead.
    slow = np.isnan(out)
    if slow.any():
        i = slow
        out[i] = _log_quadrature(p[i], q[i], P[i], Q[i], t_lo[i], t_hi[i])
        if gradient:
            partials[:, i] = np.nan
    return out, partials


def _log_series_y(y_top, one_minus_rho, b, A, chunk=8, max_terms=None, gradient=False):
    """log S, S = sum_n (b)_n / n! * y_top^n * (1 - rho^(A+n)) / (A+n).

    Times y_top^A, S is the integral of y^(A-1) (1-y)^-b from rho*y_top to y_top.
    Every term is positive. (1 - rho^(A+n)) is built up as a sum of positive
    increments so that it stays exact when rho is close to 1. Rows leave the
    working arrays as soon as their sum has converged; rows still running after
    ``max_terms`` terms get nan (the caller integrates them another way).

    Returns (log S, None), or with ``gradient`` (log S, (dlnS/db, dlnS/dy, dlnS/dA,
    dlnS/drho)), summed alongside S term by term.
    """
    max_terms = _MAX_SERIES_TERMS if max_terms is None else max_terms
    n_rows = b.shape[0]
    result = np.full(n_rows, np.nan)
    derivs = np.full((4, n_rows), np.nan) if gradient else None
    rows = np.arange(n_rows)
    y = np.broadcast_to(np.asarray(y_top, float), b.shape).copy()
    b = b.copy()
    A = A.copy()
    one_minus_rho = np.asarray(one_minus_rho, float).copy()
    rho = 1.0 - one_minus_rho
    log_rho = np.log1p(-one_minus_rho)
    one_minus = -np.expm1(A * log_rho)    # 1 - rho^(A+n)
    rho_power = np.exp(A * log_rho)       # rho^(A+n)
    coef = np.ones(n_rows)                # (b)_n / n! * y^n, divided by exp(log_scale)
    total = np.zeros(n_rows)              # divided by exp(log_scale), as are the sums below
    log_scale = np.zeros(n_rows)
    if gradient:
        harmonic = np.zeros(n_rows)       # sum_{k<n} 1/(b+k) = d ln (b)_n / db
        sum_b, sum_y, sum_A, sum_rho = (np.zeros(n_rows) for _ in range(4))
    n = 0
    while rows.size and n < max_terms:
        for _ in range(chunk):
            inv = 1.0 / (A + n)
            term = coef * one_minus * inv
            total += term
            if gradient:
                sum_b += harmonic * term
                sum_A -= coef * inv * (one_minus * inv + rho_power * log_rho)
                sum_rho += coef * rho_power
                step = b + n
                harmonic += 1.0 / step
                one_minus += rho_power * one_minus_rho
                rho_power *= rho
                sum_y += step * coef * one_minus / (A + n + 1.0)
                coef *= y * (step / (n + 1.0))
            else:
                coef *= y * ((b + n) / (n + 1.0))
                one_minus += rho_power * one_minus_rho
                rho_power *= rho
            n += 1
        large = total > 1e250             # many purchases and y near the split: rescale
        if large.any():
            shift = np.where(large, np.log(np.where(large, total, 1.0)), 0.0)
            factor = np.exp(-shift)
            total *= factor
            coef *= factor
            log_scale += shift
            if gradient:
                sum_b *= factor
                sum_y *= factor
                sum_A *= factor
                sum_rho *= factor
        # From here on each term is at most `ratio` times the one before ((1 - rho^m)/m
        # does not grow with m), so the tail is below next / (1 - ratio); the
        # derivative sums weigh term n by at most n + 1 + H_n more.
        ratio = y * np.maximum(1.0, (b + n) / (n + 1.0))
        following = coef * one_minus / (A + n)
        if gradient:
            following = following * (n + 1.0 + harmonic)
        done = (ratio < 1.0) & (following <= _EPS * total * (1.0 - ratio))
        if done.any():
            finished = rows[done]
            result[finished] = np.log(total[done]) + log_scale[done]
            if gradient:
                derivs[:, finished] = np.vstack([
                    sum_b[done] / total[done], sum_y[done] / total[done], sum_A[done] / total[done],
                    -sum_rho[done] / (rho[done] * total[done]),
                ])
            keep = ~done
            rows, y, b, A, one_minus_rho, rho, log_rho = (
                rows[keep], y[keep], b[keep], A[keep], one_minus_rho[keep], rho[keep], log_rho[keep])
            one_minus, rho_power, coef, total, log_scale = (
                one_minus[keep], rho_power[keep], coef[keep], total[keep], log_scale[keep])
            if gradient:
                harmonic, sum_b, sum_y, sum_A, sum_rho = (
                    harmonic[keep], sum_b[keep], sum_y[keep], sum_A[keep], sum_rho[keep])
    return result, derivs


def _tilt_on_p(p, q, P, Q, t_lo, t_hi):
    """Which factor _log_tilted takes out exactly: the one whose log changes more over [t_lo, t_hi]."""
    return p * np.log1p((t_hi - t_lo) / (P + t_lo)) >= q * np.log1p((t_hi - t_lo) / (Q + t_lo))


def _log_tilted(p, q, P, Q, t_lo, t_hi, gradient, nodes=_TILT_NODES, floor=-45.0):
    """The same integral by Gauss-Legendre quadrature after integrating the dominant factor exactly.

    With (S + tau)^-c the factor whose log changes more over the interval (c >= 2 for
    the rows sent here) and (R + tau)^-o the other,
    s = ((S + t_lo) / (S + tau))^(c-1) turns the integral into
    (S + t_lo)^(1-c) / (c-1) times the integral over s in [s_hi, 1] of (R + tau(s))^-o,
    and t = ln s makes that integrand e^t times a function of t that barely moves:
    ``nodes`` Gauss-Legendre points over t in [max(ln s_hi, -45), 0] (the part below
    e^-45 is under 1e-19 of the whole). Against the series: about 1e-14 relative in the
    log and 1e-11 in the gradient, for c >= 2, x up to 300, shifts from 1e-2 to 1e3.
    The gradient is the integrand-weighted mean of the log-integrand's partials.
    """
    use_p = _tilt_on_p(p, q, P, Q, t_lo, t_hi)
    c, S = np.where(use_p, p, q), np.where(use_p, P, Q)
    o, R = np.where(use_p, q, p), np.where(use_p, Q, P)   # the other factor: (R + tau)^-o
    base = S + t_lo
    log_ratio = np.log1p((t_hi - t_lo) / base)           # ln((S + t_hi) / (S + t_lo))
    t_min = np.maximum(-(c - 1.0) * log_ratio, floor)    # ln s_hi
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = -t_min / 2.0
    t = t_min[:, None] + half[:, None] * (x[None, :] + 1.0)
    log_S_tau = np.log(base)[:, None] - t / (c - 1.0)[:, None]
    S_tau = np.exp(log_S_tau)
    R_tau = R[:, None] + (S_tau - S[:, None])
    log_g = t - o[:, None] * np.log(R_tau)
    top = log_g.max(axis=1)
    e = w[None, :] * np.exp(log_g - top[:, None])
    tot = e.sum(axis=1)
    value = (1.0 - c) * np.log(base) - np.log(c - 1.0) + np.log(half) + top + np.log(tot)
    if not gradient:
        return value, None
    share = e / tot[:, None]
    d_c, d_S = -(share * log_S_tau).sum(axis=1), -(c[:, None] * share / S_tau).sum(axis=1)
    d_o, d_R = -(share * np.log(R_tau)).sum(axis=1), -(o[:, None] * share / R_tau).sum(axis=1)
    return value, np.vstack([np.where(use_p, d_c, d_o), np.where(use_p, d_o, d_c),
                             np.where(use_p, d_S, d_R), np.where(use_p, d_R, d_S)])


def _log_quadrature(p, q, P, Q, t_lo, t_hi, nodes=96, panels=8):
    """The same integral by composite Gauss-Legendre quadrature in v = ln(small + tau).

    In v the factor with the smaller shift is a pure exponential and the other is
    smooth. Used only for rows the series cannot finish (parameters far out on a
    ridge); accurate to about 1e-8 there.
    """
    small = np.minimum(P, Q)
    b = np.where(P >= Q, q, p)[:, None]             # exponent of the small-shift factor
    other = np.where(P >= Q, p, q)[:, None]
    with np.errstate(divide="ignore"):
        log_gap = np.log(np.abs(P - Q))[:, None]
    v_lo = np.log(small + t_lo)
    width = np.log1p((t_hi - t_lo) / (small + t_lo))   # v_hi - v_lo, exact for short intervals
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(0.0, 1.0, panels + 1)
    pieces = []
    for left, right in zip(edges[:-1], edges[1:]):
        a = v_lo + left * width
        h = (right - left) * width
        v = a[:, None] + h[:, None] * (x[None, :] + 1.0) / 2.0
        # ln(small + tau) = v exactly; ln(big + tau) = ln(gap + e^v)
        log_f = v - b * v - other * np.logaddexp(log_gap, v)
        top = log_f.max(axis=1)
        pieces.append(top + np.log(np.sum(w[None, :] * np.exp(log_f - top[:, None]), axis=1) * h / 2.0))
    with np.errstate(divide="ignore"):
        return np.logaddexp.reduce(np.vstack(pieces), axis=0)


def _log_series_u(u_hi, L, b, A, terms=64):
    """log of the integral over u in [u_hi * exp(-L), u_hi] of (1-u)^(A-1) u^-b, for small u_hi.

    Expands (1-u)^(A-1) = sum_k (1-A)_k / k! u^k and integrates each power exactly:
    integral of u^(m-1) = u_hi^m * L * exprel(-m L), m = k - b + 1, L = ln(u_hi/u_lo),
    which stays finite when m passes through 0.
    """
    k = np.arange(terms, dtype=float)[None, :]
    factors = (1.0 - A)[:, None] + k[:, :-1] if terms > 1 else None
    log_abs = np.zeros((A.shape[0], terms))
    sign = np.ones((A.shape[0], terms))
    with np.errstate(divide="ignore"):
        log_abs[:, 1:] = np.cumsum(np.log(np.abs(factors)) - np.log(k[:, 1:]), axis=1)
    sign[:, 1:] = np.cumprod(np.sign(factors), axis=1)
    L = np.asarray(L, float)[:, None]
    m = k - b[:, None] + 1.0
    with np.errstate(divide="ignore"):
        log_j = m * np.log(u_hi)[:, None] + np.log(L) + log_exprel(-m * L)
    log_terms = log_abs + log_j
    top = np.max(np.where(sign != 0, log_terms, -np.inf), axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore"):
        total = np.sum(np.where(sign != 0, sign * np.exp(log_terms - top[:, None]), 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return top + np.log(total)


# ----------------------------------------------------------------------------- BG/NBD


def expected_given_alive(r, alpha, a, b, t):
    """E[(1 - exp(-lambda p t)) / p] for lambda ~ Gamma(r, alpha), p ~ Beta(a, b).

    This is E[X(t)] of the BG/NBD for a customer who is alive at time 0 and whose
    (updated) parameters are r, alpha, a, b. All arguments broadcast; t >= 0.
    """
    r, alpha, a, b, t = np.broadcast_arrays(*(np.asarray(v, float) for v in (r, alpha, a, b, t)))
    out = np.zeros(r.shape)
    near_one = np.abs(a - 1.0) <= _A_NEAR_ONE
    use_series = (a + b - 1.0 > 0) & ~near_one & (t > 0)
    use_interpolation = (b > _A_NEAR_ONE) & near_one & (t > 0)
    use_quad = (t > 0) & ~use_series & ~use_interpolation
    if use_series.any():
        i = use_series
        out[i] = _expected_by_series(r[i], alpha[i], a[i], b[i], t[i])
    if use_interpolation.any():
        # The series form is 0/0 at a = 1; the function is smooth there, so
        # interpolate linearly between a = 1 -/+ h (error ~ h^2, cancellation ~ 1e-16/h).
        i = use_interpolation
        below = _expected_by_series(r[i], alpha[i], 1.0 - _A_NEAR_ONE, b[i], t[i])
        above = _expected_by_series(r[i], alpha[i], 1.0 + _A_NEAR_ONE, b[i], t[i])
        weight = (a[i] - (1.0 - _A_NEAR_ONE)) / (2.0 * _A_NEAR_ONE)
        out[i] = below + weight * (above - below)
    if use_quad.any():
        i = use_quad
        out[i] = _expected_given_alive_quadrature(r[i], alpha[i], a[i], b[i], t[i])
    return out


def _expected_by_series(r, alpha, a, b, t, block=50_000):
    r, alpha, a, b, t = np.broadcast_arrays(r, alpha, a, b, t)
    out = np.empty(r.shape)
    for start in range(0, r.size, block):        # bounded memory for millions of customers
        i = slice(start, start + block)
        c = a[i] + b[i] - 1.0
        z = t[i] / (alpha[i] + t[i])
        G = _scaled_hyp2f1(r[i], b[i], c, z)      # (1-z)^r 2F1(r, b; c; z)
        out[i] = c / (a[i] - 1.0) * (1.0 - G)
    return out


def _scaled_hyp2f1(A, B, C, z, chunk=16, max_terms=1_000_000):
    """(1-z)^A 2F1(A, B; C; z) for A, B, C > 0 and 0 < z < 1, by its positive series."""
    n_rows = A.shape[0]
    log_z = np.log(z)
    log_term = A * np.log1p(-z)
    total = np.zeros(n_rows)
    top = log_term.copy()                  # reference level for the sum (the largest term seen)
    active = np.arange(n_rows)
    n = 0
    while active.size and n < max_terms:
        nn = n + np.arange(chunk, dtype=float)[None, :]
        Aa, Ba, Ca = A[active, None], B[active, None], C[active, None]
        steps = np.log(Aa + nn) + np.log(Ba + nn) - np.log(Ca + nn) - np.log(nn + 1.0) + log_z[active, None]
        logs = log_term[active, None] + np.concatenate([np.zeros((active.size, 1)), np.cumsum(steps[:, :-1], axis=1)], axis=1)
        new_top = np.maximum(top[active], logs.max(axis=1))
        total[active] = total[active] * np.exp(top[active] - new_top) + np.exp(logs - new_top[:, None]).sum(axis=1)
        top[active] = new_top
        log_term[active] = logs[:, -1] + steps[:, -1]
        n += chunk
        # The term ratio is a rational function of n tending to z, monotone for large
        # n, so later ratios are at most max(current ratio, z): bound the tail by a
        # geometric series once that is below 1.
        ratio = np.maximum(np.exp(steps[:, -1]), z[active])
        done = (ratio < 1.0) & (np.exp(log_term[active] - top[active]) <= _EPS * total[active] * (1.0 - ratio))
        active = active[~done]
    return total * np.exp(top)


def _expected_given_alive_quadrature(r, alpha, a, b, t, nodes=256):
    """Gauss-Jacobi quadrature over p ~ Beta(a, b) of (1 - (1 + p t/alpha)^-r) / p."""
    out = np.empty(r.shape)
    for i in range(r.size):
        x, w = roots_jacobi(nodes, b[i] - 1.0, a[i] - 1.0)   # weight (1-x)^(b-1) (1+x)^(a-1) on [-1, 1]
        p = (x + 1.0) / 2.0
        s = t[i] / alpha[i]
        values = -np.expm1(-r[i] * np.log1p(p * s)) / p
        log_norm = (a[i] + b[i] - 1.0) * np.log(2.0) + gammaln(a[i]) + gammaln(b[i]) - gammaln(a[i] + b[i])
        out[i] = np.sum(w * values) / np.exp(log_norm)
    return out
