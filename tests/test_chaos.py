"""Lyapunov spectra by the QR method against analytic values and literature."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plrnn_manifolds._atomic import to_json
from plrnn_manifolds.chaos import LyapunovResult, largest_lyapunov, lyapunov_spectrum
from plrnn_manifolds.errors import DataError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import border_collision, lozi, plrnn


def linear_map(A) -> PLMap:
    """z -> A z: a PL map whose only hidden unit has zero output weight."""
    A = np.asarray(A, dtype=float)
    M = A.shape[0]
    return PLMap(A, np.zeros((M, 1)), np.ones((1, M)), np.zeros(M), np.zeros(1))


def fig5_map() -> PLMap:
    return border_collision(
        tau_l=-1.77, delta_l=0.9, tau_r=1.5, delta_r=0.75, c=0.6, d=0.15, h1=-0.7, h2=-0.4
    )


def point_on_attractor(model, seed=0, n=5, transient=3000):
    """A state on a bounded attractor: iterate a few seeded initial conditions near the origin
    and keep one whose long tail stays bounded."""
    rng = np.random.default_rng(seed)
    z0 = rng.uniform(-0.2, 0.2, (n, model.M))
    tr = model.trajectory(z0, 500, transient)
    norms = np.linalg.norm(tr, axis=-1)
    ok = np.all(np.isfinite(norms) & (norms < 100.0), axis=0)
    assert ok.any(), "no bounded trajectory from near the origin"
    return tr[-1, int(np.argmax(ok))]


# ---------------------------------------------------------------------- linear maps
@pytest.mark.parametrize(
    "A, expected",
    [
        # Diagonalisable, non-normal: exponents are log|eigenvalues|, not log singular values.
        (np.array([[1.2, 3.0], [0.0, 0.5]]), [np.log(1.2), np.log(0.5)]),
        # Rotation by an irrational angle times a scale r: both exponents log r.
        (
            0.8 * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]]),
            [np.log(0.8), np.log(0.8)],
        ),
    ],
)
def test_linear_map_exponents_are_log_eigenvalue_moduli(A, expected):
    res = lyapunov_spectrum(linear_map(A), np.zeros(2), n_steps=4000, transient=200)
    np.testing.assert_allclose(res.exponents, expected, atol=1e-10)
    assert np.all(res.ci_low <= res.exponents + 1e-12)
    assert np.all(res.ci_high >= res.exponents - 1e-12)


def test_linear_map_similar_to_block_rotation_3d():
    # A = V diag(r R_theta, s) V^-1 with a non-orthogonal V: exponents log r, log r, log s.
    rng = np.random.default_rng(3)
    V = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    r, s, th = 1.1, 0.3, 0.7
    B = np.zeros((3, 3))
    B[:2, :2] = r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    B[2, 2] = s
    A = V @ B @ np.linalg.inv(V)
    res = lyapunov_spectrum(linear_map(A), np.zeros(3), n_steps=6000, transient=500)
    # The complex pair makes the two leading frame vectors rotate, so individual finite-n
    # estimates oscillate by O(1/n); their sum is exact.
    np.testing.assert_allclose(res.exponents, np.log([r, r, s]), atol=2e-3)
    assert res.exponents[:2].sum() == pytest.approx(2 * np.log(r), abs=1e-9)
    assert res.exponents.sum() == pytest.approx(np.log(abs(np.linalg.det(A))), abs=1e-10)


def test_jordan_block_converges_slowly_but_sum_is_exact():
    lam = 0.9
    res = lyapunov_spectrum(linear_map([[lam, 1.0], [0.0, lam]]), np.zeros(2), 20000, 1000)
    # Both exponents are log(lam); the QR estimates converge like log(n)/n.
    np.testing.assert_allclose(res.exponents, [np.log(lam)] * 2, atol=2e-3)
    assert res.exponents.sum() == pytest.approx(2 * np.log(lam), abs=1e-10)


# ---------------------------------------------------------------------- switching products
def test_periodic_switching_with_commuting_diagonal_jacobians():
    # x: slopes -0.5 (x<0) and -1.5 (x>0), stable 2-cycle {2, -2};
    # y: slopes -0.8 (y<0) and -1.1 (y>0), stable 2-cycle {5/3, -5/6}.
    # All Jacobians are diagonal, so the exponents are the orbit means of the logs.
    m = plrnn(A=[-0.5, -0.8], W=np.diag([-1.0, -0.3]), h=[1.0, 1.0])
    res = lyapunov_spectrum(m, [0.3, -0.2], n_steps=5000, transient=2000)
    expected = sorted([0.5 * np.log(0.5 * 1.5), 0.5 * np.log(0.8 * 1.1)], reverse=True)
    np.testing.assert_allclose(res.exponents, expected, atol=1e-12)
    # The orbit really is on the analytic cycle (so the test is about the right orbit).
    z = res.z_final
    assert min(abs(z[0] - 2.0), abs(z[0] + 2.0)) < 1e-12
    assert min(abs(z[1] - 5 / 3), abs(z[1] + 5 / 6)) < 1e-12


def test_singular_jacobian_gives_minus_inf_not_nan():
    # x: slopes -2 (x<0) and 0 (x>0): superstable 2-cycle {-1, 1}; the x direction is
    # annihilated every other step (and it is the *expanding* one in the other step, so the
    # leading frame vector is the one that dies). y: contraction 0.5.
    m = plrnn(A=[-2.0, 0.5], W=np.diag([2.0, 0.0]), h=[-1.0, 1.0])
    res = lyapunov_spectrum(m, [0.4, 0.0], n_steps=1000, transient=100)
    assert res.exponents[0] == pytest.approx(np.log(0.5), abs=1e-12)
    assert res.exponents[1] == -np.inf
    assert not np.any(np.isnan(res.exponents))
    assert not np.any(np.isnan(res.stderr)) and res.stderr[1] == 0.0
    assert res.ci_low[1] == -np.inf and res.ci_high[1] == -np.inf
    # JSON has no infinities: -inf is written as null.
    d = json.loads(to_json(res.to_dict()))
    assert d["exponents"] == [pytest.approx(np.log(0.5)), None]


def test_zero_jacobian_all_minus_inf():
    m = plrnn(A=[0.0, 0.0], W=np.zeros((2, 2)), h=[1.0, 2.0])
    res = lyapunov_spectrum(m, [0.3, 0.2], n_steps=100, transient=0)
    assert np.all(res.exponents == -np.inf)
    assert res.kaplan_yorke_dimension() == 0.0


def test_lozi_embedded_with_intermittently_singular_direction():
    # (x, y) is the Lozi map; z' = 0.5 z - 0.5 relu(x + z) + 0.3 is driven by x and its own
    # slope is 0 whenever x + z > 0. The Jacobian is block lower triangular with a singular
    # (3,3) entry on part of the orbit, so the spectrum is {Lozi exponents, -inf}.
    L = lozi(1.7, 0.5)
    A = np.zeros((3, 3))
    A[:2, :2] = L.A
    A[2, 2] = 0.5
    W1 = np.zeros((3, 2))
    W1[:2, 0] = L.W1[:, 0]
    W1[2, 1] = -0.5
    W2 = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    m = PLMap(A, W1, W2, [1.0, 0.0, 0.3], [0.0, 0.0])
    z0 = np.append(point_on_attractor(L), 0.0)
    res = lyapunov_spectrum(m, z0, n_steps=20000, transient=1000)
    # the singular region really is visited
    tr = m.trajectory(z0, 2000, 1000)
    assert np.any(tr[:, 0] + tr[:, 2] > 0) and np.any(tr[:, 0] + tr[:, 2] < 0)
    assert res.exponents[2] == -np.inf
    assert res.exponents[0] == pytest.approx(0.4703, abs=0.01)
    # |det J_xy| = b everywhere: the two finite exponents sum to log b (telescoping O(1/n)).
    assert res.exponents[:2].sum() == pytest.approx(np.log(0.5), abs=1e-3)


# ---------------------------------------------------------------------- chaotic maps
def test_lozi_literature_value_and_exact_sum():
    m = lozi(1.7, 0.5)
    res = lyapunov_spectrum(m, point_on_attractor(m), n_steps=20000, transient=1000)
    # Literature: 0.4703 (e.g. Sprott, Chaos and Time-Series Analysis, table A.1).
    assert res.exponents[0] == pytest.approx(0.4703, abs=0.006)
    assert res.ci_low[0] < 0.4703 + 0.006 and res.ci_high[0] > 0.4703 - 0.006
    # |det J| = b in both regions, so the sum is log b up to round-off.
    assert res.exponents.sum() == pytest.approx(np.log(0.5), abs=1e-10)
    assert 1.0 < res.kaplan_yorke_dimension() < 2.0


def test_fig5_border_collision_is_chaotic_and_sum_is_mean_log_det():
    m = fig5_map()
    z0 = point_on_attractor(m)
    n, T = 10000, 500
    res = lyapunov_spectrum(m, z0, n_steps=n, transient=T)
    assert res.exponents[0] - 4 * res.stderr[0] > 0.1
    assert res.ci_low[0] > 0
    # Independent check: mean log|det J| along the same orbit, simulated separately.
    tr = m.trajectory(z0, n, T)
    assert np.all(np.isfinite(tr)) and np.abs(tr).max() < 100
    logdet = np.log(np.abs(np.linalg.det(m.jacobian(m.pattern(tr))))).mean()
    assert res.exponents.sum() == pytest.approx(logdet, abs=1e-9)
    # Both regions are visited (otherwise the map would be linear and not chaotic).
    pats = m.pattern(tr)[:, 0]
    assert 0.05 < pats.mean() < 0.95


def test_batch_matches_single_runs():
    # Non-chaotic (periodic, diagonal Jacobians): batch and single runs agree to round-off.
    m = plrnn(A=[-0.5, -0.8], W=np.diag([-1.0, -0.3]), h=[1.0, 1.0])
    z = np.array([[0.3, -0.2], [-1.0, 4.0], [5.0, 0.1]])
    batch = lyapunov_spectrum(m, z, n_steps=1000, transient=500)
    assert isinstance(batch, list) and len(batch) == 3
    for b, res in enumerate(batch):
        single = lyapunov_spectrum(m, z[b], n_steps=1000, transient=500)
        np.testing.assert_allclose(res.exponents, single.exponents, atol=1e-12)
        np.testing.assert_array_equal(res.z0, z[b])
    np.testing.assert_allclose(
        largest_lyapunov(m, z, n_steps=1000, transient=500), [r.largest for r in batch]
    )
    # Chaotic: different initial conditions on one attractor give statistically equal
    # exponents (rounding makes the orbits differ, so compare within the bands).
    f5 = fig5_map()
    zc = np.stack([point_on_attractor(f5, seed=s) for s in (0, 1)])
    r0, r1 = lyapunov_spectrum(f5, zc, n_steps=4000, transient=100)
    se = np.hypot(r0.stderr[0], r1.stderr[0])
    assert abs(r0.largest - r1.largest) < 4 * se + 1e-3


def test_segments_and_band_are_consistent():
    m = lozi()
    res = lyapunov_spectrum(m, point_on_attractor(m), n_steps=5003, transient=100, n_segments=7)
    assert isinstance(res, LyapunovResult)
    assert res.segments.shape == (7, 2)
    # segment lengths differ by at most one step, so the mean of the segment estimates is the
    # overall estimate up to O(1/n^2)
    np.testing.assert_allclose(res.segments.mean(axis=0), res.exponents, atol=1e-4)
    se = res.segments.std(axis=0, ddof=1) / np.sqrt(7)
    np.testing.assert_allclose(res.stderr, se)
    assert np.all(res.ci_low < res.exponents) and np.all(res.exponents < res.ci_high)
    from scipy import stats

    t = stats.t.ppf(0.975, 6)
    np.testing.assert_allclose(res.ci_high - res.ci_low, 2 * t * se)


# ---------------------------------------------------------------------- bad input
def test_diverging_trajectory_raises():
    m = linear_map([[1.5, 0.0], [0.0, 0.2]])
    with pytest.raises(DataError, match="diverged"):
        lyapunov_spectrum(m, [1.0, 0.0], n_steps=1000, transient=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"z0": [np.nan, 0.0]}, "NaN"),
        ({"z0": [0.0, 0.0, 0.0]}, "last dimension"),
        ({"n_segments": 1}, "n_segments"),
        ({"n_steps": 3, "n_segments": 5}, "at least n_segments"),
        ({"n_steps": 0}, "n_steps"),
        ({"transient": -1}, "transient"),
        ({"n_steps": 10.5}, "n_steps"),
        ({"escape_radius": -1.0}, "escape_radius"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"z0": [0.1, 0.1], "n_steps": 100, "transient": 10}
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        lyapunov_spectrum(lozi(), **args)
