"""Data utilities and DSR metrics of plrnn_manifolds.training (numpy/scipy only, no torch)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from plrnn_manifolds.errors import DataError
from plrnn_manifolds.models import families
from plrnn_manifolds.training import data as D
from plrnn_manifolds.training import metrics as Mx


def _lorenz_x(n=12000, dt=0.01, seed=0):
    rng = np.random.default_rng(seed)

    def f(t, u):
        x, y, z = u
        return [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]

    t = 20 + dt * np.arange(n)
    sol = solve_ivp(f, (0, t[-1]), rng.uniform(-5, 5, 3), t_eval=t, rtol=1e-9, atol=1e-9)
    return sol.y[0]


# ----------------------------------------------------------------------------- import hygiene
def test_training_package_imports_without_torch():
    # A fresh interpreter in which torch cannot be imported: the numpy parts must work and a
    # torch-needing name must say which extra to install.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import plrnn_manifolds.training as T\n"
        "import plrnn_manifolds.training.cli as C\n"
        "assert T.zscore([[1.0], [2.0]])[0].shape == (2, 1)\n"
        "try:\n    T.TrainConfig\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "plrnn-manifolds[train]" in out.stdout


# ----------------------------------------------------------------------------- validation
def test_nan_in_data_is_a_data_error_naming_the_sample():
    x = np.ones((50, 2))
    x[17, 1] = np.nan
    with pytest.raises(DataError, match="sample 17, column 1"):
        D.validate_training_data(x)
    with pytest.raises(DataError, match="NaN"):
        D.zscore(x)


def test_inf_in_inputs_is_a_data_error():
    s = np.zeros((50, 1))
    s[3] = np.inf
    with pytest.raises(DataError, match="inputs contains 1 NaN or infinite"):
        D.validate_training_data(np.ones((50, 2)), s)


def test_too_few_samples_for_sequence_length():
    with pytest.raises(DataError, match="too few for sequences of length 60"):
        D.validate_training_data(np.ones((60, 1)), seq_len=60)
    D.validate_training_data(np.ones((61, 1)), seq_len=60)  # exactly enough


def test_mismatched_input_length():
    with pytest.raises(DataError, match="input has 49 samples but the data has 50"):
        D.validate_training_data(np.ones((50, 2)), np.ones((49, 1)))


def test_ragged_and_3d_data_rejected():
    with pytest.raises(DataError, match="rectangular"):
        D.check_timeseries("data", [[1, 2], [3]])
    with pytest.raises(DataError, match=r"\(T,\) or \(T, N\)"):
        D.check_timeseries("data", np.ones((3, 3, 3)))


# ----------------------------------------------------------------------------- z-score, split
def test_zscore_round_trip_and_moments():
    rng = np.random.default_rng(1)
    x = rng.normal([3.0, -7.0, 0.0], [2.0, 0.1, 5.0], size=(1000, 3))
    x[:, 2] = 4.2  # a constant column is only centred
    z, sc = D.zscore(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, :2].std(0), 1, rtol=1e-12)
    np.testing.assert_allclose(z[:, 2], 0, atol=1e-12)  # centred, not blown up to unit variance
    np.testing.assert_allclose(sc.inverse_transform(z), x, rtol=0, atol=1e-12)


def test_train_test_split_is_contiguous_and_keeps_inputs_aligned():
    x = np.arange(100.0)[:, None]
    s = -np.arange(100.0)[:, None]
    sp = D.train_test_split(x, 0.25, s)
    assert sp.train.shape == (75, 1) and sp.test.shape == (25, 1)
    assert sp.test[0, 0] == 75 and sp.train[-1, 0] == 74
    np.testing.assert_array_equal(sp.test_inputs, -sp.test)
    with pytest.raises(DataError, match="test_fraction"):
        D.train_test_split(x, 1.0)
    with pytest.raises(DataError, match="empty"):
        D.train_test_split(x[:3], 0.1)


# ----------------------------------------------------------------------------- loading
def test_load_npy_csv_npz(tmp_path):
    rng = np.random.default_rng(2)
    arr = rng.standard_normal((40, 3))
    np.save(tmp_path / "a.npy", arr)
    ts = D.load_timeseries(tmp_path / "a.npy", columns=[0, 2])
    np.testing.assert_array_equal(ts.data, arr[:, [0, 2]])

    lines = ["t,x,current"] + [",".join(repr(float(v)) for v in row) for row in arr]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    ts = D.load_timeseries(tmp_path / "a.csv", input_columns=[2])
    np.testing.assert_array_equal(ts.data, arr[:, :2])  # every non-input column
    np.testing.assert_array_equal(ts.inputs, arr[:, 2:])

    (tmp_path / "b.txt").write_text("\n".join(" ".join(repr(float(v)) for v in r) for r in arr))
    np.testing.assert_array_equal(D.load_timeseries(tmp_path / "b.txt").data, arr)

    np.savez(tmp_path / "a.npz", voltage=arr[:, :2], current=arr[:, 2])
    ts = D.load_timeseries(tmp_path / "a.npz", key="voltage", columns=[1], input_key="current")
    np.testing.assert_array_equal(ts.data[:, 0], arr[:, 1])
    np.testing.assert_array_equal(ts.inputs[:, 0], arr[:, 2])


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        D.load_timeseries(tmp_path / "missing.npy")
    (tmp_path / "x.parquet").write_text("no")
    with pytest.raises(DataError, match="unknown data format"):
        D.load_timeseries(tmp_path / "x.parquet")
    np.save(tmp_path / "a.npy", np.ones((10, 2)))
    with pytest.raises(DataError, match=r"column\(s\) \[5\] do not exist"):
        D.load_timeseries(tmp_path / "a.npy", columns=[5])
    np.savez(tmp_path / "a.npz", u=np.ones(5), v=np.ones(5))
    with pytest.raises(DataError, match="several arrays"):
        D.load_timeseries(tmp_path / "a.npz")
    with pytest.raises(DataError, match="no array 'w'"):
        D.load_timeseries(tmp_path / "a.npz", key="w")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(DataError, match="line 3 has a non-numeric entry"):
        D.load_timeseries(tmp_path / "bad.csv")
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan, 2.0]))
    with pytest.raises(DataError, match="NaN"):
        D.load_timeseries(tmp_path / "nan.npy")


# ----------------------------------------------------------------------------- embedding
def test_delay_embed_layout():
    x = np.arange(10.0)
    y = D.delay_embed(x, dim=3, delay=2)
    assert y.shape == (6, 3)
    # Row t = (x_{t+4}, x_{t+2}, x_t): the most recent value first.
    np.testing.assert_array_equal(y[0], [4, 2, 0])
    np.testing.assert_array_equal(y[-1], [9, 7, 5])
    two = D.delay_embed(np.c_[x, 10 * x], dim=2, delay=1)
    np.testing.assert_array_equal(two[0], [1, 0, 10, 0])
    with pytest.raises(DataError, match="too short"):
        D.delay_embed(x, dim=6, delay=2)
    with pytest.raises(DataError, match="positive integer"):
        D.delay_embed(x, dim=0, delay=1)


def test_delay_rules_on_a_sinusoid_match_the_analytic_lags():
    period = 42.0  # r(k) = cos(2 pi k / P) up to a (1 - k/T) factor
    x = np.sin(2 * np.pi * np.arange(8000) / period)
    lag0, rule = D.choose_delay(x, "acf_zero")
    assert lag0 == math.ceil(period / 4) and "zero" in rule
    lag_e, _ = D.choose_delay(x, "acf_1e")
    assert lag_e == math.ceil(period * math.acos(math.exp(-1)) / (2 * math.pi))


def test_ami_falls_back_to_autocorrelation_for_ar1():
    # AR(1) noise: AMI decreases monotonically (no minimum), r(k) = phi^k, so the 1/e rule
    # gives ceil(-1 / log(phi)) = 10 for phi = 0.9.
    rng = np.random.default_rng(3)
    e = rng.standard_normal(200_000)
    x = np.empty_like(e)
    x[0] = 0
    for t in range(1, len(x)):
        x[t] = 0.9 * x[t - 1] + e[t]
    lag, rule = D.choose_delay(x, "ami", max_lag=40)
    assert "AMI has no minimum" in rule
    assert lag == math.ceil(-1 / math.log(0.9))


def test_ami_of_uniform_iid_data():
    # I(0) is the entropy of the binned distribution, log(n_bins) for uniform data; for
    # independent samples I(k >= 1) is only the small positive plug-in bias.
    x = np.random.default_rng(4).uniform(size=100_000)
    ami = D.average_mutual_information(x, 3, n_bins=16)
    assert ami[0] == pytest.approx(math.log(16), rel=1e-3)
    assert np.all(ami[1:] < 5e-3)


def test_lorenz_delay_and_dimension():
    x = _lorenz_x()
    lag, rule = D.choose_delay(x)
    assert rule == "first minimum of AMI"
    # The literature value for Lorenz-63 is about 0.15-0.2 time units (dt = 0.01).
    assert 12 <= lag <= 22
    dim, fnn = D.choose_dimension(x, lag, max_dim=6)
    assert dim == 3  # the attractor needs three delay coordinates
    assert fnn[0] > 0.5 and fnn[2] < 0.01


def test_sinusoid_embeds_in_two_dimensions():
    # An irrational period: no sample repeats exactly, so neighbours are genuine.
    x = np.sin(2 * np.pi * np.arange(4000) / (12 * np.pi))
    lag, _ = D.choose_delay(x, "acf_zero")
    dim, fnn = D.choose_dimension(x, lag, max_dim=4)
    assert dim == 2 and fnn[0] > 0.5  # a circle needs two coordinates, one folds it


def test_choose_dimension_fails_clearly_on_noise():
    x = np.random.default_rng(5).standard_normal(3000)
    with pytest.raises(DataError, match="false nearest neighbours"):
        D.choose_dimension(x, 1, max_dim=3)


def test_prepare_cuts_downsamples_scales_and_aligns_inputs():
    t = np.arange(3000)
    v = np.sin(2 * np.pi * t / 60.0) * 5 + 3
    s = (t >= 500).astype(float)
    p = D.prepare(v, s[:, None], start=500, stop=2900, downsample=2, embed_dim=3, delay=4)
    raw = v[500:2900:2]
    assert p.offset == 8 and p.data.shape == (len(raw) - 8, 3)
    np.testing.assert_allclose(p.scaler.inverse_transform(p.data[:, :1])[:, 0], raw[8:], atol=1e-12)
    assert p.inputs.shape == (len(raw) - 8, 1)
    with pytest.raises(DataError, match="sample range"):
        D.prepare(v, start=10, stop=5000)


# ----------------------------------------------------------------------------- D_stsp
def test_dstsp_identical_data_is_zero():
    x = np.random.default_rng(6).standard_normal((5000, 2))
    assert Mx.state_space_divergence(x, x) == 0.0
    x5 = np.random.default_rng(7).standard_normal((3000, 5))
    assert Mx.state_space_divergence(x5, x5) == 0.0  # gmm


def test_binned_dstsp_of_shifted_gaussians_matches_analytic_kl():
    rng = np.random.default_rng(8)
    mu = 1.0  # KL(N(0,1) || N(mu,1)) = mu^2 / 2
    p = rng.standard_normal((200_000, 1))
    q = rng.standard_normal((200_000, 1)) + mu
    assert Mx.state_space_divergence(p, q, method="binned", n_bins=40) == pytest.approx(
        mu**2 / 2, rel=0.05
    )
    same = rng.standard_normal((200_000, 1))  # a second sample of p itself
    assert Mx.state_space_divergence(p, same, method="binned", n_bins=40) < 0.01


def test_gmm_dstsp_of_shifted_gaussians_matches_smoothed_kl():
    rng = np.random.default_rng(9)
    sigma = 1.0
    mu = np.array([1.0, 1.0, 0, 0, 0])
    p = rng.standard_normal((20_000, 5))
    q = rng.standard_normal((20_000, 5)) + mu
    # The mixtures estimate the Gaussians convolved with N(0, sigma^2 I).
    expected = mu @ mu / (2 * (1 + sigma**2))
    got = Mx.state_space_divergence(p, q, sigma=sigma, n_kernels=2000, n_mc=3000)
    assert got == pytest.approx(expected, rel=0.15)
    same = rng.standard_normal((20_000, 5))
    assert abs(Mx.state_space_divergence(p, same, sigma=sigma)) < 0.1 * expected


def test_dstsp_penalises_escaped_and_diverged_points():
    x = np.random.default_rng(10).standard_normal((4000, 2))
    far = x + 100.0
    assert Mx.binned_kl(x, far) > 10
    bad = x.copy()
    bad[::2] = np.nan
    assert Mx.binned_kl(x, bad) > 0.5  # half the mass escaped: about log 2 or more
    assert Mx.gmm_kl(x, bad) == np.inf


def test_dstsp_dimension_mismatch():
    with pytest.raises(DataError, match="compare the observed units"):
        Mx.state_space_divergence(np.zeros((10, 2)) + np.arange(10)[:, None], np.zeros((10, 3)))


# ----------------------------------------------------------------------------- D_H
def test_dh_known_values():
    t = np.arange(20_000) * 0.05
    a = np.sin(2 * np.pi * 0.5 * t)
    assert Mx.power_spectrum_distance(a, a) == pytest.approx(0.0, abs=1e-7)
    # A phase shift does not change the spectrum.
    assert Mx.power_spectrum_distance(a, np.sin(2 * np.pi * 0.5 * t + 1.0)) < 0.01
    # Far-apart frequencies: the smoothed spectra barely overlap, D_H near its maximum 1.
    assert Mx.power_spectrum_distance(a, np.sin(2 * np.pi * 3.0 * t)) > 0.95
    # A constant generated series has no spectrum: the maximal distance.
    assert Mx.power_spectrum_distance(a, np.zeros_like(a)) == 1.0


def test_hellinger_distance_analytic():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.0, 0.5, 0.5])
    assert Mx.hellinger_distance(p, q) == pytest.approx(math.sqrt(0.5))


# ----------------------------------------------------------------------------- PE(n)
def test_prediction_error_of_exact_and_perturbed_linear_maps():
    a = 0.95
    x = (a ** np.arange(200) * 2.0)[:, None]
    exact = families.plrnn([a], [[0.0]], [0.0])  # z' = a z (relu term zero-weighted)
    assert Mx.prediction_error(exact, x, 5) == pytest.approx(0.0, abs=1e-24)
    b = 0.9
    wrong = families.plrnn([b], [[0.0]], [0.0])
    n = 5
    starts = np.arange(0, 200 - n)
    expected = np.mean(((a**n - b**n) * x[starts, 0]) ** 2)
    assert Mx.prediction_error(wrong, x, n) == pytest.approx(expected, rel=1e-12)
    curve = Mx.prediction_error_curve(wrong, x, 10)
    assert np.all(np.diff(curve) > 0)  # errors grow with the horizon here


def test_prediction_error_with_inputs_and_bad_horizon():
    x = np.arange(20.0)[:, None]
    s = np.ones((20, 1))
    # z' = z + s reproduces a unit ramp exactly.
    pe = Mx.prediction_error(lambda z, u: z + u, x, 3, inputs=s)
    assert pe == 0.0
    with pytest.raises(DataError, match="horizon"):
        Mx.prediction_error(lambda z: z, x, 20)
    with pytest.raises(DataError, match="external input"):
        Mx.prediction_error(lambda z, u: z, x, 2, inputs=s[:5])


# ----------------------------------------------------------------------------- regions
def test_visited_region_determinants_against_brute_force():
    rng = np.random.default_rng(11)
    m = families.shplrnn(
        rng.uniform(-0.9, 0.9, 3),
        rng.standard_normal((3, 6)),
        rng.standard_normal((6, 3)),
        rng.standard_normal(3),
        rng.standard_normal(6),
    )
    z = rng.standard_normal((500, 3)) * 2
    pats, dets = Mx.visited_region_determinants(m, z)
    seen = {tuple(p) for p in m.pattern(z)}
    assert {tuple(p) for p in pats} == seen
    for p, d in zip(pats, dets, strict=True):
        J = np.diag(m.A.diagonal()) + m.W1 @ np.diag(p.astype(float)) @ m.W2
        assert d == pytest.approx(np.linalg.det(J), rel=1e-12, abs=1e-14)
    with pytest.raises(DataError, match="NaN"):
        Mx.visited_region_determinants(m, np.full((2, 3), np.nan))
