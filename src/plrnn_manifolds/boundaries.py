r"""Basin boundaries from exact stable manifolds (DESIGN.md section 5).

The boundary between the basins of two attractors of an invertible map is made of stable
manifolds of saddles with one unstable direction: a codimension-1 stable manifold
:math:`W^s(p)` has two sides, and points on either side follow the two branches of the unstable
manifold, which may end on different attractors. :func:`basin_boundaries` therefore

1. takes the stable manifold of every saddle with ``n_unstable == 1`` (dimension ``M - 1``);
2. **probes** which attractors it separates: at ``n_probes`` points on its pieces (seeded
   random points, the seeds included) it steps ``step * L`` to either side along the piece
   normal, iterates both points with the true map and labels them with the attractor catalogue
   (:func:`~plrnn_manifolds.basins.basin_of`). A probe whose two sides reach different labels
   shows that the manifold separates those basins there (label ``-1`` is escape to infinity,
   which also has a basin; undecided probes are ignored). A stable manifold whose probes all
   land in one basin on both sides (e.g. a saddle with a negative unstable eigenvalue, whose two
   unstable branches are swapped at every step) is not a boundary;
3. computes the **exact distance** of every attractor to its basin boundary:
   :math:`\min_{x \in A} \operatorname{dist}(x, \cup W^s)` over the points of the attractor
   and over the stable manifolds that separate it from something, each distance being the exact
   Euclidean distance to the pieces (:meth:`~plrnn_manifolds.manifolds.Manifold.distance`: a
   projection onto each polytope in its affine subspace). For fixed points and cycles this is
   exact up to round-off; for chaotic or quasi-periodic attractors the minimum runs over the
   stored sample of points (at most ``max_attractor_points`` of them), an upper bound that
   converges as the sample fills the attractor.

The distance is only as complete as the manifolds: parts of the boundary outside the growth box
or beyond the depth limit are not seen, so it is an upper bound on the true distance when the
manifold growth was stopped (``stopped_by``), and exact when the nearest part of the boundary
was computed. A robust attractor has a large distance relative to its size; the paper compares
e.g. 2.3 against 1.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .basins import AttractorCatalogue, basin_of
from .errors import DataError
from .manifolds.pieces import hull_distances

__all__ = [
    "BasinBoundary",
    "BoundaryAnalysis",
    "basin_boundaries",
    "closest_point_index",
    "nearest_point",
]


@dataclass
class BasinBoundary:
    """What one codimension-1 stable manifold separates.

    Attributes
    ----------
    orbit : int or None
        Id of the saddle orbit.
    separates : list of int
        Labels found on the two sides of the manifold at probes where they differ (attractor
        ids; ``-1`` is escape), sorted.
    pairs : dict
        ``"a|b"`` (``a < b``) -> number of probes separating labels ``a`` and ``b``; ``"a|a"``
        counts probes with the same label on both sides.
    n_probes : int
        Probes made (both sides decided or not).
    n_undecided : int
        Probes with an undecided side (label ``-2``), ignored.
    is_boundary : bool
        Some probe separates two different labels.
    """

    orbit: int | None
    separates: list
    pairs: dict
    n_probes: int
    n_undecided: int
    is_boundary: bool
    stopped_by: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "orbit": None if self.orbit is None else int(self.orbit),
            "separates": [int(v) for v in self.separates],
            "pairs": {k: int(v) for k, v in self.pairs.items()},
            "n_probes": int(self.n_probes),
            "n_undecided": int(self.n_undecided),
            "is_boundary": bool(self.is_boundary),
            "stopped_by": list(self.stopped_by),
        }


@dataclass
class BoundaryAnalysis:
    """Result of :func:`basin_boundaries`.

    Attributes
    ----------
    boundaries : list of BasinBoundary
        One per codimension-1 stable manifold given.
    distances : dict
        Attractor id -> exact distance to its basin boundary, or ``None`` if no computed
        boundary separates it from anything.
    nearest : dict
        Attractor id -> ``{"orbit", "attractor_point", "boundary_point"}``: where the distance
        is attained.
    notes : list of str
    """

    boundaries: list
    distances: dict
    nearest: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def apply(self, catalogue: AttractorCatalogue) -> AttractorCatalogue:
        """Copy of ``catalogue`` with ``distance_to_boundary`` filled in."""
        import copy

        new = copy.deepcopy(catalogue)
        for a in new.attractors:
            d = self.distances.get(a.id)
            a.distance_to_boundary = None if d is None else float(d)
        return new

    def to_dict(self) -> dict:
        return {
            "boundaries": [b.to_dict() for b in self.boundaries],
            "distances": {
                str(k): (None if v is None else float(v)) for k, v in self.distances.items()
            },
            "nearest": {
                str(k): {
                    "orbit": v["orbit"],
                    "attractor_point": np.asarray(v["attractor_point"]).tolist(),
                    "boundary_point": np.asarray(v["boundary_point"]).tolist(),
                }
                for k, v in self.nearest.items()
            },
            "notes": list(self.notes),
        }


def _normal(basis: np.ndarray) -> np.ndarray:
    """Unit normal of a codimension-1 piece (the left singular vector missing from ``basis``)."""
    Q, _ = np.linalg.qr(basis, mode="complete")
    return Q[:, -1]


def _probe_points(manifold, n_probes: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(points, normals)`` on the pieces: the seed pieces first, then random pieces, one random
    point each. Pieces of dimension <= 2 are weighted by their exact area/length and sampled
    uniformly; higher-dimensional ones (where volumes and uniform samples need Monte Carlo) are
    weighted by their Chebyshev radius to the power n and probed at a random point of their
    inscribed ball."""
    pieces = list(manifold.pieces)
    seeds = [i for i, p in enumerate(pieces) if p.depth == 0]
    low = manifold.dimension <= 2
    if low:
        w = np.array([max(p.volume(), 0.0) for p in pieces])
    else:
        w = np.array([max(p.polytope.chebyshev()[1], 0.0) ** p.dimension for p in pieces])
    if not np.isfinite(w).all() or w.sum() <= 0:
        w = np.ones(len(pieces))
    n_rand = max(n_probes - len(seeds), 0)
    chosen = list(seeds[:n_probes])
    if n_rand:
        chosen += list(rng.choice(len(pieces), size=n_rand, p=w / w.sum()))
    X, N = [], []
    for i in chosen:
        p = pieces[i]
        c, r = p.polytope.chebyshev()
        if low:
            try:
                s = p.polytope.sample(1, rng)[0]
            except Exception:  # a flat piece: its centre
                s = c
        else:
            u = rng.normal(size=p.dimension)
            s = c + max(r, 0.0) * rng.random() ** (1.0 / p.dimension) * u / np.linalg.norm(u)
        X.append(p.point(s))
        N.append(_normal(p.basis))
    return np.array(X), np.array(N)


def closest_point_index(manifold, P, bound: float = np.inf) -> tuple[float, int]:
    r"""Smallest exact distance from a point set to the manifold, :math:`\min_j d(P_j, W)`, and
    the index ``j`` that attains it.

    Every (point, piece) pair gets the lower bound :math:`\|(I - U U^T)(P_j - o)\|` (the
    distance to the piece's affine hull); pairs are visited in increasing order of it and one
    projection is solved per pair until the bound reaches the best distance found. For a
    codimension-1 boundary and an attractor cloud this solves a handful of projections instead
    of one per point and piece. Returns ``(bound, -1)`` if no pair can beat ``bound``
    (``(inf, -1)`` for an empty manifold or point set).
    """
    P = np.atleast_2d(np.asarray(P, dtype=float))
    pieces = list(manifold.pieces)
    if not pieces or not len(P):
        return float(bound), -1
    lbs = hull_distances(pieces, P)
    best, arg = float(bound), -1
    flat = np.argsort(lbs, axis=None)
    for f in flat:
        k, j = divmod(int(f), len(P))
        if lbs[k, j] >= best:
            break
        d = float(pieces[k].distance(P[j])[0])
        if d < best:
            best, arg = d, j
    return best, arg


def nearest_point(manifold, x) -> tuple[float, np.ndarray | None]:
    """Exact distance from ``x`` ``(M,)`` to the manifold and the nearest point on it.

    Pieces are visited in order of the distance to their affine hull (a lower bound) and pruned
    with it. Returns ``(inf, None)`` for an empty manifold.
    """
    x = np.asarray(x, dtype=float)
    pieces = list(manifold.pieces)
    if not pieces:
        return float("inf"), None
    lbs = hull_distances(pieces, x)[:, 0]
    best, best_pt = float("inf"), None
    for k in np.argsort(lbs):
        if lbs[k] >= best:
            break
        p = pieces[k]
        s = p.basis.T @ (x - p.origin)
        proj = p.polytope.project(s)
        y = p.point(proj)
        d = float(np.linalg.norm(x - y))
        if d < best:
            best, best_pt = d, y
    return best, best_pt


def basin_boundaries(
    model,
    catalogue: AttractorCatalogue,
    manifolds,
    *,
    n_probes: int = 48,
    step: float = 1e-5,
    n_steps: int = 2000,
    seed: int = 0,
    max_attractor_points: int = 500,
) -> BoundaryAnalysis:
    r"""Which attractors each codimension-1 stable manifold separates, and the exact distance of
    every attractor to its basin boundary (see module docstring).

    Parameters
    ----------
    model : PLMap
    catalogue : AttractorCatalogue
        From :func:`~plrnn_manifolds.basins.find_attractors`.
    manifolds : sequence of Manifold
        Manifolds of saddle orbits (both kinds may be passed; only stable manifolds of
        dimension ``M - 1`` are used). ``orbit_id`` names the saddle.
    n_probes : int
        Probe points per manifold.
    step : float
        Side step, relative to ``L = catalogue.length_scale``.
    n_steps : int
        Iterations allowed to :func:`~plrnn_manifolds.basins.basin_of` per probe.
    seed : int
        Seed of the probe points.
    max_attractor_points : int
        Largest number of attractor points used for the distance (a seeded subsample of larger
        clouds; fixed points and cycles always use all their points).

    Returns
    -------
    BoundaryAnalysis

    Raises
    ------
    DataError
        If ``catalogue`` is not an :class:`~plrnn_manifolds.basins.AttractorCatalogue` or a
        manifold belongs to another dimension.

    Notes
    -----
    Cost: ``2 n_probes`` trajectories of up to ``n_steps`` steps per manifold, plus one exact
    distance query per (attractor point, boundary manifold), which costs one projection per
    piece not pruned by its affine-hull lower bound.
    """
    if not isinstance(catalogue, AttractorCatalogue):
        raise DataError("catalogue must be an AttractorCatalogue from find_attractors")
    if int(n_probes) < 1:
        raise DataError(f"n_probes must be >= 1, got {n_probes!r}")
    if not (np.isfinite(step) and step > 0):
        raise DataError(f"step must be a positive number, got {step!r}")
    M = model.M
    rng = np.random.default_rng(seed)
    L = float(catalogue.length_scale)
    eps = float(step) * L
    out_b, used = [], []
    notes = []
    for k, man in enumerate(manifolds):
        if getattr(man, "kind", None) != "stable" or man.dimension != M - 1:
            continue
        oid = getattr(man, "orbit_id", None)
        oid = k if oid is None else int(oid)
        if not man.pieces:
            notes.append(f"the stable manifold of orbit {oid} has no pieces inside the box")
            continue
        if np.asarray(man.pieces[0].origin).shape != (M,):
            raise DataError(f"a manifold does not live in R^{M}; was it grown for another model?")
        X, N = _probe_points(man, int(n_probes), rng)
        pts = np.vstack([X + eps * N, X - eps * N])
        lab = basin_of(model, catalogue, pts, n_steps=n_steps)
        lp, lm = lab[: len(X)], lab[len(X) :]
        pairs: dict = {}
        und = 0
        for a, b in zip(lp.tolist(), lm.tolist(), strict=True):
            if a == -2 or b == -2:
                und += 1
                continue
            key = f"{min(a, b)}|{max(a, b)}"
            pairs[key] = pairs.get(key, 0) + 1
        sep = sorted(
            {int(v) for key in pairs if len(set(key.split("|"))) == 2 for v in key.split("|")}
        )
        bnd = BasinBoundary(
            orbit=oid,
            separates=sep,
            pairs=dict(sorted(pairs.items(), key=lambda kv: -kv[1])),
            n_probes=len(X),
            n_undecided=und,
            is_boundary=bool(sep),
            stopped_by=list(getattr(man, "stopped_by", [])),
        )
        out_b.append(bnd)
        used.append((bnd, man))
    distances: dict = {}
    nearest: dict = {}
    sub_rng = np.random.default_rng(seed + 1)
    for a in catalogue:
        mans = [(b, m) for b, m in used if b.is_boundary and a.id in b.separates]
        if not mans:
            distances[a.id] = None
            continue
        P = np.atleast_2d(np.asarray(a.points, dtype=float))
        if len(P) > max_attractor_points:
            P = P[sub_rng.choice(len(P), size=int(max_attractor_points), replace=False)]
        best, arg = float("inf"), None
        for b, m in mans:
            d, j = closest_point_index(m, P, bound=best)
            if d < best:
                best, arg = d, (b.orbit, P[j], m)
        distances[a.id] = best
        if arg is not None:
            _, y = nearest_point(arg[2], arg[1])
            nearest[a.id] = {"orbit": arg[0], "attractor_point": arg[1], "boundary_point": y}
        lim = [s for b, _ in mans for s in b.stopped_by if s != "complete"]
        if lim:
            notes.append(
                f"attractor {a.id}: the boundary manifolds were limited by {sorted(set(lim))}, "
                "so its distance is exact for the computed parts (an upper bound overall)"
            )
    if not used:
        notes.append(
            "no codimension-1 stable manifold was given (saddles with one unstable direction); "
            "no basin boundary was computed"
        )
    return BoundaryAnalysis(boundaries=out_b, distances=distances, nearest=nearest, notes=notes)
