r"""Exact manifold pieces: polytopes in affine subspaces, and one step of the map on them.

A piece of an n-dimensional manifold in :math:`\mathbb{R}^M` is

.. math::

    Q = \{ o + U s : G s \le g \},

with origin :math:`o`, orthonormal basis :math:`U \in \mathbb{R}^{M\times n}` and a polytope in
local coordinates :math:`s`. Every point of a piece lies exactly on the manifold; the only error is
floating-point round-off, which :func:`link_residual` measures with the true map.

Each piece (except the seeds) is linked to the piece it was grown from by an affine map of local
coordinates :math:`(R, t)`:

- stable manifolds (grown backward): :math:`F(o + U s) = o_p + U_p (R s + t)`;
- unstable manifolds (grown forward): :math:`F(o_p + U_p s_p) = o + U (R s_p + t)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..maps import PLMap, pattern_to_str
from ..polytope import Polytope


@dataclass(eq=False)
class Piece:
    """One exact piece of a stable or unstable manifold.

    Attributes
    ----------
    region : (H,) bool ndarray
        Activation pattern of the region that contains the piece.
    depth : int
        Number of map steps between the piece and the seed it was grown from.
    origin : (M,) ndarray
    basis : (M, n) ndarray
        Orthonormal columns.
    polytope : Polytope
        Local coordinates ``s`` of the piece, ``G s <= g``.
    parent : Piece or None
        The piece this one was grown from (``None`` for a seed).
    link : tuple (R, t) or None
        Affine map of local coordinates to the parent (see module docstring).
    seed : int
        Index of the orbit point whose seed the piece descends from.
    """

    region: np.ndarray
    depth: int
    origin: np.ndarray
    basis: np.ndarray
    polytope: Polytope
    parent: Piece | None = None
    link: tuple[np.ndarray, np.ndarray] | None = None
    seed: int = 0
    clipped: bool = field(default=False)

    @property
    def dimension(self) -> int:
        return self.basis.shape[1]

    @property
    def G(self) -> np.ndarray:
        return self.polytope.G

    @property
    def g(self) -> np.ndarray:
        return self.polytope.g

    def point(self, s) -> np.ndarray:
        """Map local coordinates ``(..., n)`` to states ``(..., M)``."""
        return self.origin + np.asarray(s) @ self.basis.T

    def vertices(self) -> np.ndarray | None:
        """Vertices in state space ``(v, M)`` for pieces of dimension 1 or 2, else ``None``."""
        if self.dimension > 2:
            return None
        return self.point(self.polytope.vertices())

    def distance(self, x) -> np.ndarray:
        r"""Exact Euclidean distance from ``x`` ``(..., M)`` to the piece.

        With :math:`s^* = U^T (x - o)`, the distance is
        :math:`\sqrt{\|x - o - U s^*\|^2 + \|s^* - \Pi(s^*)\|^2}` where :math:`\Pi` is the
        Euclidean projection onto the polytope (orthonormal :math:`U` makes the two parts
        orthogonal).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        rel = x - self.origin
        s = rel @ self.basis
        perp = rel - s @ self.basis.T
        out = np.empty(len(x))
        for i in range(len(x)):
            proj = self.polytope.project(s[i])
            out[i] = np.sqrt(np.sum(perp[i] ** 2) + np.sum((s[i] - proj) ** 2))
        return out

    def volume(self) -> float:
        """n-dimensional volume (length, area, ...) of the piece."""
        return float(self.polytope.volume())

    def to_dict(self) -> dict:
        d = {
            "region": pattern_to_str(self.region),
            "depth": int(self.depth),
            "origin": self.origin,
            "basis": self.basis,
            "G": self.polytope.G,
            "g": self.polytope.g,
        }
        if self.dimension <= 2:
            d["vertices"] = self.vertices()
        return d


# ---------------------------------------------------------------------------------- half-spaces
def hull_distances(pieces, X) -> np.ndarray:
    r"""Distances ``(len(pieces), N)`` from points ``X`` ``(N, M)`` to the pieces' affine hulls,
    :math:`\|(I - U U^T)(x - o)\|`: a lower bound on the distance to each piece, used to prune
    exact distance queries. Cost :math:`O(N M n)` per piece."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    out = np.empty((len(pieces), len(X)))
    for k, p in enumerate(pieces):
        rel = X - p.origin
        out[k] = np.linalg.norm(rel - (rel @ p.basis) @ p.basis.T, axis=1)
    return out


def region_rows(model: PLMap, d, origin, basis) -> tuple[np.ndarray, np.ndarray]:
    r"""Region :math:`P_d` in the local coordinates of the subspace :math:`o + U s`."""
    Gr, gr = model.region(d)
    return Gr @ basis, gr - Gr @ origin


def box_rows(lo, hi, origin, basis) -> tuple[np.ndarray, np.ndarray]:
    r"""The box :math:`lo \le o + U s \le hi` in local coordinates (``2M`` rows)."""
    return np.vstack([basis, -basis]), np.concatenate([hi - origin, origin - lo])


def recentre(origin, basis, poly: Polytope):
    """Move the origin to the polytope's Chebyshev centre (for n >= 3 any cached inscribed ball's
    centre, which saves an LP), to keep local coordinates small.

    Returns ``(origin', poly', shift)`` with ``s' = s - shift``.
    """
    c, _ = poly.inner_ball() if poly.dim > 2 else poly.chebyshev()
    c = np.asarray(c, dtype=float)
    # translate() carries the cached Chebyshev ball, vertices and redundancy flags over.
    return origin + basis @ c, poly.translate(-c), c


def _orth(V: np.ndarray, rank_tol: float):
    """Thin QR with a rank test; returns ``(U, R, rank_ok)``."""
    U, R = np.linalg.qr(V)
    diag = np.abs(np.diag(R))
    ok = diag.size == 0 or diag.min() > rank_tol * max(diag.max(), 1e-300)
    return U, R, ok


def forward_image(model: PLMap, piece: Piece, rank_tol: float = 1e-12):
    r"""Image of ``piece`` under its region's affine map :math:`F_d`.

    :math:`o' = J_d o + c_d`, :math:`J_d U = U' R` (QR), polytope
    :math:`\{s' : G R^{-1} s' \le g\}`, and :math:`s' = R s`.

    Returns
    -------
    (origin, basis, polytope, R) or None
        ``None`` when :math:`J_d U` loses rank (the manifold folds).
    """
    J, c = model.affine(piece.region)
    U2, R, ok = _orth(J @ piece.basis, rank_tol)
    if not ok:
        return None
    return J @ piece.origin + c, U2, piece.polytope.affine_image(R), R


def backward_image(model: PLMap, piece: Piece, d, cond_max: float = 1e12, inverse=None):
    r"""Preimage of the affine hull of ``piece`` under the affine map :math:`F_{d}` of region ``d``.

    With :math:`J_d x_0 = o - c_d` and :math:`J_d^{-1} U = U' R`, a point :math:`x = x_0 + U' s'`
    maps to :math:`o + U R^{-1} s'`; the polytope is :math:`\{s' : G R^{-1} s' \le g\}`.

    ``inverse`` optionally passes ``(J_d, J_d^{-1}, c_d)`` (``J_d^{-1} = None`` for a singular
    :math:`J_d`) cached by the caller, so that repeated calls do not refactorise.

    Returns
    -------
    (origin, basis, polytope, Rinv) or None
        ``None`` when :math:`J_d` is singular (the preimage is higher-dimensional). ``Rinv`` maps
        local coordinates of the preimage to those of ``piece``: ``s = Rinv s'``.
    """
    if inverse is None:
        J, c = model.affine(d)
        if np.linalg.cond(J) > cond_max:
            return None
        rhs = np.column_stack([piece.origin - c, piece.basis])
        sol = np.linalg.solve(J, rhs)
    else:
        J, Jinv, c = inverse
        if Jinv is None:
            return None
        sol = solve_with_inverse(J, Jinv, np.column_stack([piece.origin - c, piece.basis]))
    x0 = sol[:, 0]
    U2, R, ok = _orth(sol[:, 1:], 1e-12)
    if not ok:
        return None
    Rinv = np.linalg.inv(R)
    return x0, U2, piece.polytope.affine_image(R), Rinv


def solve_with_inverse(J: np.ndarray, Jinv: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``J x = b`` with a cached inverse plus one step of iterative refinement.

    Four small matrix products: much cheaper than a LAPACK solve for the many repeated
    solves of growth (and immune to BLAS thread oversubscription in triangular solves), with a
    residual ``|J x - b|`` at round-off level for well-conditioned ``J``.
    """
    x = Jinv @ b
    return x + Jinv @ (b - J @ x)


def residual_points(poly: Polytope, n: int, rng) -> np.ndarray:
    """Points of a polytope for residual checks: uniform samples for dimension <= 2 (cheap exact
    samplers), otherwise points of an inscribed ball (the Chebyshev ball, or a cached one; a
    hit-and-run chain per piece would cost far more than the check itself, and any interior
    point tests the affine link)."""
    if poly.dim <= 2:
        return poly.sample(n, rng)
    c, r = poly.inner_ball()
    v = rng.normal(size=(n, poly.dim))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.asarray(c) + (r * rng.random((n, 1))) * v


def link_residual(model: PLMap, piece: Piece, kind: str, n: int, rng) -> float:
    """One-step residual of ``piece`` against its parent, evaluated with the true map ``F``.

    Samples ``n`` points and returns the largest distance between ``F`` of a point and the
    corresponding point predicted by the piece's link (see module docstring). Zero up to
    round-off for an exact piece.
    """
    if piece.parent is None or piece.link is None:
        return 0.0
    R, t = piece.link
    par = piece.parent
    s = residual_points(piece.polytope, n, rng)
    if kind == "stable":
        x = piece.point(s)
        pred = par.point(s @ R.T + t)
        return float(np.max(np.linalg.norm(model(x) - pred, axis=-1)))
    # unstable: pull the sampled child coordinates back into the parent's coordinates
    sp = np.linalg.solve(R, (s - t).T).T
    y = par.point(sp)
    return float(np.max(np.linalg.norm(model(y) - piece.point(s), axis=-1)))
