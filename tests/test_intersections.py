"""Homoclinic / heteroclinic points and the chaos verdict.

The paper's Fig 5 border-collision map has a chaotic attractor organised by the homoclinic
tangle of its flip saddle; Fig 3B-left has a stable spiral whose basin is bounded by the stable
manifold of a period-3 saddle and no chaos.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from plrnn_manifolds.basins import find_attractors
from plrnn_manifolds.chaos import lyapunov_spectrum
from plrnn_manifolds.errors import DataError
from plrnn_manifolds.intersections import (
    Intersection,
    chaos_verdict,
    find_intersections,
    intersect_manifolds,
    verify_intersection,
)
from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.models import border_collision, example_path, load_model
from plrnn_manifolds.orbits import find_orbits

FIG5 = dict(tau_r=1.5, delta_r=0.75, tau_l=-1.77, delta_l=0.9, c=0.6, d=0.15, h1=-0.7, h2=-0.4)


@pytest.fixture(scope="module")
def fig5():
    model = border_collision(**FIG5)
    orb = find_orbits(model, max_period=1, seed=0)
    saddle = orb.orbits[0]
    assert saddle.classification == "saddle"
    lo, hi = np.array([-3.0, -4.0]), np.array([4.0, 2.5])
    mans = [
        grow_manifold(model, saddle, k, box=(lo, hi), depth=8, orbit_id=0)
        for k in ("unstable", "stable")
    ]
    search = find_intersections(model, mans, max_points=None)
    return model, saddle, mans, search


def test_fig5_model_matches_bundled_file():
    a = border_collision(**FIG5)
    b = load_model(example_path("fig5"))
    for k, v in a.canonical_params().items():
        np.testing.assert_array_equal(v, b.canonical_params()[k])


def test_fig5_transversal_homoclinic_points_found_and_verified(fig5):
    model, saddle, (wu, ws), search = fig5
    homo = search.homoclinic(verified=True, transversal=True)
    assert len(homo) >= 50  # the tangle is rich already at depth 8
    assert search.n_found == len(search.intersections)
    for p in homo:
        assert p.kind == "homoclinic" and p.unstable_orbit == 0 and p.stable_orbit == 0
        assert p.shadow_residual < 1e-10 and p.backward_distance <= 1e-3
        # transversal: the two piece directions are not parallel
        assert p.angle > 1e-6
    X = np.array([p.point for p in homo])
    # exactly on both manifolds (independent: exact distances to all pieces)
    assert np.max(wu.distance(X)) <= 1e-9 * model.scale
    assert np.max(ws.distance(X)) <= 1e-9 * model.scale
    # not the trivial intersection at the saddle
    assert np.min(np.linalg.norm(X - saddle.points[0], axis=1)) > 1e-6
    # forward iterates of the true map converge to the saddle
    Z = X.copy()
    best = np.full(len(X), np.inf)
    for _ in range(max(p.stable_depth for p in homo) + 60):
        best = np.minimum(best, np.linalg.norm(Z - saddle.points[0], axis=1))
        Z = model(Z)
    assert best.max() < 1e-8


def _segments(man):
    V = np.array([p.vertices() for p in man.pieces])  # (N, 2, 2)
    return V[:, 0], V[:, 1]


def test_fig5_points_agree_with_brute_force_segment_intersection(fig5):
    """All segment pairs intersected with the textbook 2x2 formula (no region grouping, no
    bounding boxes) give the same point set, up to points on the region boundary x = 0."""
    model, saddle, (wu, ws), search = fig5
    a0, a1 = _segments(wu)
    b0, b1 = _segments(ws)
    da = a1 - a0
    db = b1 - b0
    r = b0[None] - a0[:, None]  # (Na, Nb, 2)
    den = da[:, None, 0] * db[None, :, 1] - da[:, None, 1] * db[None, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (r[..., 0] * db[None, :, 1] - r[..., 1] * db[None, :, 0]) / den
        u = (r[..., 0] * da[:, None, 1] - r[..., 1] * da[:, None, 0]) / den
    eps = 1e-12
    hit = (np.abs(den) > 1e-14) & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    ia, ib = np.nonzero(hit)
    P = a0[ia] + t[ia, ib, None] * da[ia]
    P = P[np.linalg.norm(P - saddle.points[0], axis=1) > 1e-6]
    # distinct brute-force points
    tree = cKDTree(P)
    alive = np.ones(len(P), dtype=bool)
    distinct = []
    for k in range(len(P)):
        if alive[k]:
            distinct.append(P[k])
            alive[tree.query_ball_point(P[k], 1e-9)] = False
    distinct = np.array(distinct)
    found = np.array([p.point for p in search.intersections])
    d_b2f, _ = cKDTree(found).query(distinct)
    missing = distinct[d_b2f > 1e-9]
    assert np.all(np.abs(missing[:, 0]) < 1e-9), "only region-boundary points may differ"
    assert len(missing) <= 0.01 * len(distinct)
    d_f2b, _ = cKDTree(distinct).query(found)
    assert d_f2b.max() < 1e-9
    assert len(found) >= 0.99 * len(distinct)


def test_fig5_largest_lyapunov_positive_and_verdict_evidence(fig5):
    model, saddle, mans, search = fig5
    cat = find_attractors(model, [saddle], n_initial=20, n_transient=500, n_keep=500, seed=0)
    # the saddle is never an attractor
    assert all(a.orbit is None for a in cat)
    assert all(np.min(np.linalg.norm(a.points - saddle.points[0], axis=1)) > 1e-6 for a in cat)
    chaotic = [a for a in cat if a.kind == "chaotic"]
    assert chaotic
    lam = lyapunov_spectrum(model, chaotic[0].points[0], n_steps=20000, transient=100)
    assert lam.exponents[0] - lam.half_width[0] > 0.4  # about 0.49 per step
    # sum of exponents = mean log|det J| along the orbit (independent check of the exponents)
    traj = model.trajectory(chaotic[0].points[0], 20000, transient=100)
    logdet = np.log(np.abs(np.linalg.det(model.jacobian(model.pattern(traj))))).mean()
    assert lam.exponents.sum() == pytest.approx(logdet, abs=0.02)
    v = chaos_verdict(search, cat, manifolds=mans)
    assert v["verdict"] == "evidence"
    assert all(isinstance(r, str) and r.endswith(".") for r in v["reasons"])
    assert not any("proof" in r.lower() for r in v["reasons"])


def test_verification_rejects_points_off_the_manifolds(fig5):
    model, saddle, (wu, ws), search = fig5
    p = search.homoclinic(verified=True, transversal=True)[0]
    again = verify_intersection(model, p.point, wu, ws)
    assert again.verified and again.transversal
    # move along the stable manifold's normal: off W^s, the forward orbit misses the saddle
    piece = min(ws.pieces, key=lambda q: float(q.distance(p.point)[0]))
    tangent = piece.basis[:, 0]
    normal = np.array([-tangent[1], tangent[0]])
    off = verify_intersection(model, p.point + 1e-4 * normal, wu, ws)
    assert not off.verified
    assert off.forward_distance > 1e-6 or off.shadow_residual > 1e-6
    # move along the unstable manifold's normal instead: the shadow no longer reproduces it
    piece_u = min(wu.pieces, key=lambda q: float(q.distance(p.point)[0]))
    tu = piece_u.basis[:, 0]
    off_u = verify_intersection(model, p.point + 1e-4 * np.array([-tu[1], tu[0]]), wu, ws)
    assert not off_u.verified
    assert off_u.shadow_residual > 1e-6


def test_intersections_need_matching_kinds(fig5):
    model, _, (wu, ws), _ = fig5
    with pytest.raises(DataError, match="argument order"):
        intersect_manifolds(model, ws, wu)


def test_fig3b_left_has_no_homoclinic_points_and_verdict_none():
    model = load_model(example_path("fig3b_left"))
    orb = find_orbits(model, max_period=3, seed=0)
    saddles = [(i, o) for i, o in enumerate(orb.orbits) if o.classification == "saddle"]
    assert [o.period for _, o in saddles] == [3]
    lo, hi = np.array([-4.0, -4.0]), np.array([4.0, 4.0])
    mans = [
        grow_manifold(model, o, k, box=(lo, hi), depth=12, orbit_id=i)
        for i, o in saddles
        for k in ("stable", "unstable")
    ]
    search = find_intersections(model, mans)
    assert search.intersections == []
    assert search.n_candidates >= 0
    cat = find_attractors(model, orb.orbits, n_initial=50, box=(lo, hi), seed=0)
    # only the stable spiral is an attractor; the saddle cycle is not
    assert [a.kind for a in cat] == ["fixed_point"]
    assert orb.orbits[cat[0].orbit].classification == "stable"
    ev = np.abs(orb.orbits[cat[0].orbit].eigenvalues)
    assert cat[0].lyapunov[0] == pytest.approx(np.log(ev.max()), abs=1e-12)
    v = chaos_verdict(search, cat, manifolds=mans)
    assert v["verdict"] == "none"
    assert not any("proof" in r.lower() for r in v["reasons"])


def _pt(kind="homoclinic", transversal=True, verified=True):
    return Intersection(
        kind, 0, 0 if kind == "homoclinic" else 1, np.zeros(2), transversal, verified
    )


@pytest.mark.parametrize(
    ("points", "exps", "verdict"),
    [
        ([_pt()], [0.5], "evidence"),
        ([_pt()], [-0.1], "inconclusive"),  # horseshoe but no chaotic attractor
        ([_pt(verified=False)], [0.5], "inconclusive"),
        ([_pt(transversal=False)], [0.5], "inconclusive"),
        ([], [0.5], "inconclusive"),  # positive exponent but no homoclinic point
        ([], [-0.1, -0.2], "none"),
        ([_pt(kind="heteroclinic")], [-0.1], "none"),  # heteroclinic only is not homoclinic
        ([_pt(verified=False)], [-0.1], "inconclusive"),
        ([], [], "inconclusive"),  # nothing known about the exponents
    ],
)
def test_chaos_verdict_rules(points, exps, verdict):
    v = chaos_verdict(points, exps)
    assert v["verdict"] == verdict
    assert v["reasons"] and all(isinstance(r, str) for r in v["reasons"])


def test_chaos_verdict_uses_the_confidence_band():
    att = [
        {
            "id": 0,
            "kind": "quasi_periodic",
            "lyapunov": [0.002, -0.3],
            "lyapunov_half_width": [0.01, 0.0],
        }
    ]
    assert chaos_verdict([_pt()], att)["verdict"] == "inconclusive"
    att[0]["lyapunov_half_width"] = [0.0001, 0.0]
    assert chaos_verdict([_pt()], att)["verdict"] == "evidence"


def test_fig5_heteroclinic_points_between_fixed_point_and_two_cycle():
    model = border_collision(**FIG5)
    orb = find_orbits(model, max_period=2, seed=0)
    assert [o.period for o in orb.orbits] == [1, 2]
    box = (np.array([-3.0, -4.0]), np.array([4.0, 2.5]))
    wu = grow_manifold(model, orb.orbits[0], "unstable", box=box, depth=5, orbit_id=0)
    ws = grow_manifold(model, orb.orbits[1], "stable", box=box, depth=5, orbit_id=1)
    pts, n_cand, n_distinct, whole = intersect_manifolds(model, wu, ws, max_points=40)
    assert whole and n_distinct >= len(pts) == 40 and n_cand >= n_distinct
    # stopping early keeps exactly the same points
    early, n2, d2, whole2 = intersect_manifolds(
        model, wu, ws, max_points=40, count_all=False, verify=False
    )
    assert n2 <= n_cand and 40 <= d2 <= n_distinct
    np.testing.assert_array_equal([p.point for p in early], [p.point for p in pts])
    assert all(p.kind == "heteroclinic" and p.verified and p.transversal for p in pts)
    assert [(p.unstable_orbit, p.stable_orbit) for p in pts] == [(0, 1)] * 40
    X = np.array([p.point for p in pts])
    assert np.max(wu.distance(X)) <= 1e-9 * model.scale
    assert np.max(ws.distance(X)) <= 1e-9 * model.scale
    # lowest depth sums first
    sums = [p.unstable_depth + p.stable_depth for p in pts]
    assert sums == sorted(sums)
    # forward iterates approach the 2-cycle (closest approach before round-off takes them
    # away again along its unstable direction)
    Z = X.copy()
    best = np.full(len(X), np.inf)
    for _ in range(60):
        d2 = np.min(np.linalg.norm(Z[:, None] - orb.orbits[1].points[None], axis=2), axis=1)
        best = np.minimum(best, d2)
        Z = model(Z)
    assert best.max() < 1e-8


def test_early_stop_keeps_the_lowest_depth_points(fig5, monkeypatch):
    from plrnn_manifolds import intersections as mod

    model, saddle, (wu, ws), search = fig5
    monkeypatch.setattr(mod, "_EARLY_CHUNK", 100)
    full, n_full, d_full, whole = intersect_manifolds(model, wu, ws, max_points=30, verify=False)
    assert whole and d_full == search.n_found
    part, n_part, d_part, whole2 = intersect_manifolds(
        model, wu, ws, max_points=30, verify=False, count_all=False
    )
    assert not whole2 and n_part < n_full and 30 <= d_part < d_full
    np.testing.assert_array_equal([p.point for p in part], [p.point for p in full])
    res = find_intersections(model, [wu, ws], max_points=30, count_all=False)
    assert not res.counted_all and "at least" in res.notes[0]
    assert res.summary()["counted_all"] is False
