"""Attractor catalogue and brute-force basins against analytic and independent results."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.spatial import cKDTree

from plrnn_manifolds._atomic import to_json
from plrnn_manifolds.basins import (
    AttractorCatalogue,
    GridBasins,
    basin_fractions,
    basin_of,
    default_box,
    find_attractors,
    grid_basins,
)
from plrnn_manifolds.errors import DataError, OrbitError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import border_collision, lozi, plrnn, shplrnn


# ---------------------------------------------------------------------- models and stand-ins
def fig3b(tau_l: float) -> PLMap:
    return border_collision(
        tau_l=tau_l, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0
    )


def bistable(u, theta: float, lam: float = 0.5) -> PLMap:
    r"""F(z) = lam (I - u u^T) z + u g(u.z), g(s) = 2 clip(s - theta, -1, 1) + theta.

    g has an unstable fixed point at theta (slope 2) and stable ones at theta +- 2 (slope 0),
    so the map has stable fixed points (theta +- 2) u, a saddle at theta u, and the basins are
    the half-spaces u.z > theta and u.z < theta exactly. clip(x) = relu(x+1) - relu(x-1) - 1.
    """
    u = np.asarray(u, dtype=float)
    u = u / np.linalg.norm(u)
    M = u.size
    A = lam * (np.eye(M) - np.outer(u, u))
    W1 = np.stack([2 * u, -2 * u], axis=1)
    W2 = np.stack([u, u])
    return shplrnn(A, W1, W2, (theta - 2) * u, [1 - theta, -1 - theta])


@dataclass
class StandInOrbit:
    """Duck-typed stand-in for orbits.Orbit."""

    points: np.ndarray
    classification: str

    @property
    def period(self) -> int:
        return len(self.points)


def brute_force_orbits(model: PLMap, max_period: int) -> list[StandInOrbit]:
    """All cycles up to ``max_period`` of a map with few regions, by solving the cycle equation
    for every pattern sequence (independent of orbits.py)."""
    found: list[StandInOrbit] = []
    pats = [np.array(p, dtype=bool) for p in itertools.product([0, 1], repeat=model.H)]
    for k in range(1, max_period + 1):
        for seq in itertools.product(range(len(pats)), repeat=k):
            P = [pats[i] for i in seq]
            try:
                z = model.solve_cycle(P)
            except OrbitError:
                continue
            pts = model.orbit_points(z, P)
            if not np.array_equal(model.pattern(pts), np.array(P)):
                continue
            if any(np.allclose(pts[0], pts[j]) for j in range(1, k)):
                continue  # not of minimal period
            if any(
                len(o.points) == k and np.min(np.linalg.norm(o.points - pts[0], axis=1)) < 1e-9
                for o in found
            ):
                continue
            ev = np.abs(np.linalg.eigvals(model.compose(P)[0]))
            cls = "stable" if ev.max() < 1 else "unstable" if ev.min() > 1 else "saddle"
            found.append(StandInOrbit(pts, cls))
    return found


def _min_dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))


# ---------------------------------------------------------------------- Fig 3B
# Half-width of a box in which both the fixed point and escape hold a real share of the area.
FIG3B = [(-0.3, 4.0), (0.9, 8.0)]


@pytest.mark.parametrize("tau_l, w", FIG3B)
def test_fig3b_attractors_are_invariant_attracting_and_never_saddles(tau_l, w):
    m = fig3b(tau_l)
    orbits = brute_force_orbits(m, 5)
    saddles = [o for o in orbits if o.classification != "stable"]
    assert saddles, "the Fig 3B maps have saddle cycles (basin boundaries)"
    box = (np.array([-w, -w]), np.array([w, w]))
    cat = find_attractors(m, orbits=orbits, n_initial=200, box=box, seed=1)
    # Exactly the stable fixed point, identified with the stable orbit of the list.
    assert len(cat) == 1
    a = cat[0]
    assert a.kind == "fixed_point" and a.period == 1
    assert orbits[a.orbit].classification == "stable"
    assert a.n_hits > 0  # simulations also converged to it
    assert cat.n_escaped > 0  # and others escaped
    for o in saddles:
        assert _min_dist(a.points, o.points) > 1e-3
    # Invariant: F maps its points onto themselves.
    L = cat.length_scale
    assert np.max(np.abs(m(a.points) - a.points)) < 1e-12 * L
    # Exact exponents: log|eig| = log sqrt(det) = 0.5 log 0.9 (complex pair).
    np.testing.assert_allclose(a.lyapunov, [0.5 * np.log(0.9)] * 2, atol=1e-12)
    # Attracting: small perturbations return.
    rng = np.random.default_rng(0)
    pert = a.points[0] + 1e-2 * rng.standard_normal((50, 2))
    assert np.all(basin_of(m, cat, pert) == a.id)
    tr = m.trajectory(pert, 1, 2000)[0]
    assert np.max(np.linalg.norm(tr - a.points[0], axis=1)) < 1e-6


@pytest.mark.parametrize("tau_l, w", FIG3B)
def test_fig3b_monte_carlo_fractions_agree_with_grid(tau_l, w):
    m = fig3b(tau_l)
    box = (np.array([-w, -w]), np.array([w, w]))
    cat = find_attractors(m, n_initial=100, box=box, seed=0)
    assert [a.kind for a in cat] == ["fixed_point"]
    g = grid_basins(m, cat, slice=(0, 1), bounds=((-w, w), (-w, w)), n=200)
    gf = g.fractions()
    mc = basin_fractions(m, cat, n_samples=40000, seed=3)
    # The question must not be trivial: both escape and the fixed point hold real area.
    assert 0.05 < gf[0] < 0.95 and 0.05 < gf.get(-1, 0.0) < 0.95
    assert gf.get(-2, 0.0) < 0.002 and mc.fractions[-2] < 0.002
    for lab in (0, -1):
        assert abs(mc.fractions[lab] - gf[lab]) < 0.01
        assert mc.stderr[lab] < 0.003


def test_real_orbit_finder_saddles_are_not_attractors():
    orbits_mod = pytest.importorskip("plrnn_manifolds.orbits")
    m = fig3b(-0.3)
    res = orbits_mod.find_orbits(m, max_period=6, seed=0)
    box = (np.array([-4.0, -4.0]), np.array([4.0, 4.0]))
    cat = find_attractors(m, orbits=res, n_initial=100, box=box)
    stable = {i for i, o in enumerate(res.orbits) if o.classification == "stable"}
    assert {a.orbit for a in cat if a.orbit is not None} == stable
    for o in res.orbits:
        if o.classification != "stable":
            for a in cat:
                assert a.points.shape != o.points.shape or _min_dist(a.points, o.points) > 1e-3


# ---------------------------------------------------------------------- stand-in orbits
def test_only_stable_orbits_of_the_list_enter_the_catalogue():
    theta = 0.3
    u = np.array([np.cos(0.5), np.sin(0.5)])
    m = bistable(u, theta)
    p_plus, p_minus, saddle = (theta + 2) * u, (theta - 2) * u, theta * u
    orbits = [
        StandInOrbit(saddle[None], "saddle"),
        StandInOrbit(p_plus[None], "stable"),
        StandInOrbit(np.stack([saddle, saddle]), "unstable"),  # ignored whatever it is
        StandInOrbit(p_minus[None], "stable"),
    ]
    box = (np.array([-3.0, -3.0]), np.array([3.0, 3.0]))
    cat = find_attractors(m, orbits=orbits, n_initial=100, box=box)
    assert [a.orbit for a in cat] == [1, 3]
    assert [a.kind for a in cat] == ["fixed_point", "fixed_point"]
    assert all(a.n_hits > 0 for a in cat)
    # 100 uniform starts plus a +- pair next to each of the 3 non-stable orbit points; every start
    # either reaches one of the two attractors or escapes.
    assert cat.n_initial == 106
    assert sum(a.n_hits for a in cat) + cat.n_escaped == 106
    # J = lam (I - u u^T) at both points: eigenvalues 0 and lam -> exponents log lam, -inf.
    for a in cat:
        assert a.lyapunov[0] == pytest.approx(np.log(0.5), abs=1e-12)
        assert a.lyapunov[1] == -np.inf
    # Serialisation: exact keys, JSON-clean (no NaN/inf numbers).
    d = cat[0].to_dict()
    assert set(d) == {
        "id",
        "kind",
        "period",
        "orbit",
        "points",
        "lyapunov",
        "basin_fraction",
        "distance_to_boundary",
    }
    assert json.loads(to_json(cat.to_dict()))["attractors"][0]["lyapunov"][1] is None


def test_orbit_of_another_model_is_rejected():
    m = bistable([1.0, 0.0], 0.0)
    with pytest.raises(DataError, match="not an orbit of this model"):
        find_attractors(m, orbits=[StandInOrbit(np.array([[0.7, 0.1]]), "stable")], n_initial=5)
    with pytest.raises(DataError, match="classification"):
        find_attractors(m, orbits=[object()], n_initial=5)


# ---------------------------------------------------------------------- analytic basins
def test_grid_labels_match_the_analytic_half_planes():
    theta = 0.3
    u = np.array([np.cos(0.5), np.sin(0.5)])
    m = bistable(u, theta)
    box = (np.array([-3.0, -3.0]), np.array([3.0, 3.0]))
    cat = find_attractors(m, n_initial=60, box=box)
    assert len(cat) == 2 and {a.kind for a in cat} == {"fixed_point"}
    plus = next(a.id for a in cat if a.points[0] @ u > theta)
    minus = 1 - plus
    n = 121
    g = grid_basins(m, cat, slice=(0, 1), bounds=((-3, 3), (-3, 3)), n=n)
    assert isinstance(g, GridBasins) and g.labels.shape == (n, n)
    X, Y = np.meshgrid(g.xs, g.ys)
    s = u[0] * X + u[1] * Y - theta
    cell = g.xs[1] - g.xs[0]
    far = np.abs(s) > np.sqrt(2) * cell
    expected = np.where(s > 0, plus, minus)
    assert np.array_equal(g.labels[far], expected[far])
    assert far.mean() > 0.9
    # Boundary cells hug the line.
    bc = g.boundary_cells()
    assert bc.any() and np.all(np.abs(s[bc]) <= 1.5 * np.sqrt(2) * cell)


def test_point_on_the_basin_boundary_is_undecided_and_far_points_escape():
    m = bistable([1.0, 0.0], 0.5)  # u = e1: u.z is exact in floating point
    box = (np.array([-3.0, -3.0]), np.array([3.0, 3.0]))
    cat = find_attractors(m, n_initial=20, box=box)
    labels = basin_of(m, cat, [[0.5, 1.0], [0.6, 1.0], [0.4, 1.0]], n_steps=200)
    plus = next(a.id for a in cat if a.points[0, 0] > 0.5)
    assert labels.tolist() == [-2, plus, 1 - plus]
    # Lozi: far points escape, labelled -1 (never NaN), with integer dtype.
    lz = lozi()
    cat_l = find_attractors(lz, n_initial=50, lyapunov_steps=2000)
    lab = basin_of(lz, cat_l, [[50.0, 50.0], [1e150, -1e150]])
    assert lab.dtype.kind == "i" and lab.tolist() == [-1, -1]


def irwin_hall_sf(x: float, n: int) -> float:
    """P(U_1 + ... + U_n > x) for independent U(0, 1)."""
    cdf = sum((-1) ** k * math.comb(n, k) * (x - k) ** n for k in range(int(math.floor(x)) + 1))
    return 1.0 - cdf / math.factorial(n)


@pytest.mark.parametrize("theta", [0.0, 0.8])
def test_10d_bistable_fractions_match_analytic_values(theta):
    M = 10
    if theta == 0.0:
        # Generic direction; the map is odd and the box symmetric: fractions 1/2 exactly.
        u = np.random.default_rng(7).standard_normal(M)
        u /= np.linalg.norm(u)
        p_plus = 0.5
    else:
        # u = 1/sqrt(10): u.z > theta iff sum z_i > theta sqrt(10), an Irwin-Hall tail.
        u = np.ones(M) / np.sqrt(M)
        p_plus = irwin_hall_sf((theta * np.sqrt(M) + M) / 2, M)
    m = bistable(u, theta)
    # By construction: F(p) = p and J = 0.5 (I - u u^T) has spectral radius 0.5 < 1.
    for p in ((theta + 2) * u, (theta - 2) * u):
        np.testing.assert_allclose(m(p), p, atol=1e-12)
        J = m.jacobian(m.pattern(p))
        assert np.max(np.abs(np.linalg.eigvals(J))) < 1
    box = (-np.ones(M), np.ones(M))
    cat = find_attractors(m, n_initial=80, box=box, n_transient=200, n_keep=200)
    assert len(cat) == 2 and all(a.kind == "fixed_point" for a in cat)
    plus = next(a.id for a in cat if a.points[0] @ u > theta)
    fr = basin_fractions(m, cat, n_samples=20000, seed=11)
    assert fr.fractions[-1] == 0.0 and fr.fractions[-2] == 0.0
    assert abs(fr.fractions[plus] - p_plus) < 4 * np.sqrt(p_plus * (1 - p_plus) / 20000)
    assert fr.fractions[plus] + fr.fractions[1 - plus] == pytest.approx(1.0)
    cat2 = cat.with_basin_fractions(fr)
    assert cat2[plus].basin_fraction == fr.fractions[plus] and cat[plus].basin_fraction is None


# ---------------------------------------------------------------------- kinds of attractor
def test_lozi_catalogue_one_chaotic_attractor_escape_elsewhere():
    m = lozi(1.7, 0.5)
    cat = find_attractors(m, n_initial=150, seed=0)
    assert isinstance(cat, AttractorCatalogue)
    assert len(cat) == 1
    a = cat[0]
    assert a.kind == "chaotic" and a.period is None and a.orbit is None
    assert a.lyapunov[0] == pytest.approx(0.4703, abs=0.02)
    assert sum(a.lyapunov) == pytest.approx(np.log(0.5), abs=1e-9)
    assert cat.n_escaped > 0
    # The default box contains the attractor.
    lo, hi = cat.box
    assert np.all(a.points >= lo) and np.all(a.points <= hi)
    # Invariant: images of its points stay on the sampled attractor.
    img = a.points
    for _ in range(20):
        img = m(img)
    d, _ = cKDTree(a.points).query(img)
    assert np.mean(d <= a.capture_radius) > 0.99
    # Attracting: perturbed points come back and are labelled with its id.
    rng = np.random.default_rng(1)
    pert = a.points[rng.choice(len(a.points), 200)] + 1e-3 * rng.standard_normal((200, 2))
    assert np.mean(basin_of(m, cat, pert) == a.id) > 0.97
    fr = basin_fractions(m, cat, n_samples=4000)
    assert fr.fractions[0] > 0.1 and fr.fractions[-1] > 0.1


def test_stable_two_cycle_found_exactly_by_simulation():
    # x: slopes -0.5 (x<0), -1.5 (x>0): 2-cycle {2, -2}; y' = 0.5 y + 0.5: y* = 1.
    m = plrnn(A=[-0.5, 0.5], W=np.diag([-1.0, 0.0]), h=[1.0, 0.5])
    box = (np.array([-5.0, -5.0]), np.array([5.0, 5.0]))
    cat = find_attractors(m, n_initial=40, box=box)
    assert len(cat) == 1
    a = cat[0]
    assert a.kind == "cycle" and a.period == 2 and a.n_hits == 40
    pts = a.points[np.argsort(a.points[:, 0])]
    np.testing.assert_allclose(pts, [[-2.0, 1.0], [2.0, 1.0]], atol=1e-13)
    np.testing.assert_allclose(a.lyapunov, [0.5 * np.log(0.75), np.log(0.5)], atol=1e-13)


def test_rotation_gives_quasi_periodic_labels():
    # z -> blockdiag(R_1rad, 0.5) z: every orbit lies on a circle (x^2 + y^2 = const) with
    # exponents (0, 0, log 0.5). Not attracting in the rotation plane, but it exercises the
    # label lambda_1 ~ 0 -> quasi_periodic and the separation of nearby invariant circles.
    A = np.zeros((3, 3))
    A[:2, :2] = [[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]]
    A[2, 2] = 0.5
    m = PLMap(A, np.zeros((3, 1)), np.ones((1, 3)), np.zeros(3), np.zeros(1))
    box = (-np.ones(3), np.ones(3))
    cat = find_attractors(m, n_initial=3, box=box, n_transient=100, lyapunov_steps=2000)
    assert 1 <= len(cat) <= 3
    for a in cat:
        assert a.kind == "quasi_periodic"
        np.testing.assert_allclose(a.lyapunov, [0.0, 0.0, np.log(0.5)], atol=1e-9)
        r = np.linalg.norm(a.points[:, :2], axis=1)
        assert r.max() - r.min() < 1e-9 * r.max()
    # basin_of on sampled curves: a point on a circle (any phase, z off the plane) is
    # captured by that circle; a point between circles is not captured by anything.
    radii = sorted(np.linalg.norm(a.points[0, :2]) for a in cat)
    phases = np.linspace(0, 2 * np.pi, 7)[:-1]
    for a in cat:
        r = np.linalg.norm(a.points[0, :2])
        pts = np.stack([r * np.cos(phases), r * np.sin(phases), 0.3 * np.ones(6)], axis=1)
        assert np.all(basin_of(m, cat, pts, n_steps=300) == a.id)
    r_out = radii[-1] * 1.2
    lab = basin_of(m, cat, [[r_out, 0.0, 0.0]], n_steps=300)
    assert lab.tolist() == [-2]


def test_default_box_is_deterministic_and_contains_attractor():
    m = border_collision(
        tau_l=-1.77, delta_l=0.9, tau_r=1.5, delta_r=0.75, c=0.6, d=0.15, h1=-0.7, h2=-0.4
    )
    lo, hi = default_box(m, seed=4)
    lo2, hi2 = default_box(m, seed=4)
    np.testing.assert_array_equal(lo, lo2)
    np.testing.assert_array_equal(hi, hi2)
    assert np.all(np.isfinite(lo)) and np.all(hi > lo)
    tail = m.trajectory([0.05, 0.02], 2000, 1000)
    assert np.all(tail >= lo) and np.all(tail <= hi)


# ---------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def toy():
    m = bistable([1.0, 0.0], 0.0)
    box = (np.array([-3.0, -3.0]), np.array([3.0, 3.0]))
    return m, find_attractors(m, n_initial=10, box=box, n_transient=50, n_keep=100)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 1}, "n \\(grid points"),
        ({"slice": (0, 0)}, "must differ"),
        ({"slice": (0, 2)}, "0..1"),
        ({"slice": (-1, 0)}, "0..1"),
        ({"slice": (0.5, 1)}, "integer"),
        ({"slice": 3}, "pair"),
        ({"bounds": ((1, 0), (0, 1))}, "empty or inverted"),
        ({"bounds": ((0, 0), (0, 1))}, "empty or inverted"),
        ({"bounds": ((0, np.nan), (0, 1))}, "NaN"),
        ({"bounds": ((0, 1),)}, "shape"),
        ({"base_point": [0.0, 0.0, 0.0]}, "base_point"),
        ({"base_point": [np.inf, 0.0]}, "base_point"),
    ],
)
def test_grid_bad_input(toy, kwargs, match):
    m, cat = toy
    args = {"slice": (0, 1), "bounds": ((-1, 1), (-1, 1)), "n": 5}
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        grid_basins(m, cat, **args)


def test_other_bad_input(toy):
    m, cat = toy
    with pytest.raises(DataError, match="NaN"):
        basin_of(m, cat, [[np.nan, 0.0]])
    with pytest.raises(DataError, match="last dimension"):
        basin_of(m, cat, [[0.0, 0.0, 0.0]])
    with pytest.raises(DataError, match="AttractorCatalogue"):
        basin_of(m, {"attractors": []}, [[0.0, 0.0]])
    with pytest.raises(DataError, match="n_initial"):
        find_attractors(m, n_initial=0)
    with pytest.raises(DataError, match="inverted"):
        find_attractors(m, box=([1.0, 0.0], [0.0, 1.0]))
    with pytest.raises(DataError, match="shape"):
        find_attractors(m, box=([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]))
    with pytest.raises(DataError, match="NaN"):
        basin_fractions(m, cat, box=([np.nan, 0.0], [1.0, 1.0]))
    with pytest.raises(DataError, match="n_samples"):
        basin_fractions(m, cat, n_samples=0)
    with pytest.raises(DataError, match="PLMap"):
        find_attractors("lozi")
    with pytest.raises(DataError, match="orbits must be"):
        find_attractors(m, orbits=3, n_initial=5)
    with pytest.raises(DataError, match="another model"):
        basin_of(bistable(np.ones(3), 0.0), cat, [[0.0, 0.0, 0.0]])


def _thin_basin_map(M=12, delta=0.2):
    """x' = 2x - 1.5 relu(x - 1): unstable point 0, stable point 3 (x > 0 goes there, x < 0
    escapes); every other coordinate y' = 0.5 y for |y| < delta and 3y -+ 2.5 delta beyond, so
    the basin of (3, 0, ..., 0) is a slab of width 2.5 delta per coordinate (a fraction of about
    1e-12 of the box [-3, 3]^12)."""
    K = M - 1
    A = np.diag(np.r_[2.0, np.full(K, 0.5)])
    W2 = np.zeros((1 + 2 * K, M))
    W1 = np.zeros((M, 1 + 2 * K))
    h2 = np.zeros(1 + 2 * K)
    W2[0, 0], h2[0], W1[0, 0] = 1.0, -1.0, -1.5
    for i in range(K):
        W2[1 + 2 * i, 1 + i], h2[1 + 2 * i], W1[1 + i, 1 + 2 * i] = 1.0, -delta, 2.5
        W2[2 + 2 * i, 1 + i], h2[2 + 2 * i], W1[1 + i, 2 + 2 * i] = -1.0, -delta, -2.5
    return PLMap(A=A, W1=W1, W2=W2, h1=np.zeros(M), h2=h2)


def test_attractor_found_from_saddle_neighbourhood_when_uniform_starts_escape():
    """Uniform starts in a wide 12-D box all miss the slab-shaped basin; starts on both sides of
    the saddle at the origin (along its unstable manifold) find the attractor, and so do supplied
    initial conditions."""
    m = _thin_basin_map()
    M = m.M
    target = np.r_[3.0, np.zeros(M - 1)]
    np.testing.assert_allclose(m(target), target, atol=1e-12)
    box = (np.full(M, -3.0), np.full(M, 3.0))
    alone = find_attractors(m, n_initial=100, box=box)
    assert len(alone) == 0 and alone.n_escaped == 100
    saddle = StandInOrbit(np.zeros((1, M)), "saddle")
    cat = find_attractors(m, orbits=[saddle], n_initial=100, box=box)
    assert len(cat) == 1 and cat[0].kind == "fixed_point"
    np.testing.assert_allclose(cat[0].points[0], target, atol=1e-9)
    cat = find_attractors(m, n_initial=100, box=box, initial=[0.5 * target])
    assert len(cat) == 1
    np.testing.assert_allclose(cat[0].points[0], target, atol=1e-9)
    with pytest.raises(DataError, match="initial"):
        find_attractors(m, n_initial=10, box=box, initial=np.zeros((2, M + 1)))
