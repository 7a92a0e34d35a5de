"""Transaction logs of known truth: for the tests and the benchmarks of calibration, the twin and the backtest.

``make_log`` draws customers from known Pareto/NBD and Gamma-Gamma parameters
(per day) and writes down their purchases inside an observation window, so what
calibrate and the twin estimate can be checked against what made the data:

* ``existing``: a base already alive when the log starts (observed from a date:
  the log's left edge; their purchases before it are not in the log);
* ``acquisition_per_day``: genuinely new customers arriving at a known Poisson
  rate, each making a first purchase on arrival;
* ``regular``: the share of customers who shop on a fixed cycle (every
  ``regular_days``, with a day of jitter) instead of at Poisson times.

Returns the log (customer, date, amount) and the truth (one row per customer:
lambda and mu per day, death day, arrival day, mean spend, existing or new).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def make_log(*, existing: int = 3000, acquisition_per_day: float = 0.0, days: int = 548, seed: int = 1,
             r: float = 0.8, alpha: float = 20.0, s: float = 0.6, beta: float = 400.0,
             p: float = 6.0, q: float = 4.0, gamma: float = 15.0, regular: float = 0.0, regular_days: int = 7,
             start: str = "2024-01-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(log, truth); rates per day: lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta)."""
    rng = np.random.default_rng(seed)
    n_new = int(rng.poisson(acquisition_per_day * days)) if acquisition_per_day > 0 else 0
    n = existing + n_new
    arrival = np.concatenate([np.full(existing, -np.inf), np.sort(rng.uniform(0, days, n_new))])
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    life = rng.exponential(1.0, n) / mu
    # an existing customer is alive at the left edge (day 0): by memorylessness their remaining life is Exp(mu)
    born = np.where(np.isinf(arrival), 0.0, arrival)
    death = born + life
    nu = rng.gamma(q, 1.0 / gamma, n)
    is_regular = rng.uniform(size=n) < regular
    end = np.minimum(death, days)
    span = np.maximum(end - born, 0.0)
    # Poisson shoppers: a Poisson number of purchases at uniform times in their observed life
    k = rng.poisson(lam * span)
    k[is_regular] = 0
    who = np.repeat(np.arange(n), k)
    when = born[who] + rng.uniform(size=who.size) * span[who]
    parts_who, parts_when = [who], [when]
    # a new customer's first purchase is on arrival
    new = np.flatnonzero(~np.isinf(arrival) & (arrival < days))
    parts_who.append(new)
    parts_when.append(arrival[new])
    # regular shoppers: every regular_days from a random phase, one day of jitter
    reg = np.flatnonzero(is_regular)
    if reg.size:
        cycles = np.ceil(span[reg] / regular_days).astype(int) + 1
        rw = np.repeat(reg, cycles)
        step = np.concatenate([np.arange(c) for c in cycles])
        phase = np.where(np.isinf(arrival[rw]), rng.uniform(0, regular_days, rw.size), 0.0)
        t = born[rw] + phase + step * regular_days + rng.integers(-1, 2, rw.size)
        keep = (t >= born[rw]) & (t < end[rw])
        parts_who.append(rw[keep])
        parts_when.append(t[keep])
        lam[reg] = 1.0 / regular_days
    who = np.concatenate(parts_who)
    when = np.concatenate(parts_when)
    amount = rng.gamma(p, 1.0, who.size) / nu[who]
    day0 = pd.Timestamp(start)
    log = pd.DataFrame({"customer": who.astype(np.int64) + 100_000,
                        "date": day0 + pd.to_timedelta(np.floor(when).astype(int), unit="D"),
                        "amount": np.round(amount, 2)})
    log = log.sort_values(["customer", "date"], kind="stable").reset_index(drop=True)
    truth = pd.DataFrame({"customer": np.arange(n) + 100_000, "lam": lam, "mu": mu, "death_day": death,
                          "arrival_day": arrival, "mean_spend": p / nu, "existing": np.isinf(arrival),
                          "regular": is_regular}).set_index("customer")
    return log, truth


def write_csv(log: pd.DataFrame, path) -> None:
    """The log as a CSV file calibrate reads (ISO dates)."""
    out = log.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
