"""Orbit search on real trained models that nobody here trained.

Two ALRNNs trained on Lorenz-63 by the ALRNN authors (DurstewitzLab/ALRNN-DSR) live in
``../shared/models`` (never committed, see its README). The fixed points that
:func:`find_orbits` reports are checked against an *independent* exhaustive enumeration written
here from the raw state_dict (no :class:`PLMap`, no canonical form):

    z' = A * z + W phi(z) + h,   phi = identity on the first M - P units, relu on the last P.

For each of the 2^P ReLU patterns d the fixed point solves (I - diag(A) - W E_d) z = h with
E_d = diag(1, ..., 1, d); it is kept if z's sign pattern on the ReLU units is d (with a
tolerance relative to the model scale).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from plrnn_manifolds.models import load_model, read_state_dict
from plrnn_manifolds.orbits import find_orbits

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS_DIR = SHARED / "models"
DATA_FILE = SHARED / "data" / "lorenz63_test.npy"
MODEL_FILES = {
    "alrnn_lorenz63_m20_p2.pt": (20, 2),
    "alrnn_lorenz63_m30_p10.pt": (30, 10),
}

pytestmark = pytest.mark.skipif(
    not MODELS_DIR.is_dir(),
    reason=f"{MODELS_DIR} is absent: the real trained ALRNN models are not committed "
    "(lay ../shared beside the repository to run these tests)",
)


def _path(name: str) -> Path:
    p = MODELS_DIR / name
    if not p.is_file():
        pytest.skip(f"{p} is absent")
    return p


@pytest.fixture(params=sorted(MODEL_FILES), scope="module")
def real(request):
    """``(name, model, raw)`` with ``raw`` the float64 arrays A, W, h, B and P, M."""
    p = _path(request.param)
    sd = read_state_dict(p)
    M, P = MODEL_FILES[request.param]
    raw = {k: np.asarray(sd[k], dtype=np.float64) for k in ("A", "W", "h", "B")}
    raw["P"], raw["M"] = P, M
    return request.param, load_model(p), raw


# ------------------------------------------------------------------------------ independent
def _scale(raw) -> float:
    return float(
        max(1.0, np.abs(raw["A"]).max(), np.linalg.norm(raw["W"], 2), np.linalg.norm(raw["h"]))
    )


def _jacobian(raw, d) -> np.ndarray:
    """Jacobian of the ALRNN in ReLU pattern ``d`` (length P), from the raw parameters."""
    M, P = raw["M"], raw["P"]
    e = np.concatenate([np.ones(M - P), np.asarray(d, dtype=float)])
    return np.diag(raw["A"]) + raw["W"] * e[None, :]


def _step(raw, z) -> np.ndarray:
    M, P = raw["M"], raw["P"]
    phi = z.copy()
    phi[..., M - P :] = np.maximum(phi[..., M - P :], 0.0)
    return raw["A"] * z + phi @ raw["W"].T + raw["h"]


def _enumerate_cycles(raw, k: int):
    """All period-k orbits by brute force over the 2^(P k) pattern sequences.

    Returns a list of ``(points (k, M), eigenvalues)``; each orbit once (lower periods and
    cyclic shifts removed, boundary duplicates merged).
    """
    M, P = raw["M"], raw["P"]
    s = _scale(raw)
    out = []
    for bits in itertools.product((0, 1), repeat=P * k):
        seq = np.array(bits, dtype=float).reshape(k, P)
        Js = [_jacobian(raw, d) for d in seq]
        # z_{j+1} = J_j z_j + h; compose to z_1 = Mono z_1 + c
        mono, c = np.eye(M), np.zeros(M)
        for J in Js:
            mono, c = J @ mono, J @ c + raw["h"]
        z = np.linalg.solve(np.eye(M) - mono, c)
        pts = [z]
        for J in Js[:-1]:
            pts.append(J @ pts[-1] + raw["h"])
        pts = np.array(pts)
        tol = 1e-9 * (s + np.linalg.norm(pts, axis=1))[:, None]
        relu = pts[:, M - P :]
        if not np.all(np.where(seq > 0, relu >= -tol, relu <= tol)):
            continue
        # a genuine period-k orbit: with the true map, and not of a smaller period
        assert np.allclose(_step(raw, pts), np.roll(pts, -1, axis=0), atol=1e-9 * s, rtol=1e-9)
        if any(
            k % j == 0
            and np.linalg.norm(np.roll(pts, -j, axis=0) - pts) <= 1e-7 * (s + np.linalg.norm(pts))
            for j in range(1, k)
        ):
            continue  # really an orbit of a smaller period
        if any(_same_orbit(pts, q) for q, _ in out):
            continue
        out.append((pts, np.linalg.eigvals(mono)))
    return out


def _same_orbit(p, q, rtol: float = 1e-7) -> bool:
    if p.shape != q.shape:
        return False
    s = 1.0 + np.linalg.norm(p)
    return any(np.linalg.norm(np.roll(p, -j, axis=0) - q) <= rtol * s for j in range(p.shape[0]))


def _assert_same_spectrum(ev_ours, ev_ref, scale: float) -> None:
    ev_ours, ev_ref = np.asarray(ev_ours), np.asarray(ev_ref)
    assert ev_ours.shape == ev_ref.shape
    cost = np.abs(ev_ours[:, None] - ev_ref[None, :])
    r, c = linear_sum_assignment(cost)
    assert cost[r, c].max() <= 1e-8 * scale, f"eigenvalues differ by {cost[r, c].max():.2e}"


def _assert_matches(orbits, ref, raw, what: str) -> None:
    s = _scale(raw)
    unmatched = list(range(len(orbits)))
    for pts, ev in ref:
        hits = [i for i in unmatched if _same_orbit(orbits[i].points, pts)]
        assert len(hits) == 1, (
            f"{what}: enumerated orbit through {pts[0][:3]}... found {len(hits)}x"
        )
        o = orbits[hits[0]]
        unmatched.remove(hits[0])
        _assert_same_spectrum(o.eigenvalues, ev, s)
        # classification from moduli computed here
        mod = np.abs(ev)
        assert np.all(np.abs(mod - 1.0) > 1e-9), "a modulus is ~1: classification ambiguous"
        n_u, n_s = int(np.sum(mod > 1)), int(np.sum(mod < 1))
        label = "stable" if n_u == 0 else ("unstable" if n_s == 0 else "saddle")
        assert (o.n_unstable, o.n_stable, o.classification) == (n_u, n_s, label)
        assert o.residual < 1e-12
    extra = [orbits[i].points[0][:3] for i in unmatched]
    assert not extra, f"{what}: orbits not in the brute-force enumeration: {extra}"


# ------------------------------------------------------------------------------------ tests
def test_load_matches_raw_state_dict(real):
    name, model, raw = real
    M, P = raw["M"], raw["P"]
    assert (model.M, model.H, model.family, model.params["P"]) == (M, P, "alrnn", P)
    z = np.random.default_rng(0).normal(size=(50, M))
    np.testing.assert_allclose(model(z), _step(raw, z), rtol=1e-12, atol=1e-12)


def test_reader_agrees_with_torch():
    torch = pytest.importorskip("torch", reason="torch not installed (optional cross-check)")
    for name in MODEL_FILES:
        p = _path(name)
        ref = torch.load(p, map_location="cpu", weights_only=True)
        ours = read_state_dict(p)
        assert set(ours) == set(ref)
        for k, v in ref.items():
            np.testing.assert_array_equal(ours[k], v.numpy())


def _data_like_initial_conditions(raw, n: int = 64) -> np.ndarray:
    """z_0 = x B with z_0[:N] = x (the ALRNN code's initialisation), x from the Lorenz data
    (or standard normal observations when ../shared/data is absent)."""
    rng = np.random.default_rng(1)
    N = raw["B"].shape[0]
    if DATA_FILE.is_file():
        x = np.load(DATA_FILE)
        x = x[rng.choice(len(x), n, replace=False)]
    else:
        x = rng.normal(size=(n, N))
    z0 = x @ raw["B"]
    z0[:, :N] = x
    return z0


def test_simulation_stays_bounded(real):
    name, model, raw = real
    z0 = _data_like_initial_conditions(raw)
    traj = model.trajectory(z0, 3000, transient=2000)
    assert np.all(np.isfinite(traj)), name
    # trained on standardised data (|x| < 3): the latent state stays of that order
    assert np.abs(traj).max() < 50.0, f"{name}: |z| reaches {np.abs(traj).max():.3g}"
    # independent simulation agrees with the canonical map over a short horizon
    z = z0.copy()
    for _ in range(50):
        z = _step(raw, z)
    np.testing.assert_allclose(model.trajectory(z0, 1, transient=50)[0], z, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("exhaustive", ["auto", False], ids=["default", "scyfi"])
def test_fixed_points_match_brute_force(real, exhaustive):
    name, model, raw = real
    ref = _enumerate_cycles(raw, 1)
    assert ref, f"{name}: the brute force found no fixed point"
    res = find_orbits(model, max_period=1, exhaustive=exhaustive)
    if exhaustive == "auto":
        # 2^P regions: small enough for the certified exhaustive mode
        assert res.method == "exhaustive" and res.complete
        assert res.n_regions == 2 ** raw["P"]
    _assert_matches(res.orbits, ref, raw, f"{name} fixed points ({res.method})")
    assert len(res.fixed_points()) == len(ref)


def test_cycles_match_brute_force_m20():
    """Periods 2..4 of the P = 2 model (4^k pattern sequences each): the brute force finds no
    cycle, and the certified search must not report any either."""
    p = _path("alrnn_lorenz63_m20_p2.pt")
    sd = read_state_dict(p)
    raw = {k: np.asarray(sd[k], dtype=np.float64) for k in ("A", "W", "h", "B")}
    raw["M"], raw["P"] = 20, 2
    res = find_orbits(load_model(p), max_period=4)
    assert res.method == "exhaustive" and res.complete
    for k in (2, 3, 4):
        _assert_matches(res.cycles(k), _enumerate_cycles(raw, k), raw, f"m20_p2 {k}-cycles")
