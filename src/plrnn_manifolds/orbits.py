r"""Fixed points and k-cycles of the canonical map: SCYFI, exhaustive search, classification.

A period-:math:`k` orbit :math:`z_1, \dots, z_k` of
:math:`F(z) = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1` visits a region sequence
:math:`d_1, \dots, d_k` (:math:`d_j` is the activation pattern of :math:`z_j`). On that sequence
the map is affine, so :math:`z_1` solves the linear *cycle equation*

.. math::

    (I - J_{d_k} \cdots J_{d_1})\, z_1 = c, \qquad
    F_{d_k} \circ \dots \circ F_{d_1}(z) = J_{d_k} \cdots J_{d_1} z + c .

A solution is an orbit iff it is *self-consistent*: the candidate's points
:math:`z_{j+1} = F_{d_j}(z_j)` really have the patterns :math:`d_j`.

Two search strategies are offered (DESIGN.md section 3):

* **SCYFI** (Eisenmann et al., NeurIPS 2023), improved. For each period a batch of guessed
  region sequences is solved at once (batched ``numpy.linalg.solve``); an inconsistent candidate
  jumps to the patterns its true trajectory visits and is solved again (inner loop); random
  restarts stop after ``outer_restarts`` consecutive restarts that find nothing new. Starting
  sequences are drawn from regions that exist (patterns along simulated trajectories, of random
  points at several radii, of all candidates visited so far) and from single-bit mutations of
  the orbits already found, not from uniform random bits. When the jump iteration runs into a
  loop, the candidate is perturbed by flipping one of its violated bits instead of being
  abandoned. Duplicates are removed modulo cyclic shift, by exact pattern keys and by point
  distance relative to the model scale (no rounding).
* **Exhaustive**: enumerate the existing regions (all :math:`2^H` patterns when the rows of
  :math:`W_2` are linearly independent, e.g. the PLRNN; otherwise an incremental arrangement
  enumeration with LP feasibility checks, ``scipy.optimize.linprog(method="highs")``), then
  solve every aperiodic, rotation-minimal region sequence (Lyndon word) of each length in
  vectorised batches. The result carries a ``complete`` certificate.

Boundary convention
-------------------
Pattern bits follow the tie rule of :mod:`.maps`, :math:`d_i = 1` iff the pre-activation is
:math:`> 0`, applied with a tolerance: a point within ``tol * (scale + |z|)`` of hyperplane
:math:`i` counts as *on* it and gets :math:`d_i = 0`. The search accepts a candidate if each of
its points lies in the closed (tolerance-widened) region of its guessed pattern, so an orbit
through a boundary is found from either side; it is then *reported* with its tie-rule patterns,
its ``boundary_margin`` (~0) and ``on_boundary=True``, and an :class:`OrbitWarning` is issued,
because its stability is decided by one-sided Jacobians and the monodromy shown (the tie-rule
side) may not describe it. :func:`orbit_from_patterns` is strict: a given bit 1 on a point that
lies on that unit's hyperplane raises :class:`~.errors.OrbitError` naming the point and unit.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import BudgetExceededError, ModelError, OrbitError
from .maps import PLMap, pattern_from_str, pattern_to_str

__all__ = [
    "Orbit",
    "OrbitSearchResult",
    "OrbitWarning",
    "classify",
    "enumerate_regions",
    "find_orbits",
    "orbit_from_patterns",
]

#: Default relative tolerance for boundary and consistency decisions (times ``scale + |z|``).
DEFAULT_TOL = 1e-9
#: Same singularity criterion as :meth:`PLMap.solve_cycle`: ``s_min <= 1e-12 * max(1, s_max)``.
_SINGULAR_RTOL = 1e-12
#: Restarts are processed in batches of this size (vectorised solve).
_BATCH = 64
#: Auto mode gives up certifying the region count after this many LPs and uses SCYFI.
_AUTO_LP_BUDGET = 4000
#: Exhaustive mode refuses region enumerations that might need more LPs than this.
_STRICT_LP_BUDGET = 200_000


class OrbitWarning(UserWarning):
    """An orbit search result needs attention: an orbit on a region boundary (ambiguous
    classification) or singular cycle equations that were skipped."""


# ====================================================================== classification
def classify(eigenvalues, hyperbolic_tol: float = 1e-6) -> dict:
    r"""Classify an orbit from the eigenvalues :math:`\lambda` of its monodromy matrix.

    Parameters
    ----------
    eigenvalues : array_like of complex, shape (M,)
        Eigenvalues of :math:`J_{d_k} \cdots J_{d_1}`.
    hyperbolic_tol : float
        An eigenvalue with :math:`\big||\lambda| - 1\big| <` ``hyperbolic_tol`` makes the orbit
        *near non-hyperbolic*.

    Returns
    -------
    dict
        ``classification`` (``"stable"`` if no :math:`|\lambda| > 1`, ``"unstable"`` if
        :math:`|\lambda| > 1` for some and no :math:`|\lambda| < 1`, otherwise ``"saddle"``),
        ``n_unstable`` (count of :math:`|\lambda| > 1`), ``n_stable`` (count of
        :math:`|\lambda| < 1`), ``flip`` (a negative real eigenvalue), ``spiral`` (a complex
        pair), ``near_nonhyperbolic``. Eigenvalues exactly on the unit circle count as neither
        stable nor unstable; such an orbit is labelled by the other eigenvalues and is always
        flagged near non-hyperbolic.

    Raises
    ------
    OrbitError
        If the eigenvalues are empty or not finite, or ``hyperbolic_tol`` is negative.
    """
    try:
        ev = np.asarray(eigenvalues, dtype=complex).ravel()
    except (TypeError, ValueError):
        raise OrbitError(f"eigenvalues must be a numeric vector, got {eigenvalues!r}") from None
    if ev.size == 0 or not np.all(np.isfinite(ev)):
        raise OrbitError("eigenvalues must be a non-empty vector of finite numbers")
    hyperbolic_tol = _as_nonneg_float("hyperbolic_tol", hyperbolic_tol)
    mod = np.abs(ev)
    n_unstable = int(np.count_nonzero(mod > 1.0))
    n_stable = int(np.count_nonzero(mod < 1.0))
    # eigvals returns exactly real eigenvalues for real ones in practice; the tolerance only
    # guards against round-off in the imaginary part.
    is_real = np.abs(ev.imag) <= 1e-12 * np.maximum(1.0, mod)
    if n_unstable == 0:
        label = "stable"
    elif n_stable == 0 and n_unstable == ev.size:
        label = "unstable"
    elif n_stable == 0:
        # unstable plus eigenvalues exactly on the unit circle: not a saddle in the usual
        # sense, but not repelling in every direction either
        label = "unstable"
    else:
        label = "saddle"
    near = bool(np.any(np.abs(mod - 1.0) < hyperbolic_tol)) or bool(np.any(mod == 1.0))
    return {
        "classification": label,
        "n_unstable": n_unstable,
        "n_stable": n_stable,
        "flip": bool(np.any(is_real & (ev.real < 0))),
        "spiral": bool(np.any(~is_real)),
        "near_nonhyperbolic": near,
    }


def _sort_eigenvalues(ev: np.ndarray) -> np.ndarray:
    """Sort by decreasing modulus; ties (complex pairs) by decreasing real, then imaginary part."""
    ev = np.asarray(ev, dtype=complex)
    order = np.lexsort((-ev.imag, -ev.real, -np.round(np.abs(ev), 12)))
    return ev[order]


# ====================================================================== Orbit
@dataclass(frozen=True, eq=False)
class Orbit:
    r"""A periodic orbit :math:`p_0 \to p_1 \to \dots \to p_{k-1} \to p_0` of the map.

    Attributes
    ----------
    points : ndarray, shape (k, M)
        ``points[j+1] = F(points[j])`` and ``F(points[-1]) = points[0]``, in the canonical cyclic
        shift (the one whose sequence of pattern strings is lexicographically smallest).
    patterns : ndarray of bool, shape (k, H)
        Tie-rule pattern of each point.
    eigenvalues : ndarray of complex, shape (M,)
        Eigenvalues of the monodromy at ``points[0]``, by decreasing modulus.
    monodromy : ndarray, shape (M, M)
        :math:`J_{d_k} \cdots J_{d_1}` at ``points[0]``.
    classification : str
        ``"stable"``, ``"unstable"`` or ``"saddle"`` (see :func:`classify`).
    n_unstable, n_stable : int
        Number of eigenvalues outside / inside the unit circle.
    flip, spiral, near_nonhyperbolic : bool
        See :func:`classify`.
    boundary_margin : float
        Smallest distance of the orbit's points to a region hyperplane, divided by the model
        scale.
    on_boundary : bool
        Whether a point lies on a hyperplane within the search tolerance; the classification
        then uses the tie-rule side's Jacobian and is ambiguous.
    residual : float
        :math:`\max_j |F(p_j) - p_{j+1}| / (\text{scale} + |p_j|)`, evaluated with the true map.
    local_jacobians : ndarray, shape (k, M, M)
        :math:`J_{d(p_j)}` for each point.
    """

    points: np.ndarray
    patterns: np.ndarray
    eigenvalues: np.ndarray
    monodromy: np.ndarray
    classification: str
    n_unstable: int
    n_stable: int
    flip: bool
    spiral: bool
    near_nonhyperbolic: bool
    boundary_margin: float
    on_boundary: bool = False
    residual: float = 0.0
    local_jacobians: np.ndarray = field(default=None, repr=False)

    @property
    def period(self) -> int:
        """Number of distinct points ``k``."""
        return int(self.points.shape[0])

    def monodromy_at(self, j: int) -> np.ndarray:
        r"""Monodromy based at ``points[j]``: :math:`J_{d_{j-1}} \cdots J_{d_0} J_{d_{k-1}} \cdots
        J_{d_j}` (indices mod k); similar to :attr:`monodromy`, so it has the same eigenvalues."""
        k = self.period
        if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not -k <= j < k:
            raise OrbitError(f"point index must be an integer in [0, {k}), got {j!r}")
        j = int(j) % k
        out = np.eye(self.points.shape[1])
        for i in range(k):
            out = self.local_jacobians[(j + i) % k] @ out
        return out

    def jacobians(self, model: PLMap | None = None) -> np.ndarray:
        """Region Jacobians ``(k, M, M)`` along the orbit (recomputed from ``model`` if given)."""
        if model is None:
            return self.local_jacobians.copy()
        return model.jacobian(self.patterns)

    def pattern_strings(self) -> list[str]:
        """Patterns as ``0``/``1`` strings (unit 0 first)."""
        return [pattern_to_str(p) for p in self.patterns]

    def to_dict(self) -> dict:
        """Plain-Python description for JSON results."""
        return {
            "period": self.period,
            "points": self.points.tolist(),
            "patterns": self.pattern_strings(),
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "classification": self.classification,
            "n_unstable": int(self.n_unstable),
            "n_stable": int(self.n_stable),
            "flip": bool(self.flip),
            "spiral": bool(self.spiral),
            "near_nonhyperbolic": bool(self.near_nonhyperbolic),
            "boundary_margin": float(self.boundary_margin),
            "on_boundary": bool(self.on_boundary),
            "residual": float(self.residual),
        }

    def __repr__(self) -> str:
        return (
            f"Orbit(period={self.period}, {self.classification}, n_unstable={self.n_unstable}, "
            f"point0={np.array2string(self.points[0], precision=4)})"
        )


# ====================================================================== result
@dataclass
class OrbitSearchResult:
    """Orbits found by :func:`find_orbits` and how they were found.

    Attributes
    ----------
    orbits : list of Orbit
        Sorted by period, then lexicographically by first point.
    max_period : int
    complete : bool
        ``True`` only for an exhaustive search in which every region sequence had a
        non-singular cycle equation: then *every* hyperbolic orbit up to ``max_period`` is listed.
    seed : int
    method : str
        ``"scyfi"`` or ``"exhaustive"``.
    n_candidates : int
        Cycle equations solved.
    n_singular : int
        Singular cycle equations skipped.
    n_accepted : int
        Self-consistent solutions (before deduplication).
    n_duplicates : int
        Accepted solutions that were already known (modulo cyclic shift).
    n_lower_period : int
        Accepted period-k solutions that were really period-j<k orbits.
    n_restarts : int
        SCYFI restarts (0 for exhaustive).
    n_regions : int or None
        Number of existing regions enumerated (exhaustive), else ``None``.
    per_period : dict
        Per period: restarts, candidates, orbits found and whether the restart cap stopped it.
    notes : list of str
        Human-readable remarks (why the search is not complete, boundary orbits, ...).
    elapsed : float
        Wall time in seconds.
    """

    orbits: list[Orbit]
    max_period: int
    complete: bool
    seed: int
    method: str
    n_candidates: int = 0
    n_singular: int = 0
    n_accepted: int = 0
    n_duplicates: int = 0
    n_lower_period: int = 0
    n_restarts: int = 0
    n_regions: int | None = None
    per_period: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    elapsed: float = 0.0

    def fixed_points(self) -> list[Orbit]:
        """Orbits of period 1."""
        return [o for o in self.orbits if o.period == 1]

    def cycles(self, period: int | None = None) -> list[Orbit]:
        """Orbits of period ``>= 2`` (or exactly ``period`` if given)."""
        if period is None:
            return [o for o in self.orbits if o.period >= 2]
        return [o for o in self.orbits if o.period == period]

    def saddles(self) -> list[Orbit]:
        """Orbits with both stable and unstable directions."""
        return [o for o in self.orbits if o.classification == "saddle"]

    def stable(self) -> list[Orbit]:
        """Attracting orbits."""
        return [o for o in self.orbits if o.classification == "stable"]

    def unstable(self) -> list[Orbit]:
        """Repelling orbits."""
        return [o for o in self.orbits if o.classification == "unstable"]

    def counts(self) -> dict:
        """``{period: {classification: count}}``."""
        out: dict = {}
        for o in self.orbits:
            out.setdefault(o.period, {}).setdefault(o.classification, 0)
            out[o.period][o.classification] += 1
        return out

    def to_dict(self) -> dict:
        """Plain-Python description for JSON results."""
        return {
            "max_period": int(self.max_period),
            "complete": bool(self.complete),
            "seed": int(self.seed),
            "method": self.method,
            "n_candidates": int(self.n_candidates),
            "n_singular": int(self.n_singular),
            "n_accepted": int(self.n_accepted),
            "n_duplicates": int(self.n_duplicates),
            "n_lower_period": int(self.n_lower_period),
            "n_restarts": int(self.n_restarts),
            "n_regions": None if self.n_regions is None else int(self.n_regions),
            "per_period": {str(k): dict(v) for k, v in self.per_period.items()},
            "notes": list(self.notes),
            "elapsed": float(self.elapsed),
            "orbits": [o.to_dict() for o in self.orbits],
        }


# ====================================================================== validation helpers
def _as_int(name: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise OrbitError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise OrbitError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_nonneg_float(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OrbitError(f"{name} must be a non-negative number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise OrbitError(f"{name} must be a non-negative finite number, got {value!r}")
    return v


def _check_model(model) -> PLMap:
    if not isinstance(model, PLMap):
        raise ModelError(
            f"expected a PLMap (the canonical map), got {type(model).__name__}; build one with "
            "plrnn_manifolds.models (plrnn, shplrnn, ...)"
        )
    return model


# ====================================================================== numerical core
class _Ctx:
    """Model arrays and tolerances used by the vectorised kernels."""

    def __init__(self, model: PLMap, tol: float | None):
        self.model = model
        self.A, self.W1, self.W2 = model.A, model.W1, model.W2
        self.h1, self.h2 = model.h1, model.h2
        self.M, self.H = model.M, model.H
        self.scale = model.scale
        self.wn = np.linalg.norm(self.W2, axis=1)
        # rank-one terms W1[:, h] W2[h, :] flattened, and W1 diag(h2): J_d, c_d are linear in d
        self.outer = (self.W1.T[:, :, None] * self.W2[:, None, :]).reshape(self.H, -1)
        self.W1h = (self.W1 * self.h2).T.copy()
        if tol is None:
            tol = DEFAULT_TOL
        tol = _as_nonneg_float("tol", tol)
        if tol == 0 or tol >= 1e-2:
            raise OrbitError(f"tol must be in (0, 1e-2), got {tol!r} (default {DEFAULT_TOL})")
        self.tol = tol
        # Two orbits are the same if their points agree to this relative tolerance; far above
        # solve round-off, far below the distance of distinct hyperbolic orbits in practice.
        self.dtol = max(1e3 * tol, 1e-8)

    # -- local affine maps
    def affine(self, pats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(J, c)`` for patterns ``(..., H)``: shapes ``(..., M, M)`` and ``(..., M)``.

        J_d = A + sum_h d_h W1[:, h] W2[h, :], as one product of the patterns with the
        precomputed rank-one terms ``(H, M*M)``.
        """
        D = pats.astype(np.float64)
        lead = D.shape[:-1]
        M, H = self.M, self.H
        J = self.A + _mm(D.reshape(-1, H), self.outer).reshape(lead + (M, M))
        c = self.h1 + _mm(D.reshape(-1, H), self.W1h).reshape(lead + (M,))
        return J, c

    def step(self, z: np.ndarray) -> np.ndarray:
        lead = z.shape[:-1]
        z2 = z.reshape(-1, self.M)
        out = (
            _mm(z2, self.A.T)
            + _mm(np.maximum(_mm(z2, self.W2.T) + self.h2, 0.0), self.W1.T)
            + self.h1
        )
        return out.reshape(lead + (self.M,))

    # -- tolerances
    def pre_tol(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pre-activations and their boundary tolerance ``tol (scale + |z|) ||W2_i||``."""
        pre = _mm(pts.reshape(-1, self.M), self.W2.T).reshape(pts.shape[:-1] + (self.H,))
        pre += self.h2
        tdist = self.tol * (self.scale + np.linalg.norm(pts, axis=-1))
        return pre, tdist[..., None] * self.wn

    def tie_patterns(self, pts: np.ndarray) -> np.ndarray:
        pre, tp = self.pre_tol(pts)
        return pre > tp

    # -- batched cycle solve
    def solve(self, seqs: np.ndarray):
        """Solve the cycle equations of ``seqs`` ``(B, k, H)``.

        Returns ``(ok, pts)``: ``ok`` (B,) marks non-singular systems with finite solutions,
        ``pts`` (B, k, M) the candidate orbits ``p_{j+1} = F_{d_j}(p_j)`` (garbage where not ok).
        Cost ``O(B k (M^2 H + M^3))``.
        """
        B, k, _ = seqs.shape
        M = self.M
        Jd, cd = self.affine(seqs)
        J = np.broadcast_to(np.eye(M), (B, M, M)).copy()
        c = np.zeros((B, M))
        for j in range(k):
            J = np.matmul(Jd[:, j], J)
            c = np.einsum("bmn,bn->bm", Jd[:, j], c) + cd[:, j]
        Im = np.eye(M) - J
        ok = np.all(np.isfinite(Im), axis=(1, 2)) & np.all(np.isfinite(c), axis=1)
        pts = np.zeros((B, k, M))
        if not ok.any():
            return ok, pts
        idx = np.flatnonzero(ok)
        with np.errstate(all="ignore"):
            return self._solve_rest(ok, idx, Im, c, Jd, cd, pts, k)

    def _solve_rest(self, ok, idx, Im, c, Jd, cd, pts, k):
        inv, good = _batched_inverse(Im[idx])
        # Singular test as in PLMap.solve_cycle, s_min <= 1e-12 max(1, s_max), with the cheap
        # bounds s_min >= 1 / |inv|_F and s_max <= |I - J|_F (a batched SVD costs 3x more).
        n_inv = np.linalg.norm(inv, axis=(1, 2))
        n_im = np.linalg.norm(Im[idx], axis=(1, 2))
        good &= np.isfinite(n_inv) & (n_inv * _SINGULAR_RTOL * np.maximum(1.0, n_im) < 1.0)
        ok[idx[~good]] = False
        inv = inv[good]
        idx = idx[good]
        if idx.size:
            z = np.einsum("bmn,bn->bm", inv, c[idx])
            # one step of iterative refinement: solution as accurate as a direct solve
            r = c[idx] - np.einsum("bmn,bn->bm", Im[idx], z)
            z = z + np.einsum("bmn,bn->bm", inv, r)
            pts[idx, 0] = z
            for j in range(k - 1):
                pts[idx, j + 1] = np.einsum("bmn,bn->bm", Jd[idx, j], pts[idx, j]) + cd[idx, j]
            fin = np.all(np.isfinite(pts[idx]), axis=(1, 2))
            ok[idx[~fin]] = False
        return ok, pts

    def consistent(self, seqs: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lenient self-consistency: every point in the tolerance-widened closed region of its
        guessed pattern. Returns ``(accepted (B,), tie_patterns (B, k, H))``."""
        pre, tp = self.pre_tol(pts)
        ok_bits = np.where(seqs, pre >= -tp, pre <= tp)
        return np.all(ok_bits, axis=(1, 2)), pre > tp

    def true_patterns(self, z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Tie-rule patterns of the true trajectory ``z, F(z), ..., F^{k-1}(z)`` (B, k, H) and a
        finiteness mask."""
        B = z.shape[0]
        out = np.zeros((B, k, self.H), dtype=bool)
        q = z.copy()
        with np.errstate(all="ignore"):
            for j in range(k):
                out[:, j] = self.tie_patterns(q)
                if j < k - 1:
                    q = self.step(q)
        return out, np.all(np.isfinite(q), axis=1)


#: OpenBLAS multithreads products above ~2^18 multiply-adds; on a shared machine that is
#: much slower than one thread for our many medium-sized products, so they are cut in row chunks.
_GEMM_CHUNK_FLOPS = 2**18


def _mm(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``X @ Y`` for 2-D arrays, in row chunks small enough to run single-threaded."""
    n, m = X.shape
    p = Y.shape[1]
    rows = max(1, _GEMM_CHUNK_FLOPS // max(1, m * p))
    if n <= rows:
        return X @ Y
    out = np.empty((n, p))
    for a in range(0, n, rows):
        np.matmul(X[a : a + rows], Y, out=out[a : a + rows])
    return out


def _batched_inverse(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of ``(B, M, M)`` and a mask of the invertible ones; an exactly singular matrix
    makes LAPACK fail the whole batch, so then fall back to one at a time."""
    try:
        return np.linalg.inv(X), np.ones(X.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        out = np.zeros_like(X)
        good = np.zeros(X.shape[0], dtype=bool)
        for b in range(X.shape[0]):
            try:
                out[b] = np.linalg.inv(X[b])
                good[b] = True
            except np.linalg.LinAlgError:
                pass
        return out, good


def _pack(pats: np.ndarray) -> list[bytes]:
    """One bytes key per pattern (rows of ``(n, H)``); bytes order = lexicographic bit order."""
    packed = np.packbits(pats, axis=-1)
    return [r.tobytes() for r in packed]


def _canonical_shift(pats: np.ndarray, pts: np.ndarray | None = None) -> int:
    """Cyclic shift ``s`` whose pattern sequence ``pats[s:] + pats[:s]`` is lexicographically
    smallest; ties (only for periodic sequences) broken by the point coordinates."""
    keys = _pack(pats)
    k = len(keys)
    best = None
    best_s = 0
    for s in range(k):
        cand = (tuple(keys[s:] + keys[:s]),)
        if pts is not None:
            cand = cand + (tuple(pts[s].tolist()),)
        if best is None or cand < best:
            best, best_s = cand, s
    return best_s


def _seq_key(pats: np.ndarray) -> bytes:
    s = _canonical_shift(pats)
    keys = _pack(np.roll(pats, -s, axis=0))
    return len(keys).to_bytes(4, "little") + b"".join(keys)


def _reduce_period(ctx: _Ctx, pts: np.ndarray) -> int:
    """Smallest divisor ``j`` of ``k`` such that the points repeat with period ``j``."""
    k = pts.shape[0]
    tolp = ctx.dtol * (ctx.scale + np.linalg.norm(pts, axis=1))
    for j in range(1, k):
        if k % j:
            continue
        if np.all(np.linalg.norm(np.roll(pts, -j, axis=0) - pts, axis=1) <= tolp):
            return j
    return k


def _build_orbit(ctx: _Ctx, pts: np.ndarray, hyperbolic_tol: float, rotate: bool = True):
    """Orbit from its points (tie-rule patterns are recomputed from the points)."""
    pats = ctx.tie_patterns(pts)
    if rotate:
        s = _canonical_shift(pats, pts)
        pts = np.roll(pts, -s, axis=0)
        pats = np.roll(pats, -s, axis=0)
    Jd, _ = ctx.affine(pats)
    mono = np.eye(ctx.M)
    for j in range(pts.shape[0]):
        mono = Jd[j] @ mono
    ev = _sort_eigenvalues(np.linalg.eigvals(mono))
    cls = classify(ev, hyperbolic_tol)
    dist = np.atleast_1d(ctx.model.boundary_margin(pts))
    on_b = bool(np.any(dist <= ctx.tol * (ctx.scale + np.linalg.norm(pts, axis=1))))
    with np.errstate(all="ignore"):
        img = ctx.step(pts)
    res = np.linalg.norm(img - np.roll(pts, -1, axis=0), axis=1) / (
        ctx.scale + np.linalg.norm(pts, axis=1)
    )
    for arr in (pts, pats, ev, mono, Jd):
        arr.setflags(write=False)
    return Orbit(
        points=pts,
        patterns=pats,
        eigenvalues=ev,
        monodromy=mono,
        classification=cls["classification"],
        n_unstable=cls["n_unstable"],
        n_stable=cls["n_stable"],
        flip=cls["flip"],
        spiral=cls["spiral"],
        near_nonhyperbolic=cls["near_nonhyperbolic"],
        boundary_margin=float(dist.min() / ctx.scale),
        on_boundary=on_b,
        residual=float(res.max()),
        local_jacobians=Jd,
    )


class _Store:
    """Found orbits, deduplicated modulo cyclic shift (exact pattern key, then point distance)."""

    def __init__(self, ctx: _Ctx, hyperbolic_tol: float):
        self.ctx = ctx
        self.hyperbolic_tol = hyperbolic_tol
        self.by_period: dict[int, list[Orbit]] = {}
        self.keys: dict[bytes, Orbit] = {}
        self.n_accepted = 0
        self.n_duplicates = 0
        self.n_lower = 0

    def all(self) -> list[Orbit]:
        return [o for k in sorted(self.by_period) for o in self.by_period[k]]

    def _same(self, a: Orbit, pts: np.ndarray) -> bool:
        k = pts.shape[0]
        tolp = self.ctx.dtol * (self.ctx.scale + np.linalg.norm(pts, axis=1))
        for s in range(k):
            if np.all(np.linalg.norm(np.roll(a.points, -s, axis=0) - pts, axis=1) <= tolp):
                return True
        return False

    def offer(self, pts: np.ndarray) -> tuple[bool, int]:
        """Add an accepted candidate ``(k, M)``; returns ``(is_new, true_period)``."""
        ctx = self.ctx
        self.n_accepted += 1
        k0 = pts.shape[0]
        j = _reduce_period(ctx, pts)
        if j < k0:
            self.n_lower += 1
            pts = pts[:j]
        key = _seq_key(ctx.tie_patterns(pts))
        if key in self.keys:
            self.n_duplicates += 1
            return False, j
        for o in self.by_period.get(j, ()):
            if self._same(o, pts):
                self.keys[key] = o
                self.n_duplicates += 1
                return False, j
        orb = _build_orbit(ctx, pts, self.hyperbolic_tol)
        self.by_period.setdefault(j, []).append(orb)
        self.keys[key] = orb
        self.keys[_seq_key(orb.patterns)] = orb
        return True, j


# ====================================================================== region enumeration
def _sample_points(ctx: _Ctx, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random states at log-uniform radii ``0.01 .. 1000`` times the model scale, plus a
    uniform box: hits bounded cells near the origin and unbounded cells far away."""
    M = ctx.M
    u = rng.standard_normal((n, M))
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
    r = ctx.scale * 10.0 ** rng.uniform(-2.0, 3.0, size=(n, 1))
    box = rng.uniform(-2.0 * ctx.scale, 2.0 * ctx.scale, size=(n, M))
    return np.vstack([u * r, box])


def _region_lp(ctx: _Ctx, prefix: np.ndarray, units: np.ndarray):
    """Is ``{z : pre_u > 0 for on-units, pre_u <= 0 for off-units}`` non-empty (tie rule)?

    LP over ``(z, t)``: maximise ``t <= 1`` s.t. ``pre_u / |W2_u| >= t`` (on) and
    ``pre_u <= 0`` (off). Non-empty iff the optimum ``t* > 0`` (numerically ``> tol * scale``,
    so cells thinner than that are ignored). Returns a witness point or ``None``.
    """
    from scipy.optimize import linprog

    M = ctx.M
    W = ctx.W2[units]
    h = ctx.h2[units]
    n = np.where(ctx.wn[units] > 0, ctx.wn[units], 1.0)
    Wn, hn = W / n[:, None], h / n
    on = prefix.astype(bool)
    A_ub = np.zeros((len(units), M + 1))
    b_ub = np.zeros(len(units))
    A_ub[on, :M] = -Wn[on]
    A_ub[on, M] = 1.0
    b_ub[on] = hn[on]
    A_ub[~on, :M] = Wn[~on]
    b_ub[~on] = -hn[~on]
    cvec = np.zeros(M + 1)
    cvec[M] = -1.0
    res = linprog(
        cvec,
        A_ub=A_ub,
        b_ub=b_ub,
        bounds=[(None, None)] * M + [(None, 1.0)],
        method="highs",
    )
    if res.status != 0 or res.x is None or -res.fun <= ctx.tol * ctx.scale:
        return None
    return res.x[:M]


def _enumerate_regions(
    ctx: _Ctx, max_regions: int | None, lp_budget: int | None, seed: int
) -> tuple[np.ndarray | None, dict]:
    """Existing regions (tie rule) by incremental arrangement enumeration.

    Returns ``(regions or None, info)``; ``None`` if more than ``max_regions`` cells or more than
    ``lp_budget`` LPs would be needed (``info["reason"]`` says which, ``info["lower_bound"]`` is a
    proven lower bound on the number of regions).
    """
    M = ctx.M
    info = {"n_lp": 0, "reason": None, "lower_bound": 0}
    nz = ctx.wn > 0
    fixed_bits = ctx.h2 > 0  # units with zero input weights have a constant bit
    H_eff = int(nz.sum())
    if H_eff == 0:
        return fixed_bits[None, :].copy(), info
    rank = np.linalg.matrix_rank(ctx.W2[nz]) if H_eff <= M else -1
    if rank == H_eff:
        # Linearly independent normals: every sign vector is realised by an open cell.
        n = 2**H_eff
        info["lower_bound"] = n
        if max_regions is not None and n > max_regions:
            info["reason"] = "regions"
            return None, info
        grid = ((np.arange(n)[:, None] >> np.arange(H_eff - 1, -1, -1)) & 1).astype(bool)
        out = np.tile(fixed_bits, (n, 1))
        out[:, nz] = grid
        return out, info
    # Sampled witnesses: patterns of real points certainly exist.
    rng = np.random.default_rng([seed, 7919])
    S = _sample_points(ctx, rng, 4096)
    Spat = S @ ctx.W2.T + ctx.h2 > 0
    nuniq = len(np.unique(np.packbits(Spat, axis=1), axis=0))
    info["lower_bound"] = nuniq
    if max_regions is not None and nuniq > max_regions:
        info["reason"] = "regions"
        return None, info
    units = np.flatnonzero(nz)
    # cells: prefixes over the processed non-zero units, with a witness point (or NaN)
    prefixes = np.zeros((1, 0), dtype=bool)
    wit = np.full((1, M), np.nan)
    for pos, u in enumerate(units):
        used = units[: pos + 1]
        sample_pref = {}
        for i, key in enumerate(_pack(Spat[:, used])):
            sample_pref.setdefault(key, i)
        new_pref, new_wit = [], []
        for c in range(prefixes.shape[0]):
            w = wit[c]
            side = None
            if np.all(np.isfinite(w)):
                side = bool(w @ ctx.W2[u] + ctx.h2[u] > 0)
            for bit in (False, True):
                pref = np.append(prefixes[c], bit)
                if side is not None and side == bit:
                    new_pref.append(pref)
                    new_wit.append(w)
                    continue
                key = np.packbits(pref).tobytes()
                if key in sample_pref:
                    new_pref.append(pref)
                    new_wit.append(S[sample_pref[key]])
                    continue
                if lp_budget is not None and info["n_lp"] >= lp_budget:
                    info["reason"] = "lp"
                    return None, info
                info["n_lp"] += 1
                x = _region_lp(ctx, pref, used)
                if x is not None:
                    new_pref.append(pref)
                    new_wit.append(x)
        if max_regions is not None and len(new_pref) > max_regions:
            info["reason"] = "regions"
            info["lower_bound"] = max(info["lower_bound"], len(new_pref))
            return None, info
        prefixes = np.array(new_pref, dtype=bool).reshape(len(new_pref), pos + 1)
        wit = np.array(new_wit).reshape(len(new_wit), M)
    out = np.tile(fixed_bits, (prefixes.shape[0], 1))
    out[:, units] = prefixes
    # deterministic order: lexicographic pattern strings
    order = sorted(range(out.shape[0]), key=lambda i: pattern_to_str(out[i]))
    return out[order], info


def enumerate_regions(model: PLMap, max_regions: int | None = None, *, tol=None) -> np.ndarray:
    r"""All activation patterns that occur (the non-empty regions, tie rule), as ``(R, H)`` bool.

    If the non-zero rows of :math:`W_2` are linearly independent (e.g. the PLRNN) all
    :math:`2^H` patterns exist. Otherwise hyperplanes are added one at a time; each cell is split
    in two and a child is kept if a witness point (the parent's, or a sampled state) lies in it or
    an LP (``scipy.optimize.linprog``, HiGHS) finds an interior point at distance
    ``> tol * scale`` from the on-hyperplanes. Cost: about one LP per cell per hyperplane,
    at most :math:`\sum_{i \le M} \binom{H}{i}` cells.

    Raises
    ------
    BudgetExceededError
        If there are more than ``max_regions`` regions.
    """
    model = _check_model(model)
    ctx = _Ctx(model, tol)
    if max_regions is not None:
        max_regions = _as_int("max_regions", max_regions, 1)
    regs, info = _enumerate_regions(ctx, max_regions, None, 0)
    if regs is None:
        raise BudgetExceededError(
            f"the map has more than max_regions = {max_regions} regions (at least "
            f"{info['lower_bound']}); raise max_regions"
        )
    return regs


# ====================================================================== exhaustive search
def _budget(R: int, K: int) -> int:
    return sum(R**k for k in range(1, K + 1))


def _max_regions_for(K: int, max_exhaustive: int) -> int:
    lo, hi = 0, max_exhaustive
    while lo < hi:  # largest R with _budget(R, K) <= max_exhaustive
        mid = (lo + hi + 1) // 2
        if _budget(mid, K) <= max_exhaustive:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _zaslavsky_bound(H: int, M: int) -> int:
    """Maximal number of cells of ``H`` hyperplanes in ``R^M`` (general position)."""
    return min(2**H, sum(math.comb(H, i) for i in range(min(H, M) + 1)))


def _lyndon_chunks(R: int, k: int, chunk: int):
    """Index arrays ``(C, k)`` of all aperiodic, rotation-minimal words of length ``k`` over
    ``range(R)`` (Lyndon words), in increasing order, in chunks. Each orbit of primitive period
    ``k`` has exactly one such itinerary."""
    total = R**k
    if k == 1:
        for a in range(0, total, chunk):
            yield np.arange(a, min(total, a + chunk), dtype=np.int64)[:, None]
        return
    pw = [R**s for s in range(k + 1)]
    for a in range(0, total, chunk):
        code = np.arange(a, min(total, a + chunk), dtype=np.int64)
        keep = np.ones(code.shape, dtype=bool)
        for s in range(1, k):
            rot = (code % pw[k - s]) * pw[s] + code // pw[k - s]
            keep &= code < rot
        code = code[keep]
        if code.size == 0:
            continue
        digits = np.empty((code.size, k), dtype=np.int64)
        rem = code.copy()
        for j in range(k - 1, -1, -1):
            digits[:, j] = rem % R
            rem //= R
        yield digits


def _exhaustive(ctx, regions, K, store, stats, progress):
    R = regions.shape[0]
    M = ctx.M
    for k in range(1, K + 1):
        t0 = time.perf_counter()
        n_before = len(store.by_period.get(k, ()))
        # memory of a chunk ~ chunk * k * M * M * 8 bytes * a few
        chunk = int(max(256, min(16384, 2e7 / (k * M * M * 8 + 1))))
        cand = sing = 0
        for idx in _lyndon_chunks(R, k, chunk):
            seqs = regions[idx]
            ok, pts = ctx.solve(seqs)
            cand += len(seqs)
            sing += int(np.count_nonzero(~ok))
            if not ok.any():
                continue
            good = np.flatnonzero(ok)
            acc, _ = ctx.consistent(seqs[good], pts[good])
            for b in good[acc]:
                store.offer(pts[b])
        stats["n_candidates"] += cand
        stats["n_singular"] += sing
        stats["per_period"][k] = {
            "candidates": cand,
            "singular": sing,
            "found": len(store.by_period.get(k, ())) - n_before,
            "seconds": round(time.perf_counter() - t0, 4),
        }
        _say(progress, f"period {k}: {cand} sequences, {len(store.by_period.get(k, ()))} orbits")


# ====================================================================== SCYFI
class _Pool:
    """Starting region sequences drawn from regions that exist.

    Sources: itineraries of *close returns* of simulated trajectories (``|z_{t+k} - z_t|`` small:
    a trajectory shadowing a k-cycle, the classical way to locate unstable periodic orbits in
    chaotic attractors), segments of those pattern trajectories, a sweep through every pattern
    seen (trajectories from random initial states in a box of half-width ``2 * scale``, random
    states at log-uniform radii, all points visited by SCYFI candidates so far), and bit flips of
    the itineraries of orbits already found.
    """

    def __init__(self, ctx: _Ctx, rng: np.random.Generator, max_period: int):
        self.ctx = ctx
        M = ctx.M
        n_traj = 32
        n_steps = max(256, 16 * max_period)
        z0 = rng.uniform(-2.0 * ctx.scale, 2.0 * ctx.scale, size=(n_traj, M))
        traj = ctx.model.trajectory(z0, n_steps)  # (T, N, M)
        fin = np.all(np.isfinite(traj), axis=2) & (
            np.linalg.norm(np.where(np.isfinite(traj), traj, 0.0), axis=2) < 1e8 * ctx.scale
        )
        self.segments: list[np.ndarray] = []  # pattern trajectories (T_i, H)
        self.states: list[np.ndarray] = []  # the states (T_i, M)
        for b in range(n_traj):
            T = int(np.argmin(fin[:, b])) if not fin[:, b].all() else n_steps
            if T >= 2:
                self.states.append(traj[:T, b])
                self.segments.append(ctx.tie_patterns(traj[:T, b]))
        self.pats: list[np.ndarray] = []
        self._sorted = np.zeros(0, dtype=np.uint64)
        self._hw = np.random.default_rng(12345).integers(
            1, 2**63, size=(ctx.H + 7) // 8, dtype=np.uint64
        ) * np.uint64(2) + np.uint64(1)
        for seg in self.segments:
            self.add(seg)
        self.add(ctx.tie_patterns(_sample_points(ctx, rng, 2048)))
        self._order = np.zeros(0, dtype=int)
        self._cursor = 0
        self._returns: dict[int, list[np.ndarray]] = {}
        self._ret_cursor: dict[int, int] = {}

    def close_returns(self, k: int, max_n: int = 512) -> list[np.ndarray]:
        """Distinct itineraries ``(k, H)`` of trajectory stretches with ``z_{t+k}`` close to
        ``z_t``, closest first (computed once per period; vectorised, with a rotation-invariant
        hash of the itinerary for deduplication modulo cyclic shift)."""
        if k in self._returns:
            return self._returns[k]
        dist, keys, where = [], [], []
        powers = self._hw[np.arange(k) % self._hw.size] ^ np.uint64(0x9E3779B97F4A7C15)
        for b, (Z, P) in enumerate(zip(self.states, self.segments, strict=True)):
            T = Z.shape[0]
            if T <= k:
                continue
            d = np.linalg.norm(Z[k:] - Z[:-k], axis=1) / (
                self.ctx.scale + np.linalg.norm(Z[:-k], axis=1)
            )
            win = np.lib.stride_tricks.sliding_window_view(self._hash(P), k)[: T - k]
            with np.errstate(over="ignore"):
                rot = [
                    (np.roll(win, -s, axis=1) * powers).sum(axis=1, dtype=np.uint64)
                    for s in range(k)
                ]
            dist.append(d)
            keys.append(np.min(rot, axis=0))
            where.append(np.stack([np.full(T - k, b), np.arange(T - k)], axis=1))
        out: list[np.ndarray] = []
        if dist:
            dist, keys, where = np.concatenate(dist), np.concatenate(keys), np.concatenate(where)
            order = np.argsort(dist, kind="stable")
            _, first = np.unique(keys[order], return_index=True)
            for i in order[np.sort(first)][:max_n]:
                b, t = where[i]
                out.append(self.segments[b][t : t + k])
        self._returns[k] = out
        return out

    def _hash(self, pats: np.ndarray) -> np.ndarray:
        # 64-bit hash of each row (wrap-around arithmetic); a collision only means a pattern is
        # not added to the pool, which costs nothing but a little diversity
        packed = np.packbits(pats, axis=1).astype(np.uint64)
        with np.errstate(over="ignore"):
            return (packed * self._hw[: packed.shape[1]]).sum(axis=1, dtype=np.uint64)

    def add(self, pats: np.ndarray) -> None:
        """Add patterns ``(n, H)`` not yet in the pool (vectorised membership test)."""
        pats = np.asarray(pats, dtype=bool).reshape(-1, self.ctx.H)
        if pats.shape[0] == 0:
            return
        h = self._hash(pats)
        _, first = np.unique(h, return_index=True)
        first = np.sort(first)  # keep first occurrences in order: deterministic insertion
        h, pats = h[first], pats[first]
        if self._sorted.size:
            pos = np.minimum(np.searchsorted(self._sorted, h), self._sorted.size - 1)
            is_new = self._sorted[pos] != h
        else:
            is_new = np.ones(h.size, dtype=bool)
        if not is_new.any():
            return
        self.pats.extend(pats[is_new])
        self._sorted = np.sort(np.concatenate([self._sorted, h[is_new]]))

    def _next_sweep(self, rng: np.random.Generator) -> np.ndarray:
        """Next pattern of a sweep through the pool without replacement (reshuffled when done,
        so patterns added meanwhile are included in the next pass)."""
        if self._cursor >= len(self._order):
            self._order = rng.permutation(len(self.pats))
            self._cursor = 0
        p = self.pats[self._order[self._cursor]]
        self._cursor += 1
        return p

    def sample(self, k: int, B: int, rng: np.random.Generator, known: list[Orbit]) -> np.ndarray:
        """``B`` starting sequences ``(B, k, H)``: close-return itineraries (closest first, while
        any are left), bit-flip mutations of known orbits, trajectory segments, and sweeps (the
        first pattern runs through the whole pool without replacement, the others are drawn from
        the pool)."""
        H = self.ctx.H
        n_pool = len(self.pats)
        out = np.empty((B, k, H), dtype=bool)
        seg_w = np.array([len(s) for s in self.segments], dtype=float)
        returns = self.close_returns(k)
        cursor = self._ret_cursor.get(k, 0)
        kinds = rng.random(B)
        for b in range(B):
            u = kinds[b]
            if cursor < len(returns) and u < 0.35:
                out[b] = returns[cursor]
                cursor += 1
            elif known and u < 0.6:
                # neighbour of a known orbit's itinerary: tile cyclically to length k, flip bits
                o = known[rng.integers(len(known))]
                j0 = rng.integers(o.period)
                seq = o.patterns[(j0 + np.arange(k)) % o.period].copy()
                n_flip = 1 + int(rng.random() < 0.3)
                for _ in range(n_flip):
                    seq[rng.integers(k), rng.integers(H)] ^= True
                if rng.random() < 0.2:
                    seq[rng.integers(k)] = self.pats[rng.integers(n_pool)]
                out[b] = seq
            elif self.segments and u < 0.75:
                s = self.segments[rng.choice(len(self.segments), p=seg_w / seg_w.sum())]
                t0 = rng.integers(len(s))
                out[b] = s[(t0 + np.arange(k)) % len(s)]
            else:
                out[b, 0] = self._next_sweep(rng)
                for j in range(1, k):
                    out[b, j] = self.pats[rng.integers(n_pool)]
        self._ret_cursor[k] = cursor
        return out


def _scyfi_period(ctx, k, pool, store, rng, outer, inner, max_restarts, stats, progress):
    """SCYFI restarts for period ``k`` until ``outer`` consecutive restarts find nothing new."""
    t0 = time.perf_counter()
    consecutive = 0
    restarts = 0
    cand = sing = 0
    n_before = len(store.by_period.get(k, ()))
    capped = False
    while consecutive < outer:
        if restarts >= max_restarts:
            capped = True
            break
        B = _BATCH
        known = store.all()
        cur = pool.sample(k, B, rng, known)
        prev = np.zeros_like(cur)
        has_prev = np.zeros(B, dtype=bool)
        active = np.arange(B)
        accepted_pts: list[list] = [[] for _ in range(B)]
        for _it in range(inner):
            if active.size == 0:
                break
            seqs = cur[active]
            ok, pts = ctx.solve(seqs)
            cand += active.size
            sing += int(np.count_nonzero(~ok))
            acc = np.zeros(active.size, dtype=bool)
            if ok.any():
                g = np.flatnonzero(ok)
                a, _ = ctx.consistent(seqs[g], pts[g])
                acc[g[a]] = True
                for gi in g[a]:
                    accepted_pts[active[gi]].append(pts[gi])
            # jump: patterns along the candidate's true trajectory (regions really visited)
            cont = ok & ~acc
            ci = np.flatnonzero(cont)
            if ci.size == 0:
                active = active[:0]
                break
            nxt, fin = ctx.true_patterns(pts[ci, 0], k)
            pool.add(nxt[fin].reshape(-1, ctx.H))
            rows = active[ci]
            same_cur = np.all(nxt == cur[rows], axis=(1, 2))
            loop = same_cur | (has_prev[rows] & np.all(nxt == prev[rows], axis=(1, 2)))
            # on a loop: flip one violated bit of the current guess (random) instead of stopping
            if loop.any():
                li = np.flatnonzero(loop)
                pre, tp = ctx.pre_tol(pts[ci[li]])
                viol = np.where(seqs[ci[li]], pre < -tp, pre > tp).reshape(li.size, -1)
                # random violated bit per row (any bit if, through round-off, none is violated)
                score = rng.random(viol.shape) + 2.0 * viol
                flat = np.argmax(score, axis=1)
                newseq = cur[rows[li]].reshape(li.size, -1).copy()
                newseq[np.arange(li.size), flat] ^= True
                nxt[li] = newseq.reshape(li.size, k, ctx.H)
            prev[rows] = cur[rows]
            has_prev[rows] = True
            cur[rows] = nxt
            keep = fin | loop
            active = rows[keep]
        # outcomes in restart order (deterministic)
        for b in range(B):
            new_any = False
            for p in accepted_pts[b]:
                is_new, _ = store.offer(p)
                new_any |= is_new
            restarts += 1
            consecutive = 0 if new_any else consecutive + 1
        if progress:
            _say(
                progress,
                f"period {k}: {restarts} restarts, {len(store.by_period.get(k, ()))} orbits",
            )
    stats["n_candidates"] += cand
    stats["n_singular"] += sing
    stats["n_restarts"] += restarts
    stats["per_period"][k] = {
        "restarts": restarts,
        "candidates": cand,
        "singular": sing,
        "found": len(store.by_period.get(k, ())) - n_before,
        "restart_cap_hit": capped,
        "seconds": round(time.perf_counter() - t0, 4),
    }


def _run_search(ctx, regions, K, store, stats, progress, notes, seed, outer, inner, max_restarts):
    """Exhaustive search over ``regions`` (if given), else SCYFI; returns (method, complete)."""
    if regions is not None:
        _exhaustive(ctx, regions, K, store, stats, progress)
        complete = stats["n_singular"] == 0
        if not complete:
            notes.append(
                f"{stats['n_singular']} region sequences had a singular cycle equation "
                "(eigenvalue 1 or continuum of cycles) and were skipped: not complete"
            )
        return "exhaustive", complete
    rng = np.random.default_rng(seed)
    swept = _fixed_point_sweep(ctx, store, stats, progress)
    if swept:
        notes.append(
            "fixed points: every one of the 2^H activation patterns was solved "
            f"({stats['per_period'][1]['candidates']} patterns), so period 1 is complete"
        )
    pool = _Pool(ctx, rng, K)
    for k in range(1 + int(swept), K + 1):
        _scyfi_period(ctx, k, pool, store, rng, outer, inner, max_restarts, stats, progress)
    if stats["n_candidates"] and stats["n_singular"] == stats["n_candidates"]:
        notes.append("every cycle equation tried was singular")
    complete = swept and K == 1 and stats["n_singular"] == 0
    return "scyfi", complete


# A pattern sweep costs one M x M inverse per pattern (~10-50 us for M = 20), so 2^17 patterns
# take a few seconds: beyond that SCYFI alone is used for fixed points too.
_FIXED_POINT_SWEEP_MAX = 2**17


def _fixed_point_sweep(ctx, store, stats, progress) -> bool:
    """Solve the fixed-point equation of every activation pattern (units whose input weights
    vanish have a constant bit), when there are at most ``_FIXED_POINT_SWEEP_MAX`` of them.

    Unlike the exhaustive mode this needs no region enumeration (no LPs): a pattern whose region
    is empty simply yields no self-consistent solution. Returns True if the sweep ran.
    """
    var = np.flatnonzero(ctx.wn > 0)
    n_pat = 2 ** len(var)
    if len(var) > 62 or n_pat > _FIXED_POINT_SWEEP_MAX:
        return False
    t0 = time.perf_counter()
    const = ctx.h2 > 0
    chunk = int(max(256, min(65536, 2e7 / (ctx.M * ctx.M * 8 + 1))))
    shifts = np.arange(len(var), dtype=np.int64)
    cand = sing = 0
    for start in range(0, n_pat, chunk):
        ids = np.arange(start, min(start + chunk, n_pat), dtype=np.int64)
        seqs = np.broadcast_to(const, (len(ids), ctx.H)).copy()
        seqs[:, var] = ((ids[:, None] >> shifts) & 1).astype(bool)
        seqs = seqs[:, None, :]
        ok, pts = ctx.solve(seqs)
        cand += len(ids)
        sing += int(np.count_nonzero(~ok))
        good = np.flatnonzero(ok)
        if good.size:
            acc, _ = ctx.consistent(seqs[good], pts[good])
            for b in good[acc]:
                store.offer(pts[b])
    stats["n_candidates"] += cand
    stats["n_singular"] += sing
    stats["per_period"][1] = {
        "candidates": cand,
        "singular": sing,
        "found": len(store.by_period.get(1, ())),
        "seconds": round(time.perf_counter() - t0, 4),
        "sweep": True,
    }
    _say(progress, f"period 1: swept {cand} patterns, {len(store.by_period.get(1, ()))} orbits")
    return True


def _say(progress, msg: str) -> None:
    if not progress:
        return
    if callable(progress):
        progress(msg)
    else:
        print(msg, file=sys.stderr, flush=True)


# ====================================================================== public API
def find_orbits(
    model: PLMap,
    max_period: int = 1,
    *,
    seed: int = 0,
    exhaustive: bool | str = "auto",
    max_exhaustive: int = 2**16,
    outer_restarts: int = 200,
    inner_iterations: int = 40,
    tol: float | None = None,
    hyperbolic_tol: float = 1e-6,
    max_restarts: int | None = None,
    progress: bool | Callable[[str], None] = False,
) -> OrbitSearchResult:
    r"""Find fixed points and cycles of periods ``1..max_period``.

    Parameters
    ----------
    model : PLMap
        The canonical map.
    max_period : int
        Largest period searched (``>= 1``).
    seed : int
        Seed of every random choice; the same seed gives the same result.
    exhaustive : bool or "auto"
        ``True``: enumerate every region sequence (raises :class:`BudgetExceededError` if
        :math:`\sum_{k \le K} R^k >` ``max_exhaustive`` for the number of regions ``R``).
        ``False``: SCYFI. ``"auto"``: exhaustive when within budget, else SCYFI.
    max_exhaustive : int
        Budget of the exhaustive mode, :math:`\sum_{k=1}^{K} R^k`.
    outer_restarts : int
        SCYFI stops a period after this many consecutive restarts without a new orbit.
    inner_iterations : int
        Maximum jumps per restart.
    tol : float, optional
        Relative tolerance (default ``1e-9``): a point within ``tol (scale + |z|)`` of a
        hyperplane is on it. Orbits agreeing within ``max(1e3 tol, 1e-8) (scale + |z|)``
        (modulo cyclic shift) are the same.
    hyperbolic_tol : float
        Threshold of :func:`classify` for near non-hyperbolic orbits.
    max_restarts : int, optional
        Cap on SCYFI restarts per period (default ``100 * outer_restarts``); if it stops a
        period, ``per_period[k]["restart_cap_hit"]`` is ``True``.
    progress : bool or callable
        Print progress to stderr, or pass each message to the callable.

    Returns
    -------
    OrbitSearchResult

    Notes
    -----
    Each SCYFI iteration solves a batch of ``M x M`` systems built from ``k`` Jacobians,
    ``O(B k (M^2 H + M^3))``. Exhaustive cost: region enumeration (free when :math:`W_2` has
    independent rows, else about one LP per cell and hyperplane) plus
    :math:`\sim R^k / k` solves per period. Orbits whose cycle equation is singular (eigenvalue
    exactly 1, continua of cycles) cannot be isolated; they are skipped and counted in
    ``n_singular``, and an exhaustive result is then not ``complete``. An orbit through a region
    boundary is reported with ``on_boundary=True`` and an :class:`OrbitWarning` (see module
    docstring).

    Raises
    ------
    OrbitError
        On invalid arguments (``max_period`` not an integer >= 1, ...).
    ModelError
        If ``model`` is not a :class:`~plrnn_manifolds.maps.PLMap`.
    BudgetExceededError
        If ``exhaustive=True`` and the enumeration exceeds ``max_exhaustive``.
    """
    t_start = time.perf_counter()
    model = _check_model(model)
    K = _as_int("max_period", max_period, 1)
    seed = _as_int("seed", seed, 0)
    max_exhaustive = _as_int("max_exhaustive", max_exhaustive, 1)
    outer = _as_int("outer_restarts", outer_restarts, 1)
    inner = _as_int("inner_iterations", inner_iterations, 1)
    max_restarts = 100 * outer if max_restarts is None else _as_int("max_restarts", max_restarts, 1)
    hyperbolic_tol = _as_nonneg_float("hyperbolic_tol", hyperbolic_tol)
    if not (isinstance(exhaustive, (bool, np.bool_)) or exhaustive == "auto"):
        raise OrbitError(f"exhaustive must be True, False or 'auto', got {exhaustive!r}")
    ctx = _Ctx(model, tol)
    store = _Store(ctx, hyperbolic_tol)
    stats = {"n_candidates": 0, "n_singular": 0, "n_restarts": 0, "per_period": {}}
    notes: list[str] = []

    regions = None
    if exhaustive is not False:
        strict = exhaustive is True
        R_max = _max_regions_for(K, max_exhaustive)
        H_eff = int(np.count_nonzero(ctx.wn > 0))
        R_up = _zaslavsky_bound(H_eff, ctx.M)
        if strict:
            lp_budget = None
            if R_up > R_max and (H_eff + 1) * R_max > _STRICT_LP_BUDGET:
                raise BudgetExceededError(
                    f"exhaustive search up to period {K}: the map may have up to {R_up} regions "
                    f"and certifying that it has at most {R_max} (the budget max_exhaustive = "
                    f"{max_exhaustive} allows sum_k R^k only for R <= {R_max}) needs too many "
                    "LPs; lower max_period, or use exhaustive=False (SCYFI)"
                )
        else:
            lp_budget = None if R_up <= R_max else _AUTO_LP_BUDGET
        regions, info = _enumerate_regions(ctx, R_max, lp_budget, seed)
        if regions is None:
            if strict:
                lb = info["lower_bound"]
                raise BudgetExceededError(
                    f"exhaustive search up to period {K} needs sum_k R^k >= {_budget(lb, K)} "
                    f"region sequences (the map has at least R = {lb} regions), more than "
                    f"max_exhaustive = {max_exhaustive}; lower max_period, raise "
                    "max_exhaustive, or use exhaustive=False (SCYFI, no completeness "
                    "certificate)"
                )
            notes.append(
                "exhaustive enumeration not feasible within max_exhaustive "
                f"({'too many regions' if info['reason'] == 'regions' else 'LP budget'}); "
                "used SCYFI"
            )

    # Candidates of expanding sequences can overflow; they are rejected as non-finite, so the
    # floating-point warnings are noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        method, complete = _run_search(
            ctx, regions, K, store, stats, progress, notes, seed, outer, inner, max_restarts
        )

    orbits = sorted(store.all(), key=lambda o: (o.period, tuple(o.points[0].tolist())))
    if stats["n_singular"] and (method == "exhaustive" or not orbits):
        warnings.warn(
            OrbitWarning(
                f"{stats['n_singular']} of {stats['n_candidates']} cycle equations were "
                "singular (I - J_{d_k}...J_{d_1} has an eigenvalue ~0: an eigenvalue 1 or a "
                "continuum of cycles) and were skipped"
            ),
            stacklevel=2,
        )
    on_b = [o for o in orbits if o.on_boundary]
    if on_b:
        msg = (
            f"{len(on_b)} orbit(s) (periods {sorted({o.period for o in on_b})}) lie on a region "
            "boundary; they are reported with tie-rule patterns (d_i = 1 iff pre-activation > "
            "0) and boundary_margin ~ 0, and their classification uses one-sided Jacobians"
        )
        notes.append(msg)
        warnings.warn(OrbitWarning(msg), stacklevel=2)
    return OrbitSearchResult(
        orbits=orbits,
        max_period=K,
        complete=bool(complete),
        seed=seed,
        method=method,
        n_candidates=stats["n_candidates"],
        n_singular=stats["n_singular"],
        n_accepted=store.n_accepted,
        n_duplicates=store.n_duplicates,
        n_lower_period=store.n_lower,
        n_restarts=stats["n_restarts"],
        n_regions=None if regions is None else int(regions.shape[0]),
        per_period=stats["per_period"],
        notes=notes,
        elapsed=time.perf_counter() - t_start,
    )


def _as_pattern_seq(model: PLMap, patterns) -> np.ndarray:
    if isinstance(patterns, str):
        patterns = [patterns]
    try:
        seq = [pattern_from_str(p) if isinstance(p, str) else np.asarray(p) for p in patterns]
        arr = np.array(seq)
    except (TypeError, ValueError) as exc:
        raise OrbitError(
            f"patterns must be a sequence of k activation patterns of length H = {model.H} "
            f"(0/1 strings or arrays): {exc}"
        ) from None
    if arr.ndim == 1 and arr.shape[0] == model.H and arr.shape[0] > 0:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != model.H:
        raise OrbitError(
            f"patterns must have shape (k, H) = (k, {model.H}) with k >= 1, got {arr.shape}"
        )
    if arr.dtype != bool and not np.all(np.isin(arr, (0, 1))):
        raise OrbitError("patterns must contain only 0/1 (or booleans)")
    return arr.astype(bool)


def orbit_from_patterns(
    model: PLMap,
    patterns,
    *,
    tol: float | None = None,
    hyperbolic_tol: float = 1e-6,
    canonical: bool = True,
) -> Orbit:
    r"""Solve the cycle equation of a region sequence and verify it.

    Parameters
    ----------
    model : PLMap
    patterns : sequence of k patterns
        ``(k, H)`` booleans/0-1 or a list of ``0``/``1`` strings; ``d_1..d_k``.
    tol, hyperbolic_tol : float
        As in :func:`find_orbits`.
    canonical : bool
        Return the orbit in its canonical cyclic shift (as :func:`find_orbits` does); if
        ``False``, ``points[0]`` is the point of ``patterns[0]``.

    Returns
    -------
    Orbit

    Raises
    ------
    OrbitError
        If :math:`I - J_{d_k} \cdots J_{d_1}` is singular; if the solution is not
        self-consistent (a point lies strictly on the other side of a hyperplane than its
        pattern says; the message names point and unit); if a point lies on hyperplane ``i``
        (within ``tol``) while its pattern has bit ``i = 1``, which the tie rule forbids (the same
        orbit is obtained with that bit cleared); or if the sequence is periodic with a smaller
        period (pass the shorter sequence). An orbit through a boundary that respects the tie
        rule is returned with ``on_boundary=True`` and an :class:`OrbitWarning`.
    """
    model = _check_model(model)
    seq = _as_pattern_seq(model, patterns)
    hyperbolic_tol = _as_nonneg_float("hyperbolic_tol", hyperbolic_tol)
    ctx = _Ctx(model, tol)
    k = seq.shape[0]
    z = model.solve_cycle(seq)  # OrbitError if singular
    pts = model.orbit_points(z, seq)
    if not np.all(np.isfinite(pts)):
        raise OrbitError("the cycle equation's solution overflows; the system is near singular")
    pre, tp = ctx.pre_tol(pts)
    wrong = np.where(seq, pre < -tp, pre > tp)
    if wrong.any():
        j, i = map(int, np.argwhere(wrong)[0])
        raise OrbitError(
            f"the period-{k} sequence is not self-consistent: its cycle point {j} has "
            f"pre-activation {pre[j, i]:.6g} for unit {i}, so it lies in the region with bit "
            f"{i} = {int(pre[j, i] > 0)}, not {int(seq[j, i])} as the pattern says; this region "
            "sequence has no orbit"
        )
    tie = seq & (np.abs(pre) <= tp)
    if tie.any():
        j, i = map(int, np.argwhere(tie)[0])
        raise OrbitError(
            f"cycle point {j} lies on the hyperplane of unit {i} (pre-activation "
            f"{pre[j, i]:.3g}, within tol) but its pattern has bit {i} = 1; by the tie rule "
            "(d_i = 1 iff pre-activation > 0) it belongs to the region with bit "
            f"{i} = 0: pass that pattern instead (the cycle equation gives the same point)"
        )
    j = _reduce_period(ctx, pts)
    if j < k:
        raise OrbitError(
            f"the pattern sequence has period {k} but its orbit repeats after {j} points; pass "
            f"the first {j} patterns to get that period-{j} orbit"
        )
    orb = _build_orbit(ctx, pts, hyperbolic_tol, rotate=canonical)
    if orb.on_boundary:
        warnings.warn(
            OrbitWarning(
                f"the period-{k} orbit lies on a region boundary (boundary_margin "
                f"{orb.boundary_margin:.2e}); its classification uses the tie-rule side's "
                "Jacobians and may not describe its stability"
            ),
            stacklevel=2,
        )
    return orb
