r"""Polytopes in local coordinates: H-representation, LPs, vertices, cells of arrangements.

A manifold piece lives in an :math:`n`-dimensional affine subspace of :math:`\mathbb{R}^M`; its
local coordinates :math:`s` range over a polytope

.. math::

    P = \{ s \in \mathbb{R}^n : G s \le g \}, \qquad \|G_i\| = 1 .

This module is the :math:`n`-dimensional machinery and knows nothing about the map.

Conventions
-----------
* **Unit rows.** Every :class:`Polytope` stores its rows normalised to unit Euclidean norm, so
  :math:`g_i - G_i s` is the distance of :math:`s` to the :math:`i`-th hyperplane and all
  tolerances are distances.
* **Relative tolerances.** A tolerance argument ``tol`` is relative: the absolute tolerance is
  ``tol * P.scale`` with ``P.scale = max(1, max_i |g_i|)``.
* **Empty / flat.** "Empty" means *no interior*: the Chebyshev radius (radius of the largest
  ball inside :math:`P`) is ``<= tol * scale``. :meth:`Polytope.is_feasible` asks the weaker
  question "is there any point at all" (flat polytopes are feasible but empty).
* **Fast paths.** :math:`n = 1` (intervals) and bounded :math:`n = 2` (polygons, vertex lists
  obtained by clipping, in plain Python floats) use no linear programs at all. Bounded
  :math:`3 \le n \le 5` use Qhull (``scipy.spatial``) vertex enumeration once and then
  split vertex lists combinatorially; everything else uses ``scipy.optimize.linprog`` with
  ``method="highs"``. An LP costs about 1-3 ms through scipy (mostly input checking), so the
  code avoids them whenever a cheap geometric test decides.
* **Errors.** Bad input raises :class:`~plrnn_manifolds.errors.ManifoldError` (a
  ``ValueError``); budgets raise :class:`~plrnn_manifolds.errors.BudgetExceededError`.
* **Caches.** Polytopes are immutable (read-only arrays); derived data (Chebyshev ball,
  vertices, boundedness, "already redundancy-free") is cached on the instance.
* **Threads.** The direct HiGHS solver, its warm-start bases and its options are per thread
  (a HiGHS instance shared between threads crashes), so the module can be used from a thread
  pool; separate processes need nothing special.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog, nnls
from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

from .errors import BudgetExceededError, ManifoldError

__all__ = [
    "CellsInfo",
    "Polytope",
    "cells",
    "chebyshev_center",
    "lp_feasible",
]

DEFAULT_TOL = 1e-9
# Chebyshev LP: the centre is confined to the box |s_j| <= _BIG * scale and the radius capped
# at _BIG * scale (only matters for unbounded polytopes; see Polytope.chebyshev).
_BIG = 1e6
# A row of G (or of the hyperplane matrix A) with norm <= _ZERO_ROW * max(1, largest row norm)
# is treated as the zero row: its direction would be pure round-off.
_ZERO_ROW = 1e-13
# Two normalised rows are the same hyperplane if they differ by less than this (absolute, unit
# normals; offsets relative to scale).
_DUP = 1e-12
# Dimensions for which Qhull vertex enumeration is used instead of LPs (cost explodes above).
_QHULL_MAX_DIM = 5
# Tight HiGHS tolerances: the default 1e-7 is coarser than our default tol. We verify every LP
# answer against the constraints anyway.
_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


# ====================================================================== input validation
def _as_array(name: str, value, ndim: int, allow_inf: bool = False) -> np.ndarray:
    """Finite float64 array of the given rank, else :class:`ManifoldError` (may not copy)."""
    try:
        arr = value if type(value) is np.ndarray else np.array(value, dtype=np.float64)
        if arr.dtype != np.float64:
            arr = arr.astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise ManifoldError(
            f"{name} is not a rectangular numeric array ({exc}); pass a float array"
        ) from None
    if arr.ndim != ndim:
        kind = {0: "a scalar", 1: "a vector", 2: "a matrix"}[ndim]
        raise ManifoldError(f"{name} must be {kind}, got an array of shape {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad.any():
        what = "NaN" if allow_inf else "NaN or infinite"
        raise ManifoldError(
            f"{name} contains {int(bad.sum())} {what} value(s); polytope data must be finite"
        )
    return arr


def _check_halfspaces(G, g, nameG="G", nameg="g") -> tuple[np.ndarray, np.ndarray]:
    G = _as_array(nameG, G, 2)
    g = _as_array(nameg, g, 1)
    if G.shape[1] == 0:
        raise ManifoldError(f"{nameG} must have at least one column (dimension n >= 1)")
    if G.shape[0] != g.shape[0]:
        raise ManifoldError(
            f"{nameG} has {G.shape[0]} rows but {nameg} has {g.shape[0]} entries; "
            "they must match (one offset per half-space)"
        )
    return G, g


def _normalize_rows(G: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unit-normalise rows; drop zero rows. Returns (G, g, infeasible_flag)."""
    if G.shape[0] == 0:
        return G.copy(), g.copy(), False
    norms = np.abs(G[:, 0]) if G.shape[1] == 1 else np.sqrt(np.einsum("ij,ij->i", G, G))
    zero = norms <= _ZERO_ROW * max(1.0, float(norms.max()))
    infeasible = False
    if zero.any():
        gscale = max(1.0, float(np.abs(g).max()))
        # 0 <= g_i: always true (drop) unless g_i < 0 beyond round-off, then nothing fits.
        infeasible = bool((g[zero] < -_ZERO_ROW * gscale).any())
    keep = ~zero
    Gn = G[keep] / norms[keep, None]
    gn = g[keep] / norms[keep]
    return Gn, gn, infeasible


# ====================================================================== LP helpers
class _LPResult:
    """The parts of ``scipy.optimize.OptimizeResult`` the polytope layer uses."""

    __slots__ = ("status", "x", "fun", "message")

    def __init__(self, status, x=None, fun=None, message=""):
        self.status, self.x, self.fun, self.message = status, x, fun, message


def _load_highs():
    """A direct HiGHS binding (no scipy input checking, no presolve), or ``None``.

    ``scipy.optimize.linprog`` spends most of a small LP in Python-side checks and presolve;
    calling HiGHS directly is 2-4x faster. The optional ``highspy`` package is used if
    installed, else the copy bundled with scipy (a private module, so everything falls back
    to ``linprog`` if its interface differs).
    """
    for modname in ("highspy._core", "scipy.optimize._highspy._core"):
        try:
            core = __import__(modname, fromlist=["_Highs"])
            h = core._Highs()
            h.setOptionValue("output_flag", False)
            for key, val in (
                ("presolve", "off"),
                ("threads", 1),
                ("primal_feasibility_tolerance", 1e-10),
                ("dual_feasibility_tolerance", 1e-10),
            ):
                h.setOptionValue(key, val)
            ok = core.HighsModelStatus
            status = {
                ok.kOptimal: 0,
                ok.kInfeasible: 2,
                ok.kUnbounded: 3,
            }
            lp = core.HighsLp()
            lp.a_matrix_.format_ = core.MatrixFormat.kRowwise
            return h, core, status
        except Exception:  # noqa: BLE001 - any failure means: use linprog
            continue
    return None


class _Solver:
    """One thread's HiGHS instance and the state that goes with it.

    A HiGHS object holds the model being solved, its options and its basis, so it cannot be
    shared between threads; every thread gets its own (:func:`_solver`), and with it its own
    warm-start bases and simplex-strategy setting.
    """

    def __init__(self, h, core, status):
        self.h, self.core, self.status = h, core, status
        self.arrays = True  # whether passModel accepts plain arrays (checked on first use)
        self.strategy = 1  # simplex strategy currently set (1 dual, 4 primal)
        self.warm: dict = {}  # LP shape -> last optimal basis (warm starts of sibling LPs)


_TLS = threading.local()


def _solver() -> _Solver | None:
    """This thread's direct HiGHS solver, created on first use; ``None`` if unavailable."""
    s = getattr(_TLS, "solver", None)
    if s is None:
        loaded = _load_highs()
        s = _TLS.solver = _Solver(*loaded) if loaded else False
    return s or None


_PATTERNS: dict = {}


def _dense_pattern(r: int, n: int):
    """Row starts, column indices, row lower bounds and integrality of a dense ``r x n``
    matrix (cached)."""
    key = (r, n)
    out = _PATTERNS.get(key)
    if out is None:
        out = (
            np.arange(0, r * n, n, dtype=np.int32),
            np.tile(np.arange(n, dtype=np.int32), r),
            np.full(r, -1e30),
            np.zeros(n, dtype=np.int32),
        )
        if len(_PATTERNS) > 4096:
            _PATTERNS.clear()
        _PATTERNS[key] = out
    return out


def _highs_direct(c, A_ub, b_ub, lb, ub, warm=False, primal=True):
    """Solve ``min c.x, A_ub x <= b_ub, lb <= x <= ub`` with direct HiGHS; ``None`` if the
    binding is unavailable or the answer is not clear-cut (the caller falls back).

    ``warm=True`` starts from the last optimal basis of an LP of the same shape (a sequence
    of similar LPs, e.g. the preimage cells of one piece, then needs far fewer iterations).
    """
    sol = _solver()
    if sol is None:
        return None
    h, core, status = sol.h, sol.core, sol.status
    n = len(c)
    A = np.zeros((0, n)) if A_ub is None else np.ascontiguousarray(A_ub, dtype=np.float64)
    r = A.shape[0]
    inf = 1e30  # HiGHS treats >= 1e20 as infinite
    start, index, lower, integrality = _dense_pattern(r, n)
    cost = np.asarray(c, dtype=np.float64)
    col_lo = np.maximum(lb, -inf)
    col_hi = np.minimum(ub, inf)
    row_hi = np.zeros(0) if b_ub is None else np.asarray(b_ub, dtype=np.float64)
    if sol.arrays:
        # passModel(num_col, num_row, num_nz, format (2 = rowwise), sense (1 = min), offset,
        # cost, col_lower, col_upper, row_lower, row_upper, start, index, value, integrality):
        # no HighsLp object to fill attribute by attribute (which costs more than the solve).
        model = (
            n,
            r,
            r * n,
            2,
            1,
            0.0,
            cost,
            col_lo,
            col_hi,
            lower,
            row_hi,
            start,
            index,
            A.ravel(),
            integrality,
        )
    else:
        model = core.HighsLp()
        model.num_col_ = n
        model.num_row_ = r
        model.col_cost_ = cost
        model.col_lower_ = col_lo
        model.col_upper_ = col_hi
        model.row_lower_ = lower
        model.row_upper_ = row_hi
        mat = model.a_matrix_
        mat.format_ = core.MatrixFormat.kRowwise
        mat.num_col_ = n
        mat.num_row_ = r
        mat.start_ = np.append(start, r * n).astype(np.int32)
        mat.index_ = index
        mat.value_ = A.ravel()
        model = (model,)
    key = (r, n)
    # The origin is feasible when b >= 0 and the bounds contain 0 (true of every support LP of
    # a set around its centre): primal simplex then starts from a feasible slack basis and
    # skips the dual phase 1 that free variables force on dual simplex (2-3x faster on the
    # invariant-seed LPs).
    origin_ok = np.all(row_hi >= 0) and np.all(col_lo <= 0) and np.all(col_hi >= 0)
    strategy = 4 if (primal and origin_ok) else 1
    if sol.strategy != strategy:
        h.setOptionValue("simplex_strategy", strategy)
        sol.strategy = strategy
    try:
        if sol.arrays:
            try:
                ok = h.passModel(*model) != core.HighsStatus.kError
            except TypeError:
                ok = False
            if not ok:  # this binding lacks the array overload: use HighsLp from now on
                sol.arrays = False
                return _highs_direct(c, A_ub, b_ub, lb, ub, warm=warm, primal=primal)
        else:
            h.passModel(*model)
        if warm and key in sol.warm:
            h.setBasis(sol.warm[key])
        h.run()
        st = status.get(h.getModelStatus())
        if warm:
            if st == 0:
                if len(sol.warm) > 256:
                    sol.warm.clear()
                sol.warm[key] = h.getBasis()
            else:
                sol.warm.pop(key, None)
        if strategy == 4 and st != 0:
            # Primal simplex has been seen to report "unbounded" for a bounded LP (a Chebyshev
            # LP of the ECG ALRNN); anything but optimal is re-solved by dual simplex.
            return _highs_direct(c, A_ub, b_ub, lb, ub, warm=warm, primal=False)
        if st is None:
            return None
        if st != 0:
            return _LPResult(st, message=h.modelStatusToString(h.getModelStatus()))
        x = np.array(h.getSolution().col_value, dtype=np.float64)
    except Exception:  # noqa: BLE001
        return None
    if x.shape != (n,) or not np.all(np.isfinite(x)):
        return None
    return _LPResult(0, x, float(np.dot(c, x)))


def _linprog(c, A_ub, b_ub, bounds, warm=False):
    """Small dense LP ``min c.x`` s.t. ``A_ub x <= b_ub``, ``bounds``.

    Direct HiGHS (dual simplex, no presolve, tight tolerances) when available, else
    ``linprog(method="highs")``, with one retry on numerical trouble.
    """
    lb = np.array([-np.inf if b[0] is None else b[0] for b in bounds], dtype=np.float64)
    ub = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=np.float64)
    res = _highs_direct(c, A_ub, b_ub, lb, ub, warm=warm)
    if res is not None:
        return res
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs", options=_LP_OPTIONS)
    if res.status == 4:  # numerical difficulties: retry with the default tolerances
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status not in (0, 2, 3):
        raise ManifoldError(
            f"linear program failed in the polytope layer (HiGHS status {res.status}: "
            f"{res.message}); the constraints are probably badly scaled"
        )
    return res


def _lp_max(G, g, direction, scale, cap=None):
    """``max direction . s`` subject to ``G s <= g`` (optionally ``direction . s <= cap``).

    Solved in units of ``scale``. Returns ``(value, x)``; ``(+inf, None)`` if unbounded,
    ``(-inf, None)`` if infeasible.
    """
    A = G
    b = g / scale
    if cap is not None:
        A = np.vstack([G, direction[None, :]])
        b = np.append(b, cap / scale)
    n = G.shape[1]
    res = _linprog(
        -direction, A if A.shape[0] else None, b if A.shape[0] else None, [(None, None)] * n
    )
    if res.status == 2:
        return -math.inf, None
    if res.status == 3:
        return math.inf, None
    x = res.x * scale
    return float(direction @ x), x


def _chebyshev_lp(
    G: np.ndarray, g: np.ndarray, scale: float, cap: float | None = None, warm: bool = False
) -> tuple[np.ndarray, float]:
    """Signed Chebyshev ball of ``{G s <= g}`` (unit rows) by one LP; see Polytope.chebyshev.

    ``cap`` (relative to ``scale``) bounds the radius: the LP then stops at any ball of that
    radius, which is cheaper when only an interior point is needed.
    """
    r, n = G.shape
    big = _BIG
    if r == 0:
        return np.zeros(n), big * scale
    A = np.hstack([G, np.ones((r, 1))])
    c = np.zeros(n + 1)
    c[-1] = -1.0
    bounds = [(-big, big)] * n + [(None, big if cap is None else min(big, cap))]
    res = _linprog(c, A, g / scale, bounds, warm=warm)
    if res.status != 0:  # cannot happen (always feasible and bounded) unless HiGHS misbehaves
        raise ManifoldError(f"Chebyshev LP failed (HiGHS: {res.message})")
    centre = res.x[:n] * scale
    # Certified radius at the returned centre (do not trust the LP objective to 1e-10).
    radius = min(float(np.min(g - G @ centre)), big * scale)
    return centre, radius


# ====================================================================== small geometry helpers
def _dedupe_rows(G: np.ndarray, g: np.ndarray, scale: float) -> np.ndarray:
    """Boolean mask keeping one row of each group of parallel rows with equal normal.

    Of rows with the same unit normal the tightest (smallest ``g``) is kept: the others are
    redundant. Cost O(r^2 n).
    """
    r = G.shape[0]
    keep = np.ones(r, dtype=bool)
    if r < 2:
        return keep
    # Gram prefilter (resolves directions only to ~1e-8), then an exact componentwise check:
    # nearly parallel rows are NOT duplicates (both can be facets).
    same = (G @ G.T) >= 1.0 - 1e-9
    np.fill_diagonal(same, False)
    if not same.any():
        return keep
    ii, jj = np.nonzero(same)
    exact = np.max(np.abs(G[ii] - G[jj]), axis=1) <= _DUP
    same[:] = False
    same[ii[exact], jj[exact]] = True
    if not same.any():
        return keep
    for i in range(r):
        if not keep[i]:
            continue
        grp = np.flatnonzero(same[i] & keep)
        if grp.size == 0:
            continue
        grp = np.append(grp, i)
        best = grp[np.argmin(g[grp] + 1e-300 * grp)]  # ties: smallest g, first index wins
        keep[grp] = False
        keep[best] = True
    return keep


# Polygons are handled in plain Python floats: they have a handful of vertices, and NumPy's
# per-call overhead (microseconds) would dominate the arithmetic by an order of magnitude.
def _polygon_split(V, L, d, lab, eps):
    """Split a convex polygon (CCW vertex list ``V`` of (x, y) tuples, outgoing edge labels
    ``L``) by a line with signed vertex values ``d`` (already snapped: exact 0 = on the line).

    Returns ``((Vneg, Lneg), (Vpos, Lpos))`` as lists; edges along the line get label ``lab``.
    A vertex keeps the label of the edge leaving it within its own part; vertices whose
    outgoing edge is not longer than ``eps`` are merged into the next one.
    """
    m = len(V)
    nV, nL, pV, pL = [], [], [], []
    for i in range(m):
        j = i + 1 if i + 1 < m else 0
        di, dj = d[i], d[j]
        vi = V[i]
        if (di < 0 < dj) or (dj < 0 < di):
            lam = di / (di - dj)
            vj = V[j]
            p = (vi[0] + lam * (vj[0] - vi[0]), vi[1] + lam * (vj[1] - vi[1]))
        # negative side
        if di < 0:
            nV.append(vi)
            nL.append(L[i])
            if dj > 0:
                nV.append(p)
                nL.append(lab)
        elif di == 0:
            nV.append(vi)
            nL.append(L[i] if dj <= 0 else lab)
        elif dj < 0:
            nV.append(p)
            nL.append(L[i])
        # positive side
        if di > 0:
            pV.append(vi)
            pL.append(L[i])
            if dj < 0:
                pV.append(p)
                pL.append(lab)
        elif di == 0:
            pV.append(vi)
            pL.append(L[i] if dj >= 0 else lab)
        elif dj > 0:
            pV.append(p)
            pL.append(L[i])
    return _polygon_clean(nV, nL, eps), _polygon_clean(pV, pL, eps)


def _polygon_clean(V, L, eps):
    """Drop vertices whose outgoing edge has max-norm length <= eps (merging duplicates)."""
    m = len(V)
    if m < 2:
        return V, L
    keep = []
    for i in range(m):
        a, b = V[i], V[i + 1 if i + 1 < m else 0]
        keep.append(abs(a[0] - b[0]) > eps or abs(a[1] - b[1]) > eps)
    if all(keep):
        return V, L
    if not any(keep):
        return V[:1], L[:1]
    return [v for v, k in zip(V, keep, strict=True) if k], [
        x for x, k in zip(L, keep, strict=True) if k
    ]


def _polygon_cut(V, L, rows, offs, labels, eps):
    """Clip a polygon (lists) by half-planes ``rows[i] . s <= offs[i]`` (lists of floats)."""
    for (a0, a1), gi, lab in zip(rows, offs, labels, strict=True):
        d = [a0 * x + a1 * y - gi for x, y in V]
        d = [0.0 if -eps <= t <= eps else t for t in d]
        if max(d) <= 0:
            continue
        if min(d) >= 0 and 0.0 not in d:
            return [], []
        (V, L), _ = _polygon_split(V, L, d, lab, eps)
        if not V:
            return [], []
    return V, L


def _polygon_clip(G, g, scale, box):
    """Vertices (CCW) and edge labels of ``{G s <= g} ∩ [-box, box]^2`` by clipping.

    Labels are row indices of ``G``; ``-1`` marks a surviving box edge. Robust to redundant
    and parallel rows: a row that does not cut the current polygon changes nothing.
    """
    V = [(-box, -box), (box, -box), (box, box), (-box, box)]
    L = [-1, -1, -1, -1]
    snap = 1e-13 * max(box, scale)
    V, L = _polygon_cut(V, L, G.tolist(), g.tolist(), range(G.shape[0]), snap)
    return _as_polygon(V, L)


def _as_polygon(V, L):
    if not V:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    return np.array(V, dtype=float).reshape(-1, 2), np.array(L, dtype=np.int64)


def _shoelace(V) -> float:
    if len(V) < 3:
        return 0.0
    x, y = V[:, 0], V[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _dedupe_points(V: np.ndarray, eps: float) -> np.ndarray:
    """Remove points within ``eps`` (max-norm) of an earlier kept point (O(v^2) memory)."""
    v = len(V)
    if v < 2:
        return V
    close = np.max(np.abs(V[:, None, :] - V[None, :, :]), axis=2) <= eps
    close = np.tril(close, -1)
    if not close.any():
        return V
    keep = np.ones(v, dtype=bool)
    for i in np.flatnonzero(close.any(axis=1)):
        if (close[i] & keep).any():
            keep[i] = False
    return V[keep]


def _qhull_vertices(G, g, interior, scale) -> np.ndarray:
    """Vertices of a bounded ``{G s <= g}`` with a strictly interior point (Qhull)."""
    hs = np.hstack([G, -g[:, None]])
    # Shift to the interior point: Qhull works on the dual, which is best conditioned there.
    hs_shift = hs.copy()
    hs_shift[:, -1] = G @ interior - g
    hsi = HalfspaceIntersection(hs_shift, np.zeros(G.shape[1]))
    V = hsi.intersections + interior
    if not np.all(np.isfinite(V)):
        raise QhullError("non-finite vertices (unbounded polytope?)")
    return _dedupe_points(V, 1e-11 * scale)


def _facets_from_vertices(G, g, V, act_tol, scale) -> np.ndarray:
    """Rows that are facets: their active vertices span an (n-1)-dimensional face.

    A row is active at a vertex if ``|G_i v - g_i| <= act_tol``; it is a facet if its active
    vertices have affine rank ``n - 1`` (singular value above round-off, ``1e-12 * scale``).
    Of identical rows only the first is kept.
    """
    r, n = G.shape
    keep = np.zeros(r, dtype=bool)
    if r == 0 or len(V) == 0:
        return keep
    active = np.abs(V @ G.T - g) <= act_tol  # (v, r)
    cnt = active.sum(axis=0)
    for i in np.flatnonzero(cnt >= n):
        P = V[active[:, i]]
        if n == 1:
            keep[i] = True
            continue
        sv = np.linalg.svd(P[1:] - P[0], compute_uv=False)
        keep[i] = len(sv) >= n - 1 and sv[n - 2] > 1e-12 * scale
    if keep.sum() > 1:
        idx = np.flatnonzero(keep)
        keep[idx[~_dedupe_rows(G[idx], g[idx], scale)]] = False
    return keep


def _shoot(G, slack, D, tol_abs):
    """First row hit by rays ``centre + t D_m`` and whether the exit point is certified."""
    rate = G @ D.T  # (r, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rate > 1e-300, slack[:, None] / rate, np.inf)
    cols = np.arange(D.shape[0])
    j = np.argmin(t, axis=0)
    tstar = t[j, cols]
    margin = slack[:, None] - tstar[None, :] * rate
    margin[j, cols] = np.inf
    ok = np.isfinite(tstar) & (margin.min(axis=0) > tol_abs)
    return j, ok


def _ray_certify(G, g, centre, tol_abs, rng, n_random, rounds=6) -> np.ndarray:
    """Facet certificates by ray shooting from an interior point (vectorised, no LP).

    A ray from the strictly interior ``centre`` first leaves the polytope through row ``j``;
    if every other row is still slack by more than ``tol_abs`` at the exit point, that point
    lies in the relative interior of facet ``j``, so row ``j`` is non-redundant.

    Rays: the row normals, ``n_random`` random directions, then a few rounds of steering: a
    ray aimed at row ``i`` but blocked by row ``j`` is turned away from ``j``
    (``d <- d - 1.05 (d . G_j) G_j``) and shot again.
    """
    r, n = G.shape
    slack = g - G @ centre
    D = np.vstack([G, rng.standard_normal((n_random, n))]) if n_random else G
    j, ok = _shoot(G, slack, D, tol_abs)
    cert = np.zeros(r, dtype=bool)
    cert[j[ok]] = True
    target = np.flatnonzero(~cert)
    D = G[target].copy()
    for _ in range(rounds):
        if target.size == 0:
            break
        j, ok = _shoot(G, slack, D, tol_abs)
        cert[j[ok]] = True
        todo = ~cert[target]
        target, D, j = target[todo], D[todo], j[todo]
        if target.size == 0:
            break
        blocked = j != target
        Gj = G[j]
        D = np.where(
            blocked[:, None],
            D - 1.05 * np.einsum("ij,ij->i", D, Gj)[:, None] * Gj,
            D + 0.1 * rng.standard_normal(D.shape),  # own row but degenerate exit: jiggle
        )
        alive = np.einsum("ij,ij->i", D, G[target]) > 0
        target, D = target[alive], D[alive]
    return cert


def _nonredundant_lp(G, g, scale, tol_abs, centre=None) -> tuple[np.ndarray, int]:
    """Mask of non-redundant rows by one LP per undecided row (sequential removal).

    Row ``i`` is redundant iff ``max {G_i s : G_k s <= g_k, k kept, k != i} <= g_i + tol_abs``.
    Testing against the rows *still kept* makes exact duplicates keep one copy. Facets
    certified by ray shooting from ``centre`` (if given and interior) skip their LP.
    Returns the mask and the number of LPs solved.
    """
    r = G.shape[0]
    keep = _dedupe_rows(G, g, scale)
    cert = np.zeros(r, dtype=bool)
    if centre is not None and r:
        rng = np.random.default_rng(12345)
        cert = _ray_certify(G, g, centre, tol_abs, rng, n_random=4 * r + 8 * G.shape[1]) & keep
    n_lp = 0
    for i in range(r):
        if not keep[i] or cert[i]:
            continue
        others = keep.copy()
        others[i] = False
        val, _ = _lp_max(G[others], g[others], G[i], scale, cap=g[i] + scale)
        n_lp += 1
        if val <= g[i] + tol_abs:
            keep[i] = False
    return keep, n_lp


# ====================================================================== the polytope
@dataclass(frozen=True, eq=False)
class Polytope:
    r"""Convex polyhedron :math:`\{ s \in \mathbb{R}^n : G s \le g \}` with unit-norm rows.

    Parameters
    ----------
    G : (r, n) array_like
        Constraint normals. Rows are normalised to unit norm on construction (zero rows are
        dropped; a zero row with negative offset makes the polytope the canonical empty one).
    g : (r,) array_like
        Offsets.

    Notes
    -----
    The unit-norm invariant holds for every instance, however built, so ``g_i - G_i s`` is a
    distance. The canonical empty polytope is ``{s_0 <= -1, -s_0 <= -1}``. ``r = 0`` is the
    whole space. Instances are immutable (read-only arrays) and cache derived data.

    Raises
    ------
    ManifoldError
        On wrong shapes, mismatched lengths, NaN or infinite entries.
    """

    G: np.ndarray
    g: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        G, g = _check_halfspaces(self.G, self.g)
        Gn, gn, infeasible = _normalize_rows(G, g)
        if infeasible:
            Gn, gn = _empty_rows(G.shape[1])
            self._cache["feasible"] = False
        Gn.setflags(write=False)
        gn.setflags(write=False)
        object.__setattr__(self, "G", Gn)
        object.__setattr__(self, "g", gn)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def _raw(cls, G: np.ndarray, g: np.ndarray, **cache) -> Polytope:
        """Internal: build from rows already unit-normalised and validated (no copy, no checks)."""
        obj = object.__new__(cls)
        G = np.ascontiguousarray(G, dtype=np.float64)
        g = np.ascontiguousarray(g, dtype=np.float64)
        G.setflags(write=False)
        g.setflags(write=False)
        object.__setattr__(obj, "G", G)
        object.__setattr__(obj, "g", g)
        object.__setattr__(obj, "_cache", dict(cache))
        return obj

    @classmethod
    def from_halfspaces(cls, G, g, *, normalize: bool = True) -> Polytope:
        r"""Polytope :math:`\{s : G s \le g\}`.

        Parameters
        ----------
        G : (r, n) array_like
        g : (r,) array_like
        normalize : bool
            If True (default) rows are scaled to unit norm and zero rows handled (``0 <= g_i``
            dropped; ``g_i < 0`` gives the empty polytope). If False the rows must already be
            unit-norm (checked to 1e-9; raises otherwise) and are used as given.

        Raises
        ------
        ManifoldError
            Bad shapes, non-finite entries, or (``normalize=False``) rows not of unit norm.
        """
        if normalize:
            return cls(G, g)
        G, g = _check_halfspaces(G, g)
        if G.shape[0] and np.max(np.abs(np.linalg.norm(G, axis=1) - 1.0)) > 1e-9:
            raise ManifoldError(
                "from_halfspaces(normalize=False) needs unit-norm rows of G; "
                "pass normalize=True to have them normalised"
            )
        return cls._raw(G.copy(), g.copy())

    @classmethod
    def box(cls, lo, hi) -> Polytope:
        r"""Axis-aligned box :math:`\{ s : lo \le s \le hi \}` (infinite bounds allowed).

        Raises
        ------
        ManifoldError
            If shapes differ, an entry is NaN, or ``lo > hi`` somewhere.
        """
        try:
            lo = np.atleast_1d(np.asarray(lo, dtype=float))
            hi = np.atleast_1d(np.asarray(hi, dtype=float))
        except (TypeError, ValueError) as exc:
            raise ManifoldError(f"box corners must be numeric vectors ({exc})") from None
        lo = _as_array("lo", lo, 1, allow_inf=True)
        hi = _as_array("hi", hi, 1, allow_inf=True)
        if lo.shape != hi.shape or lo.size == 0:
            raise ManifoldError(
                f"box corners must be non-empty and equal length, got {lo.shape} and {hi.shape}"
            )
        if np.any(lo > hi):
            raise ManifoldError("box lower corner exceeds the upper corner; swap lo and hi")
        if np.any(lo == np.inf) or np.any(hi == -np.inf):
            raise ManifoldError("box bounds lo = +inf or hi = -inf describe an empty box")
        n = lo.size
        I = np.eye(n)
        G = np.vstack([I, -I])
        g = np.concatenate([hi, -lo])
        fin = np.isfinite(g)
        return cls._raw(G[fin], g[fin])

    @classmethod
    def empty(cls, n: int) -> Polytope:
        """The canonical empty polytope in dimension ``n``."""
        G, g = _empty_rows(int(n))
        return cls._raw(G, g, feasible=False, reduced=True, bounded=True)

    # ------------------------------------------------------------------ basic properties
    @property
    def dim(self) -> int:
        """Dimension ``n`` of the coordinate space."""
        return int(self.G.shape[1])

    @property
    def n_constraints(self) -> int:
        """Number of rows ``r``."""
        return int(self.G.shape[0])

    @property
    def scale(self) -> float:
        r"""Length scale for relative tolerances: :math:`\max(1, \max_i |g_i|)`."""
        s = self._cache.get("scale")
        if s is None:
            s = max(1.0, float(np.max(np.abs(self.g)))) if self.g.size else 1.0
            self._cache["scale"] = s
        return s

    def __repr__(self) -> str:
        return f"Polytope(n={self.dim}, rows={self.n_constraints})"

    def __reduce__(self):
        # Pickle rows only (caches are recomputed); unpickled arrays stay read-only.
        return (
            _rebuild_polytope,
            (np.array(self.G), np.array(self.g), self._cache.get("feasible")),
        )

    # ------------------------------------------------------------------ 1-D and 2-D helpers
    def _interval(self) -> tuple[float, float]:
        """(lo, hi) for n = 1, with infinities; lo > hi when empty (cached)."""
        out = self._cache.get("interval")
        if out is None:
            hi, lo = math.inf, -math.inf
            for a, b in zip(self.G[:, 0].tolist(), self.g.tolist(), strict=True):
                if a > 0:
                    hi = min(hi, b)
                else:
                    lo = max(lo, -b)
            out = (lo, hi)
            self._cache["interval"] = out
        return out

    def _polygon(self) -> tuple[np.ndarray, np.ndarray]:
        """CCW vertices and edge labels (row indices) of a bounded 2-D polytope (cached)."""
        out = self._cache.get("polygon")
        if out is None:
            scale = self.scale
            box = 4.0 * scale
            for _ in range(12):
                V, L = _polygon_clip(self.G, self.g, scale, box)
                if len(V) == 0 or not (L < 0).any():
                    break
                box *= 64.0
            else:  # pragma: no cover - needs a bounded polygon wider than 1e22 * scale
                raise ManifoldError("polygon too large to clip; rescale the coordinates")
            out = (V, L)
            self._cache["polygon"] = out
        return out

    # ------------------------------------------------------------------ Chebyshev ball
    def chebyshev(self) -> tuple[np.ndarray, float]:
        r"""Chebyshev centre and (signed) radius: the largest ball inside the polytope.

        Solves :math:`\max r` s.t. :math:`G s + r \mathbf{1} \le g` (one LP; exact and LP-free
        for :math:`n = 1` and for bounded :math:`n = 2`).

        Returns
        -------
        centre : (n,) ndarray
        radius : float
            ``> tol * scale``: the polytope has interior. In ``[-tol, tol] * scale``: flat
            (lower-dimensional) or a single point. ``< 0``: empty, and ``-radius`` is the
            smallest uniform relaxation of all constraints that makes it feasible. The radius
            returned is re-evaluated at the returned centre, ``min_i (g_i - G_i c)``, so it is
            a certificate, not the solver's objective.

        Notes
        -----
        **Unbounded rule.** The centre is confined to the box :math:`|s_j| \le R` and the
        radius capped at :math:`R`, with :math:`R = 10^6 \cdot` ``scale``. For a polytope
        whose Chebyshev centre lies in that box (every bounded polytope of practical size) this
        is the true Chebyshev ball; for an unbounded one it is a ball of radius ``<= R`` with
        centre in the box.
        """
        out = self._cache.get("chebyshev")
        if out is None:
            out = self._chebyshev_compute()
            self._cache["chebyshev"] = out
        return out[0].copy(), out[1]

    def _chebyshev_compute(self):
        n, scale = self.dim, self.scale
        R = _BIG * scale
        if n == 1:
            lo, hi = self._interval()
            if math.isfinite(lo) and math.isfinite(hi):
                return np.array([0.5 * (lo + hi)]), 0.5 * (hi - lo)
            if math.isfinite(lo):
                c = min(lo + R, R)
            elif math.isfinite(hi):
                c = max(hi - R, -R)
            else:
                c = 0.0
            return np.array([c]), float(min(R, c - lo, hi - c))
        if n == 2 and self.n_constraints <= 160 and self._bounded_2d():
            V, L = self._polygon()
            if len(V) >= 3:
                out = _chebyshev_polygon(self.G, self.g, L)
                if out is not None:
                    return out
        return _chebyshev_lp(self.G, self.g, scale)

    def interior_point(self) -> np.ndarray:
        """A point in the interior: the vertex mean when vertices are cached (n <= 2 or after
        :func:`cells`), else the Chebyshev centre. Not meaningful for an empty polytope."""
        V = self._cache.get("vertices")
        if V is None and "polygon" in self._cache:
            V = self._cache["polygon"][0]
        if V is not None and len(V) > self.dim:
            return V.mean(axis=0)
        if "chebyshev" not in self._cache and "inner_ball" in self._cache:
            return self._cache["inner_ball"][0].copy()
        return self.chebyshev()[0]

    def probe(self, cap: float = 1e-3, tol: float = DEFAULT_TOL) -> bool:
        """Whether the polytope has interior (as :meth:`is_empty`, negated), by one LP whose
        radius is capped at ``cap * scale``: cheaper than the Chebyshev LP when only an
        interior point is needed. The ball found is cached (as the Chebyshev ball when the
        cap is not reached, else as an inscribed ball). Consecutive probes of polytopes with
        the same number of rows warm-start from each other's optimal basis.
        """
        if self._cache.get("feasible") is False:
            return False
        lb = self._inner_radius_bound()
        if lb is not None and lb > tol * self.scale:
            return True
        if "chebyshev" in self._cache:
            return self._cache["chebyshev"][1] > tol * self.scale
        if self.dim <= 2:
            return not self.is_empty(tol)
        c, rad = _chebyshev_lp(self.G, self.g, self.scale, cap=cap, warm=True)
        if rad < cap * self.scale * (1 - 1e-9):
            self._cache["chebyshev"] = (c, rad)
        elif rad > 0:
            self._cache["inner_ball"] = (c, rad)
        return rad > tol * self.scale

    def inner_ball(self) -> tuple[np.ndarray, float]:
        """A ball inside the polytope: the cached inscribed ball if one is known (no LP),
        else the Chebyshev ball."""
        if "chebyshev" not in self._cache and "inner_ball" in self._cache:
            c, r = self._cache["inner_ball"]
            return c.copy(), r
        return self.chebyshev()

    def _inner_radius_bound(self) -> float | None:
        """Lower bound on the Chebyshev radius from a cached inscribed ball or cached vertices
        (ball at the vertex mean); ``None`` when neither is cached."""
        if "chebyshev" in self._cache:
            return None
        best = None
        ball = self._cache.get("inner_ball")
        if ball is not None:
            best = ball[1]
        V = self._cache.get("vertices")
        if V is None and "polygon" in self._cache:
            V = self._cache["polygon"][0]
        if V is None or len(V) <= self.dim or self.n_constraints == 0:
            return best
        p = V.mean(axis=0)
        lb = float(np.min(self.g - self.G @ p))
        return lb if best is None else max(lb, best)

    def with_inner_ball(self, centre, radius) -> Polytope:
        """Record a ball known to lie inside the polytope (e.g. from an LP on a subset).

        The ball is re-certified against the rows (its radius is lowered to the smallest
        slack at the centre); a ball with radius ``<= 0`` is ignored. It lets
        :meth:`is_empty`, :meth:`is_feasible` and :meth:`interior_point` answer without an LP.
        Returns ``self`` (caches are mutable, the set is not).
        """
        c = np.asarray(centre, dtype=float)
        rad = float(radius)
        if self.n_constraints:
            rad = min(rad, float(np.min(self.g - self.G @ c)))
        if rad > 0 and c.shape == (self.dim,):
            old = self._cache.get("inner_ball")
            if old is None or old[1] < rad:
                self._cache["inner_ball"] = (c.copy(), rad)
        return self

    def is_empty(self, tol: float = DEFAULT_TOL) -> bool:
        """True if the polytope has no interior: Chebyshev radius ``<= tol * scale``.

        Decided without an LP when cached vertices show a ball of radius ``> tol * scale``.
        """
        if self._cache.get("feasible") is False:
            return True
        lb = self._inner_radius_bound()
        if lb is not None and lb > tol * self.scale:
            return False
        if (
            self.dim == 2
            and "chebyshev" not in self._cache
            and self.n_constraints <= 160
            and self._bounded_2d()
            and len(self._polygon()[0]) < 3
        ):
            return True  # the clipped polygon has no area: no LP for the (negative) radius
        return self.chebyshev()[1] <= tol * self.scale

    def is_feasible(self, tol: float = DEFAULT_TOL) -> bool:
        """True if some point satisfies all constraints within ``tol * scale`` (possibly flat)."""
        if self._cache.get("feasible") is False:
            return False
        lb = self._inner_radius_bound()
        if lb is not None and lb >= -tol * self.scale:
            return True
        return self.chebyshev()[1] >= -tol * self.scale

    # ------------------------------------------------------------------ membership
    def contains(self, s, tol: float = DEFAULT_TOL):
        """Membership test :math:`G s \\le g + tol \\cdot scale`.

        Parameters
        ----------
        s : (n,) or (..., n) array_like
        tol : float
            Relative tolerance.

        Returns
        -------
        bool or ndarray of bool with the leading shape of ``s``.
        """
        s = _as_array("s", s, max(1, np.ndim(s)))
        if s.shape[-1] != self.dim:
            raise ManifoldError(
                f"points must have last dimension n = {self.dim}, got shape {s.shape}"
            )
        if self.n_constraints == 0:
            res = np.ones(s.shape[:-1], dtype=bool)
        else:
            res = np.all(s @ self.G.T <= self.g + tol * self.scale, axis=-1)
        return bool(res) if s.ndim == 1 else res

    # ------------------------------------------------------------------ set operations
    def intersect(self, G2, g2) -> Polytope:
        r"""Intersection with :math:`\{s : G_2 s \le g_2\}` (rows appended, then normalised).

        ``G2`` may be a single row ``(n,)`` with scalar ``g2``. Not redundancy-reduced.
        """
        G2a = np.asarray(G2, dtype=float) if not isinstance(G2, Polytope) else G2.G
        g2a = g2 if not isinstance(G2, Polytope) else G2.g
        if G2a.ndim == 1:
            G2a = G2a[None, :]
            g2a = np.atleast_1d(np.asarray(g2a, dtype=float))
        G2c, g2c = _check_halfspaces(G2a, g2a, "G2", "g2")
        if G2c.shape[1] != self.dim:
            raise ManifoldError(f"G2 must have n = {self.dim} columns, got {G2c.shape[1]}")
        Gn, gn, infeasible = _normalize_rows(G2c, g2c)
        if infeasible or self._cache.get("feasible") is False:
            return Polytope.empty(self.dim)
        G3, g3 = np.vstack([self.G, Gn]), np.concatenate([self.g, gn])
        return Polytope._raw(G3, g3, **self._intersect_cache(Gn, gn))

    def _intersect_cache(self, Gn, gn) -> dict:
        """Caches still valid after adding rows ``Gn s <= gn``.

        If every cached vertex satisfies the new rows the set is unchanged: vertices,
        boundedness and the Chebyshev ball carry over (not "reduced": the new rows are
        redundant). A cached polygon is clipped by the new rows (cheap, exact).
        """
        cache: dict = {}
        if Gn.shape[0] == 0:
            return {k: v for k, v in self._cache.items() if k != "scale"}
        eps = 1e-12 * max(self.scale, float(np.max(np.abs(gn))))
        V = self._cache.get("vertices")
        if "polygon" in self._cache:
            Vp, L = self._cache["polygon"]
            if len(Vp) and np.all(Vp @ Gn.T <= gn + eps):
                cache["polygon"] = (Vp, L)
            elif len(Vp) and not (L < 0).any():
                r0 = self.n_constraints
                V2, L2 = _polygon_cut(
                    list(map(tuple, Vp.tolist())),
                    L.tolist(),
                    Gn.tolist(),
                    gn.tolist(),
                    range(r0, r0 + Gn.shape[0]),
                    eps,
                )
                if len(V2) >= 3:
                    cache["polygon"] = _as_polygon(V2, L2)
                    cache["bounded"] = True
            return cache
        ball = self._cache.get("inner_ball")
        if ball is not None:
            rad = min(ball[1], float(np.min(gn - Gn @ ball[0])))
            if rad > 0:
                cache["inner_ball"] = (ball[0], rad)
        if V is not None and len(V) and np.all(V @ Gn.T <= gn + eps):
            cache["vertices"] = V
            for key in ("bounded", "feasible"):
                if key in self._cache:
                    cache[key] = self._cache[key]
            ch = self._cache.get("chebyshev")
            if ch is not None and np.all(gn - Gn @ ch[0] >= ch[1]):
                cache["chebyshev"] = ch
        elif self._cache.get("bounded") is True:
            cache["bounded"] = True  # a subset of a bounded set
        return cache

    def remove_redundant(self, tol: float = DEFAULT_TOL) -> Polytope:
        r"""The same set with redundant rows removed.

        Row :math:`i` is redundant if :math:`\max\{G_i s : G_k s \le g_k,\ k \ne i\} \le g_i +
        tol \cdot scale`. Kept rows are copied unchanged (same values as in ``self``).

        Method: :math:`n = 1` keeps the tightest lower and upper bound; bounded :math:`n = 2`
        keeps the rows carrying an edge of positive length of the clipped polygon;
        bounded :math:`3 \le n \le 5` keeps rows whose active vertices (Qhull) span a facet;
        otherwise one LP per row not already certified as a facet by ray shooting from the
        Chebyshev centre. Cost: no LP for :math:`n \le 2`, one (Chebyshev) for small
        :math:`n`, up to ``r + 1`` LPs in general.

        An infeasible polytope becomes the canonical empty polytope. Flat (feasible, no
        interior) polytopes use the LP path.
        """
        if self._cache.get("reduced"):
            return self
        if not self.is_feasible(tol):
            return Polytope.empty(self.dim)
        keep = self._nonredundant_mask(tol)
        cache = {"reduced": True}
        for key in ("chebyshev", "bounded", "vertices", "inner_ball"):
            if key in self._cache:
                cache[key] = self._cache[key]
        if "polygon" in self._cache:
            V, L = self._cache["polygon"]
            idx = np.full(self.n_constraints, -1, dtype=np.int64)
            idx[keep] = np.arange(int(keep.sum()))
            cache["polygon"] = (V, idx[L])
        return Polytope._raw(self.G[keep], self.g[keep], **cache)

    def _nonredundant_mask(self, tol) -> np.ndarray:
        n, r, scale = self.dim, self.n_constraints, self.scale
        tol_abs = tol * scale
        if r == 0:
            return np.zeros(0, dtype=bool)
        if n == 1:
            keep = np.zeros(r, dtype=bool)
            G, g = self.G[:, 0], self.g
            up = np.flatnonzero(G > 0)
            dn = np.flatnonzero(G < 0)
            if up.size:
                keep[up[np.argmin(g[up])]] = True
            if dn.size:
                keep[dn[np.argmin(g[dn])]] = True
            return keep
        if n == 2 and self._bounded_2d():
            V, L = self._polygon()
            if len(V) >= 3 and _shoelace(V) > 0:
                edge = np.linalg.norm(np.roll(V, -1, axis=0) - V, axis=1)
                keep = np.zeros(r, dtype=bool)
                labs = L[(edge > 1e-13 * scale) & (L >= 0)]
                keep[labs] = True
                return keep
        V = self._cache.get("vertices")
        if V is not None and len(V) > n and n >= 3:  # e.g. cells of cells(): no LP at all
            return _facets_from_vertices(self.G, self.g, V, max(tol_abs, 1e-10 * scale), scale)
        c, rad = self.chebyshev()
        if rad > tol_abs and 3 <= n <= _QHULL_MAX_DIM and self.is_bounded():
            try:
                V = self._vertices_qhull()
                return _facets_from_vertices(self.G, self.g, V, max(tol_abs, 1e-10 * scale), scale)
            except QhullError:
                pass
        return _nonredundant_lp(self.G, self.g, scale, tol_abs, c if rad > tol_abs else None)[0]

    # ------------------------------------------------------------------ boundedness
    def _bounded_2d(self) -> bool:
        """Normals positively span the plane: largest angular gap < pi (n = 2, no LP)."""
        b = self._cache.get("bounded")
        if b is None:
            if self.n_constraints < 3:
                b = False
            else:
                ang = np.sort(np.arctan2(self.G[:, 1], self.G[:, 0]))
                gaps = np.diff(np.append(ang, ang[0] + 2 * np.pi))
                b = bool(gaps.max() < np.pi - 1e-12)
            if self._cache.get("feasible") is False:
                b = True
            self._cache["bounded"] = b
        return b

    def is_bounded(self) -> bool:
        r"""True if the polytope is bounded (the empty polytope counts as bounded).

        For nonempty :math:`P` this holds iff the recession cone :math:`\{d : G d \le 0\}` is
        :math:`\{0\}`, i.e. iff the origin is strictly inside the convex hull of the normals:
        checked by the angular gap of the normals for :math:`n \le 2`, by Qhull on the normals
        for :math:`n \le 5`, else by ``rank G = n`` plus one LP
        :math:`\min \mathbf{1}^T G d` s.t. :math:`G d \le 0, |d|_\infty \le 1`
        (optimum 0 iff bounded).
        """
        b = self._cache.get("bounded")
        if b is not None:
            return b
        n = self.dim
        if self._cache.get("feasible") is False:
            b = True
        elif n == 1:
            lo, hi = self._interval()
            b = (math.isfinite(lo) and math.isfinite(hi)) or lo > hi
        elif n == 2:
            b = self._bounded_2d()
        elif self.n_constraints <= n or np.linalg.matrix_rank(self.G) < n:
            b = False
        elif n <= _QHULL_MAX_DIM and (hb := _bounded_by_normals(self.G)) is not None:
            b = hb
        else:
            G = self.G
            res = _linprog(G.sum(axis=0), G, np.zeros(G.shape[0]), [(-1.0, 1.0)] * n)
            b = bool(res.status == 0 and res.fun > -1e-9)
        if not b and not self.is_feasible():
            b = True
        self._cache["bounded"] = b
        return b

    # ------------------------------------------------------------------ vertices
    def _vertices_qhull(self) -> np.ndarray:
        V = self._cache.get("vertices")
        if V is None:
            c, rad = self.chebyshev()
            V = _qhull_vertices(self.G, self.g, c, self.scale)
            self._cache["vertices"] = V
        return V

    def vertices(self) -> np.ndarray:
        """Vertices of a bounded polytope.

        Returns
        -------
        (v, n) ndarray
            ``n = 1``: the two interval ends, sorted. ``n = 2``: polygon vertices in
            counter-clockwise order (clipping of a box, robust to redundant and parallel rows;
            a flat polygon gives its 1 or 2 extreme points). ``n >= 3``: Qhull
            ``HalfspaceIntersection`` from the Chebyshev centre, duplicates merged, no order.
            The empty polytope gives shape ``(0, n)``.

        Raises
        ------
        ManifoldError
            If the polytope is unbounded, or (``n >= 3``) feasible but without interior.
        """
        n = self.dim
        if not self.is_feasible():
            return np.zeros((0, n))
        if not self.is_bounded():
            raise ManifoldError(
                "vertices() of an unbounded polytope: intersect it with a box first"
            )
        if n == 1:
            lo, hi = self._interval()
            return np.array([[lo], [hi]])
        if n == 2:
            V, _ = self._polygon()
            if len(V) < 3 or _polygon_width(V) <= 1e-11 * self.scale:
                # flat: report its distinct extreme points
                V = _dedupe_points(V, 1e-11 * self.scale)
            return V.copy()
        c, rad = self.chebyshev()
        if rad <= 1e-11 * self.scale:
            raise ManifoldError(
                "vertices() for n >= 3 needs a polytope with interior; this one is flat "
                f"(Chebyshev radius {rad:.3g})"
            )
        try:
            return self._vertices_qhull().copy()
        except QhullError as exc:
            raise ManifoldError(f"Qhull failed to enumerate vertices ({exc})") from None

    # ------------------------------------------------------------------ transformations
    def affine_image(self, R, t=None) -> Polytope:
        r"""Image under :math:`s' = R s + t`: :math:`\{s' : G R^{-1} (s' - t) \le g\}`.

        Parameters
        ----------
        R : (n, n) array_like, invertible
        t : (n,) array_like, optional

        Raises
        ------
        ManifoldError
            If ``R`` has the wrong shape, is not finite, or is singular / ill-conditioned
            (condition number above ``1e12``).

        Notes
        -----
        A bijective affine map preserves redundancy and boundedness, and maps vertices to
        vertices, so those caches carry over (orientation of 2-D vertex lists is restored
        when ``det R < 0``).
        """
        n = self.dim
        R = _as_array("R", R, 2)
        if R.shape != (n, n):
            raise ManifoldError(f"R must have shape ({n}, {n}), got {R.shape}")
        t = np.zeros(n) if t is None else _as_array("t", np.atleast_1d(t), 1)
        if t.shape != (n,):
            raise ManifoldError(f"t must have shape ({n},), got {t.shape}")
        if n == 1:
            cond = 1.0 if R[0, 0] != 0 else math.inf
        elif n == 2:  # closed form: singular values of a 2 x 2 matrix
            fro2 = float(np.sum(R * R))
            det = abs(float(R[0, 0] * R[1, 1] - R[0, 1] * R[1, 0]))
            root = math.sqrt(max(fro2 * fro2 - 4 * det * det, 0.0))
            smin2 = 2 * det * det / (fro2 + root) if det > 0 else 0.0
            cond = math.sqrt((fro2 + root) / 2 / smin2) if smin2 > 0 else math.inf
        else:
            sv = np.linalg.svd(R, compute_uv=False)
            smin = float(sv[-1])
            cond = float(sv[0] / smin) if smin > 0 else math.inf
        if not np.isfinite(cond) or cond > 1e12:
            raise ManifoldError(
                f"affine_image needs an invertible R; its condition number is {cond:.3g}. "
                "A singular map folds the polytope: handle the lower-dimensional image separately"
            )
        if self._cache.get("feasible") is False:
            return Polytope.empty(n)
        G2 = np.linalg.solve(R.T, self.G.T).T if self.n_constraints else self.G.copy()
        g2 = self.g + G2 @ t
        Gn, gn, _ = _normalize_rows(G2, g2)
        cache = {}
        for key in ("reduced", "bounded", "feasible"):
            if key in self._cache:
                cache[key] = self._cache[key]
        if "vertices" in self._cache:
            cache["vertices"] = self._cache["vertices"] @ R.T + t
        if "polygon" in self._cache:
            V, L = self._cache["polygon"]
            V2 = V @ R.T + t
            if np.linalg.det(R) < 0 and len(V2):
                # Reversing the vertex order reverses the edges: edge i (V_i -> V_i+1) becomes
                # the edge leaving V_{i+1} in the new order.
                V2 = V2[::-1]
                L = np.roll(L[::-1], -1)
            cache["polygon"] = (V2, L)
        iso = float(np.max(np.abs(R.T @ R - np.eye(n)))) <= 1e-12
        if "chebyshev" in self._cache and iso:
            # An isometry maps the Chebyshev ball to the Chebyshev ball.
            c2 = R @ self._cache["chebyshev"][0] + t
            rad = self._cache["chebyshev"][1]
            if Gn.shape[0]:
                rad = min(rad, float(np.min(gn - Gn @ c2)))
            cache["chebyshev"] = (c2, rad)
        else:
            # Any ball maps to an ellipsoid containing a ball of radius smin * r.
            ball = self._cache.get("chebyshev") or self._cache.get("inner_ball")
            if ball is not None and ball[1] > 0:
                if n == 1:
                    smin = abs(float(R[0, 0]))
                elif n == 2:
                    smin = math.sqrt(smin2)
                c2 = R @ ball[0] + t
                rad = smin * ball[1] * (1 - 1e-12)
                if Gn.shape[0]:
                    rad = min(rad, float(np.min(gn - Gn @ c2)))
                if rad > 0:
                    cache["inner_ball"] = (c2, rad)
        return Polytope._raw(Gn, gn, **cache)

    def translate(self, t) -> Polytope:
        r"""The translate :math:`P + t = \{s : G s \le g + G t\}` (all caches carried over).

        Cheaper than ``from_halfspaces(G, g + G @ t)`` and keeps the Chebyshev ball, vertices
        and redundancy information.
        """
        return self.affine_image(np.eye(self.dim), t)

    def split(self, a, b) -> tuple[Polytope | None, Polytope | None]:
        r"""Split by the hyperplane :math:`a \cdot s + b = 0`.

        Returns ``(P ∩ {a.s + b <= 0}, P ∩ {a.s + b >= 0})``; a part is ``None`` if it has no
        interior. Implemented as :func:`cells` with one hyperplane, so the parts are
        redundancy-free and the same cut semantics apply (a part thinner than ``tol`` is
        absorbed into the other part).
        """
        a = _as_array("a", np.atleast_1d(a), 1)
        if a.shape != (self.dim,):
            raise ManifoldError(f"a must have shape ({self.dim},), got {a.shape}")
        b = float(_as_array("b", b, 0))
        neg = pos = None
        for sign, cell in cells(self, a[None, :], np.array([b])):
            if sign[0]:
                pos = cell
            else:
                neg = cell
        return neg, pos

    # ------------------------------------------------------------------ measure and sampling
    def _bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        """Tight bounding box by 2 n LPs (cached)."""
        out = self._cache.get("bbox")
        if out is None:
            n = self.dim
            lo, hi = np.empty(n), np.empty(n)
            for j in range(n):
                e = np.zeros(n)
                e[j] = 1.0
                hi[j], _ = _lp_max(self.G, self.g, e, self.scale)
                v, _ = _lp_max(self.G, self.g, -e, self.scale)
                lo[j] = -v
            out = (lo, hi)
            self._cache["bbox"] = out
        return out

    def volume(self, rng=None, n_samples: int = 200_000) -> float:
        """n-dimensional volume (length for n = 1, area for n = 2).

        Exact for ``n = 1`` and ``n = 2`` (shoelace), and for ``n >= 3`` via
        ``ConvexHull(vertices).volume`` (Qhull; used up to n = 8). Above that, or if Qhull
        fails, a Monte Carlo estimate: ``n_samples`` uniform points in the tight bounding box
        (2 n LPs), volume = box volume * accepted fraction (relative standard error
        ``sqrt((1-p)/(p N))``; unreliable when the polytope fills a tiny part of its box).
        Empty or flat polytopes give 0, unbounded ones ``inf``.
        """
        n = self.dim
        if self.is_empty(1e-12):
            return 0.0
        if not self.is_bounded():
            return math.inf
        if n == 1:
            lo, hi = self._interval()
            return float(hi - lo)
        if n == 2:
            return abs(_shoelace(self._polygon()[0]))
        if n <= 8:
            try:
                V = self._vertices_qhull()
                return float(ConvexHull(V).volume)
            except QhullError:
                pass
        rng = np.random.default_rng(0 if rng is None else rng)
        lo, hi = self._bounding_box()
        X = lo + (hi - lo) * rng.random((int(n_samples), n))
        p = float(np.mean(self.contains(X)))
        return float(np.prod(hi - lo) * p)

    def sample(
        self, n_points: int, rng, *, burn_in: int | None = None, thin: int | None = None
    ) -> np.ndarray:
        r"""Uniform random points in a bounded polytope with interior.

        Parameters
        ----------
        n_points : int
        rng : numpy Generator or int seed
        burn_in, thin : int, optional
            Hit-and-run only (``n > 5``): steps before the first point (default
            ``20 n^2 + 200``) and between points (default ``2 n``), per chain; up to 32
            independent chains run side by side.

        Returns
        -------
        (n_points, n) ndarray

        Notes
        -----
        Exactly uniform for ``n = 1``, ``n = 2`` (fan triangulation from vertex 0, triangle
        chosen with probability proportional to area, uniform point by the square-root rule)
        and ``3 <= n <= 5`` (cones from the vertex mean over the triangulated Qhull facets,
        chosen by volume, Dirichlet(1, ..., 1) weights). For ``n > 5`` hit-and-run from the
        Chebyshev centre: a Markov chain whose stationary law is uniform; mixing needs
        roughly :math:`O^*(n^2 (R/r)^2)` steps for an :math:`R/r`-rounded body, so the defaults
        are only approximately uniform for elongated polytopes (round them first with
        :meth:`affine_image`).

        Raises
        ------
        ManifoldError
            If the polytope is empty, flat or unbounded.
        """
        rng = np.random.default_rng(rng)
        n_points = int(n_points)
        n = self.dim
        if n_points < 0:
            raise ManifoldError("n_points must be >= 0")
        if self.is_empty():
            raise ManifoldError("cannot sample a polytope without interior")
        if not self.is_bounded():
            raise ManifoldError(
                "cannot sample uniformly from an unbounded polytope; intersect it with a box first"
            )
        if n == 1:
            lo, hi = self._interval()
            return lo + (hi - lo) * rng.random((n_points, 1))
        if n == 2:
            V = self._polygon()[0]
            tri = np.stack([np.broadcast_to(V[0], (len(V) - 2, 2)), V[1:-1], V[2:]], axis=1)
            return _sample_simplices(tri, rng, n_points)
        if n <= _QHULL_MAX_DIM:
            try:
                V = self._vertices_qhull()
                hull = ConvexHull(V)
                c = V.mean(axis=0)
                simp = np.concatenate(
                    [np.broadcast_to(c, (len(hull.simplices), 1, n)), V[hull.simplices]], axis=1
                )
                return _sample_simplices(simp, rng, n_points)
            except QhullError:
                pass
        return self._hit_and_run(n_points, rng, burn_in, thin)

    def _hit_and_run(self, n_points, rng, burn_in, thin):
        """Hit-and-run: up to 32 independent chains from the Chebyshev centre, vectorised.

        Each step draws a direction uniform on the sphere and moves to a uniform point of the
        chord through the current point; the uniform law is stationary (Smith 1984).
        """
        n = self.dim
        if n_points == 0:
            return np.zeros((0, n))
        burn_in = 20 * n * n + 200 if burn_in is None else int(burn_in)
        thin = 2 * n if thin is None else max(1, int(thin))
        x0 = self.interior_point()
        G, g = self.G, self.g
        nc = min(n_points, 32)
        per = -(-n_points // nc)
        X = np.tile(x0, (nc, 1))
        slack = np.maximum(g - X @ G.T, 0.0)
        out = []
        total = burn_in + per * thin
        for step in range(total):
            U = rng.standard_normal((nc, n))
            U /= np.linalg.norm(U, axis=1)[:, None]
            rate = U @ G.T
            with np.errstate(divide="ignore", invalid="ignore"):
                tt = slack / rate
            # bounded polytope: every line leaves it in both directions
            tmax = np.where(rate > 0, tt, np.inf).min(axis=1)
            tmin = np.where(rate < 0, tt, -np.inf).max(axis=1)
            t = tmin + (tmax - tmin) * rng.random(nc)
            X += t[:, None] * U
            if step % 512 == 511:  # re-synchronise the slacks (no drift)
                slack = np.maximum(g - X @ G.T, 0.0)
            else:
                slack = np.maximum(slack - t[:, None] * rate, 0.0)
            if step >= burn_in and (step - burn_in) % thin == thin - 1:
                out.append(X.copy())
        return np.concatenate(out, axis=0)[:n_points]

    # ------------------------------------------------------------------ projection
    def project(self, x) -> np.ndarray:
        r"""Euclidean projection :math:`\arg\min_{s \in P} \|s - x\|`.

        Exact up to round-off:

        * ``n = 1``: clipping to the interval.
        * bounded ``n = 2``: ``x`` if inside, else the nearest point over all polygon edges
          (segment projections).
        * otherwise the least-distance problem :math:`\min \|y\|` s.t. :math:`G y \le g - G x`
          is solved as a non-negative least-squares problem (Lawson & Hanson, *Solving Least
          Squares Problems*, ch. 23; ``scipy.optimize.nnls`` is a finite active-set method),
          then polished: the active set :math:`\mathcal{A}` is identified, the equality-
          constrained problem :math:`\min \|s - x\|, G_\mathcal{A} s = g_\mathcal{A}` is solved
          exactly, and the polished point is used if it is primal feasible and its
          multipliers are non-negative (KKT), otherwise the NNLS point is kept.

        Raises
        ------
        ManifoldError
            If ``x`` has the wrong shape or is not finite, or the polytope is infeasible.
        """
        x = _as_array("x", np.atleast_1d(x), 1)
        n = self.dim
        if x.shape != (n,):
            raise ManifoldError(f"x must have shape ({n},), got {x.shape}")
        if self._cache.get("feasible") is False or not self.is_feasible():
            raise ManifoldError("cannot project onto an empty polytope")
        if self.n_constraints == 0 or self.contains(x, tol=0.0):
            return x.copy()
        if n == 1:
            lo, hi = self._interval()
            return np.array([min(max(x[0], lo), hi)])
        if n == 2 and self._bounded_2d():
            V = self._polygon()[0]
            if len(V) == 1:
                return V[0].copy()
            if len(V) >= 2:
                return _project_polygon(V, x)
        return _project_qp(self.G, self.g, x, self.scale)


def _rebuild_polytope(G, g, feasible):
    cache = {} if feasible is None else {"feasible": feasible}
    return Polytope._raw(G, g, **cache)


def _bounded_by_normals(G) -> bool | None:
    """Bounded iff 0 is strictly inside the convex hull of the unit normals (Qhull, no LP).

    Returns None if Qhull cannot decide (degenerate normals); the caller then uses an LP.
    """
    try:
        hull = ConvexHull(G)
    except QhullError:
        return None
    return bool(np.max(hull.equations[:, -1]) < -1e-9)


def _empty_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    G = np.zeros((2, n))
    G[0, 0], G[1, 0] = 1.0, -1.0
    return G, np.array([-1.0, -1.0])


def _chebyshev_polygon(G, g, L):
    """Exact Chebyshev ball of a bounded polygon from its edge rows (no LP).

    The LP :math:`\\max r, G s + r \\le g` in 3 unknowns attains its optimum at a vertex, where
    3 edge constraints are active: enumerate the triples of edge rows (O(m^3), m = edges).
    """
    rows = np.unique(L[L >= 0])
    m = rows.size
    if m < 3 or m > 40:
        return None
    Ge, ge = G[rows], g[rows]
    idx = np.array([(i, j, k) for i in range(m) for j in range(i + 1, m) for k in range(j + 1, m)])
    A = np.concatenate([Ge[idx], np.ones((len(idx), 3, 1))], axis=2)  # (T, 3, 3)
    rhs = ge[idx]
    det = np.linalg.det(A)
    ok = np.abs(det) > 1e-12
    if not ok.any():
        return None
    sol = np.linalg.solve(A[ok], rhs[ok][..., None])[..., 0]  # (T', 3)
    s, r = sol[:, :2], sol[:, 2]
    slack_min = np.min(g[None, :] - s @ G.T, axis=1)  # against all rows
    feas = slack_min >= r - 1e-9 * max(1.0, float(np.abs(g).max()))
    if not feas.any():
        return None
    best = np.flatnonzero(feas)[np.argmax(r[feas])]
    c = s[best]
    return c.copy(), float(np.min(g - G @ c))


def _sample_simplices(simp, rng, n_points):
    """Uniform points in a union of simplices ``simp`` (s, k+1, n) with disjoint interiors.

    A simplex is picked with probability proportional to its volume, then a point with
    Dirichlet(1, ..., 1) barycentric weights (normalised exponentials), which is uniform.
    """
    k = simp.shape[1] - 1
    E = simp[:, 1:, :] - simp[:, :1, :]
    vol = np.abs(np.linalg.det(E)) if E.shape[1] == E.shape[2] else np.zeros(len(simp))
    if vol.sum() <= 0:
        raise ManifoldError("polytope has zero volume; nothing to sample")
    which = rng.choice(len(simp), size=n_points, p=vol / vol.sum())
    w = rng.exponential(size=(n_points, k + 1))
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("pk,pkn->pn", w, simp[which])


def _project_polygon(V, x):
    P = V
    Q = np.roll(V, -1, axis=0)
    D = Q - P
    dd = np.einsum("ij,ij->i", D, D)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dd > 0, np.einsum("ij,ij->i", x - P, D) / dd, 0.0)
    t = np.clip(t, 0.0, 1.0)
    C = P + t[:, None] * D
    dist = np.linalg.norm(C - x, axis=1)
    return C[np.argmin(dist)].copy()


def _project_qp(G, g, x, scale):
    """Exact projection by least-distance programming (NNLS) plus a KKT polish."""
    n = G.shape[1]
    # LDP: min ||y|| s.t. E y >= f with E = -G, f = G x - g (y = s - x). Work in units of
    # scale so the last NNLS row (f) is O(1).
    f = (G @ x - g) / scale
    Emat = np.vstack([-G.T, f[None, :]])  # (n+1, r)
    e = np.zeros(n + 1)
    e[-1] = 1.0
    try:
        u, _ = nnls(Emat, e, maxiter=50 * (G.shape[0] + n + 1))
    except RuntimeError as exc:  # iteration limit
        raise ManifoldError(f"projection failed: NNLS did not converge ({exc})") from None
    res = Emat @ u - e
    if abs(res[-1]) <= 1e-14:
        raise ManifoldError("cannot project onto an empty polytope (LDP inconsistent)")
    y = -res[:n] / res[-1] * scale
    s = x + y
    # KKT polish: active set, exact equality-constrained least squares, dual check.
    tol = 1e-9 * scale
    act = np.flatnonzero(g - G @ s <= tol)
    if act.size:
        GA = G[act]
        mu, *_ = np.linalg.lstsq(GA @ GA.T, GA @ x - g[act], rcond=None)
        s2 = x - GA.T @ mu
        if mu.min() >= -1e-9 and np.all(G @ s2 <= g + 1e-12 * scale):
            s = s2
    return s


# ====================================================================== functional helpers
def chebyshev_center(G, g) -> tuple[np.ndarray, float]:
    r"""Chebyshev centre and signed radius of :math:`\{s : G s \le g\}` (rows normalised first).

    See :meth:`Polytope.chebyshev` for the radius sign convention and the unbounded rule.
    """
    return Polytope.from_halfspaces(G, g).chebyshev()


def lp_feasible(G, g, tol: float = DEFAULT_TOL) -> bool:
    r"""Whether :math:`\{s : G s \le g\}` has a point (flat sets count), by one LP.

    Equivalent to the signed Chebyshev radius being ``>= -tol * scale``.
    """
    return Polytope.from_halfspaces(G, g).is_feasible(tol)


# ====================================================================== cells of an arrangement
@dataclass
class CellsInfo:
    """Internal bookkeeping of :func:`cells` (kept public for diagnostics).

    Attributes
    ----------
    method : str
        Path used: ``"interval"``, ``"polygon"``, ``"vertex"``, ``"split"`` or ``"flood"``.
    n_cutting : int
        Distinct hyperplanes that cut the polytope.
    n_lp : int
        Linear programs solved (excluding the Chebyshev LP of the input polytope).
    """

    method: str = ""
    n_cutting: int = 0
    n_lp: int = 0


def _prepare_hyperplanes(A, b, n):
    A = _as_array("A", A, 2)
    b = _as_array("b", b, 1)
    if A.shape[1] != n:
        raise ManifoldError(
            f"A must have n = {n} columns (the polytope dimension), got shape {A.shape}"
        )
    if A.shape[0] != b.shape[0]:
        raise ManifoldError(f"A has {A.shape[0]} rows but b has {b.shape[0]} entries")
    k = A.shape[0]
    norms = np.linalg.norm(A, axis=1)
    zero = norms <= _ZERO_ROW * max(1.0, float(norms.max()) if k else 1.0)
    const_bit = b > 0
    An = np.zeros_like(A)
    bn = np.zeros_like(b)
    nz = ~zero
    An[nz] = A[nz] / norms[nz, None]
    bn[nz] = b[nz] / norms[nz]
    # Representatives: hyperplanes equal up to sign share one representative. Candidate pairs
    # from the Gram matrix, confirmed componentwise (vectorised over the candidate pairs).
    rep = np.full(k, -1, dtype=np.int64)
    flip = np.zeros(k, dtype=bool)
    reps: list[int] = []
    idx_nz = np.flatnonzero(nz)
    X = np.hstack([An, bn[:, None]])[idx_nz]
    tolX = _DUP * np.maximum(1.0, np.abs(X[:, -1]))
    gram = np.abs(X[:, :-1] @ X[:, :-1].T) >= 1.0 - 1e-9
    ii, jj = np.nonzero(np.triu(gram, 1))  # i < j
    first = np.full(idx_nz.size, -1, dtype=np.int64)
    first_opp = np.zeros(idx_nz.size, dtype=bool)
    if ii.size:
        t = np.maximum(tolX[ii], tolX[jj])
        same = np.max(np.abs(X[ii] - X[jj]), axis=1) <= t
        opp = np.max(np.abs(X[ii] + X[jj]), axis=1) <= t
        m = same | opp
        ii, jj, opp = ii[m], jj[m], opp[m]
        # the earliest match of each j (pairs are sorted by i, so reverse assignment keeps it)
        first[jj[::-1]] = ii[::-1]
        first_opp[jj[::-1]] = opp[::-1]
    for pos, j in enumerate(idx_nz):
        i = first[pos]
        if i >= 0:
            rep[j] = rep[idx_nz[i]]
            flip[j] = flip[idx_nz[i]] ^ first_opp[pos]
        else:
            rep[j] = len(reps)
            reps.append(int(j))
    R = np.asarray(reps, dtype=np.int64)
    return An[R], bn[R], rep, flip, zero, const_bit


def _expand_bits(bits_rep, rep, flip, zero, const_bit):
    out = np.empty(rep.shape[0], dtype=bool)
    out[zero] = const_bit[zero]
    nz = ~zero
    out[nz] = bits_rep[rep[nz]] ^ flip[nz]
    return out


def _interval_points(ends, step: float) -> list[float]:
    """One interior point of each interval ``[ends[i], ends[i+1]]`` of a split line: the
    midpoint, or ``step`` inside the finite end of a half-line (0 for the whole line)."""
    pts = []
    for l, h in zip(ends[:-1], ends[1:], strict=True):
        if math.isfinite(l) and math.isfinite(h):
            pts.append(0.5 * (l + h))
        elif math.isfinite(l):
            pts.append(l + step)
        elif math.isfinite(h):
            pts.append(h - step)
        else:
            pts.append(0.0)
    return pts


def cells(
    poly: Polytope,
    A,
    b,
    start_sign=None,
    tol: float = DEFAULT_TOL,
    *,
    method: str = "auto",
    max_cells: int | None = None,
    info: CellsInfo | None = None,
) -> list[tuple[np.ndarray, Polytope]]:
    r"""Nonempty cells of the hyperplane arrangement :math:`A s + b = 0` inside a polytope.

    Parameters
    ----------
    poly : Polytope
        The polytope :math:`P` (dimension ``n``).
    A : (k, n) array_like
    b : (k,) array_like
        Hyperplanes :math:`A_i s + b_i = 0`. Rows with :math:`\|A_i\| \le 10^{-13}
        \max(1, \max_j \|A_j\|)` are constant: their bit is ``b_i > 0`` everywhere.
    start_sign : (k,) array_like of bool, optional
        Sign vector of a cell known to be nonempty; only the ``"flood"`` method uses it (as
        the first cell, falling back to the Chebyshev centre's cell if it has no interior).
    tol : float
        Relative tolerance (absolute ``tol * poly.scale``), see Notes.
    method : {"auto", "split", "flood"}
        ``"auto"``: exact intervals for ``n = 1``, polygon clipping for bounded ``n = 2``
        (no LP), vertex lists with incidences for bounded ``3 <= n <= 5`` (Qhull once for
        ``poly``, then combinatorial edge splitting, one or two LPs in total), else
        ``"split"``.
        ``"split"``: incremental splitting with LPs. ``"flood"``: flood fill across facets
        with LPs (DESIGN.md §4). The last two work for any ``n`` and unbounded polytopes.
    max_cells : int, optional
        Raise :class:`BudgetExceededError` when more cells would be produced.
    info : CellsInfo, optional
        Filled with the path used and LP counts.

    Returns
    -------
    list of (sign, cell)
        ``sign`` is a boolean ``(k,)`` array, ``True`` meaning :math:`A_i s + b_i > 0` on the
        cell; ``cell`` is the cell polytope :math:`P \cap \{\text{signs}\}` without redundant
        rows (rows are rows of ``poly`` or normalised hyperplane rows, unchanged). Empty list
        if ``poly`` has no interior. Order: deterministic, unspecified.

    Notes
    -----
    **Cut semantics.** A hyperplane *cuts* a (current) cell if both open sides contain points
    farther than ``tol`` from it, i.e. :math:`\max_C (a\cdot s+b) > tol` and
    :math:`\min_C (a\cdot s+b) < -tol` for the unit normal. A hyperplane that only grazes a
    cell (a sliver thinner than ``tol``) does not split it; the cell's bit is that of its bulk
    and the sliver stays part of the cell. Consequently, for ``"auto"`` and ``"split"`` the
    returned cells cover :math:`P` exactly (union = P, interiors disjoint), and a point
    farther than ``tol`` from every hyperplane lies in the cell carrying its own sign vector.
    ``"flood"`` instead drops cells of Chebyshev radius ``<= tol`` (coverage holes thinner
    than ``tol``) and relies on the adjacency graph of the remaining cells being connected,
    which fails only if such a sliver separates the polytope (e.g. two distinct hyperplanes
    closer than ``tol`` throughout :math:`P`); prefer ``"split"``.

    **Cost.** Intervals: O(k log k). Polygons: O(k m) per cell with m edges, no LP. Vertex
    path: one Chebyshev LP and one Qhull call for ``poly`` (none if its vertices are cached),
    then O(v^2 r) array work per split. LP paths: the prefilter decides hyperplanes by the
    Chebyshev ball, LP witnesses and (if ``2 n`` is small) a bounding box, then one LP per
    undecided hyperplane; ``"split"`` costs about one LP per (cell, cutting hyperplane) pair
    not decided by witness points, plus a Chebyshev LP and the redundancy LPs (rows not
    certified by ray shooting) of each final cell.
    """
    if not isinstance(poly, Polytope):
        raise ManifoldError(f"cells() needs a Polytope, got {type(poly).__name__}")
    if method not in ("auto", "split", "flood"):
        raise ManifoldError(f"unknown cells method {method!r}; use 'auto', 'split' or 'flood'")
    n = poly.dim
    Ar, br, rep, flip, zero, const_bit = _prepare_hyperplanes(A, b, n)
    k = rep.shape[0]
    info = CellsInfo() if info is None else info
    if start_sign is not None:
        start_sign = np.asarray(start_sign)
        if start_sign.shape != (k,):
            raise ManifoldError(f"start_sign must have shape ({k},), got {start_sign.shape}")
        start_sign = start_sign.astype(bool)
    tol = float(tol)
    if not tol >= 0:
        raise ManifoldError(f"tol must be a non-negative number, got {tol}")
    budget = math.inf if max_cells is None else int(max_cells)

    if poly._cache.get("feasible") is False:
        return []
    scale = poly.scale
    tol_abs = tol * scale

    if method == "auto" and n == 1:
        info.method = "interval"
        out = _cells_1d(poly, Ar, br, tol_abs, info, budget)
    elif method == "auto" and n == 2 and poly._bounded_2d():
        info.method = "polygon"
        out = _cells_2d(poly, Ar, br, tol_abs, info, budget)
    else:
        out = None
        if method == "auto" and 3 <= n <= _QHULL_MAX_DIM and poly.is_bounded():
            info.method = "vertex"
            try:
                out = _cells_vertex(poly, Ar, br, tol, info, budget)
            except QhullError:
                out = None
        if out is None:
            if poly.is_empty(tol):
                return []
            if method == "flood":
                info.method = "flood"
                start_rep = None
                if start_sign is not None:
                    start_rep = np.zeros(len(Ar), dtype=bool)
                    nzj = np.flatnonzero(~zero)
                    start_rep[rep[nzj]] = start_sign[nzj] ^ flip[nzj]
                out = _cells_flood(poly, Ar, br, tol, info, budget, start_rep)
            else:
                info.method = "split"
                out = _cells_split(poly, Ar, br, tol, info, budget)
    if len(out) > budget:
        raise BudgetExceededError(
            f"the arrangement has more than max_cells = {max_cells} cells in this polytope"
        )
    return [(_expand_bits(bits, rep, flip, zero, const_bit), cell) for bits, cell in out]


def _signed_rows(Ar, br, idx, bits):
    """Rows (G, g) for 'keep side bits[j] of hyperplane idx[j]'."""
    idx = np.asarray(idx, dtype=np.int64)
    bits = np.asarray(bits, dtype=bool)
    sgn = np.where(bits, -1.0, 1.0)  # bit 1: -(a.s + b) <= 0 ; bit 0: a.s + b <= 0
    return Ar[idx] * sgn[:, None], -br[idx] * sgn


# ---------------------------------------------------------------------- n = 1
def _cells_1d(poly, Ar, br, tol_abs, info, budget):
    lo, hi = poly._interval()
    if not hi - lo > 2 * tol_abs:
        return []
    kr = len(Ar)
    a = Ar[:, 0]
    t = -br / a if kr else np.zeros(0)  # crossing points (a = +-1 after normalisation)
    cut = (t - lo > tol_abs) & (hi - t > tol_abs)
    order = np.argsort(t[cut], kind="stable")
    pts = t[cut][order]
    bounds = []
    last = lo
    for p in pts:
        if p - last > tol_abs and hi - p > tol_abs:  # depth on both sides of this cut
            bounds.append(p)
            last = p
    info.n_cutting = len(bounds)
    if len(bounds) + 1 > budget:
        raise BudgetExceededError(f"more than max_cells = {budget} cells in this interval")
    ends = [lo, *bounds, hi]
    out = []
    for i, x in enumerate(_interval_points(ends, poly.scale)):
        l, h = ends[i], ends[i + 1]
        bits = a * x + br > 0
        # Bits of hyperplanes crossing inside (absorbed slivers) follow the bulk: the
        # midpoint is farther than tol from every absorbed crossing except in degenerate
        # cases, where the longer side decides.
        G, g = [], []
        if math.isfinite(l):
            G.append([-1.0])
            g.append(-l)
        if math.isfinite(h):
            G.append([1.0])
            g.append(h)
        cell = Polytope._raw(
            np.array(G, dtype=float).reshape(-1, 1), np.array(g, dtype=float), reduced=True
        )
        out.append((bits, cell))
    return out


# ---------------------------------------------------------------------- n = 2
def _cells_2d(poly, Ar, br, tol_abs, info, budget):
    V, L = poly._polygon()
    if len(V) < 3 or _polygon_width(V) <= 2 * tol_abs:
        return []
    rP = poly.n_constraints
    kr = len(Ar)
    if kr:
        D = V @ Ar.T + br  # (m, kr)
        cut = (D.min(axis=0) < -tol_abs) & (D.max(axis=0) > tol_abs)
        base_bits = D.max(axis=0) > tol_abs
    else:
        cut = np.zeros(0, dtype=bool)
        base_bits = np.zeros(0, dtype=bool)
    info.n_cutting = int(cut.sum())
    eps = 1e-12 * poly.scale
    work = [(list(map(tuple, V.tolist())), L.tolist(), base_bits.copy())]
    for j in np.flatnonzero(cut):
        a0, a1 = float(Ar[j, 0]), float(Ar[j, 1])
        bb = float(br[j])
        nxt = []
        for Vc, Lc, bits in work:
            d = [a0 * x + a1 * y + bb for x, y in Vc]
            dmin, dmax = min(d), max(d)
            if dmin < -tol_abs and dmax > tol_abs:
                d = [0.0 if -tol_abs <= t <= tol_abs else t for t in d]
                (Vn, Ln), (Vp, Lp) = _polygon_split(Vc, Lc, d, rP + j, eps)
                bn_ = bits.copy()
                bn_[j] = False
                bp_ = bits.copy()
                bp_[j] = True
                nxt.append((Vn, Ln, bn_))
                nxt.append((Vp, Lp, bp_))
            else:
                bits = bits.copy()
                bits[j] = dmax > tol_abs
                nxt.append((Vc, Lc, bits))
        work = nxt
        if len(work) > budget:
            raise BudgetExceededError(f"more than max_cells = {budget} cells in this polygon")
    out = []
    Gp, gp = poly.G, poly.g
    for Vc, Lc, bits in work:
        Vc, Lc = _as_polygon(*_polygon_clean(Vc, Lc, eps))
        # Rows: the labels of the edges, in order of first appearance, deduplicated.
        pos: dict[int, int] = {}
        Grows, grows = [], []
        for lab in Lc.tolist():
            if lab in pos:
                continue
            pos[lab] = len(Grows)
            if lab < rP:
                Grows.append(Gp[lab])
                grows.append(gp[lab])
            else:
                Gj, gj = _signed_rows(Ar, br, [lab - rP], [bits[lab - rP]])
                Grows.append(Gj[0])
                grows.append(gj[0])
        newL = np.array([pos[lab] for lab in Lc.tolist()], dtype=np.int64)
        cell = Polytope._raw(
            np.array(Grows).reshape(-1, 2),
            np.array(grows),
            reduced=True,
            bounded=True,
            polygon=(Vc, newL),
        )
        out.append((bits, cell))
    return out


def _polygon_width(V) -> float:
    """Minimal width of a convex polygon (min over edges of the farthest vertex distance)."""
    E = np.roll(V, -1, axis=0) - V
    ln = np.linalg.norm(E, axis=1)
    ok = ln > 0
    if not ok.any():
        return 0.0
    Nrm = np.stack([E[ok, 1], -E[ok, 0]], axis=1) / ln[ok, None]
    dist = (V[None, :, :] - V[ok][:, None, :]) @ Nrm[:, :, None]  # (e, m, 1)
    return float(np.min(np.max(np.abs(dist[..., 0]), axis=1)))


# ---------------------------------------------------------------------- 3 <= n <= 5, Qhull
def _facet_mask_from_active(V, act, scale) -> np.ndarray:
    """Rows whose active vertices have affine rank ``n - 1`` (batched, centred covariance).

    ``act`` is the ``(v, r)`` vertex-row incidence. The covariance of a facet's vertices has
    one zero eigenvalue (the normal) and ``n - 1`` positive ones; the second smallest must
    exceed round-off, ``(1e-12 * scale)^2``.
    """
    v, n = V.shape
    W = act.T.astype(float)  # (r, v)
    cnt = W.sum(axis=1)
    ok = cnt >= n
    keep = np.zeros(act.shape[1], dtype=bool)
    if not ok.any():
        return keep
    W = W[ok]
    M = (W @ V) / cnt[ok, None]
    D = V[None, :, :] - M[:, None, :]  # (r', v, n)
    S = np.einsum("rv,rvi,rvj->rij", W, D, D) / cnt[ok, None, None]
    ev = np.linalg.eigvalsh(S)
    keep[np.flatnonzero(ok)] = ev[:, 1] > (1e-12 * scale) ** 2 if n >= 2 else True
    return keep


def _vrep_split(G, g, V, act, d, draw, row_neg, row_pos, scale):
    """Split a bounded polytope given by rows, vertices and incidences by a hyperplane.

    ``d`` are the snapped signed values at the vertices (0 = on the plane), ``draw`` the raw
    ones. The children's vertices are the parent's vertices on their side plus the crossing
    points of the parent's edges; an edge is a pair of vertices whose common active rows have
    rank ``n - 1`` (the face they define is then 1-dimensional, with exactly these two
    endpoints). Incidences are propagated combinatorially. Non-facet rows are dropped.
    Returns the two children ``(G, g, V, act)`` (negative side first).
    """
    n = V.shape[1]
    um = np.flatnonzero(d < 0)
    wp = np.flatnonzero(d > 0)
    common = act[um][:, None, :] & act[wp][None, :, :]  # (|um|, |wp|, r)
    cc = common.sum(axis=-1)
    iu, iw = np.nonzero(cc >= n - 1)
    com = np.zeros((0, act.shape[1]), dtype=bool)  # the plane may pass through vertices only
    if iu.size:
        com = common[iu, iw]  # (p, r)
        edge = np.zeros(iu.size, dtype=bool)
        simple = cc[iu, iw] == n - 1
        if simple.any():
            rows = np.nonzero(com[simple])[1].reshape(-1, n - 1)
            Gs = G[rows]  # (p', n-1, n), unit rows
            gram = Gs @ np.swapaxes(Gs, 1, 2)
            edge[simple] = np.linalg.det(gram) > 1e-12
        for q in np.flatnonzero(~simple):
            edge[q] = np.linalg.matrix_rank(G[com[q]], tol=1e-9) == n - 1
        iu, iw, com = iu[edge], iw[edge], com[edge]
    u, w = um[iu], wp[iw]
    lam = draw[u] / (draw[u] - draw[w])
    X = V[u] + lam[:, None] * (V[w] - V[u])
    out = []
    for side, row in ((d <= 0, row_neg), (d >= 0, row_pos)):
        V2 = np.vstack([V[side], X])
        newcol = np.concatenate([d[side] == 0, np.ones(len(X), dtype=bool)])
        act2 = np.hstack([np.vstack([act[side], com]), newcol[:, None]])
        G2 = np.vstack([G, row[0][None, :]])
        g2 = np.append(g, row[1])
        keep = _facet_mask_from_active(V2, act2, scale)
        keep[-1] = True
        out.append((G2[keep], g2[keep], V2, act2[:, keep]))
    return out


def _cells_vertex(poly, Ar, br, tol, info, budget):
    """Cells for bounded 3 <= n <= 5: vertex lists with incidences, Qhull only for ``poly``."""
    scale = poly.scale
    tol_abs = tol * scale
    if poly.is_empty(tol):  # no LP when the vertices are cached
        return []
    P = poly.remove_redundant(tol)
    V = P._vertices_qhull()
    act_tol = max(tol_abs, 1e-10 * scale)
    act = np.abs(V @ P.G.T - P.g) <= act_tol
    kr = len(Ar)
    if kr:
        D = V @ Ar.T + br
        cut = (D.min(axis=0) < -tol_abs) & (D.max(axis=0) > tol_abs)
        base_bits = D.max(axis=0) > tol_abs
    else:
        cut = np.zeros(0, dtype=bool)
        base_bits = np.zeros(0, dtype=bool)
    info.n_cutting = int(cut.sum())
    work = [(P.G, P.g, V, act, base_bits.copy())]
    for j in np.flatnonzero(cut):
        a, bb = Ar[j], br[j]
        rn = _signed_rows(Ar, br, [j], [False])
        rp = _signed_rows(Ar, br, [j], [True])
        nxt = []
        for Gc, gc, Vc, ac, bits in work:
            draw = Vc @ a + bb
            if not (draw.min() < -tol_abs and draw.max() > tol_abs):
                bits = bits.copy()
                bits[j] = draw.max() > tol_abs
                nxt.append((Gc, gc, Vc, ac, bits))
                continue
            d = np.where(np.abs(draw) <= tol_abs, 0.0, draw)
            kids = _vrep_split(
                Gc, gc, Vc, ac, d, draw, (rn[0][0], rn[1][0]), (rp[0][0], rp[1][0]), scale
            )
            for side, (G2, g2, V2, a2) in zip((False, True), kids, strict=True):
                b2 = bits.copy()
                b2[j] = side
                nxt.append((G2, g2, V2, a2, b2))
        work = nxt
        if len(work) > budget:
            raise BudgetExceededError(f"more than max_cells = {budget} cells in this polytope")
    out = []
    for Gc, gc, Vc, _, bits in work:
        Vc = _dedupe_points(Vc, 1e-11 * scale)
        out.append((bits, Polytope._raw(Gc, gc, reduced=True, bounded=True, vertices=Vc)))
    return out


# ---------------------------------------------------------------------- LP paths
def _lp_prefilter(poly, Ar, br, tol_abs, info):
    """Which hyperplanes cut ``poly`` (LP path); returns (cut mask, bits, witnesses)."""
    kr = len(Ar)
    c, rad = poly.chebyshev()
    scale = poly.scale
    W = [c]
    cut = np.zeros(kr, dtype=bool)
    decided = np.zeros(kr, dtype=bool)
    bits = np.zeros(kr, dtype=bool)
    if kr == 0:
        return cut, bits, np.array(W)
    dc = Ar @ c + br
    # Ball test: the ball of radius rad around c is in P, so |dc| < rad - tol means a cut.
    straddle = rad - np.abs(dc) > tol_abs
    cut[straddle] = True
    decided[straddle] = True
    G, g = poly.G, poly.g
    n = poly.dim
    if 2 * n < 0.5 * np.count_nonzero(~decided):
        # A tight bounding box (2 n LPs) decides every hyperplane that misses it.
        lo, hi = poly._bounding_box()
        info.n_lp += 2 * n
        if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
            vm = Ar @ mid + br
            spread = np.abs(Ar) @ half
            miss = ~decided & ((vm - spread >= -tol_abs) | (vm + spread <= tol_abs))
            bits[miss] = vm[miss] > 0
            decided[miss] = True
    for j in np.argsort(-np.abs(dc)):
        if decided[j]:
            continue
        # Witnesses found so far may already decide.
        Wa = np.array(W) @ Ar[j] + br[j]
        if Wa.max() > tol_abs and Wa.min() < -tol_abs:
            cut[j] = decided[j] = True
            continue
        # The centre's side is deep (no straddle => |dc| >= rad - tol > 0); ask how far P
        # reaches to the other side: max of -(a.s + b) if the centre is positive, else
        # max of (a.s + b).
        side_pos = dc[j] > 0
        direction = -Ar[j] if side_pos else Ar[j]
        val, x = _lp_max(G, g, direction, scale)
        info.n_lp += 1
        if x is not None:
            W.append(x)
        depth = val - br[j] if side_pos else val + br[j]
        cut[j] = depth > tol_abs
        bits[j] = side_pos
        decided[j] = True
    return cut, bits, np.array(W)


def _cells_split(poly, Ar, br, tol, info, budget):
    """Incremental splitting with LPs (any n, bounded or not)."""
    scale = poly.scale
    tol_abs = tol * scale
    P = poly.remove_redundant(tol)
    cut, base_bits, W = _lp_prefilter(P, Ar, br, tol_abs, info)
    info.n_cutting = int(cut.sum())
    work = [(P.G, P.g, W, base_bits.copy())]
    for j in np.flatnonzero(cut):
        a, bb = Ar[j], br[j]
        nxt = []
        for Gc, gc, Wc, bits in work:
            d = Wc @ a + bb
            # (witness sets can be empty after an unbounded LP, which returns no point)
            has_neg = d.min(initial=math.inf) < -tol_abs
            has_pos = d.max(initial=-math.inf) > tol_abs
            for want_pos in (True, False):
                if has_pos if want_pos else has_neg:
                    continue
                direction = a if want_pos else -a
                val, x = _lp_max(Gc, gc, direction, scale)
                info.n_lp += 1
                depth = val + bb if want_pos else val - bb
                if x is not None:
                    Wc = np.vstack([Wc, x])
                    d = np.append(d, x @ a + bb)
                if depth > tol_abs:
                    if want_pos:
                        has_pos = True
                    else:
                        has_neg = True
                else:
                    break
            if has_neg and has_pos:
                for side in (False, True):
                    Gj, gj = _signed_rows(Ar, br, [j], [side])
                    sel = d > tol_abs if side else d < -tol_abs
                    b2 = bits.copy()
                    b2[j] = side
                    nxt.append((np.vstack([Gc, Gj]), np.append(gc, gj), Wc[sel], b2))
            else:
                bits = bits.copy()
                bits[j] = has_pos
                nxt.append((Gc, gc, Wc, bits))
        work = nxt
        if len(work) > budget:
            raise BudgetExceededError(f"more than max_cells = {budget} cells in this polytope")
    out = []
    for Gc, gc, _, bits in work:
        cell = Polytope._raw(Gc, gc)
        c, rad = cell.chebyshev()
        info.n_lp += 1
        keep, nl = _nonredundant_lp(Gc, gc, scale, tol_abs, c if rad > tol_abs else None)
        info.n_lp += nl
        red = Polytope._raw(Gc[keep], gc[keep], reduced=True)
        red._cache["chebyshev"] = (c, rad)
        out.append((bits, red))
    return out


def _cells_flood(poly, Ar, br, tol, info, budget, start_rep):
    """Flood fill across facets with LPs (DESIGN.md §4)."""
    scale = poly.scale
    tol_abs = tol * scale
    P = poly.remove_redundant(tol)
    cut, base_bits, _ = _lp_prefilter(P, Ar, br, tol_abs, info)
    info.n_cutting = int(cut.sum())
    J = np.flatnonzero(cut)
    rP = P.n_constraints

    def build(bits_j):
        Gj, gj = _signed_rows(Ar, br, J, bits_j)
        return np.vstack([P.G, Gj]), np.concatenate([P.g, gj])

    # Start: the given sign vector, else the cell of a point of the Chebyshev ball that is
    # farther than tol from every cutting hyperplane (random points of the ball, seeded).
    c0, rad0 = P.chebyshev()
    rng = np.random.default_rng(0)

    def candidates():
        if start_rep is not None:
            yield start_rep[J]
        x = c0
        for _ in range(40):
            dj = Ar[J] @ x + br[J]
            if np.all(np.abs(dj) > tol_abs):
                yield dj > 0
            u = rng.standard_normal(P.dim)
            x = c0 + rad0 * rng.random() ** (1.0 / P.dim) * u / np.linalg.norm(u)

    out = []
    seen: set[bytes] = set()
    queue = []
    for s in candidates():
        cand = Polytope._raw(*build(s))
        info.n_lp += 1
        if cand.chebyshev()[1] > tol_abs:
            queue.append(s)
            seen.add(s.tobytes())
            break
    if not queue:  # every probe landed in a sliver: use the splitting method instead
        return _cells_split(poly, Ar, br, tol, info, budget)
    while queue:
        s = queue.pop(0)
        G, g = build(s)
        cell = Polytope._raw(G, g)
        c, rad = cell.chebyshev()
        info.n_lp += 1
        if rad <= tol_abs:
            continue
        keep, nl = _nonredundant_lp(G, g, scale, tol_abs, c)
        info.n_lp += nl
        bits = base_bits.copy()
        bits[J] = s
        red = Polytope._raw(G[keep], g[keep], reduced=True)
        red._cache["chebyshev"] = (c, rad)
        out.append((bits, red))
        if len(out) > budget:
            raise BudgetExceededError(f"more than max_cells = {budget} cells in this polytope")
        for f in np.flatnonzero(keep[rP:]):
            s2 = s.copy()
            s2[f] = not s2[f]
            key = s2.tobytes()
            if key not in seen:
                seen.add(key)
                queue.append(s2)
    return out
