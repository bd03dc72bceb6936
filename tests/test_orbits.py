"""Tests of plrnn_manifolds.orbits: SCYFI, exhaustive search, classification.

Reference values come from code written here, independently of the module: brute-force
enumeration of every region (pair) with plain numpy, itinerary enumeration of 2-D border-collision
maps from their defining matrices, and the Lozi map's fixed points and eigenvalues by hand.
"""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest

from plrnn_manifolds.errors import (
    BudgetExceededError,
    ModelError,
    OrbitError,
    PLRNNManifoldsError,
)
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import border_collision, lozi, plrnn, shplrnn
from plrnn_manifolds.orbits import (
    Orbit,
    OrbitWarning,
    classify,
    enumerate_regions,
    find_orbits,
    orbit_from_patterns,
)

# ---------------------------------------------------------------------------- reference code


def brute_force_orbits(A, W1, W2, h1, h2, kmax=2, chunk=4096):
    """Every fixed point and 2-cycle, by solving the cycle equation of every pattern and every
    ordered pair of distinct patterns (all 2^H, existing or not) and keeping the self-consistent
    solutions (strict rule: bit 1 iff pre-activation > 0). Returns {1: [(1, M)], 2: [(2, M)]}."""
    M, H = W1.shape
    P = 2**H
    pats = ((np.arange(P)[:, None] >> np.arange(H)) & 1).astype(float)
    J = A[None] + np.einsum("mh,ph,hn->pmn", W1, pats, W2)
    c = h1[None] + (pats * h2) @ W1.T
    eye = np.eye(M)

    def consistent(z, p):
        return np.all(((z @ W2.T + h2) > 0) == (p > 0), axis=-1)

    out = {1: [], 2: []}
    z = np.linalg.solve(eye[None] - J, c[..., None])[..., 0]
    for i in np.flatnonzero(consistent(z, pats)):
        out[1].append(z[i][None])
    if kmax < 2:
        return out
    a_idx, b_idx = np.triu_indices(P, k=1)  # unordered pairs: (a, b) and (b, a) are one orbit
    for s in range(0, a_idx.size, chunk):
        a, b = a_idx[s : s + chunk], b_idx[s : s + chunk]
        Jab = J[b] @ J[a]
        cab = np.einsum("bmn,bn->bm", J[b], c[a]) + c[b]
        z1 = np.linalg.solve(eye[None] - Jab, cab[..., None])[..., 0]
        z2 = np.einsum("bmn,bn->bm", J[a], z1) + c[a]
        ok = consistent(z1, pats[a]) & consistent(z2, pats[b])
        for i in np.flatnonzero(ok):
            out[2].append(np.array([z1[i], z2[i]]))
    return out


def same_orbit(P, Q, atol):
    """Equal modulo cyclic shift."""
    if P.shape != Q.shape:
        return False
    return any(np.allclose(np.roll(P, s, axis=0), Q, atol=atol) for s in range(P.shape[0]))


def assert_same_sets(found, reference, atol, what):
    for R in reference:
        assert any(same_orbit(F, R, atol) for F in found), f"{what}: missed orbit {R.tolist()}"
    for F in found:
        assert any(same_orbit(F, R, atol) for R in reference), f"{what}: spurious {F.tolist()}"
    assert len(found) == len(reference), f"{what}: {len(found)} found, {len(reference)} exist"


def assert_real_orbit(model: PLMap, orb: Orbit):
    """Independent verification: F^k(p) = p with the plain map, patterns are the points' own,
    points distinct (primitive period), eigenvalues those of the product of region Jacobians."""
    P = orb.points
    k = P.shape[0]
    tol = 1e-9 * (model.scale + np.abs(P).max())
    img = np.array([model(p) for p in P])
    assert np.allclose(img, np.roll(P, -1, axis=0), atol=tol, rtol=0)
    pre = P @ model.W2.T + model.h2
    assert np.array_equal(pre > 0, orb.patterns)
    for j in range(1, k):
        assert np.abs(P[j] - P[0]).max() > 1e-6, "not a primitive orbit"
    prod = np.eye(model.M)
    for p in orb.patterns:
        prod = (model.A + model.W1 @ np.diag(p.astype(float)) @ model.W2) @ prod
    ev = np.linalg.eigvals(prod)
    assert np.allclose(np.sort(np.abs(ev)), np.sort(np.abs(orb.eigenvalues)), atol=1e-8)
    n_u = int(np.sum(np.abs(ev) > 1))
    n_s = int(np.sum(np.abs(ev) < 1))
    assert (orb.n_unstable, orb.n_stable) == (n_u, n_s)
    want = "stable" if n_u == 0 else ("unstable" if n_s == 0 else "saddle")
    assert orb.classification == want


def random_plrnn(M, seed):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.2, 0.9, M)
    W = rng.normal(0.0, 2.5 / np.sqrt(M), (M, M))
    W[np.diag_indices(M)] = rng.normal(0.0, 2.0, M)  # self-inhibition -> flips -> 2-cycles
    h = rng.normal(0.0, 1.0, M)
    return plrnn(A, W, h)


def random_shplrnn(M, H, seed):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.2, 0.9, M)
    W1 = rng.normal(0.0, 3.0 / np.sqrt(H), (M, H))
    W2 = rng.normal(0.0, 1.0 / np.sqrt(M), (H, M))
    h1 = rng.normal(0.0, 0.5, M)
    h2 = rng.normal(0.0, 1.0, H)
    return shplrnn(A, W1, W2, h1, h2)


def models_with_orbits(make, sizes, per_size, min_total=3, min_2c=1, min_fp=0):
    """For each size, the first ``per_size`` random models (deterministic seeds) whose
    brute-force enumeration has at least ``min_total`` orbits, ``min_2c`` of them 2-cycles (and
    ``min_fp`` fixed points, checked first because it is cheap)."""
    out = []
    for size in sizes:
        n = 0
        for seed in range(10_000):
            m = make(*size, seed)
            if min_fp and len(brute_force_orbits(m.A, m.W1, m.W2, m.h1, m.h2, 1)[1]) < min_fp:
                continue
            ref = brute_force_orbits(m.A, m.W1, m.W2, m.h1, m.h2)
            if len(ref[1]) + len(ref[2]) >= min_total and len(ref[2]) >= min_2c:
                out.append((seed, m, ref))
                n += 1
                if n == per_size:
                    break
    return out


PLRNN_CASES = models_with_orbits(random_plrnn, [(4,), (5,), (6,)], 2)
SHPLRNN_CASES = models_with_orbits(random_shplrnn, [(2, 6), (3, 8), (4, 8)], 2)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OrbitWarning)
        return fn(*args, **kw)


# ---------------------------------------------------------------------------- brute force
@pytest.mark.parametrize(
    "case", PLRNN_CASES + SHPLRNN_CASES, ids=lambda c: f"{c[1].family}-M{c[1].M}-H{c[1].H}-{c[0]}"
)
def test_scyfi_finds_every_fixed_point_and_2cycle(case):
    seed, model, ref = case
    res = _quiet(find_orbits, model, 2, exhaustive=False)
    assert res.method == "scyfi" and not res.complete
    atol = 1e-7 * model.scale
    assert_same_sets([o.points for o in res.fixed_points()], ref[1], atol, "fixed points")
    assert_same_sets([o.points for o in res.cycles(2)], ref[2], atol, "2-cycles")
    for orb in res.orbits:
        assert_real_orbit(model, orb)


@pytest.mark.parametrize(
    "case", PLRNN_CASES[::2] + SHPLRNN_CASES[::2], ids=lambda c: f"{c[1].family}-{c[0]}"
)
def test_exhaustive_matches_brute_force(case):
    seed, model, ref = case
    res = _quiet(find_orbits, model, 2, exhaustive=True)
    assert res.method == "exhaustive" and res.complete
    atol = 1e-7 * model.scale
    assert_same_sets([o.points for o in res.fixed_points()], ref[1], atol, "fixed points")
    assert_same_sets([o.points for o in res.cycles(2)], ref[2], atol, "2-cycles")
    if model.family == "plrnn":
        assert res.n_regions == 2**model.M


@pytest.mark.slow
def test_scyfi_brute_force_h10():
    cases = models_with_orbits(random_shplrnn, [(3, 10), (4, 10)], 1, min_fp=2)
    for _, model, ref in cases:
        res = _quiet(find_orbits, model, 2, exhaustive=False)
        atol = 1e-7 * model.scale
        assert_same_sets([o.points for o in res.fixed_points()], ref[1], atol, "fixed points")
        assert_same_sets([o.points for o in res.cycles(2)], ref[2], atol, "2-cycles")


def test_period3_scyfi_subset_of_exhaustive_and_real():
    # exhaustive is complete (certified by the module); SCYFI must agree on this small model
    model = next(m for _, m, _ in SHPLRNN_CASES if m.M == 2)
    ex = _quiet(find_orbits, model, 3, exhaustive=True)
    sc = _quiet(find_orbits, model, 3, exhaustive=False)
    assert ex.complete
    for k in (1, 2, 3):
        assert_same_sets(
            [o.points for o in sc.cycles(k)], [o.points for o in ex.cycles(k)], 1e-7, f"k={k}"
        )
    for orb in ex.orbits:
        assert_real_orbit(model, orb)


# ---------------------------------------------------------------------------- analytic maps
@pytest.mark.parametrize("exhaustive", ["auto", False])
def test_lozi_fixed_points(exhaustive):
    a, b = 1.7, 0.5
    res = _quiet(find_orbits, lozi(a, b), 1, exhaustive=exhaustive)
    fps = res.fixed_points()
    assert len(fps) == 2
    # x' = 1 - a|x| + y, y' = b x. Right (x > 0): x = 1 - a x + b x; left: x = 1 + a x + b x.
    xr = 1.0 / (1.0 + a - b)
    xl = 1.0 / (1.0 - a - b)
    expected = {"right": np.array([xr, b * xr]), "left": np.array([xl, b * xl])}
    # Jacobians [[-+a, 1], [b, 0]]: characteristic polynomials lambda^2 +- a lambda - b = 0
    roots = {
        "right": np.roots([1.0, a, -b]),  # lambda^2 + a lambda - b
        "left": np.roots([1.0, -a, -b]),  # lambda^2 - a lambda - b
    }
    for side in ("right", "left"):
        orb = [o for o in fps if np.allclose(o.points[0], expected[side], atol=1e-12)]
        assert len(orb) == 1, side
        orb = orb[0]
        assert np.allclose(np.sort_complex(orb.eigenvalues), np.sort_complex(roots[side]))
        assert orb.classification == "saddle"
        assert (orb.n_unstable, orb.n_stable) == (1, 1)
        # both have a negative real eigenvalue: -(a + sqrt(a^2+4b))/2 right, the small one left
        assert orb.flip and not orb.spiral
        assert np.abs(orb.eigenvalues[0]) >= np.abs(orb.eigenvalues[1])


FIG3B = {
    "left": dict(tau_l=-0.3, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1.0, d=0.0, h1=-1.0, h2=0.0),
    "right": dict(tau_l=0.9, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1.0, d=0.0, h1=-1.0, h2=0.0),
}


def itinerary_orbits(p, kmax):
    """All cycles of the 2-D border-collision map up to period kmax from all 2^k itineraries:
    F(X) = A_L X + B (x <= 0), A_R X + B (x > 0). Returns [(points (k, 2), eigenvalues)]."""
    AL = np.array([[p["tau_l"], p["c"]], [-p["delta_l"], p["d"]]])
    AR = np.array([[p["tau_r"], p["c"]], [-p["delta_r"], p["d"]]])
    B = np.array([p["h1"], p["h2"]])
    mats = (AL, AR)
    out = []
    for k in range(1, kmax + 1):
        for it in itertools.product((0, 1), repeat=k):
            rots = [it[s:] + it[:s] for s in range(k)]
            if it != min(rots) or rots.count(it) > 1:  # one rotation, primitive only
                continue
            Jp, cp = np.eye(2), np.zeros(2)
            for s in it:
                Jp, cp = mats[s] @ Jp, mats[s] @ cp + B
            x = np.linalg.solve(np.eye(2) - Jp, cp)
            pts = [x]
            for s in it[:-1]:
                pts.append(mats[s] @ pts[-1] + B)
            pts = np.array(pts)
            if all((pt[0] > 0) == bool(s) for pt, s in zip(pts, it, strict=True)):
                out.append((pts, np.linalg.eigvals(Jp)))
    return out


def _label(ev):
    n_u, n_s = int(np.sum(np.abs(ev) > 1)), int(np.sum(np.abs(ev) < 1))
    return "stable" if n_u == 0 else ("unstable" if n_s == 0 else "saddle")


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("exhaustive", ["auto", False])
def test_border_collision_fig3b(side, exhaustive):
    p = FIG3B[side]
    ref = itinerary_orbits(p, 8)
    model = border_collision(**p)
    res = _quiet(find_orbits, model, 8, exhaustive=exhaustive)
    assert res.complete == (exhaustive == "auto")
    assert_same_sets([o.points for o in res.orbits], [r[0] for r in ref], 1e-8, side)
    for pts, ev in ref:
        orb = next(o for o in res.orbits if same_orbit(o.points, pts, 1e-8))
        assert orb.classification == _label(ev)
        assert np.allclose(np.sort(np.abs(orb.eigenvalues)), np.sort(np.abs(ev)))
    # what the enumeration finds (see the report): one stable fixed point plus saddle cycles
    summary = sorted((len(pts), _label(ev)) for pts, ev in ref)
    assert (
        summary
        == {
            "left": [(1, "stable"), (3, "saddle")],
            "right": [(1, "stable"), (4, "saddle"), (5, "saddle"), (5, "saddle")],
        }[side]
    )


# ---------------------------------------------------------------------------- orbit API
def test_orbit_structure_and_canonical_shift():
    _, model, _ = SHPLRNN_CASES[1]
    res = _quiet(find_orbits, model, 3, exhaustive=False)
    keys = [(o.period, tuple(o.points[0])) for o in res.orbits]
    assert keys == sorted(keys)
    for orb in res.orbits:
        k = orb.period
        strs = orb.pattern_strings()
        assert strs == min(strs[s:] + strs[:s] for s in range(k))
        # monodromy is the product of the region Jacobians, computed here from the model
        prod = np.eye(model.M)
        for d in orb.patterns:
            prod = model.jacobian(d) @ prod
        assert np.allclose(orb.monodromy, prod)
        for j in range(k):
            Mj = orb.monodromy_at(j)
            prodj = np.eye(model.M)
            for i in range(k):
                prodj = model.jacobian(orb.patterns[(j + i) % k]) @ prodj
            assert np.allclose(Mj, prodj)
            assert np.allclose(
                np.sort(np.abs(np.linalg.eigvals(Mj))), np.sort(np.abs(orb.eigenvalues))
            )
        assert np.all(np.diff(np.abs(orb.eigenvalues)) <= 1e-12)
        assert orb.boundary_margin > 0 and not orb.on_boundary
        d = orb.to_dict()
        json.dumps(d)
        for key in (
            "period",
            "points",
            "patterns",
            "eigenvalues",
            "classification",
            "n_unstable",
            "n_stable",
            "flip",
            "spiral",
            "near_nonhyperbolic",
        ):
            assert key in d
        assert d["patterns"] == strs and d["period"] == k
        # orbit_from_patterns reproduces it (also from a shifted itinerary)
        again = orbit_from_patterns(model, np.roll(orb.patterns, 1, axis=0))
        assert np.allclose(again.points, orb.points)
    json.dumps(res.to_dict())
    assert res.fixed_points() + res.cycles() == res.orbits
    assert {id(o) for o in res.saddles() + res.stable() + res.unstable()} == {
        id(o) for o in res.orbits
    }


def test_same_seed_same_result():
    _, model, _ = SHPLRNN_CASES[2]
    a = _quiet(find_orbits, model, 3, exhaustive=False, seed=3)
    b = _quiet(find_orbits, model, 3, exhaustive=False, seed=3)
    assert len(a.orbits) == len(b.orbits) > 0
    for x, y in zip(a.orbits, b.orbits, strict=True):
        assert np.array_equal(x.points, y.points)
        assert np.array_equal(x.patterns, y.patterns)
    assert a.n_candidates == b.n_candidates and a.n_restarts == b.n_restarts


def test_lower_period_not_reported():
    _, model, ref = PLRNN_CASES[0]
    fp = ref[1][0][0]
    d = (fp @ model.W2.T + model.h2) > 0
    with pytest.raises(OrbitError, match="period"):
        orbit_from_patterns(model, [d, d])
    res = _quiet(find_orbits, model, 4, exhaustive=False)
    for o in res.cycles():
        assert_real_orbit(model, o)  # includes "points distinct"


def test_classify_by_hand():
    c = classify([0.5, -0.2])
    assert c["classification"] == "stable" and c["flip"] and not c["spiral"]
    c = classify([2.0, 0.5])
    assert c["classification"] == "saddle" and (c["n_unstable"], c["n_stable"]) == (1, 1)
    c = classify([2.0, -3.0])
    assert c["classification"] == "unstable" and c["flip"]
    c = classify([0.5 + 0.5j, 0.5 - 0.5j])
    assert c["classification"] == "stable" and c["spiral"] and not c["flip"]
    c = classify([1.0 + 1e-8, 0.1], hyperbolic_tol=1e-6)
    assert c["near_nonhyperbolic"] and c["classification"] == "saddle"
    assert not classify([1.1, 0.1], hyperbolic_tol=1e-6)["near_nonhyperbolic"]
    with pytest.raises(OrbitError):
        classify([])
    with pytest.raises(OrbitError):
        classify([np.nan])


def test_enumerate_regions_general_position():
    # H lines in general position in the plane cut it into 1 + H + H(H-1)/2 regions
    rng = np.random.default_rng(5)
    H = 6
    model = shplrnn(
        np.full(2, 0.5),
        rng.normal(size=(2, H)),
        rng.normal(size=(H, 2)),
        np.zeros(2),
        rng.normal(size=H),
    )
    regs = enumerate_regions(model)
    assert regs.shape == (1 + H + H * (H - 1) // 2, H)
    assert len({r.tobytes() for r in regs}) == regs.shape[0]
    # every pattern of a sampled point is among them
    Z = rng.normal(scale=50.0, size=(20000, 2))
    seen = {p.tobytes() for p in (Z @ model.W2.T + model.h2 > 0)}
    assert seen <= {r.tobytes() for r in regs}
    with pytest.raises(BudgetExceededError):
        enumerate_regions(model, max_regions=5)


# ---------------------------------------------------------------------------- bad input
def test_singular_cycle_equation():
    model = plrnn(np.ones(2), np.zeros((2, 2)), np.array([0.3, -0.2]))  # A = I, W = 0
    with pytest.raises(OrbitError, match="singular"):
        orbit_from_patterns(model, ["10"])
    with pytest.warns(OrbitWarning, match="singular"):
        res = find_orbits(model, 2)
    assert res.method == "exhaustive" and not res.complete
    assert res.orbits == [] and res.n_singular == res.n_candidates > 0
    with pytest.warns(OrbitWarning, match="singular"):
        res = find_orbits(model, 2, exhaustive=False, outer_restarts=10)
    assert res.orbits == [] and res.n_singular > 0


def test_partly_singular_model_still_finds_the_rest():
    # region z1 > 0 has J = diag(0.5 + 0.5, 0.5): eigenvalue exactly 1 -> singular, skipped
    model = plrnn([0.5, 0.5], [[0.5, 0.0], [0.0, 0.0]], [-1.0, 1.0])
    # the fixed point z = (-2, 2) of the region z1 <= 0 (independent: solve by hand)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OrbitWarning)
        for ex in ("auto", False):
            res = find_orbits(model, 1, exhaustive=ex)
            assert len(res.fixed_points()) == 1
            assert np.allclose(res.fixed_points()[0].points[0], [-2.0, 2.0])
            assert res.n_singular > 0
            if ex == "auto":
                assert not res.complete


def test_orbit_exactly_on_boundary():
    # fixed point z* = (0, 1) by construction: h = z* - A z* - W relu(z*); unit 0 is on its
    # hyperplane z_1 = 0. Tie rule: bit 0 = 0.
    A = np.array([0.5, 0.5])
    W = np.array([[0.3, 0.1], [0.2, -0.4]])
    z = np.array([0.0, 1.0])
    h = z - A * z - W @ np.maximum(z, 0)
    model = plrnn(A, W, h)
    with pytest.warns(OrbitWarning, match="boundary"):
        orb = orbit_from_patterns(model, ["01"])
    assert orb.on_boundary and orb.boundary_margin < 1e-12
    assert np.allclose(orb.points[0], z)
    with pytest.raises(OrbitError, match="hyperplane of unit 0"):
        orbit_from_patterns(model, ["11"])
    for ex in ("auto", False):
        with pytest.warns(OrbitWarning, match="boundary"):
            res = find_orbits(model, 2, exhaustive=ex)
        fps = res.fixed_points()
        assert len(fps) == 1  # found from both sides, reported once
        assert fps[0].pattern_strings() == ["01"] and fps[0].on_boundary
        assert any("boundary" in n for n in res.notes)


def test_not_self_consistent_message():
    _, model, ref = PLRNN_CASES[0]
    fp = ref[1][0][0]
    d = (fp @ model.W2.T + model.h2) > 0
    d_bad = d.copy()
    d_bad[0] = ~d_bad[0]
    try:
        orbit_from_patterns(model, [d_bad])
    except OrbitError as exc:
        assert "not self-consistent" in str(exc) or "hyperplane" in str(exc)
    else:  # the flipped region may have its own fixed point; then it must be a real one
        pass


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_max_period(bad):
    model = lozi()
    with pytest.raises(OrbitError, match="max_period") as exc:
        find_orbits(model, bad)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, PLRNNManifoldsError)


def test_bad_arguments():
    model = lozi()
    with pytest.raises(OrbitError, match="exhaustive"):
        find_orbits(model, 1, exhaustive="yes")
    with pytest.raises(OrbitError, match="tol"):
        find_orbits(model, 1, tol=-1.0)
    with pytest.raises(OrbitError, match="outer_restarts"):
        find_orbits(model, 1, outer_restarts=0)
    with pytest.raises(ModelError, match="PLMap"):
        find_orbits({"A": 1}, 1)
    with pytest.raises(OrbitError, match="shape"):
        orbit_from_patterns(model, [[1, 0]])
    with pytest.raises(OrbitError):
        orbit_from_patterns(model, ["2"])
    with pytest.raises(OrbitError, match="point index"):
        _quiet(find_orbits, model, 1).orbits[0].monodromy_at(5)


def test_budget_exceeded_and_auto_fallback():
    rng = np.random.default_rng(0)
    M = 12
    model = plrnn(rng.uniform(0.2, 0.9, M), rng.normal(0, 0.3, (M, M)), rng.normal(size=M))
    with pytest.raises(BudgetExceededError, match="4096") as exc:
        find_orbits(model, 2, exhaustive=True)
    assert "max_exhaustive" in str(exc.value)
    res = _quiet(find_orbits, model, 1, exhaustive="auto", outer_restarts=20)
    assert res.method == "exhaustive" and res.complete  # 2^12 = 4096 <= 2^16
    res = _quiet(find_orbits, model, 2, exhaustive="auto", outer_restarts=20)
    assert res.method == "scyfi" and not res.complete and res.notes


def test_fixed_point_sweep_is_complete_beyond_the_exhaustive_budget():
    # M = 14 PLRNN with K = 3: sum_k R^k exceeds max_exhaustive, so SCYFI runs, but the 2^14
    # fixed-point equations are all solved, which the brute force in this file repeats.
    # Mutual inhibition (seed chosen for 3 fixed points): several winner-take-all states.
    rng = np.random.default_rng(1)
    M = 14
    A = rng.uniform(0.2, 0.6, M)
    W = -np.abs(rng.normal(size=(M, M))) * 2 / np.sqrt(M)
    np.fill_diagonal(W, 0.0)
    h = np.abs(rng.normal(size=M))
    model = plrnn(A, W, h)
    ref = brute_force_orbits(model.A, model.W1, model.W2, model.h1, model.h2, kmax=1)
    res = _quiet(find_orbits, model, 3)
    assert res.method == "scyfi" and not res.complete
    assert res.per_period[1].get("sweep") and res.per_period[1]["candidates"] == 2**M
    assert len(ref[1]) >= 3
    assert_same_sets([o.points for o in res.fixed_points()], ref[1], 1e-7 * model.scale, "FPs")
    one = _quiet(find_orbits, model, 1, exhaustive=False)
    assert one.complete == (one.n_singular == 0)
    assert len(one.fixed_points()) == len(ref[1])
