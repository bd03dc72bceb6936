r"""The paper's sampled method (Eisenmann et al., ICLR 2026), kept for comparison.

1. **Support points**: ``n_support`` points drawn uniformly in a ball of radius ``radius`` in the
   stable (or unstable) subspace at every orbit point, from the ordered real Schur form.
2. **Propagation**: the points are pushed backward (stable: point preimages solved region by
   region, SCYFI-style) or forward (unstable) for ``depth`` steps; points leaving the box are
   dropped.
3. **Fit**: per linear region, a PCA plane of the manifold's dimension through the points that
   fell into it; its extent is the convex hull (n <= 2) or bounding box (n >= 3) of the points
   in plane coordinates, intersected with the region.

Every fitted piece carries fitting error; :func:`~plrnn_manifolds.manifolds.verify.delta_sigma`
is the paper's quality metric. The result is a :class:`~.growth.Manifold` with
``method = "sampled"``, so the two methods can be compared on the same inputs.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from ..bounds import default_box, parse_box
from ..errors import ManifoldError
from ..maps import PLMap
from ..polytope import Polytope
from .growth import Manifold
from .pieces import Piece, region_rows
from .subspaces import invariant_subspace


def point_preimages(model: PLMap, Y: np.ndarray, rng, max_iter: int = 60, restarts: int = 3):
    """One preimage of each row of ``Y`` (NaN rows where none was found).

    Guess a pattern, solve :math:`J_d x = y - c_d`, re-pattern, repeat (at most ``max_iter``
    times), restarting from random patterns. Vectorised over points sharing a guess.
    """
    X = np.full_like(Y, np.nan)
    todo = np.arange(len(Y))
    for r in range(restarts + 1):
        if todo.size == 0:
            break
        D = model.pattern(Y[todo]) if r == 0 else rng.random((todo.size, model.H)) < 0.5
        for _ in range(max_iter):
            J = model.jacobian(D)
            c = model.h1 + (D * model.h2) @ model.W1.T
            try:
                x = np.linalg.solve(J, (Y[todo] - c)[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break
            Dn = model.pattern(x)
            done = np.all(Dn == D, axis=1)
            X[todo[done]] = x[done]
            todo, D = todo[~done], Dn[~done]
            if todo.size == 0:
                break
    return X


def sampled_manifold(
    model: PLMap,
    orbit,
    kind: str,
    *,
    box=None,
    depth: int | None = None,
    n_support: int = 400,
    radius: float | None = None,
    seed: int = 0,
    orbit_id: int | None = None,
) -> Manifold:
    """The paper's sampled manifold approximation (see module docstring).

    Raises
    ------
    ManifoldError
        If the orbit is not a saddle or the box does not contain it.
    """
    t0 = time.perf_counter()
    if orbit.classification != "saddle":
        raise ManifoldError(f"the orbit is {orbit.classification}, not a saddle")
    lo, hi = default_box(model, orbit.points, seed=seed) if box is None else parse_box(box, model.M)
    if np.any(orbit.points < lo) or np.any(orbit.points > hi):
        raise ManifoldError("the box does not contain the orbit; enlarge it")
    depth = max(20, 4 * orbit.period) if depth is None else int(depth)
    rng = np.random.default_rng(seed)
    if radius is None:
        radius = 0.5 * float(np.min(model.boundary_margin(orbit.points)))
    clouds = []
    dim = None
    for j in range(orbit.period):
        U = invariant_subspace(orbit.monodromy_at(j), kind).basis
        dim = U.shape[1]
        v = rng.normal(size=(n_support, dim))
        v *= (rng.random((n_support, 1)) ** (1 / dim)) / np.linalg.norm(v, axis=1, keepdims=True)
        clouds.append(orbit.points[j] + radius * v @ U.T)
    P = np.vstack(clouds)
    allpts = [P]
    for _ in range(depth):
        P = point_preimages(model, P, rng) if kind == "stable" else model(P)
        keep = np.all(np.isfinite(P), axis=1) & np.all((P >= lo) & (P <= hi), axis=1)
        P = P[keep]
        if len(P) == 0:
            break
        allpts.append(P)
    X = np.vstack(allpts)
    pats = model.pattern(X)
    keys, inv = np.unique(pats, axis=0, return_inverse=True)
    pieces = []
    for r, d in enumerate(keys):
        pts = X[inv.ravel() == r]
        if len(pts) < dim + 1:
            continue
        o = pts.mean(axis=0)
        _, _, Vt = np.linalg.svd(pts - o, full_matrices=False)
        U = Vt[:dim].T
        s = (pts - o) @ U
        poly = _extent(s)
        Gr, gr = region_rows(model, d, o, U)
        poly = poly.intersect(Gr, gr)
        if poly.is_empty():
            continue
        pieces.append(Piece(d.astype(bool), 0, o, U, poly.remove_redundant()))
    man = Manifold(
        orbit=orbit,
        kind=kind,
        dimension=dim,
        pieces=pieces,
        box=(lo, hi),
        growth_box=(lo, hi),
        stopped_by=["depth"],
        complete=False,
        max_residual=float("nan"),
        depth=depth,
        max_pieces=len(pieces),
        method="sampled",
        orbit_id=orbit_id,
        scale=model.scale,
        events=["sampled method: pieces are PCA fits to propagated sample points"],
    )
    man.seconds = time.perf_counter() - t0
    return man


def _extent(s: np.ndarray) -> Polytope:
    n = s.shape[1]
    if n == 1:
        return Polytope.box([s.min()], [s.max()])
    if n <= 6:
        try:
            hull = ConvexHull(s)
            return Polytope.from_halfspaces(hull.equations[:, :-1], -hull.equations[:, -1])
        except (QhullError, ValueError):
            pass
    return Polytope.box(s.min(axis=0), s.max(axis=0))
