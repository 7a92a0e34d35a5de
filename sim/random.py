"""Counter-based random numbers: common random numbers by construction.

Every random decision in the simulator is a pure function of
``(scenario seed, stream name, customer uid, counter)``, hashed with the
SplitMix64 finaliser. Nothing depends on how many other customers acted
before, on the arm (baseline or programme), on array order or on the process
that runs the replication. That gives the two properties docs/DESIGN.md#common-random-numbers asks for:

* baseline and programme arms see the same chance events wherever their
  histories agree (customer 17's 5th order has the same basket in both arms);
* the same scenario and seed give the same numbers serially or in parallel.

Streams are drawn only for the customers who act (index arrays), so cost is
proportional to activity, not to the size of the base. Counter layout: each
stream reserves 256 sub-draws per counter value for rejection samplers.
"""
from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / float(1 << 53)
_SUB = 256  # sub-draws per counter (rejection attempts, paired uniforms)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijection on uint64 with full avalanche."""
    x = x ^ (x >> _U64(30))  # a new array: the input is left alone; the rest works in place
    x *= _M1
    x ^= x >> _U64(27)
    x *= _M2
    x ^= x >> _U64(31)
    return x


def stream_key(seed: int, name: str) -> int:
    """A 64-bit key for a named stream of a seeded run (stable across platforms and versions)."""
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class Stream:
    """One named source of randomness, indexed by (uid, counter)."""

    __slots__ = ("key", "name")

    def __init__(self, seed: int, name: str):
        self.name = name
        self.key = _U64(stream_key(seed, name))

    def bits(self, uid, counter) -> np.ndarray:
        return self._bits(self._key_hash(uid), counter)

    def _key_hash(self, uid) -> np.ndarray:
        """The first half of ``bits``: the uid mixed with the stream's key (shared by every counter of a uid)."""
        # uint64 array arithmetic wraps silently (0-d scalars would warn, hence atleast_1d)
        return _mix(np.atleast_1d(np.asarray(uid, dtype=np.uint64)) ^ self.key)

    @staticmethod
    def _bits(h, counter) -> np.ndarray:
        """The second half of ``bits``, from the key hash ``h`` of the uids."""
        counter = np.atleast_1d(np.asarray(counter, dtype=np.uint64))
        return _mix(h + (counter + _U64(1)) * _GOLDEN)

    @staticmethod
    def _to_unit(b) -> np.ndarray:
        """The top 53 bits of ``b`` (consumed) as a float64 on the open interval (0, 1)."""
        b >>= _U64(11)
        u = b.astype(np.float64)
        u += 0.5
        u *= _TWO_M53
        return u

    def uniform(self, uid, counter) -> np.ndarray:
        """Uniform on the open interval (0, 1), float64."""
        return self._to_unit(self.bits(uid, np.asarray(counter, dtype=np.uint64) * _U64(_SUB)))

    def _sub_uniform(self, uid, counter, sub: int) -> np.ndarray:
        c = np.asarray(counter, dtype=np.uint64) * _U64(_SUB) + _U64(sub)
        return self._to_unit(self.bits(uid, c))

    def exponential(self, uid, counter) -> np.ndarray:
        u = self.uniform(uid, counter)
        np.log(u, out=u)
        return np.negative(u, out=u)

    def normal(self, uid, counter) -> np.ndarray:
        return ndtri(self.uniform(uid, counter))

    def gamma_quantile(self, shape, uid, counter) -> np.ndarray:
        """Gamma(shape, scale 1) by inverse CDF: one uniform per draw, smooth in the shape.

        For shape >= 1 the quantile function is tabulated once per shape on 2^14
        equal steps of u and interpolated linearly (error below 1e-6 inside
        the table); the outermost steps are computed exactly. Cheaper than
        rejection sampling on the hot path (baskets), and a draw moves smoothly
        when a calibration changes the shape. Shapes below 1 use ``gamma``.
        """
        uid = np.asarray(uid, dtype=np.uint64)
        shape = np.asarray(shape, dtype=np.float64)
        if shape.size == 0:
            return np.empty(0)
        lo, hi = float(shape.min()), float(shape.max())
        if lo < 1.0:
            return self.gamma(shape, uid, counter)
        u = self.uniform(uid, counter)
        if lo == hi:
            return _quantile(lo, u)
        out = np.empty(u.size)
        for s in np.unique(shape):
            m = shape == s
            out[m] = _quantile(float(s), u[m])
        return out

    def gamma(self, shape, uid, counter) -> np.ndarray:
        """Gamma(shape, scale 1) by Marsaglia & Tsang (2000), vectorised over customers.

        Attempt j uses sub-draws 2j (normal) and 2j+1 (uniform); shape < 1 uses
        the boost X = G(shape+1) * U^(1/shape) with the last sub-draw.
        """
        uid = np.asarray(uid, dtype=np.uint64)
        n = uid.shape[0]
        counter = np.broadcast_to(np.asarray(counter, dtype=np.uint64), (n,))
        shape = np.broadcast_to(np.asarray(shape, dtype=np.float64), (n,))
        boost = shape < 1.0
        a = np.where(boost, shape + 1.0, shape)
        d = a - 1.0 / 3.0
        c = 1.0 / np.sqrt(9.0 * d)
        out = np.empty(n)
        todo = np.arange(n)
        # every sub-draw of a uid shares the first half of the hash: mixed once, not once per sub-draw
        h = np.broadcast_to(self._key_hash(uid), (n,))
        base = counter * _U64(_SUB)
        h_todo, base_todo, c_todo, dt = h, base, c, d  # the first attempt is everyone's: no gathers
        for attempt in range((_SUB - 2) // 2):
            if todo.size == 0:
                break
            if attempt:
                h_todo, base_todo, c_todo, dt = h[todo], base[todo], c[todo], d[todo]
            x = ndtri(self._to_unit(self._bits(h_todo, base_todo + _U64(2 * attempt))))
            u = self._to_unit(self._bits(h_todo, base_todo + _U64(2 * attempt + 1)))
            v = (1.0 + c_todo * x) ** 3
            with np.errstate(invalid="ignore", divide="ignore"):
                ok = (v > 0) & (np.log(u) < 0.5 * x * x + dt - dt * v + dt * np.log(np.where(v > 0, v, 1.0)))
            out[todo[ok]] = (dt * v)[ok]
            todo = todo[~ok]
        if todo.size:  # probability below 1e-300; keep the mean rather than loop forever
            out[todo] = a[todo]
        if boost.any():
            b = np.flatnonzero(boost)
            u = self._to_unit(self._bits(h[b], base[b] + _U64(_SUB - 1)))
            out[b] *= u ** (1.0 / shape[b])
        return out

    def beta(self, a, b, uid, counter) -> np.ndarray:
        """Beta(a, b) from two gammas on distinct counters (2c, 2c+1)."""
        counter = np.asarray(counter, dtype=np.uint64)
        x = self.gamma(a, uid, counter * _U64(2))
        y = self.gamma(b, uid, counter * _U64(2) + _U64(1))
        return x / (x + y)

    def poisson_scalar(self, mean: float, counter: int) -> int:
        """One Poisson count (e.g. today's organic acquisitions), keyed by counter only."""
        rng = np.random.default_rng([int(self.key), int(counter)])
        return int(rng.poisson(mean)) if mean > 0 else 0


_TABLE_STEPS = 1 << 14
_TABLES: dict[float, np.ndarray] = {}


def _quantile(shape: float, u: np.ndarray) -> np.ndarray:
    """Gamma(shape) quantiles at u: tabulated inside, exact in the outermost steps."""
    from scipy.special import gammaincinv
    table = _TABLES.get(shape)
    if table is None:
        grid = np.arange(_TABLE_STEPS + 1) / _TABLE_STEPS
        table = gammaincinv(shape, grid)  # endpoints 0 and inf are never interpolated
        if len(_TABLES) > 64:
            _TABLES.clear()
        _TABLES[shape] = table
    pos = u * _TABLE_STEPS
    i = pos.astype(np.int64)
    inside = (i >= 1) & (i < _TABLE_STEPS - 1)
    if inside.all():  # the usual batch: no draw in the outermost steps, so no masks
        lo = table[i]
        pos -= i
        pos *= table[i + 1] - lo
        pos += lo
        return pos
    out = np.empty(u.size)
    ii = i[inside]
    frac = pos[inside] - ii
    out[inside] = table[ii] + frac * (table[ii + 1] - table[ii])
    if not inside.all():
        out[~inside] = gammaincinv(shape, u[~inside])
    return out


class Streams:
    """The named streams of one seeded replication, created on first use."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        s = self._streams.get(name)
        if s is None:
            s = self._streams[name] = Stream(self.seed, name)
        return s
