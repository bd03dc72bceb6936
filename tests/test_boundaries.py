"""Basin boundaries from codimension-1 stable manifolds, checked against brute-force simulation.

``bistable_alrnn(5, 3)`` has two stable fixed points and one saddle with a single unstable
direction; the saddle's 4-dimensional stable manifold is the boundary between the two basins.
"""

from __future__ import annotations

import numpy as np
import pytest

from plrnn_manifolds.basins import basin_of, find_attractors
from plrnn_manifolds.boundaries import basin_boundaries, closest_point_index, nearest_point
from plrnn_manifolds.errors import DataError
from plrnn_manifolds.intersections import chaos_verdict, find_intersections
from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.models import bistable_alrnn, border_collision
from plrnn_manifolds.orbits import find_orbits


@pytest.fixture(scope="module")
def bistable():
    model = bistable_alrnn(5, 3)
    orb = find_orbits(model, max_period=2, seed=0)
    # the bistable pair (coordinates 2, 3) needs room; the contracting units stay near 0
    lo = np.array([-1.0, -1.0, -7.6, -7.6, -1.0])
    hi = -lo
    sid = [i for i, o in enumerate(orb.orbits) if o.classification == "saddle"]
    assert len(sid) == 1
    sad = orb.orbits[sid[0]]
    ws = grow_manifold(model, sad, "stable", box=(lo, hi), orbit_id=sid[0], growth_margin=0.25)
    wu = grow_manifold(model, sad, "unstable", box=(lo, hi), orbit_id=sid[0])
    cat = find_attractors(model, orb.orbits, n_initial=100, box=(lo, hi), seed=0)
    ba = basin_boundaries(model, cat, [ws, wu], n_probes=32, seed=0)
    return model, orb, sid[0], ws, wu, cat, ba


def test_catalogue_has_the_two_stable_fixed_points_and_not_the_saddle(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    assert [a.kind for a in cat] == ["fixed_point", "fixed_point"]
    assert all(orb.orbits[a.orbit].classification == "stable" for a in cat)
    saddle = orb.orbits[sid].points[0]
    for a in cat:
        assert np.linalg.norm(a.points[0] - saddle) > 1.0
        assert a.lyapunov[0] < 0


def test_boundary_separates_the_two_stable_fixed_points(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    assert ws.dimension == model.M - 1
    assert len(ba.boundaries) == 1  # the unstable manifold is not a boundary candidate
    b = ba.boundaries[0]
    assert b.orbit == sid and b.is_boundary
    assert b.separates == sorted(a.id for a in cat)
    # every decided probe has the two attractors on its two sides
    assert b.pairs == {"0|1": b.n_probes - b.n_undecided}
    assert b.n_undecided == 0


def test_distance_is_attained_on_the_manifold(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    for a in cat:
        d = ba.distances[a.id]
        near = ba.nearest[a.id]
        y = near["boundary_point"]
        assert np.linalg.norm(near["attractor_point"] - y) == pytest.approx(d, rel=1e-9)
        assert ws.distance(y) <= 1e-9 * model.scale
        d2, y2 = nearest_point(ws, a.points[0])
        assert d2 == pytest.approx(d, rel=1e-9)
    new = ba.apply(cat)
    assert [a.distance_to_boundary for a in new] == [ba.distances[a.id] for a in cat]
    assert all(a.distance_to_boundary is None for a in cat)  # the input is not modified


def test_closest_point_index_agrees_with_all_pairs(bistable):
    """Branch and bound over (point, piece) pairs against the distance of every point."""
    model, orb, sid, ws, wu, cat, ba = bistable
    rng = np.random.default_rng(3)
    P = rng.uniform(-6.0, 6.0, size=(60, model.M))
    brute = ws.distance(P)
    d, j = closest_point_index(ws, P)
    assert d == pytest.approx(brute.min(), rel=1e-12)
    assert brute[j] == pytest.approx(d, rel=1e-12)
    # a bound below the answer returns it untouched with no index
    assert closest_point_index(ws, P, bound=0.5 * d) == (0.5 * d, -1)
    assert closest_point_index(ws, P[:0]) == (np.inf, -1)


def test_hull_distances_bound_the_piece_distances(bistable):
    """The affine-hull distance is a lower bound on the distance to each piece, and exact for a
    point straight off an interior point of a piece."""
    from plrnn_manifolds.manifolds.pieces import hull_distances

    model, orb, sid, ws, wu, cat, ba = bistable
    rng = np.random.default_rng(5)
    P = rng.uniform(-6.0, 6.0, size=(20, model.M))
    pieces = ws.pieces[:15]
    H = hull_distances(pieces, P)
    assert H.shape == (len(pieces), len(P))
    for k, p in enumerate(pieces):
        assert np.all(H[k] <= p.distance(P) + 1e-12)
        c, _ = p.polytope.chebyshev()
        n = np.linalg.svd(p.basis, full_matrices=True)[0][:, -1]  # normal of a codim-1 piece
        x = p.point(c) + 0.3 * n
        assert hull_distances([p], x)[0, 0] == pytest.approx(0.3, rel=1e-12)
        assert p.distance(x)[0] == pytest.approx(0.3, rel=1e-9)


def _first_exit(model, cat, x0, D, aid, r_max, n_scan=40, n_bisect=30):
    """Brute force: smallest r along each ray x0 + r D whose point is not in the basin of
    ``aid`` (scan, then bisection on the first change)."""
    rs = np.linspace(0.0, r_max, n_scan + 1)[1:]
    labs = np.array([basin_of(model, cat, x0 + r * D, n_steps=3000) for r in rs])
    out = labs != aid
    has = out.any(axis=0)
    first = np.argmax(out, axis=0)
    lo = np.where(first > 0, rs[np.maximum(first - 1, 0)], 0.0)
    hi = rs[first]
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        inside = basin_of(model, cat, x0 + mid[:, None] * D, n_steps=3000) == aid
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return np.where(has, 0.5 * (lo + hi), np.inf)


def test_distance_to_boundary_agrees_with_brute_force(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    rng = np.random.default_rng(7)
    for a in cat:
        d = ba.distances[a.id]
        assert 5.0 < d < 9.0
        x0 = a.points[0]
        # 1) along the ray to the exact nearest boundary point, simulation leaves the basin
        #    exactly there
        y = ba.nearest[a.id]["boundary_point"]
        u = (y - x0) / np.linalg.norm(y - x0)
        r_ray = _first_exit(model, cat, x0, u[None], a.id, 1.5 * d)[0]
        assert r_ray == pytest.approx(d, abs=1e-4 * d)
        # 2) no random ray leaves the basin closer than the exact distance, and the closest
        #    ones come near it
        D = rng.normal(size=(400, model.M))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        r = _first_exit(model, cat, x0, D, a.id, 3.0 * d, n_bisect=20)
        assert np.isfinite(r).sum() > 50  # rays pointing away never leave the basin
        assert r.min() >= d * (1 - 1e-4)
        assert r.min() <= 1.15 * d


def test_bistable_has_no_chaos(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    search = find_intersections(model, [wu, ws])
    assert search.intersections == []
    v = chaos_verdict(search, cat, manifolds=[wu, ws])
    assert v["verdict"] == "none"


def test_flip_saddle_stable_manifold_is_not_a_boundary():
    """The Fig 5 saddle has a negative unstable eigenvalue: the two sides of its stable
    manifold are swapped at every step and end on the same (chaotic) attractor."""
    model = border_collision(
        tau_r=1.5, delta_r=0.75, tau_l=-1.77, delta_l=0.9, c=0.6, d=0.15, h1=-0.7, h2=-0.4
    )
    o = find_orbits(model, max_period=1).orbits[0]
    assert o.eigenvalues[0].real < -1
    box = (np.array([-3.0, -4.0]), np.array([4.0, 2.5]))
    ws = grow_manifold(model, o, "stable", box=box, depth=5, orbit_id=0)
    cat = find_attractors(model, [o], n_initial=10, n_transient=300, n_keep=300, box=box)
    ba = basin_boundaries(model, cat, [ws], n_probes=12)
    assert not ba.boundaries[0].is_boundary
    assert ba.boundaries[0].separates == []
    assert all(v is None for v in ba.distances.values())


def test_bad_input(bistable):
    model, orb, sid, ws, wu, cat, ba = bistable
    with pytest.raises(DataError, match="AttractorCatalogue"):
        basin_boundaries(model, [1, 2], [ws])
    with pytest.raises(DataError, match="n_probes"):
        basin_boundaries(model, cat, [ws], n_probes=0)
    with pytest.raises(DataError, match="step"):
        basin_boundaries(model, cat, [ws], step=-1.0)
    empty = basin_boundaries(model, cat, [wu])
    assert empty.boundaries == [] and all(v is None for v in empty.distances.values())
    assert "no codimension-1" in empty.notes[0]
