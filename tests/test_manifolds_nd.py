"""Exact manifolds in 3 to 30 dimensions, and bad input.

Every check uses the true map, independently of the growth code:

- residual: the one-step residual of every piece (``max_residual``), plus a direct check that a
  point of a piece of depth ``m`` lands on its seed's affine hull after ``m`` map steps;
- convergence: forward orbits of points sampled on a stable manifold approach the saddle;
- separation: for codimension-1 stable manifolds of bistable models, points pushed a small step
  to either side of a piece end in different attractors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plrnn_manifolds.errors import DataError, ManifoldError, NonHyperbolicError
from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.manifolds.growth import RegionInfo, _normal_basis
from plrnn_manifolds.manifolds.subspaces import invariant_subspace
from plrnn_manifolds.manifolds.verify import forward_convergence
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import bistable_alrnn, border_collision, load_model
from plrnn_manifolds.models.synthetic import bistable_shplrnn
from plrnn_manifolds.orbits import find_orbits

MODELS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "models"


# ------------------------------------------------------------------------------ helpers
def attractor_box(orbits, margin):
    pts = np.array([o.points[0] for o in orbits.orbits])
    return pts.min(axis=0) - margin, pts.max(axis=0) + margin


def points_and_normals(man, n, seed=0):
    """Points inside random pieces of a codimension-1 manifold, with the piece normals."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(man.pieces), size=n)
    X, N = [], []
    for i in idx:
        p = man.pieces[i]
        c, r = p.polytope.inner_ball()
        v = rng.normal(size=p.dimension)
        s = c + 0.5 * r * rng.random() * v / np.linalg.norm(v)
        X.append(p.point(s))
        N.append(_normal_basis(p.basis)[:, 0])
    return np.array(X), np.array(N)


def final_attractor(F, X, attractors, n_steps=800):
    Z = np.array(X, dtype=float)
    for _ in range(n_steps):
        Z = F(Z)
    d = np.linalg.norm(Z[:, None, :] - attractors[None, :, :], axis=2)
    lab = np.argmin(d, axis=1)
    lab[np.min(d, axis=1) > 1e-3 * F.scale] = -1  # did not converge to a stable fixed point
    return lab


def check_depth_lands_on_seed(F, man, n=20):
    """A point of a piece of depth m maps onto the affine hull of its seed in m steps."""
    for p in man.pieces[:: max(1, len(man.pieces) // n)]:
        x = p.point(p.polytope.inner_ball()[0])
        y = x
        for _ in range(p.depth):
            y = F(y)
        seed = man.seeds[p.seed]
        rel = y - seed.origin
        off = rel - seed.basis @ (seed.basis.T @ rel)
        assert np.linalg.norm(off) <= 1e-9 * F.scale * (1 + np.linalg.norm(x)), p.depth


def check_codim1_stable(F, orbits, man, n=120, min_split=0.95):
    assert man.dimension == F.M - 1
    assert man.pieces
    assert man.max_residual <= 1e-9
    check_depth_lands_on_seed(F, man)
    conv = forward_convergence(F, man, n=60, n_steps=400)
    assert np.all(conv <= 1e-6), conv.max()
    X, N = points_and_normals(man, n)
    eps = 1e-6 * F.scale
    att = np.array([o.points[0] for o in orbits.stable()])
    assert len(att) == 2
    a = final_attractor(F, X + eps * N, att)
    b = final_attractor(F, X - eps * N, att)
    split = np.mean((a >= 0) & (b >= 0) & (a != b))
    assert split >= min_split, split


# ------------------------------------------------------------------------------ bistable models
@pytest.mark.parametrize(
    "M,P,margin,budget",
    [(3, 2, 1.0, 5000), (5, 3, 1.0, 5000), (10, 4, 0.5, 5000), (25, 6, 0.1, 150)],
    ids=["M3", "M5", "M10", "M25"],
)
def test_bistable_alrnn_codim1_stable_manifold(M, P, margin, budget):
    F = bistable_alrnn(M, P)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    assert saddle.n_unstable == 1
    box = attractor_box(orbits, margin)
    man = grow_manifold(F, saddle, "stable", box=box, max_pieces=budget, growth_margin=0.0)
    assert man.complete
    if M == 25:
        assert "budget" in man.stopped_by  # a partial manifold: still exact piece by piece
    check_codim1_stable(F, orbits, man)


def test_bistable_alrnn_unstable_manifold_joins_the_attractors():
    F = bistable_alrnn(10, 4)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    man = grow_manifold(F, saddle, "unstable", box=attractor_box(orbits, 0.5), depth=60)
    assert man.dimension == 1
    assert man.max_residual <= 1e-9
    # the two branches of W^u are the heteroclinic connections to the two attractors
    att = np.array([o.points[0] for o in orbits.stable()])
    lab = final_attractor(F, man.sample(200), att)
    assert set(lab.tolist()) == {0, 1}
    assert np.all(man.distance(att) <= 0.05 * np.linalg.norm(att - saddle.points[0], axis=1))


def test_shplrnn_m3_h20_codim1_stable_manifold():
    F = bistable_shplrnn(3, 20)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    man = grow_manifold(
        F, saddle, "stable", box=attractor_box(orbits, 1.0), max_pieces=2000, growth_margin=0.0
    )
    # 2^20 regions cannot be enumerated: invertibility is unknown and the result says so
    assert not man.complete
    assert any("invertibility could not be checked" in e for e in man.events)
    check_codim1_stable(F, orbits, man)


# ------------------------------------------------------------------------------ real models
REAL = ["alrnn_lorenz63_m20_p2.pt", "alrnn_lorenz63_m30_p10.pt"]


@pytest.mark.parametrize("name", REAL)
def test_real_alrnn_saddle_manifolds(name):
    path = MODELS_DIR / name
    if not path.is_file():
        pytest.skip(
            f"{path} is absent: the real trained ALRNN models are not committed "
            "(lay ../shared beside the repository to run this test)"
        )
    F = load_model(path)
    orbits = find_orbits(F, max_period=1)
    saddles = [o for o in orbits.saddles() if o.n_unstable == 1 and not o.near_nonhyperbolic]
    if not saddles:
        pytest.skip(f"{name} has no saddle with one unstable direction")
    s = saddles[0]
    traj = F.trajectory(np.zeros(F.M), 2000, transient=500)
    lo = np.minimum(traj.min(0) - 0.1 * np.ptp(traj, 0), s.points.min(0) - 0.1)
    hi = np.maximum(traj.max(0) + 0.1 * np.ptp(traj, 0), s.points.max(0) + 0.1)
    man = grow_manifold(F, s, "stable", box=(lo, hi), depth=3, max_pieces=30, growth_margin=0.0)
    assert man.dimension == F.M - 1
    assert man.max_residual <= 1e-9
    assert "budget" in man.stopped_by or "box" in man.stopped_by or "depth" in man.stopped_by
    check_depth_lands_on_seed(F, man)
    # eigenvalues near 0.95 and 1.09: round-off grows by 1.09 per step, so the closest approach
    # to the saddle is about 1e-5, far below the starting distance
    conv = forward_convergence(F, man, n=40, n_steps=600)
    start = np.linalg.norm(man.sample(40) - s.points[0], axis=1) / F.scale
    assert np.all(conv <= 1e-3) and np.all(conv <= 1e-2 * start)
    if RegionInfo.of(F).invertible is False:
        assert any("not invertible" in e for e in man.events)
    uns = grow_manifold(F, s, "unstable", box=(lo, hi), depth=30, max_pieces=2000)
    assert uns.dimension == 1 and uns.max_residual <= 1e-9


# ------------------------------------------------------------------------------ bad input
def test_not_a_saddle_is_refused():
    F = bistable_alrnn(5, 3)
    orbits = find_orbits(F, max_period=1)
    stable = orbits.stable()[0]
    with pytest.raises(ManifoldError, match="not a saddle"):
        grow_manifold(F, stable, "stable", box=attractor_box(orbits, 1.0))
    with pytest.raises(ManifoldError, match="not a saddle"):
        invariant_subspace(stable.monodromy, "stable")


def test_eigenvalue_on_the_unit_circle_is_refused():
    # z' = diag(2, -1, 0.5) z + h1 away from the only hyperplane: a fixed point with
    # eigenvalues 2, -1, 0.5, classified a saddle but not hyperbolic
    F = PLMap(
        A=np.diag([2.0, -1.0, 0.5]),
        W1=np.zeros((3, 1)),
        W2=np.array([[1.0, 0.0, 0.0]]),
        h1=np.array([1.0, 0.0, 0.0]),
        h2=np.array([5.0]),
    )
    orbits = find_orbits(F, max_period=1)
    o = orbits.orbits[0]
    assert o.classification == "saddle" and o.near_nonhyperbolic
    with pytest.raises(NonHyperbolicError, match="unit circle"):
        grow_manifold(F, o, "stable", box=[-10, 10])


def test_bad_boxes_are_refused():
    F = bistable_alrnn(5, 3)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    lo, hi = attractor_box(orbits, 1.0)
    with pytest.raises(DataError, match="empty"):
        grow_manifold(F, saddle, "stable", box=(lo, lo))
    far_lo, far_hi = lo + 100.0, hi + 100.0
    with pytest.raises(ManifoldError, match="does not contain the orbit"):
        grow_manifold(F, saddle, "stable", box=(far_lo, far_hi))


def test_budget_exhausted_is_reported_not_raised():
    F = bistable_alrnn(5, 3)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    man = grow_manifold(F, saddle, "stable", box=attractor_box(orbits, 1.0), max_pieces=5)
    assert "budget" in man.stopped_by
    assert man.n_tree_pieces <= 5
    assert man.max_residual <= 1e-9


def test_non_invertible_map_is_flagged_and_pieces_stay_exact():
    # delta_l < 0 < delta_r: the two region Jacobians have determinants of opposite sign
    F = border_collision(tau_l=-0.3, delta_l=-0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0)
    assert RegionInfo.of(F).invertible is False
    saddle = find_orbits(F, max_period=1).saddles()[0]
    man = grow_manifold(F, saddle, "stable", box=[-3, 3], depth=12)
    assert any("not invertible" in e for e in man.events)
    assert man.pieces and man.max_residual <= 1e-9
    check_depth_lands_on_seed(F, man)


def test_singular_region_is_a_reported_fold():
    # delta_r = 0: the right region's Jacobian is singular (the saddle lies there, with a zero
    # eigenvalue); preimages through that region are higher-dimensional and must be reported
    F = border_collision(tau_l=-0.3, delta_l=0.9, tau_r=1.85, delta_r=0.0, c=1, d=0, h1=-1, h2=0)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    uns = grow_manifold(F, saddle, "unstable", box=[-3, 3], depth=12)
    sta = grow_manifold(F, saddle, "stable", box=[-3, 3], depth=12)
    events = uns.events + sta.events
    assert any("fold" in e or "singular" in e for e in events), events
    assert not (uns.complete and sta.complete)
    assert uns.max_residual <= 1e-9 and sta.max_residual <= 1e-9


# --------------------------------------------------------------- folds and cycle manifolds
def test_fold_is_reported_and_leaves_no_wrong_piece():
    """F = diag(2, 2, 1/2) z - 2 relu(x - 1) e_x: the saddle at 0 has the xy-plane as unstable
    manifold; beyond x = 1 the map kills x, so the region map loses rank on the plane (a fold).
    Growth must say so (complete False, a 'fold' event) and every piece must still lie in the
    plane z = 0 and be mapped onto the plane."""
    A = np.diag([2.0, 2.0, 0.5])
    F = PLMap(
        A=A, W1=np.array([[-2.0], [0.0], [0.0]]), W2=np.array([[1.0, 0.0, 0.0]]),
        h1=np.zeros(3), h2=np.array([-1.0]),
    )  # fmt: skip
    orb = find_orbits(F, max_period=1)
    s = next(o for o in orb.orbits if np.allclose(o.points[0], 0.0))
    assert s.classification == "saddle" and s.n_unstable == 2
    man = grow_manifold(F, s, "unstable", box=[-3, 3], depth=6, max_pieces=500)
    assert man.complete is False
    assert any(e.startswith("fold") for e in man.events), man.events
    assert {p.region[0] for p in man.pieces} == {False, True}  # the fold region was entered
    pts = man.sample(300, seed=1)
    assert np.max(np.abs(pts[:, 2])) < 1e-12
    assert np.max(np.abs(F(pts)[:, 2])) < 1e-12


@pytest.mark.parametrize("tau_l", [-0.3, 0.9])
def test_unstable_manifolds_of_saddle_cycles_are_forward_invariant(tau_l):
    """W^u of every saddle cycle of the Fig 3B maps, grown from the seeds at all k points: the
    image of a point of a piece of depth < max lies on the manifold again (or left the box)."""
    from plrnn_manifolds.models import border_collision

    F = border_collision(tau_l=tau_l, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0)
    orb = find_orbits(F, max_period=5, seed=0)
    cycles = [o for o in orb.orbits if o.classification == "saddle" and o.period > 1]
    assert cycles
    allp = np.vstack([o.points for o in cycles])
    lo, hi = np.minimum(allp.min(0), -3.0) - 0.5, np.maximum(allp.max(0), 3.0) + 0.5
    for o in cycles:
        man = grow_manifold(F, o, "unstable", box=(lo, hi), depth=8, max_pieces=3000)
        assert man.max_residual <= 1e-9 * F.scale
        # every orbit point carries a seed piece
        for p in o.points:
            assert man.distance(p) < 1e-9 * F.scale
        shallow = [q for q in man.pieces if q.depth < 8]
        rng = np.random.default_rng(0)
        for q in shallow[:: max(1, len(shallow) // 40)]:
            v = q.vertices()
            t = rng.uniform(size=(3, 1))
            y = F(v[0] + t * (v[1] - v[0]))
            inside = np.all((y >= lo) & (y <= hi), axis=1)
            for yy in y[inside]:
                assert man.distance(yy) < 1e-8 * F.scale, (o.period, q.depth)
