"""A trained model: a bistable shPLRNN (M = 2, H = 10) fitted to a damped two-well Duffing
oscillator (issue 4). Its two attractors, its saddle and its basin boundary are found, and the
boundary agrees with a brute-force basin grid of the fitted map; the fitted map's basins agree
with the true flow's.

The fit is a direct least-squares fit (``tests/_duffing.py``): hinges fixed, then ``A, W1, h1``
by linear least squares on one-step pairs of seeded trajectories of the RK4 time-0.1 map of
x'' + 0.5 x' - x + x^3 = 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from _duffing import DELTA, DT, duffing_data, fit_shplrnn, flow_basins
from scipy.spatial import cKDTree

from plrnn_manifolds.basins import find_attractors, grid_basins
from plrnn_manifolds.boundaries import basin_boundaries
from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.orbits import find_orbits

LO, HI = np.array([-2.0, -2.0]), np.array([2.0, 2.0])
N_GRID = 100


@pytest.fixture(scope="module")
def duffing():
    model = fit_shplrnn(H=10, seed=0)
    orb = find_orbits(model, max_period=1, seed=0)
    saddles = orb.saddles()
    assert len(saddles) == 1
    sid = orb.orbits.index(saddles[0])
    ws = grow_manifold(
        model, saddles[0], "stable", box=(LO, HI), depth=50, max_pieces=20000, orbit_id=sid
    )
    cat = find_attractors(model, orb.orbits, n_initial=100, box=(LO, HI), seed=0)
    grid = grid_basins(model, cat, slice=(0, 1), bounds=((-2, 2), (-2, 2)), n=N_GRID)
    return model, orb, sid, ws, cat, grid


def test_fit_is_a_good_one_step_model():
    model = fit_shplrnn(H=10, seed=0)
    assert (model.M, model.H) == (2, 10) and model.family == "shplrnn"
    Z, Zn = duffing_data(n_traj=50, seed=1)  # held-out trajectories
    err = np.linalg.norm(model(Z) - Zn, axis=1)
    # measured: rms one-step error 0.0066 (the mean step is 0.037, the state scale 1-2)
    assert np.sqrt(np.mean(err**2)) < 0.012


def test_two_stable_fixed_points_and_one_saddle(duffing):
    model, orb, sid, ws, cat, grid = duffing
    assert len(orb.orbits) == 3 and all(o.period == 1 for o in orb.orbits)
    stable = sorted(
        (o for o in orb.orbits if o.classification == "stable"), key=lambda o: o.points[0, 0]
    )
    assert len(stable) == 2
    # the wells (-1, 0) and (1, 0): measured within 0.007; tolerance 2.5 % of the box half-width
    for o, x in zip(stable, (-1.0, 1.0), strict=True):
        assert np.linalg.norm(o.points[0] - [x, 0.0]) < 0.05
        # linearised flow at a well: eigenvalues -delta/2 +- i sqrt(2 - delta^2/4), so the
        # map's moduli are exp(-delta dt / 2) = 0.975 (measured 0.965-0.981)
        np.testing.assert_allclose(np.abs(o.eigenvalues), np.exp(-DELTA * DT / 2), atol=0.02)
    sad = orb.orbits[sid]
    assert sad.n_unstable == 1 and sad.n_stable == 1
    assert np.linalg.norm(sad.points[0]) < 0.05  # measured 0.004
    # flow eigenvalues at the origin: (-delta +- sqrt(delta^2 + 4)) / 2 = 0.781, -1.281
    mu = np.sort(np.abs(sad.eigenvalues))
    np.testing.assert_allclose(mu, np.exp(np.array([-1.2808, 0.7808]) * DT), atol=0.02)


def test_catalogue_is_the_two_wells_not_the_saddle(duffing):
    model, orb, sid, ws, cat, grid = duffing
    assert [a.kind for a in cat] == ["fixed_point", "fixed_point"]
    assert sorted(np.sign(a.points[0, 0]) for a in cat) == [-1.0, 1.0]
    assert sid not in {a.orbit for a in cat}
    assert all(a.n_hits > 0 for a in cat) and cat.n_escaped == 0
    # every simulated initial condition went to one of the two wells
    assert sum(a.n_hits for a in cat) == cat.n_initial


def test_stable_manifold_of_the_saddle_is_the_boundary(duffing):
    model, orb, sid, ws, cat, grid = duffing
    assert ws.dimension == 1 and len(ws.pieces) > 50  # it spirals between the wells
    assert ws.max_residual < 1e-12
    ba = basin_boundaries(model, cat, [ws], n_probes=48, seed=0)
    (b,) = ba.boundaries
    assert b.is_boundary and b.orbit == sid
    assert b.separates == [0, 1]
    assert b.pairs == {"0|1": b.n_probes - b.n_undecided} and b.n_undecided == 0
    for a in cat:  # measured 0.63 and 0.66: the boundary's first spiral turn around each well
        assert 0.3 < ba.distances[a.id] < 1.0


def test_boundary_agrees_with_the_grid(duffing):
    model, orb, sid, ws, cat, grid = duffing
    cell = float(grid.xs[1] - grid.xs[0])
    assert set(np.unique(grid.labels)) == {0, 1}  # no escape, nothing undecided
    X, Y = np.meshgrid(grid.xs, grid.ys)
    bc = grid.boundary_cells()
    P = np.stack([X[bc], Y[bc]], axis=1)
    d = ws.distance(P) / cell
    # Every grid boundary cell lies within 2 cells of the exact manifold (measured: all 525 within
    # 0.9992 cells, as they must be: a 4-neighbour on the other side puts the boundary within
    # one cell of the cell centre).
    assert bc.sum() > 300
    assert np.mean(d <= 2.0) >= 0.99
    assert np.mean(d <= 1.0) >= 0.95
    # Conversely the manifold has no part that is not a basin boundary: points sampled on it
    # lie within 2 cells of a grid boundary cell (measured: all).
    S = ws.sample(2000, seed=0)
    dd, _ = cKDTree(P).query(S)
    assert np.mean(dd <= 2.0 * cell) >= 0.99


def test_fitted_basins_agree_with_the_true_flow(duffing):
    model, orb, sid, ws, cat, grid = duffing
    X, Y = np.meshgrid(grid.xs, grid.ys)
    truth = flow_basins(np.stack([X.ravel(), Y.ravel()], axis=1)).reshape(X.shape)
    assert np.all(truth != 0)
    plus = next(a.id for a in cat if a.points[0, 0] > 0)
    fitted = np.where(grid.labels == plus, 1, -1)
    # measured: 96.6 % of the 100 x 100 cells of [-2, 2]^2 in the same basin; the rest lie in
    # thin bands along the spiral boundary, which the fit displaces slightly
    assert np.mean(fitted == truth) > 0.93
    # basin fractions: 1/2 each for the odd flow on a symmetric box (measured 0.477 / 0.523)
    assert abs(np.mean(fitted == 1) - 0.5) < 0.04
