r"""Invariant seed sets of a saddle orbit's local manifolds.

For a saddle k-cycle with points :math:`p_0..p_{k-1}`, regions :math:`d_0..d_{k-1}`, and partial
products :math:`\Phi_i = J_{d_{i-1}} \cdots J_{d_0}` (:math:`\Phi_0 = I`), a point
:math:`p_0 + U s` of the invariant subspace visits :math:`p_i + \Phi_i U s` as long as it stays in
the regions of the orbit. Stack those region constraints (and the growth box) over one period as
:math:`C s \le c`. Because :math:`p_i` lies strictly inside its region, :math:`c > 0`.

The seed is the maximal positively invariant set of the restricted dynamics

.. math::

    S = \{ s : C T^m s \le c \ \ \forall m \ge 0 \},

with :math:`T = U^T M_0 U` (stable manifold) or :math:`T = (U^T M_0 U)^{-1}` (unstable manifold).
Then every point of :math:`p_0 + U S` has its whole forward (stable) or backward (unstable) local
orbit inside the orbit's regions, so it lies exactly on the manifold, and :math:`T S \subseteq S`.
:math:`S` is computed as in Gilbert & Tan (1991): add the rows :math:`C T^m` for
:math:`m = 1, 2, \ldots` until every new row is redundant. This terminates because
:math:`T^m \to 0` and :math:`c > 0` on a bounded constraint set (the box makes it bounded).
"""

from __future__ import annotations

import numpy as np

from ..errors import ManifoldError
from ..maps import PLMap
from ..polytope import Polytope, _lp_max
from .pieces import box_rows, region_rows


def _support(G, g, directions) -> tuple[np.ndarray, list]:
    """max_{G s <= g} d . s for each row d (``inf`` where unbounded), and the maximisers."""
    out = np.empty(len(directions))
    pts = []
    scale = max(1.0, float(np.max(np.abs(g)))) if len(g) else 1.0
    for i, d in enumerate(directions):
        val, x = _lp_max(G, g, np.asarray(d, dtype=float), scale)
        out[i] = val
        if x is not None:
            pts.append(x)
    return out, pts


def one_period_constraints(
    model: PLMap, orbit, basis, lo, hi, start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Stack :math:`C s \le c`: the regions (and box) of all k orbit points along the local orbit
    of :math:`p_j + U s`, :math:`j` = ``start`` (visiting :math:`p_j, p_{j+1}, \dots`)."""
    rows, rhs = [], []
    V = np.array(basis, dtype=float)
    k = orbit.period
    for i in range(k):
        j = (start + i) % k
        p = orbit.points[j]
        for G, g in (region_rows(model, orbit.patterns[j], p, V), box_rows(lo, hi, p, V)):
            rows.append(G)
            rhs.append(g)
        V = model.jacobian(orbit.patterns[j]) @ V
    return np.vstack(rows), np.concatenate(rhs)


def invariant_seed(
    C: np.ndarray,
    c: np.ndarray,
    T: np.ndarray,
    radius: float,
    max_iter: int = 500,
    tol: float = 1e-12,
) -> Polytope:
    r"""Maximal positively invariant polytope :math:`\{s: C T^m s \le c,\ m \ge 0\}`.

    Parameters
    ----------
    C, c : constraint rows (with ``c > 0``, the origin interior).
    T : (n, n) ndarray with spectral radius < 1.
    radius : float
        A bound on ``|s|`` over ``{C s <= c}``; rows with ``|row| * radius <= c`` are redundant
        without an LP.
    max_iter : int
        Bound on the number of powers of ``T``.

    Raises
    ------
    ManifoldError
        If the iteration does not terminate within ``max_iter`` powers (spectral radius
        extremely close to 1).
    """
    if np.any(c <= 0):
        raise ManifoldError(
            "the orbit point lies on a region boundary (a region constraint is active at the "
            "orbit), so no invariant seed with non-empty interior exists; the orbit is not "
            "structurally stable"
        )
    if C.shape[1] == 1:
        # 1-D: {C s <= c} is an interval [a, b] around 0; for 0 <= T < 1 it is invariant. For
        # -1 < T < 0 the maximal invariant set is [a, b] ∩ T^{-1}[a, b] (then T^2 s lies in
        # T^2 [a, b] ⊆ [a, b], and so on).
        col = C[:, 0]
        b = float(np.min(c[col > 0] / col[col > 0])) if np.any(col > 0) else radius
        a = float(np.max(c[col < 0] / col[col < 0])) if np.any(col < 0) else -radius
        t = float(T[0, 0])
        if t < 0:
            a, b = max(a, b / t), min(b, a / t)
        return Polytope.box([a], [b])
    Gk, gk = C.copy(), c.copy()
    rows = C.copy()
    # Points of the current set (LP maximisers): a candidate row violated at one of them is
    # certainly new, which saves its LP.
    pool = np.zeros((0, C.shape[1]))
    for _ in range(max_iter):
        rows = rows @ T
        norms = np.linalg.norm(rows, axis=1)
        cand = np.flatnonzero(norms * radius > c * (1 + tol))
        if cand.size == 0:
            return Polytope.from_halfspaces(Gk, gk).remove_redundant()
        thresh = c[cand] * (1 + 1e-10) + 1e-14
        new = np.zeros(cand.size, dtype=bool)
        if len(pool):
            inside = np.all(pool @ Gk.T <= gk + 1e-9 * (1 + np.abs(gk)), axis=1)
            pool = pool[inside]
            if len(pool):
                new = np.max(pool @ rows[cand].T, axis=0) > thresh
        todo = np.flatnonzero(~new)
        if todo.size:
            sup, pts = _support(Gk, gk, rows[cand[todo]])
            new[todo] = sup > thresh[todo]
            if pts:
                pool = np.vstack([pool, np.array(pts)])[-4 * C.shape[1] - 64 :]
        if not np.any(new):
            return Polytope.from_halfspaces(Gk, gk).remove_redundant()
        idx = cand[new]
        Gk = np.vstack([Gk, rows[idx]])
        gk = np.concatenate([gk, c[idx]])
    raise ManifoldError(
        f"the invariant seed did not converge within {max_iter} steps: the restricted monodromy "
        "contracts too slowly (an eigenvalue close to the unit circle); increase max_iter"
    )
