"""The fast example scripts (Figs 3A, 3B, 5) run as a user runs them and draw real figures.

Each script runs in a subprocess with a temporary ``--out`` directory and slightly smaller grids
and sweeps than its defaults (to keep the suite quick); the tests check that it exits 0, that the
PNG exists and is a real figure (size, not a blank canvas) and that the printed quantitative
result holds. The training examples (``duffing_lorenz.py``, ``cortical_neuron.py``) take minutes
and run only with ``make examples``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _examples import example_module

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, out: Path, *args: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def check_png(path: Path, min_width: int = 500, min_height: int = 400) -> None:
    from matplotlib.image import imread

    assert path.is_file(), f"{path} was not written"
    img = imread(path)
    h, w = img.shape[:2]
    assert w >= min_width and h >= min_height, f"{path.name} is only {w} x {h}"
    rgb = img[..., :3].astype(float)
    assert rgb.std() > 0.05, f"{path.name} looks blank (pixel std {rgb.std():.4f})"
    # a real figure has many distinct colours (basins, manifolds, markers, anti-aliasing)
    q = (rgb * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(q, axis=0)) > 50, f"{path.name} has too few colours"


def number(pattern: str, text: str) -> list[float]:
    found = [float(v) for v in re.findall(pattern, text)]
    assert found, f"no line matching {pattern!r} in:\n{text}"
    return found


def test_fig3a_lozi(tmp_path):
    out = run_example("fig3a_lozi.py", tmp_path, "--grid", "200")
    check_png(tmp_path / "fig3a_lozi.png")
    (frac,) = number(r"escape-boundary cells within 2 cells of W\^s\(left saddle\): ([0-9.]+)", out)
    assert frac >= 0.99
    (cover,) = number(r"attractor samples within 1e-3 of W\^u\(right saddle\): ([0-9.]+)", out)
    assert cover >= 0.99


def test_fig3b_border_collision(tmp_path):
    out = run_example("fig3b_border_collision.py", tmp_path, "--grid", "200", "--max-pieces", "150")
    check_png(tmp_path / "fig3b_border_collision.png", min_width=1000)
    fractions = number(r"\] boundary fraction: ([0-9.]+)", out)
    assert len(fractions) == 2 and min(fractions) >= 0.99
    # the orbit catalogue the docs describe: a period-3 saddle (left); period-4 and two
    # period-5 saddles (right), every search exhaustive
    assert out.count("complete=True") == 2
    left, right = out.split("[right]", 1)
    assert re.findall(r"period (\d+): saddle", left) == ["3"]
    assert re.findall(r"period (\d+): saddle", right) == ["4", "5", "5"]


def test_fig5_chaos(tmp_path):
    out = run_example("fig5_chaos.py", tmp_path, "--n-params", "21")
    check_png(tmp_path / "fig5_chaos.png", min_width=1000)
    (lam,) = number(r"largest Lyapunov exponent at h1 = -0\.7: (-?[0-9.]+)", out)
    assert lam > 0.4  # chaos (about 0.49 per step)
    if "intersections is not available" not in out:
        (n_tr,) = number(r"(\d+) verified and transversal", out)
        assert n_tr > 0


@pytest.mark.parametrize("name", ["duffing_lorenz.py", "cortical_neuron.py", "cortical_sweep.py"])
def test_training_examples_show_help(name):
    """The slow examples at least parse their options (their runs are ``make examples``)."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--out" in proc.stdout and "--epochs" in proc.stdout


def _train_like_the_script(data, cfg, **kwargs):
    """``train(...).to_plmap()`` on one thread, as the scripts run (reductions may depend on
    the thread split)."""
    import torch

    from plrnn_manifolds.training import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(data, cfg, **kwargs).to_plmap()
    finally:
        torch.set_num_threads(threads)


def _assert_same_map(a, b):
    for name in ("A", "W1", "W2", "h1", "h2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_cortical_sweep_snapshots_resume_like_an_uninterrupted_run(tmp_path):
    """Three snapshots, then an "interrupted" continuation to epoch 4: the log holds epochs
    1-4 once each, and the epoch-4 map equals the map of an uninterrupted 4-epoch training
    of the same recipe (to the float64 export)."""
    pytest.importorskip("torch")
    import json

    out = tmp_path / "run"
    run_example("cortical_sweep.py", out, "--epochs", "3", timeout=300)
    text = run_example("cortical_sweep.py", out, "--epochs", "4", timeout=300)
    recs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2, 3, 4]
    assert all(("error" in r) != ("rate" in r) for r in recs)  # a score or a reason
    assert re.search(rf"{re.escape(str(out))}\s+4\s", text)  # the summary counts 4 snapshots

    cn = example_module("cortical_neuron")
    from plrnn_manifolds.models import load_model
    from plrnn_manifolds.training import TrainConfig

    p, dt, (k0, k1), _ = cn.load()
    cfg = TrainConfig(**cn.train_settings(epochs=4, progress=False, seed=0))
    _assert_same_map(load_model(out / "model_ep004.json"), _train_like_the_script(p.data, cfg))

    # The recording's statistics in every record are those of the training part of the step.
    v = p.scaler.inverse_transform(p.data[:, :1])[:, 0]
    n_test = int(round(cn.SETTINGS["test_fraction"] * len(v)))
    fire = v[k0 + 100 : min(k1, len(v) - n_test)]
    assert recs[0]["rate_data"] == pytest.approx(len(cn.spikes(fire)) / (len(fire) * dt))
    assert recs[0]["trough_data"] == pytest.approx(fire.min())
    assert fire.min() <= recs[0]["ahp_data"] < recs[0]["peak_data"]
    assert fire.max() >= recs[0]["peak_data"] > 0  # the recorded spikes overshoot 0 mV


def test_cortical_sweep_fine_tunes_from_a_checkpoint(tmp_path):
    """``--init`` starts from an earlier run: one fine-tuning epoch from a 2-epoch checkpoint
    equals ``train(..., init=checkpoint)`` done directly, and differs from a fresh epoch."""
    pytest.importorskip("torch")
    first, ft = tmp_path / "first", tmp_path / "ft"
    run_example("cortical_sweep.py", first, "--epochs", "2", "--every", "2", timeout=300)
    ck = first / "checkpoint.pt"
    run_example(
        "cortical_sweep.py",
        ft,
        "--epochs",
        "1",
        "--init",
        str(ck),
        "--cfg",
        "lr=3e-4",
        timeout=300,
    )
    cn = example_module("cortical_neuron")
    from plrnn_manifolds.models import load_model
    from plrnn_manifolds.training import TrainConfig

    p = cn.load()[0]
    cfg = TrainConfig(**cn.train_settings(epochs=1, progress=False, seed=0, lr=3e-4))
    snap = load_model(ft / "model_ep001.json")
    _assert_same_map(snap, _train_like_the_script(p.data, cfg, init=ck))
    assert not np.array_equal(snap.A, _train_like_the_script(p.data, cfg).A)


@pytest.mark.parametrize(
    ("peak", "ahp", "width", "rate", "shape", "rate_ok"),
    [
        (4.0, -41.0, 2.4, 42.0, True, True),  # within 5 mV and 25 %, rate within 15 %
        (-3.9, -28.0, 3.4, 40.0, False, True),  # small, wide spikes at the right rate
        (4.0, -41.0, 2.4, 30.0, True, False),  # right shape, 30 % slow
        (4.0, -50.0, 2.4, 42.0, False, True),  # AHP 7 mV too deep
        (5.1, -42.9, 4.8, 48.5, False, True),  # peak and AHP right, twice as wide
        (None, None, None, 0.0, False, False),  # silent
    ],
)
def test_cortical_sweep_classify_rate_and_shape(peak, ahp, width, rate, shape, rate_ok):
    cs = example_module("cortical_sweep")
    rec = {"rate": rate, "peak": peak, "ahp": ahp, "width": width}
    rec.update(trough=-48.0 if ahp else -43.0, rate_data=43.6, peak_data=5.2, ahp_data=-43.0)
    rec["width_data"] = 2.2
    flags = cs.classify(rec)
    assert flags["shape_ok"] is shape and flags["rate_ok"] is rate_ok
    # logs written before the recording's peak, AHP and width were stored never match
    for key in ("ahp_data", "width_data"):
        old = {k: v for k, v in rec.items() if k != key}
        assert cs.classify(old)["shape_ok"] is False


@pytest.mark.parametrize("dt", [0.25e-3, 0.5e-3])
def test_cortical_half_width_of_known_spikes(dt):
    """Triangular spikes (linear interpolation is exact on them) and Gaussian ones (full width
    at half maximum 2 sqrt(2 ln 2) sigma, up to the interpolation error), on a flat base."""
    cn = example_module("cortical_neuron")
    n, period = int(round(2.0 / dt)), int(round(25e-3 / dt))
    rise, fall = int(round(1.5e-3 / dt)), int(round(2.5e-3 / dt))
    tri = np.full(n, -45.0)
    for s in range(20, n - period, period):
        tri[s : s + rise + 1] = np.linspace(-45.0, 5.0, rise + 1)
        tri[s + rise : s + rise + fall + 1] = np.linspace(5.0, -45.0, fall + 1)
    # half of 50 mV is crossed halfway up the rise and halfway down the fall
    assert cn.half_width(tri, dt) == pytest.approx((1.5e-3 + 2.5e-3) / 2, rel=1e-9)
    st = cn.spike_stats(tri, dt)
    n_spikes = len(range(20, n - period, period))
    assert st["rate"] == pytest.approx(n_spikes / 2.0)
    assert (st["peak"], st["ahp"], st["trough"], st["width"]) == pytest.approx((5, -45, -45, 2))
    sigma = 0.8e-3
    t = np.arange(n) * dt
    gauss = -45.0 + sum(
        50.0 * np.exp(-0.5 * ((t - c) / sigma) ** 2) for c in np.arange(0.0104, 1.99, 0.025)
    )
    fwhm = 2 * np.sqrt(2 * np.log(2)) * sigma
    assert cn.half_width(gauss, dt) == pytest.approx(fwhm, rel=0.05)
    # no complete spike: no width (a spike cut by the end of the trace is skipped)
    assert cn.half_width(np.full(n, -45.0), dt) is None
    assert cn.half_width(tri[: 20 + rise + 1], dt) is None


@pytest.mark.parametrize("h", [1, 3, 6])
def test_cortical_forced_predictions_are_exact_on_the_maps_own_orbit(h):
    """On data the map generated itself (the unobserved units starting at 0, as ``lift``
    starts them), forcing the observed units keeps the state on the orbit, so every
    h-step-ahead prediction is the data h steps later; a wrong offset or a forcing that
    leaked into the unobserved units would not reproduce it."""
    from plrnn_manifolds.models import alrnn

    cn = example_module("cortical_neuron")
    rng = np.random.default_rng(7)
    M, N, P = 8, 3, 3
    W = rng.normal(scale=0.3 / np.sqrt(M), size=(M, M))
    F = alrnn(rng.uniform(0.3, 0.8, M), W, rng.normal(scale=0.1, size=M), P)
    z0 = np.zeros(M)
    z0[:N] = rng.normal(size=N)
    x = F.trajectory(z0, 60)[:, :N]
    pred = cn.forced_predictions(F, x, h)
    assert pred.shape == (60 - h, N)
    np.testing.assert_allclose(pred, x[h:], rtol=0, atol=1e-12 * np.abs(x).max())
    # another map of the same family does not reproduce it
    G = alrnn(rng.uniform(0.3, 0.8, M), W, rng.normal(scale=0.1, size=M), P)
    assert np.abs(cn.forced_predictions(G, x, h) - x[h:]).max() > 1e-3


@pytest.mark.parametrize("k", [1, 5])
def test_cortical_analog_predictions_of_a_periodic_signal_are_exact(k):
    """A strictly periodic signal repeats its states, so the analogues of a test state (k of
    its exact copies in the training part) all have the true future; a shuffled training
    part breaks that."""
    cn = example_module("cortical_neuron")
    t = np.arange(400)
    v = np.sin(2 * np.pi * t / 25) + 0.3 * np.sin(4 * np.pi * t / 25 + 1)
    x = np.column_stack([v[4:], v[2:-2], v[:-4]])  # delay coordinates
    train, test = x[:300], x[300:]
    for h in (1, 4, 7):
        np.testing.assert_allclose(cn.analog_predictions(train, test, h, k=k), test[h:], atol=1e-9)
    shuffled = np.random.default_rng(0).permutation(train)
    assert np.abs(cn.analog_predictions(shuffled, test, 4, k=k) - test[4:]).max() > 0.1


def test_cortical_sweep_misfit_counts_tolerances_and_rest():
    cs = example_module("cortical_sweep")
    data = {"rate_data": 40.0, "peak_data": 5.0, "ahp_data": -45.0, "width_data": 2.0}
    exact = {"rate": 40.0, "peak": 5.0, "ahp": -45.0, "width": 2.0, "trough": -46.0, **data}
    assert cs.misfit(exact) == 0.0
    # each measure off by exactly its tolerance: 15 %, 5 mV, 5 mV, 25 %
    edge = {**exact, "rate": 46.0, "peak": 0.0, "ahp": -40.0, "width": 2.5}
    assert cs.misfit(edge) == pytest.approx(4.0)
    assert cs.misfit({**exact, "rate": 0.0, "peak": None}) == float("inf")  # silent
    assert cs.misfit({k: v for k, v in exact.items() if k != "width_data"}) == float("inf")
    assert cs.rests({"rest_v": -71.0, "rest_fires": False})
    assert not cs.rests({"rest_v": -71.0, "rest_fires": True})
    assert not cs.rests({"rest_v": -1e20, "rest_fires": False})  # ran off, did not rest
    assert not cs.rests({})  # step-segment runs have no rest
