"""The 1-D fast path (pieces are intervals, closed-form arithmetic) against the general polytope
path: the same pieces (regions, depths, seeds, itinerary links), the same endpoints up to
round-off, the same limits and events, on the paper's 2-D maps, Lozi and random 2-D and 3-D
maps, for stable and unstable manifolds."""

from __future__ import annotations

import numpy as np
import pytest

from plrnn_manifolds.manifolds import grow_manifold, growth
from plrnn_manifolds.manifolds.growth import RegionInfo
from plrnn_manifolds.manifolds.intervals import Interval, cells_1d, orth1
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import example_path, load_model
from plrnn_manifolds.orbits import find_orbits
from plrnn_manifolds.polytope import Polytope, cells


def rand_map(M, H, seed, a=(0.2, 0.9), w1=0.8):
    rng = np.random.default_rng(seed)
    return PLMap(
        A=np.diag(rng.uniform(*a, M)),
        W1=rng.normal(0, w1, (M, H)),
        W2=rng.normal(0, 1, (H, M)),
        h1=rng.normal(0, 0.5, M),
        h2=rng.normal(0, 0.5, H),
    )


def grow_both(monkeypatch, F, orbit, kind, box, depth, max_pieces):
    """Grow with the general path, then with the fast path (which must not touch the general
    preimage / cell machinery)."""
    monkeypatch.setattr(growth, "_FAST_1D", False)
    slow = grow_manifold(F, orbit, kind, box=box, depth=depth, max_pieces=max_pieces)
    monkeypatch.setattr(growth, "_FAST_1D", True)

    def forbidden(*args, **kw):  # pragma: no cover - only reached on a regression
        raise AssertionError("the 1-D fast path fell back to the general machinery")

    with monkeypatch.context() as m:
        m.setattr(growth._Grower, "_preimage_cell", forbidden)
        m.setattr(growth, "cells", forbidden)
        m.setattr(growth, "_clip_output", forbidden)
        fast = grow_manifold(F, orbit, kind, box=box, depth=depth, max_pieces=max_pieces)
    return slow, fast


def ends(piece):
    """Endpoints in state space, ordered along the first coordinate of largest spread."""
    V = piece.vertices()
    k = int(np.argmax(np.abs(V[1] - V[0])))
    return V[np.argsort(V[:, k])]


def assert_same(slow, fast, box):
    assert fast.dimension == slow.dimension == 1
    assert len(fast.pieces) == len(slow.pieces)
    assert fast.n_tree_pieces == slow.n_tree_pieces
    assert fast.stopped_by == slow.stopped_by
    assert fast.complete == slow.complete
    assert fast.events == slow.events
    scale = max(1.0, float(np.max(np.abs(np.asarray(box)))))
    worst = 0.0
    for p, q in zip(slow.pieces, fast.pieces, strict=True):
        assert np.array_equal(p.region, q.region)
        assert p.depth == q.depth and p.seed == q.seed and p.clipped == q.clipped
        # the same itinerary: parents agree too
        if p.parent is not None:
            assert np.array_equal(p.parent.region, q.parent.region)
            assert p.parent.depth == q.parent.depth
        # the same line (bases may differ in sign only)
        assert abs(abs(float(p.basis[:, 0] @ q.basis[:, 0])) - 1.0) <= 1e-12
        worst = max(worst, float(np.max(np.abs(ends(p) - ends(q)))))
    # Round-off only: the paths differ in the last bits (e.g. a Householder step done by hand
    # instead of LAPACK), and backward growth amplifies such differences by the expansion of
    # the inverse map along the manifold (Lozi, depth 10: about 1e-12 relative).
    assert worst <= 1e-11 * scale, worst
    for m in (slow, fast):
        assert m.max_residual <= 1e-9
    # the fast pieces really are on the manifold: one step of the true map lands on the parent
    # piece's line (stable) or comes from it (unstable), checked independently of the links
    for q in fast.pieces[:: max(1, len(fast.pieces) // 50)]:
        if q.parent is None:
            continue
        x = q.point(q.polytope.sample(4, np.random.default_rng(0)))
        par = q.parent
        if fast.kind == "stable":
            y = F_of(fast)(x)
            rel = y - par.origin
            off = rel - np.outer(rel @ par.basis[:, 0], par.basis[:, 0])
        else:
            y = F_of(fast)(par.point(par.polytope.sample(4, np.random.default_rng(0))))
            rel = y - q.origin
            off = rel - np.outer(rel @ q.basis[:, 0], q.basis[:, 0])
        assert np.max(np.linalg.norm(off, axis=1)) <= 1e-9 * scale


_MODELS: dict = {}


def F_of(man):
    return _MODELS[id(man.orbit)]


def run_case(monkeypatch, F, orbits, kind, box, depth, max_pieces, min_pieces=3):
    n = 0
    for o in orbits:
        if (o.n_stable if kind == "stable" else o.n_unstable) != 1:
            continue
        _MODELS[id(o)] = F
        slow, fast = grow_both(monkeypatch, F, o, kind, box, depth, max_pieces)
        assert_same(slow, fast, box)
        n += len(fast.pieces)
    assert n >= min_pieces, "the case must exercise growth"


# ------------------------------------------------------------------------------ the cases
@pytest.mark.parametrize("kind", ["stable", "unstable"])
def test_fig3b_left(monkeypatch, kind):
    F = load_model(example_path("fig3b_left"))
    orbits = find_orbits(F, max_period=8).saddles()
    run_case(monkeypatch, F, orbits, kind, ([-3.0, -3.0], [3.0, 3.0]), 30, 3000)


@pytest.mark.parametrize("kind", ["stable", "unstable"])
def test_fig3b_right(monkeypatch, kind):
    F = load_model(example_path("fig3b_right"))
    orbits = find_orbits(F, max_period=5).saddles()
    run_case(monkeypatch, F, orbits, kind, ([-35.0, -35.0], [35.0, 35.0]), 12, 600)


@pytest.mark.parametrize("kind", ["stable", "unstable"])
def test_lozi(monkeypatch, kind):
    F = load_model(example_path("lozi"))
    orbits = find_orbits(F, max_period=2).saddles()
    run_case(monkeypatch, F, orbits, kind, ([-2.5, -2.5], [2.5, 2.5]), 10, 2000)


@pytest.mark.parametrize("kind", ["stable", "unstable"])
def test_random_2d_non_invertible(monkeypatch, kind):
    # every region is searched (determinant signs differ); hundreds of pieces
    F = rand_map(2, 3, 37)
    assert RegionInfo.of(F).invertible is False
    orbits = find_orbits(F, max_period=2).saddles()
    lo = np.min([o.points.min(0) for o in orbits], axis=0) - 2
    hi = np.max([o.points.max(0) for o in orbits], axis=0) + 2
    run_case(monkeypatch, F, orbits, kind, (lo, hi), 15, 400, min_pieces=50)


@pytest.mark.parametrize("kind", ["stable", "unstable"])
def test_random_2d_invertible_flood(monkeypatch, kind):
    # an invertible map with more regions than 2 H + 2: point preimages and a flood across
    # facets (random restarts, so the random streams of both paths must agree)
    F = rand_map(2, 5, 118, a=(0.5, 1.2), w1=0.6)
    info = RegionInfo.of(F)
    assert info.invertible is True and len(info.patterns) > 2 * F.H + 2
    orbits = find_orbits(F, max_period=1).saddles()
    lo = np.min([o.points.min(0) for o in orbits], axis=0) - 3
    hi = np.max([o.points.max(0) for o in orbits], axis=0) + 3
    run_case(monkeypatch, F, orbits, kind, (lo, hi), 15, 2000, min_pieces=10)


@pytest.mark.parametrize("seed,kind", [(4, "stable"), (15, "unstable"), (16, "unstable")])
def test_random_3d(monkeypatch, seed, kind):
    # 3-D maps: the 1-D manifold of saddles with one stable (unstable) direction
    F = rand_map(3, 3, seed)
    orbits = find_orbits(F, max_period=2).saddles()
    lo = np.min([o.points.min(0) for o in orbits], axis=0) - 2
    hi = np.max([o.points.max(0) for o in orbits], axis=0) + 2
    run_case(monkeypatch, F, orbits, kind, (lo, hi), 15, 2000, min_pieces=5)


# ------------------------------------------------------------------------------ unit level
def test_interval_matches_polytope_conventions():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lo, hi = sorted(rng.normal(0, 5, 2))
        P = Polytope.box([lo], [hi])
        a = rng.normal(size=6)
        a[rng.random(6) < 0.2] = 0.0  # zero rows
        b = rng.normal(0, 3, 6)
        Q = P.intersect(a[:, None], b)
        iv = Interval.of(P).clip(a, b)
        assert iv.is_empty(1e-9) == Q.is_empty(1e-9)
        assert iv.scale == Q.scale
        if iv.feasible and Q._cache.get("feasible") is not False:
            assert iv.lo == Q._interval()[0] and iv.hi == Q._interval()[1]
        if not iv.is_empty(1e-9):
            A = rng.normal(size=4)
            A[0] = 0.0
            B = rng.normal(0, 3, 4)
            B[1] = B[2] * A[1] / A[2]  # the same crossing as hyperplane 2 (a duplicate)
            got = cells_1d(iv, A, B, 1e-9)
            ref = cells(Q, A[:, None], B)
            assert len(got) == len(ref)
            for (bits, c), (rbits, rc) in zip(got, ref, strict=True):
                assert np.array_equal(bits, rbits)
                assert abs(c.lo - rc._interval()[0]) <= 1e-12 * Q.scale
                assert abs(c.hi - rc._interval()[1]) <= 1e-12 * Q.scale


def test_orth1_matches_numpy_qr():
    rng = np.random.default_rng(1)
    for v in [rng.normal(size=3), np.array([2.0, 0.0]), np.array([-2.0, 0.0, 0.0]), [0.0, 3.0]]:
        v = np.asarray(v, dtype=float)
        U, R = np.linalg.qr(v[:, None])
        u, r = orth1(v)
        assert np.allclose(u, U[:, 0], rtol=0, atol=1e-15) and np.isclose(r, R[0, 0])
    assert orth1(np.zeros(3)) is None
