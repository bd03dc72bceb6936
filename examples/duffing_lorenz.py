"""Figs 4A and 4C: models trained on the bistable Duffing oscillator and on Lorenz-63, analysed.

**4A, Duffing.** The unforced, damped double-well Duffing oscillator
x'' + delta x' - x + x^3 = 0 (delta = 0.3) is bistable: two stable foci at x = +-1 and a saddle
at the origin whose stable manifold is the boundary between the two basins. Training data: 60
trajectories of 150 samples (dt = 0.1) from seeded random initial states, concatenated and
z-scored. The model is a shallow PLRNN with M = 2 (the observed variables x, x' are the whole
state) and ``--hidden`` ReLU units, trained with sparse teacher forcing. For M = 2 the model's
own state space is the data plane, so the exact stable manifold of its saddle can be compared
directly with the true basin boundary. Printed: the model's fixed points against the true
ones, the fraction of a grid on which model and true system pick the same attractor, and the
fraction of the model's grid boundary cells within 2 cells of its exact stable manifold.

**4C, Lorenz-63.** A shallow PLRNN with M = 3 (again the state space is the data space) and
``--lorenz-hidden`` ReLU units, trained with generalised teacher forcing on the first
``--lorenz-samples`` samples of ``../shared/data/lorenz63_test.npy`` (z-scored Lorenz-63 from
DurstewitzLab/ALRNN-DSR; if the file is absent, Lorenz-63 is simulated with a seeded RK4 at
dt = 0.01 and z-scored). Then: its fixed points (SCYFI; with 64 hidden units in 3-D there are
tens of thousands of regions, too many to enumerate), the unstable manifolds of the saddles with
one unstable direction, grown exactly, and the Lyapunov spectrum of a free run, compared with
Lorenz-63's largest exponent 0.906 per time unit (the sampling step of the data is estimated
from the data themselves with dx/dt = 10 (y - x)).

Writes ``fig4a_duffing.png`` and ``fig4c_lorenz.png`` into ``--out``. Training dominates the
run time: a few minutes on one CPU core with the defaults (``--epochs``,
``--lorenz-epochs``). Needs the ``train`` extra (PyTorch). Not part of the test suite; run it
with ``make examples``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _common import ROOT, Timer, boundary_cells, fraction_near, headless, parser, save

LORENZ = ROOT.parent / "shared" / "data" / "lorenz63_test.npy"
DELTA = 0.3  # Duffing damping


# ----------------------------------------------------------------------------- Duffing
def duffing_rhs(u):
    """Right-hand side of the Duffing flow for a batch ``(n, 2)``."""
    x, v = u[..., 0], u[..., 1]
    return np.stack([v, -DELTA * v + x - x**3], axis=-1)


def rk4(rhs, u, dt, n_steps, keep_every=1):
    out = [u.copy()]
    for t in range(1, n_steps):
        k1 = rhs(u)
        k2 = rhs(u + 0.5 * dt * k1)
        k3 = rhs(u + 0.5 * dt * k2)
        k4 = rhs(u + dt * k3)
        u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if t % keep_every == 0:
            out.append(u.copy())
    return np.stack(out, axis=-2)


def duffing_data(seed, n_traj=60, length=150, dt=0.1, substeps=10):
    """Seeded trajectories (mirrored pairs, so both wells are equally represented)."""
    rng = np.random.default_rng(seed)
    u0 = rng.uniform(-2.5, 2.5, size=(n_traj // 2, 2))
    u0 = np.concatenate([u0, -u0])[rng.permutation(n_traj)]
    traj = rk4(duffing_rhs, u0, dt / substeps, (length - 1) * substeps + 1, keep_every=substeps)
    return traj.reshape(-1, 2), traj.shape[1]


def true_stable_manifold(scaler, T=40.0, dt=0.002, radius=6.0):
    """Both branches of the true saddle's stable manifold, by backward integration (z-scores).

    Backward in time the flow runs along the stable manifold away from the saddle; each branch is
    cut where it leaves the disc of the given radius (raw units), before the cubic term makes the
    backward flow blow up.
    """
    # at the origin the Jacobian is [[0, 1], [1, -delta]]: stable eigenvector for the negative
    # eigenvalue
    lam = 0.5 * (-DELTA - np.sqrt(DELTA**2 + 4))
    v = np.array([1.0, lam]) / np.hypot(1.0, lam)
    out = []
    for sign in (1.0, -1.0):
        u = sign * 1e-7 * v
        pts = [u]
        for _ in range(int(T / dt)):
            k1 = -duffing_rhs(u)
            k2 = -duffing_rhs(u + 0.5 * dt * k1)
            k3 = -duffing_rhs(u + 0.5 * dt * k2)
            k4 = -duffing_rhs(u + dt * k3)
            u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not np.hypot(*u) < radius:
                break
            pts.append(u)
        out.append(scaler.transform(np.array(pts)))
    return out


def true_basins(scaler, xs, ys, T=150.0, dt=0.05):
    """Label a z-score grid by the well (+1 / -1) the true flow ends in."""
    X, Y = np.meshgrid(xs, ys)
    z = np.stack([X.ravel(), Y.ravel()], axis=1)
    u = scaler.inverse_transform(z)
    for _ in range(int(T / dt)):
        k1 = duffing_rhs(u)
        k2 = duffing_rhs(u + 0.5 * dt * k1)
        k3 = duffing_rhs(u + 0.5 * dt * k2)
        k4 = duffing_rhs(u + dt * k3)
        u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sign(u[:, 0]).reshape(X.shape)


def run_duffing(args, tick):
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    from plrnn_manifolds.basins import find_attractors, grid_basins
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.orbits import find_orbits
    from plrnn_manifolds.plots import BASIN_COLOURS, phase_portrait
    from plrnn_manifolds.training import TrainConfig, train, zscore

    raw, seg = duffing_data(args.seed)
    x, scaler = zscore(raw)
    cfg = TrainConfig(
        model="shplrnn",
        M=2,
        hidden=args.hidden,
        epochs=args.epochs,
        batches_per_epoch=20,
        batch_size=16,
        seq_len=40,
        tau=10,
        lr=3e-3,
        lr_gamma=0.97,
        noise=0.05,
        lambda_reg=args.lambda_reg,
        test_fraction=0.1,
        eval_every=0,
        dstsp_bins=10,
        progress=False,
        seed=args.seed,
    )
    res = train(x, cfg)
    F = res.to_plmap()
    if args.save_models is not None:
        from plrnn_manifolds.models import save_model

        args.save_models.mkdir(parents=True, exist_ok=True)
        save_model(F, args.save_models / "duffing_shplrnn.json")
    m = res.metrics
    tick(
        f"[Duffing] trained shPLRNN (M = 2, H = {args.hidden}, {args.epochs} epochs) on "
        f"{len(x)} samples ({len(x) // seg} trajectories of {seg}); held-out D_stsp "
        f"{m['D_stsp']:.3f}, D_H {m['D_H']:.4f}, PE({m['pe_steps']}) {m['PE']:.4f}"
    )
    orbits = find_orbits(F, max_period=args.max_period, seed=args.seed)
    true_fp = scaler.transform(np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))
    print(f"    true fixed points (z-scores): {np.round(true_fp, 3).tolist()}")
    for o in orbits.orbits:
        print(
            f"    model period-{o.period} {o.classification} at {np.round(o.points[0], 3)}, "
            f"|eigenvalues| {np.round(np.abs(o.eigenvalues), 3)}"
        )
    tick(f"[Duffing] orbits up to period {args.max_period} ({orbits.method})")
    lo, hi = np.array([-3.0, -3.5]), np.array([3.0, 3.5])
    saddles = [o for o in orbits.saddles() if o.n_unstable == 1]
    mans = []
    for o in saddles:
        W = grow_manifold(
            F,
            o,
            "stable",
            box=(lo, hi),
            depth=args.depth,
            max_pieces=4000,
            seed=args.seed,
            orbit_id=orbits.orbits.index(o),
        )
        mans.append(W)
        tick(
            f"[Duffing] W^s of the saddle at {np.round(o.points[0], 3)}: {len(W.pieces)} pieces, "
            f"stopped by {W.stopped_by}, max residual {W.max_residual:.1e}"
        )
    cat = find_attractors(F, orbits, box=(lo, hi), seed=args.seed)
    gb = grid_basins(F, cat, bounds=((lo[0], hi[0]), (lo[1], hi[1])), n=args.grid)
    truth = true_basins(scaler, gb.xs, gb.ys)
    # match model attractors to the true wells by the sign of their x-centroid
    side = {a.id: np.sign(a.centroid[0]) for a in cat}
    model_side = np.vectorize(lambda k: side.get(int(k), 0.0))(gb.labels)
    agree = float(np.mean(model_side == truth))
    print(
        "[Duffing] attractors of the model: "
        + ", ".join(f"{a.kind} at x = {a.centroid[0]:.3f}" for a in cat)
    )
    print(f"[Duffing] grid cells where model and true system reach the same well: {agree:.3f}")
    if mans:
        frac = fraction_near(mans, gb.xs, gb.ys, boundary_cells(gb.labels))
        print(f"[Duffing] model basin-boundary cells within 2 cells of its W^s: {frac:.4f}")
    tick("[Duffing] basins")

    Ws_true = true_stable_manifold(scaler)
    fig = Figure(figsize=(12.5, 5.8), layout="constrained")
    ax_t, ax_m = fig.subplots(1, 2)
    # colour the true basins like the model's: each well gets the colour of the model
    # attractor on the same side
    ids = {sgn: next((a.id for a in cat if np.sign(a.centroid[0]) == sgn), None) for sgn in (-1, 1)}
    if None in ids.values():
        ids = {-1: 0, 1: 1}
    cmap = ListedColormap(
        [BASIN_COLOURS[ids[-1] % len(BASIN_COLOURS)], BASIN_COLOURS[ids[1] % len(BASIN_COLOURS)]]
    )
    ax_t.imshow(
        (truth > 0).astype(int),
        origin="lower",
        extent=(lo[0], hi[0], lo[1], hi[1]),
        cmap=cmap,
        vmin=0,
        vmax=1,
        aspect="auto",
        interpolation="nearest",
    )
    for b in Ws_true:
        ax_t.plot(b[:, 0], b[:, 1], "k-", lw=1.4)
    ax_t.plot(true_fp[[0, 2], 0], true_fp[[0, 2], 1], "o", color="#2ca02c", mec="k")
    ax_t.plot(true_fp[1, 0], true_fp[1, 1], "D", color="#ff7f0e", mec="k")
    for tr in x.reshape(-1, seg, 2)[:6]:
        ax_t.plot(tr[:, 0], tr[:, 1], "-", color="0.35", lw=0.6)
    ax_t.set_xlim(lo[0], hi[0])
    ax_t.set_ylim(lo[1], hi[1])
    ax_t.set_title(
        "true Duffing: basins, stable manifold of the saddle (black),\nsix training trajectories"
    )
    ax_t.set_xlabel("$x$ (z-score)")
    ax_t.set_ylabel("$\\dot x$ (z-score)")
    phase_portrait(
        F,
        ax=ax_m,
        orbits=orbits,
        manifolds=mans,
        basins=gb,
        trajectories=0,
        xlim=(lo[0], hi[0]),
        ylim=(lo[1], hi[1]),
        title=f"trained shPLRNN: exact $W^s$ over its grid basins (same cells: {agree:.0%})",
    )
    for k, b in enumerate(Ws_true):
        ax_m.plot(b[:, 0], b[:, 1], "k--", lw=0.8, label=None if k else "true $W^s$ (Duffing)")
    ax_m.legend(loc="upper right", fontsize=7, framealpha=0.9)
    ax_m.set_xlabel("$z_1$")
    ax_m.set_ylabel("$z_2$")
    save(fig, args.out, "fig4a_duffing.png")


# ----------------------------------------------------------------------------- Lorenz
def lorenz_rhs(u, s=10.0, r=28.0, b=8.0 / 3.0):
    x, y, z = u[..., 0], u[..., 1], u[..., 2]
    return np.stack([s * (y - x), x * (r - z) - y, x * y - b * z], axis=-1)


def lorenz_data(n, seed):
    if LORENZ.exists():
        return np.load(LORENZ)[:n], f"{LORENZ.name} (first {n} samples)"
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(1, 3)) + np.array([0.0, 0.0, 25.0])
    traj = rk4(lorenz_rhs, u, 0.01, n + 2000)[0, 2000:]
    x = (traj - traj.mean(0)) / traj.std(0)
    return x, f"simulated Lorenz-63 (RK4, dt = 0.01, {n} samples; {LORENZ} not found)"


def sampling_step(x):
    """Estimate dt of z-scored Lorenz-63 data from dx/dt = 10 (y - x).

    With x = a X, y = b Y (z-scores of the raw X, Y, whose means are about 0), central
    differences give dx = 10 dt (b/a y - x), so the coefficient of x in a least-squares fit of
    dx on (y, x) is -10 dt.
    """
    d = 0.5 * (x[2:, 0] - x[:-2, 0])
    coef, *_ = np.linalg.lstsq(np.c_[x[1:-1, 1], x[1:-1, 0]], d, rcond=None)
    return -coef[1] / 10.0


def train_lorenz(x, cfg, what, args, tick):
    from plrnn_manifolds.training import train

    res = train(x, cfg)
    m = res.metrics
    tick(
        f"[Lorenz] trained shPLRNN (M = 3, H = {args.lorenz_hidden}, {args.lorenz_epochs} "
        f"epochs) on {what}; held-out D_stsp {m['D_stsp']:.3f}, D_H {m['D_H']:.4f}, "
        f"PE({m['pe_steps']}) {m['PE']:.4f}"
    )
    return res.to_plmap()


def run_lorenz(args, tick):
    from matplotlib.figure import Figure

    from plrnn_manifolds.chaos import lyapunov_spectrum
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.orbits import find_orbits
    from plrnn_manifolds.plots import lyapunov_spectrum_plot, manifold_3d, phase_portrait
    from plrnn_manifolds.training import TrainConfig

    x, what = lorenz_data(args.lorenz_samples, args.seed)
    cfg = TrainConfig(
        model="shplrnn",
        M=3,
        hidden=args.lorenz_hidden,
        epochs=args.lorenz_epochs,
        batches_per_epoch=50,
        batch_size=16,
        seq_len=50,
        gtf=True,
        lr=2e-3,
        lr_gamma=0.97,
        eval_every=0,
        progress=False,
        seed=args.seed,
    )
    if args.lorenz_model is not None:
        from plrnn_manifolds.models import load_model

        F = load_model(args.lorenz_model)
        tick(f"[Lorenz] loaded {args.lorenz_model} (no training); data: {what}")
    else:
        F = train_lorenz(x, cfg, what, args, tick)
    if args.save_models is not None:
        from plrnn_manifolds.models import save_model

        args.save_models.mkdir(parents=True, exist_ok=True)
        save_model(F, args.save_models / "lorenz_shplrnn.json")
    run = F.trajectory(x[0], 22000)[2000:]
    if not np.all(np.isfinite(run)):
        print("[Lorenz] the free run diverges: the model is not a usable surrogate")
        return
    print(
        f"[Lorenz] free run (20000 steps from the first data point) spans "
        f"{np.round(run.min(0), 2)} .. {np.round(run.max(0), 2)}; data "
        f"{np.round(x.min(0), 2)} .. {np.round(x.max(0), 2)}"
    )
    orbits = find_orbits(F, max_period=1, seed=args.seed, exhaustive=False)
    for o in orbits.orbits:
        print(
            f"    fixed point: {o.classification} (n_unstable = {o.n_unstable}) at "
            f"{np.round(o.points[0], 3)}, |eigenvalues| {np.round(np.abs(o.eigenvalues), 4)}"
        )
    tick(f"[Lorenz] fixed points ({orbits.method})")
    lo = run.min(0) - 0.5 * np.ptp(run, axis=0)
    hi = run.max(0) + 0.5 * np.ptp(run, axis=0)
    mans = []
    for o in orbits.saddles():
        if o.n_unstable != 1 or np.any(o.points[0] < lo) or np.any(o.points[0] > hi):
            continue
        W = grow_manifold(
            F,
            o,
            "unstable",
            box=(lo, hi),
            depth=args.lorenz_depth,
            max_pieces=args.lorenz_pieces,
            seed=args.seed,
            orbit_id=orbits.orbits.index(o),
        )
        mans.append(W)
        d = W.distance(run[::40])
        tick(
            f"[Lorenz] W^u of the saddle at {np.round(o.points[0], 3)}: {len(W.pieces)} pieces, "
            f"stopped by {W.stopped_by}, max residual {W.max_residual:.1e}; distance of "
            f"attractor samples to it: median {np.median(d):.3f}"
        )
    spec = lyapunov_spectrum(F, run[-1], n_steps=20000, transient=1000, seed=args.seed)
    dt = sampling_step(x)
    print(
        f"[Lorenz] Lyapunov spectrum per step: {np.round(spec.exponents, 5)} "
        f"(95 % half-widths {np.round(spec.half_width, 5)})"
    )
    print(
        f"[Lorenz] largest Lyapunov exponent of the model: {spec.largest:.5f} per step = "
        f"{spec.largest / dt:.3f} per time unit (dt = {dt:.4f} estimated from the data; "
        f"Lorenz-63: 0.906)"
    )
    tick("[Lorenz] spectrum")

    fig = Figure(figsize=(17, 5.8), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=[1.2, 1.0, 0.8])
    ax3 = fig.add_subplot(gs[0], projection="3d")
    ax_xz = fig.add_subplot(gs[1])
    ax_ly = fig.add_subplot(gs[2])
    manifold_3d(
        F,
        ax=ax3,
        orbits=orbits,
        manifolds=mans,
        trajectories=run[::4],
        coords=(0, 1, 2),
        title="trained shPLRNN (M = 3): free run, fixed points, exact $W^u$",
    )
    # the view is the attractor's box: a far-away fixed point (if any) is listed above instead
    pad = 0.15 * np.ptp(run, axis=0)
    ax3.set_xlim(run[:, 0].min() - pad[0], run[:, 0].max() + pad[0])
    ax3.set_ylim(run[:, 1].min() - pad[1], run[:, 1].max() + pad[1])
    ax3.set_zlim(run[:, 2].min() - pad[2], run[:, 2].max() + pad[2])
    ax3.set_xlabel("$x$")
    ax3.set_ylabel("$y$")
    ax3.set_zlabel("$z$")
    phase_portrait(
        F,
        ax=ax_xz,
        orbits=orbits,
        manifolds=mans,
        trajectories=run[::4],
        projection=(0, 2),
        show_regions=False,
        xlim=(run[:, 0].min() - pad[0], run[:, 0].max() + pad[0]),
        ylim=(run[:, 2].min() - pad[2], run[:, 2].max() + pad[2]),
        title="the same, projected on $(x, z)$",
    )
    ax_xz.set_xlabel("$x$")
    ax_xz.set_ylabel("$z$")
    lyapunov_spectrum_plot(
        spec,
        ax=ax_ly,
        title=f"Lyapunov spectrum per step ($\\lambda_1 / dt$ = {spec.largest / dt:.2f})",
    )
    save(fig, args.out, "fig4c_lorenz.png")


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--only", choices=["duffing", "lorenz"], default=None)
    ap.add_argument("--epochs", type=int, default=60, help="Duffing training epochs")
    ap.add_argument("--hidden", type=int, default=20, help="Duffing: shPLRNN hidden units")
    ap.add_argument("--lambda-reg", type=float, default=0.0, help="Duffing: regulariser weight")
    ap.add_argument("--max-period", type=int, default=2, help="Duffing: orbit search period")
    ap.add_argument("--depth", type=int, default=60, help="Duffing: W^s growth depth")
    ap.add_argument("--grid", type=int, default=150, help="Duffing: basin grid points per axis")
    ap.add_argument("--lorenz-epochs", type=int, default=60)
    ap.add_argument(
        "--lorenz-model",
        type=Path,
        default=None,
        help="analyse this model file instead of training one (e.g. from --save-models)",
    )
    ap.add_argument(
        "--save-models", type=Path, default=None, help="also write the trained models here (JSON)"
    )
    ap.add_argument("--lorenz-hidden", type=int, default=64, help="Lorenz: shPLRNN hidden units")
    ap.add_argument("--lorenz-pieces", type=int, default=3000, help="Lorenz: W^u piece budget")
    ap.add_argument("--lorenz-samples", type=int, default=20000)
    ap.add_argument("--lorenz-depth", type=int, default=200, help="Lorenz: W^u growth depth")
    args = ap.parse_args(argv)
    headless()
    try:
        import torch
    except ImportError:
        print("this example trains models: install the train extra (pip install '.[train]')")
        return 2
    torch.set_num_threads(1)
    tick = Timer()
    if args.only in (None, "duffing"):
        run_duffing(args, tick)
    if args.only in (None, "lorenz"):
        run_lorenz(args, tick)
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
