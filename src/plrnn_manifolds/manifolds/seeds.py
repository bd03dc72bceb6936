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
from scipy.optimize import linprog

from ..errors import ManifoldError
from ..maps import PLMap
from ..polytope import Polytope
from .pieces import box_rows, region_rows


def _support(G, g, directions) -> np.ndarray:
    """max_{G s <= g} d . s for each row d (``inf`` where unbounded)."""
    out = np.empty(len(directions))
    for i, d in enumerate(directions):
        res = linprog(-d, A_ub=G, b_ub=g, bounds=[(None, None)] * G.shape[1], method="highs")
        out[i] = -res.fun if res.status == 0 else np.inf
    return out


def one_period_constraints(model: PLMap, orbit, basis, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    r"""Stack :math:`C s \le c`: the regions (and box) of all k orbit points along the local orbit
    of :math:`p_0 + U s`."""
    rows, rhs = [], []
    V = np.array(basis, dtype=float)
    for i in range(orbit.period):
        p = orbit.points[i]
        for G, g in (region_rows(model, orbit.patterns[i], p, V), box_rows(lo, hi, p, V)):
            rows.append(G)
            rhs.append(g)
        V = model.jacobian(orbit.patterns[i]) @ V
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
    Gk, gk = C.copy(), c.copy()
    rows = C.copy()
    for _ in range(max_iter):
        rows = rows @ T
        norms = np.linalg.norm(rows, axis=1)
        cand = norms * radius > c * (1 + tol)
        if not np.any(cand):
            return Polytope.from_halfspaces(Gk, gk).remove_redundant()
        sup = _support(Gk, gk, rows[cand])
        new = sup > c[cand] * (1 + 1e-10) + 1e-14
        if not np.any(new):
            return Polytope.from_halfspaces(Gk, gk).remove_redundant()
        idx = np.flatnonzero(cand)[new]
        Gk = np.vstack([Gk, rows[idx]])
        gk = np.concatenate([gk, c[idx]])
    raise ManifoldError(
        f"the invariant seed did not converge within {max_iter} steps: the restricted monodromy "
        "contracts too slowly (an eigenvalue close to the unit circle); increase max_iter"
    )
