"""Ranking and selection with a guarantee: Kim & Nelson's fully sequential procedure (KN).

The search (sim.studies.optimise) ends with a few good candidates whose
estimates are flattered by the search itself: the best of many noisy trials
is the luckiest as well as the best (the winner's curse). KN picks among them
on fresh replications, and guarantees: if the best design is at least the
indifference zone ``delta`` better than every other, KN selects it with
probability at least 1 - alpha; designs within ``delta`` of the best count as
equally good (the "indifference zone").

The procedure (Kim & Nelson 2001, "A fully sequential procedure for
indifference-zone selection in simulation", ACM TOMACS 11(3)):

1. Every design gets n0 replications (the same replication seeds for all: common
   random numbers). For each pair, S2[i, l] is the variance of their paired
   differences over those n0 replications.
2. eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2 and h2 = 2 eta (n0 - 1).
3. After r replications, a design i stays if, against every other survivor l,
   mean_i(r) >= mean_l(r) - W_il(r), with W_il(r) = max(0, delta / (2r) (h2 S2[i, l] / delta^2 - r)).
   The tolerance W shrinks as r grows, to zero at r = h2 S2 / delta^2, so the procedure ends.
4. When one design is left, it is the choice; otherwise every survivor gets one
   more replication (the next seed) and step 3 repeats.

It spends replications where the decision is close: a clearly worse design
drops out after n0, two close designs run until they are told apart or are
known to be within delta. With common random numbers S2 is the variance of a
*difference*, much smaller than of either design alone, so fewer replications
are needed (Kim & Nelson prove the guarantee holds under CRN as well).

``kn`` takes a generic ``sample(design, replication) -> value`` (or a batched
``sample_many(designs, replications) -> {(design, replication): value}``), so it
is tested on a stub with known means (tests/test_optimise.py) and runs the
simulator through sim.studies.optimise. Replications can be fetched ahead
(``lookahead``) to keep a process pool busy: the decisions use only the data up
to each stage, so the result does not depend on the lookahead.

A cap on replications (``max_replications``) bounds the cost when designs are
closer than delta under large noise; a procedure that hits it reports that the
guarantee does not hold and picks the best mean among the survivors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import UserError


@dataclass
class KNResult:
    k: int
    chosen: int
    runner_up: int | None
    survivors: list              # designs left when the procedure stopped
    eliminated: dict             # design -> replications it had when eliminated
    values: dict                 # design -> its values, in replication order (the first stage(d) used)
    replications: list           # the replication indices, in the order used
    delta: float
    alpha: float
    n0: int
    eta: float
    h2: float
    stopped: str                 # "one left" or "cap"
    maximise: bool = True
    history: list = field(default_factory=list)   # (replications, survivors) after each screening

    @property
    def guarantee(self) -> bool:
        """True when the procedure ended on its own (so P(correct selection) >= 1 - alpha holds)."""
        return self.stopped == "one left"

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha

    def n(self, d) -> int:
        return len(self.values[d])

    def mean(self, d) -> float:
        return float(np.mean(self.values[d]))

    def interval(self, d, level=0.95) -> dict:
        from sim.metrics import interval
        return interval(list(self.values[d]), level)

    def total_replications(self) -> int:
        return int(sum(self.n(d) for d in range(self.k)))

    def stages(self) -> int:
        return max(self.n(d) for d in range(self.k))

    def paired(self, a, b, level=0.95) -> dict:
        """a minus b on the replications both have (the first min(n_a, n_b) seeds: common random numbers)."""
        from sim.metrics import interval
        m = min(self.n(a), self.n(b))
        return {**interval((np.asarray(self.values[a][:m]) - np.asarray(self.values[b][:m])).tolist(), level), "n": m}

    def probability_within_delta(self) -> float:
        """The empirical statement: on the replications run, a lower bound (Bonferroni over the paired
        comparisons) on the probability that the chosen design is within delta of every other, from a
        Student-t approximation of each paired difference. Uses the data the choice was made on, so it
        leans optimistic; the procedure's own guarantee is ``confidence`` (when ``guarantee`` holds)."""
        from scipy.special import stdtr   # Student t CDF (scipy.stats is slow to import)
        c = self.chosen
        sign = 1.0 if self.maximise else -1.0
        miss = 0.0
        for j in range(self.k):
            if j == c:
                continue
            m = min(self.n(c), self.n(j))
            d = sign * (np.asarray(self.values[c][:m]) - np.asarray(self.values[j][:m]))
            if m < 2:
                continue
            se = float(d.std(ddof=1) / math.sqrt(m))
            z = float(d.mean()) + self.delta
            if se == 0:
                p = 1.0 if z > 0 else 0.0
            else:
                p = float(stdtr(m - 1, z / se))
            miss += 1.0 - p
        return max(0.0, 1.0 - miss)

    def order(self) -> list:
        """Designs from the chosen one down: survivors by mean, then by how long they lasted."""
        sign = 1.0 if self.maximise else -1.0
        rest = [d for d in range(self.k) if d != self.chosen]
        rest.sort(key=lambda d: (-(self.eliminated.get(d, 10**9)), -sign * self.mean(d)))
        return [self.chosen, *rest]


def constants(k: int, alpha: float, n0: int) -> tuple[float, float]:
    """KN's eta and h^2 for k designs, error alpha and n0 first-stage replications."""
    if k < 2:
        return 0.0, 0.0
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return eta, 2.0 * eta * (n0 - 1)


def kn(k: int, sample=None, *, delta: float, alpha: float = 0.05, n0: int = 10, max_replications: int = 200,
       replications=None, sample_many=None, lookahead: int = 1, maximise: bool = True) -> KNResult:
    """Select the best of k designs (0..k-1) with Kim & Nelson's KN procedure.

    ``sample(design, replication)`` returns one observation; ``sample_many(designs, replications)``
    (optional) returns {(design, replication): value} for a batch. ``replications`` are the replication
    indices to use, in order (default 0, 1, ...); every design uses the same ones (common random numbers).
    ``lookahead`` replications are fetched at a time for the survivors (an int, or a function of how many
    survive); the decisions do not depend on it.
    ``delta`` is the indifference zone (> 0), 1 - ``alpha`` the confidence. Larger values are better
    unless ``maximise`` is False.
    """
    if k < 1:
        raise UserError("selection: no designs to choose from")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        raise UserError(f"--indifference: got {delta!r}; allowed: a number > 0")
    if not 0 < alpha < 1:
        raise UserError(f"--confidence: got {1 - alpha!r}; allowed: between 0 and 1")
    if n0 < 2:
        raise UserError(f"selection: n0 = {n0}; allowed: at least 2 first-stage replications")
    reps = list(replications) if replications is not None else list(range(max_replications))
    reps = reps[:max(max_replications, n0)]
    if len(reps) < n0:
        raise UserError(f"selection: {len(reps)} replications available; the first stage needs {n0}")
    if sample_many is None:
        if sample is None:
            raise ValueError("kn needs sample or sample_many")

        def sample_many(designs, rs):
            return {(d, r): float(sample(d, r)) for r in rs for d in designs}
    sign = 1.0 if maximise else -1.0
    eta, h2 = constants(k, alpha, n0)
    values: dict = {d: [] for d in range(k)}

    def fetch(designs, rs):
        got = sample_many(list(designs), list(rs))
        for r in rs:
            for d in designs:
                v = float(got[(d, r)])
                if not math.isfinite(v):
                    raise UserError(f"selection: design {d} gave a value that is not a finite number at replication {r}")
                values[d].append(v)

    fetch(range(k), reps[:n0])
    if k == 1:
        return KNResult(k, 0, None, [0], {}, values, reps[:n0], float(delta), alpha, n0, eta, h2, "one left",
                        maximise, [(n0, [0])])
    x = sign * np.array([values[d] for d in range(k)])           # k x n0
    diff = x[:, None, :] - x[None, :, :]
    s2 = diff.var(axis=2, ddof=1)                                # k x k: variance of paired differences
    alive = list(range(k))
    eliminated: dict = {}
    history = []
    r = n0
    stopped = "cap"
    while True:
        means = {d: sign * float(np.mean(values[d][:r])) for d in alive}
        keep = []
        for i in alive:
            ok = True
            for other in alive:
                if other == i:
                    continue
                w = max(0.0, delta / (2.0 * r) * (h2 * s2[i, other] / delta ** 2 - r))
                if means[i] < means[other] - w:
                    ok = False
                    break
                if s2[i, other] == 0.0 and means[i] == means[other] and other < i:  # identical on every replication: one stays
                    ok = False
                    break
            if ok:
                keep.append(i)
        for d in alive:
            if d not in keep:
                eliminated[d] = r
        alive = keep
        history.append((r, list(alive)))
        if len(alive) == 1:
            stopped = "one left"
            break
        if r >= len(reps):
            break
        have = min(len(values[d]) for d in alive)
        if have <= r:   # fetch the next replication(s) for the survivors
            ahead = lookahead(len(alive)) if callable(lookahead) else lookahead
            nxt = reps[r:min(len(reps), r + max(1, int(ahead)))]
            fetch(alive, nxt)
        r += 1
    # keep only what each design used (a fetched-ahead value of an eliminated design played no part)
    for d in range(k):
        values[d] = values[d][:eliminated.get(d, r)]
    if len(alive) == 1:
        chosen = alive[0]
    else:
        chosen = max(alive, key=lambda d: (sign * float(np.mean(values[d])), -d))
    res = KNResult(k, chosen, None, list(alive), eliminated, values, reps[:r], float(delta), alpha, n0, eta, h2,
                   stopped, maximise, history)
    order = res.order()
    res.runner_up = order[1] if len(order) > 1 else None
    return res


def max_stage(k: int, alpha: float, n0: int, s2: float, delta: float) -> int:
    """The replications after which KN certainly stops for a pair with paired-difference variance s2."""
    _, h2 = constants(k, alpha, n0)
    return max(n0, int(math.floor(h2 * s2 / delta ** 2)) + 1)
