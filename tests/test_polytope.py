"""Tests of the polytope layer: analytic values, brute force, and invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import linprog

from plrnn_manifolds.errors import BudgetExceededError, ManifoldError
from plrnn_manifolds.polytope import (
    CellsInfo,
    Polytope,
    cells,
    chebyshev_center,
    lp_feasible,
)


# ---------------------------------------------------------------------- helpers
def simplex(n: int) -> Polytope:
    """Standard simplex {x >= 0, sum x <= 1}."""
    G = np.vstack([-np.eye(n), np.ones((1, n))])
    g = np.concatenate([np.zeros(n), [1.0]])
    return Polytope.from_halfspaces(G, g)


def hexagon(radius=1.0, centre=(0.0, 0.0)) -> Polytope:
    """Regular hexagon with vertices at angles k*60 deg, circumradius ``radius``."""
    ang = np.deg2rad(30 + 60 * np.arange(6))  # facet normals
    G = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    g = radius * np.cos(np.pi / 6) * np.ones(6) + G @ np.asarray(centre)
    return Polytope.from_halfspaces(G, g)


def random_polytope(n: int, r: int, rng, box: float = 2.0) -> Polytope:
    """Random normals around the origin (offset ~1) intersected with a box (bounded)."""
    G = rng.standard_normal((r, n))
    g = 0.6 + 0.8 * rng.random(r)
    G = G / np.linalg.norm(G, axis=1)[:, None]
    P = Polytope.from_halfspaces(G, g)
    return P.intersect(np.vstack([np.eye(n), -np.eye(n)]), np.full(2 * n, box))


def uniform_in(P: Polytope, m: int, rng, lo=None, hi=None) -> np.ndarray:
    """Brute-force uniform points in P by rejection from a box (independent of P.sample)."""
    n = P.dim
    if lo is None:
        lo, hi = -2.0 * np.ones(n), 2.0 * np.ones(n)
    X = lo + (hi - lo) * rng.random((m, n))
    return X[P.contains(X, tol=0.0)]


def check_cells_against_brute_force(P, A, b, found, rng, m=40_000, lo=None, hi=None):
    """Every sign vector seen on random points is a returned cell; each point lies in its
    cell only; every returned cell has a centre with its own sign vector."""
    A = np.asarray(A, float)
    b = np.asarray(b, float)
    X = uniform_in(P, m, rng, lo, hi)
    val = X @ A.T + b
    margin = np.abs(val) / np.maximum(np.linalg.norm(A, axis=1), 1e-300)
    X = X[np.all(margin > 1e-6, axis=1)]
    signs = X @ A.T + b > 0
    keys = {s.tobytes(): i for i, (s, _) in enumerate(found)}
    assert len(keys) == len(found), "duplicate sign vectors returned"
    seen = {s.tobytes() for s in signs}
    missing = seen - set(keys)
    assert not missing, f"{len(missing)} sign vectors seen in the polytope are missing"
    # Each point is contained in exactly the cell of its sign vector (strictly inside others
    # is impossible for points off the hyperplanes).
    idx = np.array([keys[s.tobytes()] for s in signs])
    for i, (s, cell) in enumerate(found):
        inside = cell.contains(X, tol=1e-12)
        own = idx == i
        assert inside[own].all()
        strict = np.all(X @ cell.G.T < cell.g - 1e-9, axis=1)
        assert not strict[~own].any()
        c = cell.interior_point()
        assert cell.contains(c) and P.contains(c)
        np.testing.assert_array_equal(A @ c + b > 0, s)
    return X


# ---------------------------------------------------------------------- construction
def test_rows_are_normalised_and_zero_rows_handled():
    P = Polytope.from_halfspaces([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], [10.0, 1.0, 4.0])
    np.testing.assert_allclose(np.linalg.norm(P.G, axis=1), 1.0)
    np.testing.assert_allclose(P.G, [[0.6, 0.8], [0.0, -1.0]])
    np.testing.assert_allclose(P.g, [2.0, 2.0])
    # Same invariant for the plain constructor.
    Q = Polytope(np.array([[0.0, 5.0]]), np.array([5.0]))
    np.testing.assert_allclose(Q.G, [[0.0, 1.0]])
    np.testing.assert_allclose(Q.g, [1.0])
    assert not P.G.flags.writeable


def test_zero_row_with_negative_offset_is_empty():
    P = Polytope.from_halfspaces([[1.0, 0.0], [0.0, 0.0]], [1.0, -0.5])
    assert P.is_empty() and not P.is_feasible()
    assert P.vertices().shape == (0, 2)
    assert cells(P, np.eye(2), np.zeros(2)) == []


def test_pickle_round_trip_keeps_invariants():
    import pickle

    P = hexagon(1.0)
    P.vertices()
    Q = pickle.loads(pickle.dumps(P))
    np.testing.assert_array_equal(Q.G, P.G)
    assert not Q.G.flags.writeable and not Q.g.flags.writeable
    assert Q.volume() == pytest.approx(P.volume())
    assert pickle.loads(pickle.dumps(Polytope.empty(2))).is_feasible() is False


def test_normalize_false_requires_unit_rows():
    P = Polytope.from_halfspaces([[1.0, 0.0]], [2.0], normalize=False)
    np.testing.assert_allclose(P.g, [2.0])
    with pytest.raises(ManifoldError, match="unit-norm"):
        Polytope.from_halfspaces([[2.0, 0.0]], [2.0], normalize=False)


@pytest.mark.parametrize(
    "G, g, match",
    [
        ([[1.0, 0.0]], [1.0, 2.0], "rows"),
        ([1.0, 0.0], [1.0], "matrix"),
        ([[np.nan, 0.0]], [1.0], "NaN"),
        ([[1.0, 0.0]], [np.inf], "NaN or infinite"),
        ([[1.0, 0.0], [1.0]], [1.0, 1.0], "rectangular"),
        (np.zeros((1, 0)), [1.0], "at least one column"),
    ],
)
def test_bad_halfspaces_raise(G, g, match):
    with pytest.raises(ManifoldError, match=match) as exc:
        Polytope.from_halfspaces(G, g)
    assert isinstance(exc.value, ValueError)


def test_bad_inputs_of_methods_raise():
    P = Polytope.box([0, 0], [1, 1])
    with pytest.raises(ManifoldError, match="last dimension"):
        P.contains([1.0, 2.0, 3.0])
    with pytest.raises(ManifoldError, match="shape"):
        P.project([1.0])
    with pytest.raises(ManifoldError, match="NaN"):
        P.project([np.nan, 0.0])
    with pytest.raises(ManifoldError, match="invertible"):
        P.affine_image([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ManifoldError, match="invertible"):
        P.affine_image([[1.0, 2.0], [2.0, 4.0 + 1e-13]])  # cond ~ 2.5e14
    with pytest.raises(ManifoldError, match="invertible"):
        Polytope.box([0, 0, 0], [1, 1, 1]).affine_image(np.diag([1.0, 1.0, 1e-14]))
    with pytest.raises(ManifoldError, match="invertible"):
        Polytope.box([0], [1]).affine_image([[0.0]])
    with pytest.raises(ManifoldError, match="shape"):
        P.affine_image(np.eye(3))
    with pytest.raises(ManifoldError, match="columns"):
        P.intersect([[1.0, 0.0, 0.0]], [1.0])
    with pytest.raises(ManifoldError, match="columns"):
        cells(P, np.ones((2, 3)), np.zeros(2))
    with pytest.raises(ManifoldError, match="entries"):
        cells(P, np.ones((2, 2)), np.zeros(3))
    with pytest.raises(ManifoldError, match="NaN"):
        cells(P, [[np.nan, 1.0]], [0.0])
    with pytest.raises(ManifoldError, match="method"):
        cells(P, np.ones((1, 2)), np.zeros(1), method="magic")
    with pytest.raises(ManifoldError, match="Polytope"):
        cells(np.eye(2), np.ones((1, 2)), np.zeros(1))
    with pytest.raises(ManifoldError, match="lower corner"):
        Polytope.box([1.0], [0.0])
    with pytest.raises(ManifoldError, match="numeric"):
        Polytope.box(["a"], [1.0])
    with pytest.raises(ManifoldError, match="NaN"):
        Polytope.box([np.nan], [1.0])
    with pytest.raises(ManifoldError, match="shape"):
        P.split([1.0, 0.0, 0.0], 0.0)


# ---------------------------------------------------------------------- vertices
def test_vertices_unit_cube():
    V = Polytope.box([0, 0, 0], [1, 1, 1]).vertices()
    want = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    assert V.shape == (8, 3)
    assert sorted(map(tuple, np.round(V, 12))) == sorted(map(tuple, want))


def test_vertices_tesseract_and_simplex():
    V = Polytope.box(-np.ones(4), np.ones(4)).vertices()
    assert V.shape == (16, 4)
    np.testing.assert_allclose(np.abs(V), 1.0, atol=1e-12)
    V = simplex(3).vertices()
    want = np.vstack([np.zeros(3), np.eye(3)])
    assert sorted(map(tuple, np.round(V, 12))) == sorted(map(tuple, want))


def test_vertices_hexagon_ccw_and_robust_to_redundant_rows():
    H = hexagon(2.0, centre=(1.0, -1.0))
    # Add duplicates, a parallel looser row and a far-away row: the vertex list must not change.
    G2 = np.vstack([H.G, H.G[:2], H.G[3:4], [[1.0, 1.0]]])
    g2 = np.concatenate([H.g, H.g[:2], H.g[3:4] + 0.5, [100.0]])
    for P in (H, Polytope.from_halfspaces(G2, g2)):
        V = P.vertices()
        assert V.shape == (6, 2)
        ang = np.arctan2(V[:, 1] + 1.0, V[:, 0] - 1.0)
        np.testing.assert_allclose(np.linalg.norm(V - [1.0, -1.0], axis=1), 2.0)
        # counter-clockwise: angle increments of +60 degrees modulo 2 pi
        steps = np.mod(np.diff(np.append(ang, ang[0])), 2 * np.pi)
        np.testing.assert_allclose(steps, np.pi / 3, atol=1e-12)
        # at multiples of 60 degrees (circular distance to the nearest one)
        off = np.mod(ang + np.pi / 6, np.pi / 3) - np.pi / 6
        np.testing.assert_allclose(off, 0.0, atol=1e-12)


def test_vertices_interval_sorted_and_errors():
    P = Polytope.from_halfspaces([[2.0], [-1.0], [1.0]], [4.0, 1.0, 5.0])
    np.testing.assert_allclose(P.vertices(), [[-1.0], [2.0]])
    with pytest.raises(ManifoldError, match="unbounded"):
        Polytope.from_halfspaces([[1.0, 0.0]], [1.0]).vertices()
    with pytest.raises(ManifoldError, match="unbounded"):
        Polytope.from_halfspaces([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [1.0, 1.0]).vertices()


def test_flat_polygon_vertices_are_segment_ends():
    P = Polytope.from_halfspaces([[0, 1], [0, -1], [1, 0], [-1, 0]], [0.0, 0.0, 2.0, 1.0])
    V = P.vertices()
    assert sorted(map(tuple, np.round(V, 12))) == [(-1.0, 0.0), (2.0, 0.0)]
    assert P.is_empty() and P.is_feasible()
    assert P.volume() == 0.0


# ---------------------------------------------------------------------- Chebyshev, emptiness
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_chebyshev_of_simplex_is_analytic(n):
    c, r = simplex(n).chebyshev()
    want = 1.0 / (n + math.sqrt(n))  # inradius of the standard simplex
    assert r == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(c, want, rtol=1e-7)


def test_chebyshev_box_unbounded_empty_flat():
    c, r = Polytope.box([0.0, 1.0], [4.0, 2.0]).chebyshev()
    assert r == pytest.approx(0.5)
    assert c[1] == pytest.approx(1.5) and 0.5 <= c[0] <= 3.5
    # unbounded: radius capped at 1e6 * scale, centre inside the polytope
    H = Polytope.from_halfspaces([[1.0, 0.0, 0.0]], [2.0])
    c, r = H.chebyshev()
    assert r == pytest.approx(1e6 * H.scale)
    assert H.contains(c)
    assert not H.is_empty()
    # empty: negative radius = half the gap
    E = Polytope.from_halfspaces(
        [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [0.0, -1.0, 1.0, 1.0]
    )
    c, r = E.chebyshev()
    assert r == pytest.approx(-0.5, abs=1e-9)
    assert E.is_empty() and not E.is_feasible()
    # flat 3-D: a square in the plane z = 0
    F = Polytope.box([0, 0, 0], [1, 1, 0])
    assert F.is_empty() and F.is_feasible()
    c, r = chebyshev_center([[1.0, 0.0], [-1.0, 0.0]], [1.0, 1.0])
    assert c[0] == pytest.approx(0.0) and r == pytest.approx(1.0)
    assert lp_feasible([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0])  # the line x = 1
    assert not lp_feasible([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.1])


def test_tolerances_are_relative_to_scale():
    # A slab of width 1e-6 at distance 1e6 is not empty at tol 1e-13 but is at tol 1e-11.
    G = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    P = Polytope.from_halfspaces(G, [1e6 + 1e-6, -1e6, 1.0, 1.0])
    assert P.scale == pytest.approx(1e6 + 1e-6)
    assert not P.is_empty(tol=1e-13)
    assert P.is_empty(tol=1e-11)


def test_is_bounded():
    assert Polytope.box([0, 0], [1, 1]).is_bounded()
    triangle = Polytope.from_halfspaces([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 5.0])
    assert triangle.is_bounded()
    assert not Polytope.from_halfspaces([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0]).is_bounded()
    cone = Polytope.from_halfspaces(-np.eye(3), np.zeros(3))
    assert not cone.is_bounded()
    assert simplex(5).is_bounded()
    assert not Polytope.from_halfspaces([[1.0]], [1.0]).is_bounded()
    # a slab in 3-D: normals of rank 1 -> unbounded
    assert not Polytope.from_halfspaces([[1.0, 0, 0], [-1.0, 0, 0]], [1.0, 1.0]).is_bounded()


# ---------------------------------------------------------------------- volume
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_volume_of_simplex(n):
    assert simplex(n).volume() == pytest.approx(1.0 / math.factorial(n), rel=1e-10)


def test_volume_monte_carlo_fallback_high_dim():
    # n = 9 is above the Qhull limit: Monte Carlo in the bounding box.
    P = Polytope.box(np.zeros(9), np.ones(9)).intersect(np.ones((1, 9)), [4.5])
    v = P.volume(rng=1, n_samples=50_000)
    assert v == pytest.approx(0.5, abs=0.02)  # half the cube by symmetry


def test_volume_hexagon_unbounded_empty():
    assert hexagon(1.0).volume() == pytest.approx(3 * math.sqrt(3) / 2)
    assert Polytope.from_halfspaces([[1.0, 0.0]], [1.0]).volume() == math.inf
    assert Polytope.empty(3).volume() == 0.0
    assert Polytope.box([0, 0, 0], [2, 3, 4]).volume() == pytest.approx(24.0)


# ---------------------------------------------------------------------- redundancy
def test_remove_redundant_polygon_known_rows():
    box = Polytope.box([0, 0], [1, 1])
    extra_G = [[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [-1.0, 1.0]]
    extra_g = [5.0, 10.0, 1.0, 2.0, 1.0]  # looser x, far diagonal, duplicate x<=1, 2 weak ones
    P = box.intersect(extra_G, extra_g)
    R = P.remove_redundant()
    assert R.n_constraints == 4
    # kept rows are rows of P, unchanged
    for row, off in zip(R.G, R.g, strict=True):
        assert np.any(np.all(np.isclose(P.G, row, atol=0), axis=1) & (P.g == off))
    X = np.random.default_rng(0).uniform(-1, 2, (5000, 2))
    np.testing.assert_array_equal(P.contains(X), R.contains(X))


@pytest.mark.parametrize("n", [3, 7])
def test_remove_redundant_keeps_set_and_drops_known_rows(n):
    rng = np.random.default_rng(n)
    P = random_polytope(n, 3 * n, rng)
    # Shifted copies of existing rows are strictly redundant; the cube-corner cut touching a
    # single vertex is weakly redundant.
    shifted_G = P.G[: n + 2]
    P2 = P.intersect(shifted_G, P.g[: n + 2] + 0.3)
    R = P2.remove_redundant()
    assert R.n_constraints <= P.n_constraints
    X = rng.uniform(-2.5, 2.5, (20_000, n))
    np.testing.assert_array_equal(P2.contains(X, tol=0.0), R.contains(X, tol=0.0))
    # Every kept row is really non-redundant (independent LP without the row).
    for i in range(R.n_constraints):
        others = np.delete(np.arange(R.n_constraints), i)
        res = linprog(
            -R.G[i], A_ub=R.G[others], b_ub=R.g[others], bounds=[(None, None)] * n, method="highs"
        )
        assert res.status == 3 or -res.fun > R.g[i] + 1e-7


def test_remove_redundant_weakly_redundant_and_1d():
    cube = Polytope.box([0, 0, 0], [1, 1, 1])
    P = cube.intersect([[1.0, 1.0, 1.0]], [3.0])  # touches only the corner (1, 1, 1)
    assert P.remove_redundant().n_constraints == 6
    I = Polytope.from_halfspaces([[1.0], [2.0], [-1.0], [-3.0]], [3.0, 4.0, 1.0, 0.0])
    R = I.remove_redundant()
    assert R.n_constraints == 2
    np.testing.assert_allclose(R.vertices(), [[0.0], [2.0]])
    assert (
        Polytope.from_halfspaces([[1.0], [-1.0]], [0.0, -1.0]).remove_redundant().is_feasible()
        is False
    )


# ---------------------------------------------------------------------- affine image
@pytest.mark.parametrize("n", [1, 2, 3])
def test_affine_image_membership(n):
    rng = np.random.default_rng(10 + n)
    P = random_polytope(n, 2 * n + 2, rng)
    R = rng.standard_normal((n, n)) + 2 * np.eye(n)
    if n >= 2:
        R[:, 0] *= -1.0  # include an orientation reversal
    t = rng.standard_normal(n)
    P.vertices()  # populate caches that affine_image carries over
    Q = P.affine_image(R, t)
    X = rng.uniform(-3, 3, (4000, n))
    np.testing.assert_array_equal(P.contains(X, tol=1e-12), Q.contains(X @ R.T + t, tol=1e-12))
    V = Q.vertices()
    W = Polytope.from_halfspaces(Q.G, Q.g).vertices()  # recomputed without caches
    assert len(V) == len(W)
    if n == 2:
        x, y = V[:, 0], V[:, 1]
        assert np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) > 0  # still CCW
    assert Q.volume() == pytest.approx(P.volume() * abs(np.linalg.det(R)), rel=1e-9)


def test_translate_keeps_chebyshev():
    P = hexagon(1.0)
    c, r = P.chebyshev()
    Q = P.translate([3.0, -2.0])
    c2, r2 = Q.chebyshev()
    np.testing.assert_allclose(c2, c + [3.0, -2.0])
    assert r2 == pytest.approx(r)
    assert Q.contains([3.0, -2.0]) and not Q.contains([0.0, 0.0])


# ---------------------------------------------------------------------- sampling
def test_sample_1d_uniform_ks():
    P = Polytope.from_halfspaces([[1.0], [-1.0]], [3.0, -1.0])
    X = P.sample(4000, np.random.default_rng(0))
    assert X.shape == (4000, 1)
    assert stats.kstest((X[:, 0] - 1.0) / 2.0, "uniform").pvalue > 1e-3


def test_sample_polygon_chi_square_on_cells():
    P = hexagon(1.0, centre=(0.3, 0.1))
    A = np.array([[1.0, 0.2], [0.3, -1.0], [1.0, 1.0]])
    b = np.array([-0.2, 0.1, -0.5])
    parts = cells(P, A, b)
    areas = np.array([c.volume() for _, c in parts])
    X = P.sample(20_000, np.random.default_rng(3))
    assert P.contains(X).all()
    keys = {s.tobytes(): i for i, (s, _) in enumerate(parts)}
    counts = np.bincount([keys[s.tobytes()] for s in (X @ A.T + b > 0)], minlength=len(parts))
    expected = areas / areas.sum() * len(X)
    assert stats.chisquare(counts, expected).pvalue > 1e-3


def test_sample_3d_exact_and_hit_and_run_means():
    rng = np.random.default_rng(4)
    S = simplex(3)
    X = S.sample(20_000, rng)
    assert S.contains(X).all()
    # centroid of the simplex is 1/4; per-coordinate sd is sqrt(3/80)
    se = math.sqrt(3 / 80) / math.sqrt(len(X))
    assert np.all(np.abs(X.mean(axis=0) - 0.25) < 5 * se)


@pytest.mark.parametrize("n", [4, 6])
def test_sample_cube_marginals_are_uniform(n):
    """Exact sampler (n = 4) and hit-and-run (n = 6): uniform marginals on the unit cube.

    A chain that only moves forward along its chord (a real bug once) gives variance ~0.099
    and 14 % of the mass in [0, 0.1]; these bounds reject that.
    """
    C = Polytope.box(np.zeros(n), np.ones(n))
    Y = C.sample(6000, np.random.default_rng(n))
    assert Y.shape == (6000, n) and C.contains(Y).all()
    assert np.all(np.abs(Y.mean(axis=0) - 0.5) < 0.02)
    assert np.all(np.abs(Y.var(axis=0) - 1 / 12) < 0.005)
    assert np.all(np.abs((Y < 0.1).mean(axis=0) - 0.1) < 0.02)


def test_sample_errors():
    with pytest.raises(ManifoldError, match="unbounded"):
        Polytope.from_halfspaces([[1.0, 0.0]], [1.0]).sample(3, 0)
    with pytest.raises(ManifoldError, match="interior"):
        Polytope.box([0, 0], [1, 0]).sample(3, 0)


# ---------------------------------------------------------------------- projection
def _kkt_ok(P, x, s, tol=1e-8):
    """s feasible and x - s = G_A^T mu, mu >= 0, on the active rows A (checked by NNLS)."""
    from scipy.optimize import nnls

    if not P.contains(s, tol=1e-10):
        return False
    act = np.flatnonzero(P.g - P.G @ s <= 1e-8)
    if act.size == 0:
        return np.linalg.norm(x - s) <= tol
    mu, res = nnls(P.G[act].T, x - s)
    return res <= tol * max(1.0, np.linalg.norm(x - s))


def test_project_cube_is_clipping_and_kkt():
    rng = np.random.default_rng(5)
    C = Polytope.box([0, 0, 0], [1, 1, 1])
    for x in rng.uniform(-2, 3, (20, 3)):
        s = C.project(x)
        np.testing.assert_allclose(s, np.clip(x, 0, 1), atol=1e-12)
        assert _kkt_ok(C, x, s)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_project_matches_brute_force(n):
    rng = np.random.default_rng(20 + n)
    P = random_polytope(n, 2 * n + 3, rng, box=1.5)
    pts = P.sample(60_000 if n > 1 else 5000, rng)
    if n <= 2:
        pts = np.vstack([pts, P.vertices()])
    for x in rng.uniform(-4, 4, (6, n)):
        s = P.project(x)
        assert _kkt_ok(P, x, s)
        d = np.linalg.norm(x - s)
        dmin = np.min(np.linalg.norm(pts - x, axis=1))
        assert d <= dmin + 1e-12  # no sample point is closer
        assert dmin - d < 0.15  # and the sample gets close to it
    inside = P.interior_point()
    np.testing.assert_array_equal(P.project(inside), inside)


def test_project_unbounded_and_empty():
    P = Polytope.from_halfspaces([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [0.0, 1.0])
    x = np.array([2.0, 2.0, 3.0])
    s = P.project(x)
    np.testing.assert_allclose(s, [0.0, 0.0, 1.0], atol=1e-12)
    with pytest.raises(ManifoldError, match="empty"):
        Polytope.empty(2).project([0.0, 0.0])


# ---------------------------------------------------------------------- split
def test_split_halves_and_misses():
    sq = Polytope.box([0, 0], [2, 1])
    neg, pos = sq.split([1.0, 0.0], -0.5)
    assert neg.volume() == pytest.approx(0.5) and pos.volume() == pytest.approx(1.5)
    neg, pos = sq.split([1.0, 0.0], 5.0)  # x + 5 > 0 everywhere
    assert neg is None and pos.volume() == pytest.approx(2.0)
    neg, pos = Polytope.box([0, 0, 0], [1, 1, 1]).split([1.0, 1.0, 1.0], -1.5)
    assert neg.volume() == pytest.approx(0.5) and pos.volume() == pytest.approx(0.5)


# ---------------------------------------------------------------------- cells
def test_cells_interval():
    P = Polytope.from_halfspaces([[1.0], [-1.0]], [2.0, 1.0])  # [-1, 2]
    A = np.array([[2.0], [-1.0], [1.0], [0.0], [1.0]])
    b = np.array([-1.0, 0.0, -5.0, 1.0, 1.0])  # crossings 0.5, 0, 5 (outside), const, -1 (end)
    info = CellsInfo()
    found = cells(P, A, b, info=info)
    assert info.method == "interval" and info.n_cutting == 2
    ivals = sorted((c.vertices()[0, 0], c.vertices()[1, 0]) for _, c in found)
    np.testing.assert_allclose(ivals, [(-1, 0), (0, 0.5), (0.5, 2)])
    assert sum(c.volume() for _, c in found) == pytest.approx(3.0)
    check_cells_against_brute_force(P, A, b, found, np.random.default_rng(0), 5000)
    # half-line: unbounded end cell
    H = Polytope.from_halfspaces([[-1.0]], [0.0])  # s >= 0
    found = cells(H, [[1.0]], [-1.0])
    assert len(found) == 2
    assert sum(not c.is_bounded() for _, c in found) == 1


def test_cells_polygon_brute_force_and_area():
    rng = np.random.default_rng(1)
    P = hexagon(1.0, centre=(0.1, -0.2))
    A = rng.standard_normal((7, 2))
    b = rng.uniform(-0.5, 0.5, 7)
    info = CellsInfo()
    found = cells(P, A, b, info=info)
    assert info.method == "polygon" and info.n_lp == 0
    check_cells_against_brute_force(P, A, b, found, rng)
    assert sum(c.volume() for _, c in found) == pytest.approx(P.volume(), rel=1e-12)
    for _, c in found:  # redundancy-free: recomputing from scratch keeps every row
        assert (
            Polytope.from_halfspaces(c.G, c.g).remove_redundant().n_constraints == c.n_constraints
        )


def test_cells_lines_through_one_point():
    """Degenerate arrangement: k lines through the centre give 2k sectors."""
    P = hexagon(1.0)
    ang = np.arange(6) * np.pi / 6  # through the vertices and the edge midpoints
    A = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    found = cells(P, A, np.zeros(6))
    assert len(found) == 12
    for _, c in found:  # the 12 sectors are congruent by the hexagon's symmetry
        assert c.volume() == pytest.approx(P.volume() / 12, rel=1e-9)
    # the same in 3-D: coordinate planes and a diagonal plane through the cube centre
    C = Polytope.box(-np.ones(3), np.ones(3))
    A3 = np.vstack([np.eye(3), [[1.0, 1.0, 0.0]]])
    found = cells(C, A3, np.zeros(4))
    assert len(found) == 8 + 4
    assert sum(c.volume() for _, c in found) == pytest.approx(8.0, rel=1e-12)
    check_cells_against_brute_force(C, A3, np.zeros(4), found, np.random.default_rng(2))


@pytest.mark.parametrize("method", ["auto", "split", "flood"])
def test_cells_3d_brute_force_and_volume(method):
    rng = np.random.default_rng(3)
    P = random_polytope(3, 8, rng, box=1.0)
    A = rng.standard_normal((5, 3))
    b = rng.uniform(-0.4, 0.4, 5)
    info = CellsInfo()
    found = cells(P, A, b, method=method, info=info)
    assert info.method == ("vertex" if method == "auto" else method)
    check_cells_against_brute_force(P, A, b, found, rng, lo=-np.ones(3), hi=np.ones(3))
    assert sum(c.volume() for _, c in found) == pytest.approx(P.volume(), rel=1e-9)
    for _, c in found:
        assert (
            Polytope.from_halfspaces(c.G, c.g).remove_redundant().n_constraints == c.n_constraints
        )


def test_cells_methods_agree_4d():
    rng = np.random.default_rng(7)
    P = random_polytope(4, 9, rng, box=1.0)
    A = rng.standard_normal((4, 4))
    b = rng.uniform(-0.3, 0.3, 4)
    auto = cells(P, A, b)
    split = cells(P, A, b, method="split")
    assert {s.tobytes() for s, _ in auto} == {s.tobytes() for s, _ in split}
    check_cells_against_brute_force(P, A, b, auto, rng, lo=-np.ones(4), hi=np.ones(4))
    vol = {s.tobytes(): c.volume() for s, c in auto}
    for s, c in split:
        assert c.volume() == pytest.approx(vol[s.tobytes()], rel=1e-8, abs=1e-12)


@pytest.mark.slow
def test_cells_lp_path_high_dim():
    rng = np.random.default_rng(8)
    n = 6
    P = Polytope.box(-np.ones(n), np.ones(n))
    A = rng.standard_normal((3, n))
    b = rng.uniform(-0.3, 0.3, 3)
    info = CellsInfo()
    found = cells(P, A, b, info=info)
    assert info.method == "split"
    assert len(found) == 7 or len(found) == 8
    check_cells_against_brute_force(P, A, b, found, rng, m=30_000, lo=-np.ones(n), hi=np.ones(n))
    flood = cells(P, A, b, method="flood")
    assert {s.tobytes() for s, _ in found} == {s.tobytes() for s, _ in flood}


def test_cells_duplicate_zero_and_far_hyperplanes():
    P = Polytope.box([0, 0], [1, 1])
    A = np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    b = np.array([-0.5, -1.0, 0.5, 1.0, -1.0, 5.0])
    found = cells(P, A, b)
    assert len(found) == 2
    for s, c in found:
        assert s[0] == s[1] and s[2] == (not s[0])  # duplicate and opposite hyperplane
        assert s[3] and not s[4] and s[5]  # constants and a far plane
        assert c.volume() == pytest.approx(0.5)
    for method in ("split", "flood"):
        other = cells(P, A, b, method=method)
        assert {s.tobytes() for s, _ in other} == {s.tobytes() for s, _ in found}


def test_cells_unbounded_polygon_uses_lp():
    H = Polytope.from_halfspaces([[0.0, -1.0]], [0.0])  # y >= 0
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([0.0, -1.0, 0.0])
    info = CellsInfo()
    found = cells(H, A, b, info=info)
    assert info.method == "split"
    # lines x=0, y=1, x=y cut the half plane into 6 regions
    assert len(found) == 6
    check_cells_against_brute_force(H, A, b, found, np.random.default_rng(9))


def test_cells_slivers_are_absorbed_and_cover():
    """Two hyperplanes 1e-12 apart: the sliver between them is not a cell, and the cells
    still cover the polytope (flood fill would be disconnected without merging)."""
    P = Polytope.box([0, 0, 0], [1, 1, 1])
    A = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    b = np.array([-0.5, -0.5 - 1e-12, -0.5])
    for method in ("auto", "split"):
        found = cells(P, A, b, method=method)
        assert len(found) == 4
        assert sum(c.volume() for _, c in found) == pytest.approx(1.0, rel=1e-9)


def test_cells_empty_budget_and_start_sign():
    assert cells(Polytope.empty(2), np.eye(2), np.zeros(2)) == []
    assert cells(Polytope.box([0, 0], [1, 0]), np.eye(2), np.zeros(2)) == []
    P = Polytope.box([0, 0], [1, 1])
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(BudgetExceededError):
        cells(P, A, [-0.5, -0.5], max_cells=3)
    # start_sign seeds the flood fill; the result does not depend on it
    f1 = cells(P, A, [-0.5, -0.5], method="flood", start_sign=[True, True])
    f2 = cells(P, A, [-0.5, -0.5], method="flood", start_sign=[False, True])
    assert {s.tobytes() for s, _ in f1} == {s.tobytes() for s, _ in f2}
    assert len(f1) == 4
    with pytest.raises(ManifoldError, match="start_sign"):
        cells(P, A, [-0.5, -0.5], start_sign=[True])
    assert len(cells(P, np.zeros((0, 2)), np.zeros(0))) == 1


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 6),
    r=st.integers(3, 8),
)
def test_property_polygon_cells_partition(seed, k, r):
    rng = np.random.default_rng(seed)
    P = random_polytope(2, r, rng, box=1.0)
    A = rng.standard_normal((k, 2))
    b = rng.uniform(-0.6, 0.6, k)
    found = cells(P, A, b)
    assert sum(c.volume() for _, c in found) == pytest.approx(P.volume(), rel=1e-9)
    check_cells_against_brute_force(P, A, b, found, rng, m=4000, lo=-np.ones(2), hi=np.ones(2))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_property_3d_cells_partition(seed, k):
    rng = np.random.default_rng(seed)
    P = random_polytope(3, 6, rng, box=1.0)
    A = rng.standard_normal((k, 3))
    b = rng.uniform(-0.5, 0.5, k)
    found = cells(P, A, b)
    assert sum(c.volume() for _, c in found) == pytest.approx(P.volume(), rel=1e-9)
    check_cells_against_brute_force(P, A, b, found, rng, m=6000, lo=-np.ones(3), hi=np.ones(3))


def test_is_bounded_prism_and_open_prism():
    G = [[1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, 0], [0, 0, 1.0], [0, 0, -1.0]]
    assert Polytope.from_halfspaces(G, np.ones(5)).is_bounded()  # triangular prism
    G2 = [[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0], [0, 0, 1.0], [0, 0, -1.0]]
    assert not Polytope.from_halfspaces(G2, np.ones(5)).is_bounded()  # open in -y
    # n = 6 takes the LP route
    assert Polytope.box(np.zeros(6), np.ones(6)).is_bounded()
    assert not Polytope.from_halfspaces(-np.eye(6), np.zeros(6)).is_bounded()


def test_intersect_keeps_or_updates_caches_correctly():
    """Cached vertex data carried through intersect() must equal a fresh computation."""
    H = hexagon(1.0)
    H.vertices()
    for G2, g2 in (
        ([[1.0, 0.0]], [5.0]),
        ([[1.0, 0.3]], [0.2]),
        ([[0.0, 1.0], [1.0, 1.0]], [0.5, 0.4]),
    ):
        Q = H.intersect(G2, g2)
        fresh = Polytope.from_halfspaces(Q.G, Q.g)
        assert Q.volume() == pytest.approx(fresh.volume(), rel=1e-12)
        V, W = Q.vertices(), fresh.vertices()
        assert sorted(map(tuple, np.round(V, 10))) == sorted(map(tuple, np.round(W, 10)))
        assert Q.remove_redundant().n_constraints == fresh.remove_redundant().n_constraints
    # 3-D cells carry vertices; a non-cutting box keeps them and the facets
    C = Polytope.box(-np.ones(3), np.ones(3))
    for _, cell in cells(C, [[1.0, 1.0, 1.0]], [0.5]):
        Q = cell.intersect(np.vstack([np.eye(3), -np.eye(3)]), np.full(6, 2.0))
        assert "vertices" in Q._cache
        assert not Q.is_empty()
        assert Q.remove_redundant().n_constraints == cell.n_constraints
        fresh = Polytope.from_halfspaces(Q.G, Q.g)
        assert fresh.remove_redundant().n_constraints == cell.n_constraints
        assert Q.volume() == pytest.approx(fresh.volume(), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_piece_pipeline_needs_no_lp(n, monkeypatch):
    """cells -> affine_image -> intersect(box) -> cells -> is_empty/remove_redundant stays
    LP-free for n <= 3 once vertex data exist (the manifold growth loop)."""
    import plrnn_manifolds.polytope as pm

    C = Polytope.box(-np.ones(n), np.ones(n))
    first = cells(C, np.ones((1, n)), [0.3])
    rng = np.random.default_rng(n)
    R = np.eye(n) + 0.2 * rng.standard_normal((n, n))
    calls = []
    monkeypatch.setattr(pm, "_linprog", lambda *a, **k: calls.append(1) or 1 / 0)
    total = 0.0
    for _, cell in first:
        img = cell.affine_image(R, 0.1 * np.ones(n))
        clipped = img.intersect(np.vstack([np.eye(n), -np.eye(n)]), np.full(2 * n, 10.0))
        for _, c in cells(clipped, np.eye(n)[:1], [0.05]):
            assert not c.is_empty()
            assert c.remove_redundant().n_constraints == c.n_constraints
            total += c.volume()
    assert not calls
    assert total == pytest.approx(2.0**n * abs(np.linalg.det(R)), rel=1e-9)


def test_primal_simplex_misreport_falls_back_to_dual(monkeypatch):
    """LPs whose origin is feasible go to primal simplex first; if it reports anything but
    optimal (HiGHS' primal simplex once called a bounded Chebyshev LP unbounded), the LP is
    re-solved by dual simplex. Simulated: a solver whose primal runs always say "unbounded"."""
    import plrnn_manifolds.polytope as P

    if P._solver() is None:
        pytest.skip("no direct HiGHS binding in this scipy; linprog is used instead")
    real = P._load_highs()  # a private solver, so the thread's own is left untouched
    h, core, status = real

    class PrimalLies:
        def __init__(self):
            self.strategy, self.primal_runs = 1, 0

        def setOptionValue(self, key, val):
            if key == "simplex_strategy":
                self.strategy = val
            return h.setOptionValue(key, val)

        def run(self):
            self.primal_runs += self.strategy == 4
            return h.run()

        def getModelStatus(self):
            if self.strategy == 4:
                return core.HighsModelStatus.kUnbounded
            return h.getModelStatus()

        def __getattr__(self, name):
            return getattr(h, name)

    fake = PrimalLies()
    state = P._Solver(fake, core, status)
    monkeypatch.setattr(P, "_solver", lambda: state)
    cube = Polytope.box(-np.ones(3), 2 * np.ones(3))
    c, r = cube.chebyshev()
    assert fake.primal_runs >= 1  # the origin is feasible, so primal simplex was tried
    assert r == pytest.approx(1.5) and np.allclose(c, 0.5)


def test_lps_from_concurrent_threads_agree_with_serial_solves():
    """Each thread has its own HiGHS instance (a shared one would mix up models and warm-start
    bases between threads): Chebyshev centres and support values of random polytopes solved
    from 4 threads at once equal the serial answers."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(7)
    problems = []
    for _ in range(40):
        d = int(rng.integers(2, 7))
        problems.append((rng.standard_normal((3 * d, d)), rng.uniform(0.5, 2.0, 3 * d)))

    def solve(item):
        poly = Polytope(*item)  # a new instance each time: nothing comes from a cache
        lo, hi = poly._bounding_box()
        return poly.chebyshev()[1], lo, hi

    serial = [solve(p) for p in problems]
    with ThreadPoolExecutor(4) as ex:
        threaded = list(ex.map(solve, problems * 5))
    for k, (r, lo, hi) in enumerate(threaded):
        r0, lo0, hi0 = serial[k % len(problems)]
        assert r == pytest.approx(r0, rel=1e-9)
        np.testing.assert_allclose(lo, lo0, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(hi, hi0, rtol=1e-9, atol=1e-12)
