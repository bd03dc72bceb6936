"""Exact manifolds of the paper's 2-D maps against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.models import border_collision, lozi
from plrnn_manifolds.orbits import find_orbits


def fig3b(tau_l):
    return border_collision(
        tau_l=tau_l, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0
    )


def escape_grid(F, lo, hi, n=400, n_steps=400, esc=1e4):
    """Brute force, independent of the library: label 1 = bounded, 0 = escapes."""
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    Z = np.stack([X.ravel(), Y.ravel()], axis=1)
    A, W1, W2, h1, h2 = F.A, F.W1, F.W2, F.h1, F.h2
    alive = np.ones(len(Z), bool)
    idx = np.arange(len(Z))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            Z = Z @ A.T + np.maximum(Z @ W2.T + h2, 0) @ W1.T + h1
            ok = np.all(np.abs(Z) < esc, axis=1)
            alive[idx[~ok]] = False
            Z, idx = Z[ok], idx[ok]
    return xs, ys, alive.reshape(n, n)


def boundary_cells(labels):
    b = np.zeros_like(labels, bool)
    d0 = labels[:, 1:] != labels[:, :-1]
    d1 = labels[1:, :] != labels[:-1, :]
    b[:, 1:] |= d0
    b[:, :-1] |= d0
    b[1:, :] |= d1
    b[:-1, :] |= d1
    return b


def union_of_stable(F, orbits, box, depth, max_pieces=4000):
    """Stable manifolds of every saddle. Saddles inside the bounded set (the period-5 cycles
    of 3B-right) have stable manifolds that fill it densely and run into any piece budget; the
    escape boundary itself is the manifold of a single saddle and needs a few hundred pieces,
    so a budget of 4000 per saddle loses nothing the assertions look at."""
    mans = [
        grow_manifold(F, o, "stable", box=box, depth=depth, max_pieces=max_pieces)
        for o in orbits.saddles()
    ]
    return mans


def fraction_near(mans, xs, ys, mask, cells=2.0):
    dx = max(xs[1] - xs[0], ys[1] - ys[0])
    iy, ix = np.nonzero(mask)
    P = np.stack([xs[ix], ys[iy]], axis=1)
    d = np.min([m.distance(P) for m in mans], axis=0)
    return float(np.mean(d <= cells * dx))


@pytest.mark.parametrize(
    "tau_l,box",
    [(-0.3, ((-3.0, -3.0), (3.0, 3.0))), (0.9, ((-35.0, -35.0), (35.0, 35.0)))],
    ids=["3B-left", "3B-right"],
)
def test_fig3b_stable_manifolds_are_the_escape_boundary(tau_l, box):
    F = fig3b(tau_l)
    orbits = find_orbits(F, max_period=8)
    assert orbits.saddles(), "the map must have saddle cycles"
    lo, hi = np.array(box[0]), np.array(box[1])
    xs, ys, bounded = escape_grid(F, lo, hi)
    mask = boundary_cells(bounded)
    assert mask.sum() > 100, "the grid must show a basin boundary"
    mans = union_of_stable(F, orbits, (lo, hi), depth=60)
    for m in mans:
        assert m.max_residual < 1e-9
        assert m.pieces
    assert fraction_near(mans, xs, ys, mask) >= 0.99


def test_lozi_left_fixed_point_stable_manifold_is_escape_boundary():
    F = lozi(1.7, 0.5)
    orbits = find_orbits(F, max_period=1)
    left = [o for o in orbits.orbits if o.points[0, 0] < 0]
    assert len(left) == 1 and left[0].classification == "saddle"
    lo, hi = np.array([-2.5, -2.5]), np.array([2.5, 2.5])
    xs, ys, bounded = escape_grid(F, lo, hi)
    mask = boundary_cells(bounded)
    assert mask.sum() > 100
    m = grow_manifold(F, left[0], "stable", box=(lo, hi), depth=60, max_pieces=20000)
    assert m.max_residual < 1e-9
    assert fraction_near([m], xs, ys, mask) >= 0.99


def test_lozi_unstable_manifold_covers_the_attractor():
    F = lozi(1.7, 0.5)
    orbits = find_orbits(F, max_period=1)
    right = [o for o in orbits.orbits if o.points[0, 0] > 0][0]
    lo, hi = np.array([-1.5, -1.0]), np.array([1.5, 1.0])
    # Depth 14 (about 2000 pieces) already covers the attractor; deeper growth only refines
    # it (depth 40 runs into a 20000-piece budget) and costs minutes.
    m = grow_manifold(F, right, "unstable", box=(lo, hi), depth=14, max_pieces=20000)
    assert m.stopped_by == ["depth"]
    assert m.max_residual < 1e-9
    traj = F.trajectory(np.array([0.1, 0.1]), 5000, transient=1000)
    assert np.all(np.isfinite(traj))
    d = m.distance(traj)
    assert np.mean(d <= 1e-3) >= 0.99


def test_fig3b_pieces_do_not_overlap_and_depth_counts_map_steps():
    """Pieces of one manifold tile it: sampled points of one piece are not interior to
    another; and a piece of depth m maps into the seed set in exactly m steps."""
    F = fig3b(-0.3)
    saddle = find_orbits(F, max_period=8).saddles()[0]
    m = grow_manifold(F, saddle, "stable", box=[-3, 3], depth=12)
    # Each piece is a segment: total length equals the length of the union (no overlaps)
    segs = [p.vertices() for p in m.pieces]
    rng = np.random.default_rng(1)
    for p in m.pieces[:: max(1, len(m.pieces) // 25)]:
        x = p.point(p.polytope.sample(5, rng))
        owners = 0
        for q in m.pieces:
            if q is p:
                continue
            owners += np.sum(q.distance(x) < 1e-9)
        assert owners == 0, "interior points of a piece lie on another piece"
    assert len(segs) == len(m.pieces)
    # depth: F^depth(piece) lies on the local stable subspace of the saddle (seed subspace)
    seeds = m.seeds
    for p in m.pieces[:: max(1, len(m.pieces) // 25)]:
        x = p.point(np.zeros(p.dimension))
        y = x
        for _ in range(p.depth):
            y = F(y)
        dist = min(s.distance(y[None])[0] for s in seeds)
        assert dist <= 1e-7 * F.scale * (1 + np.linalg.norm(x)), (p.depth, dist)
