"""Fig 4D: an ALRNN trained on a cortical neuron's current-clamp recording, then analysed.

Data: the bundled recording ``cortical_neuron_b6.npz`` (cell B6 of BluePyEfe's test data, five
3 s sweeps with 2 s depolarising current steps of 106 to 341 pA; the cell rests at about
-70 mV and fires tonically during the step). The five sweeps are concatenated (each starts and
ends at rest), downsampled to ``--downsample`` x 0.25 ms, z-scored and delay-embedded (dimension
``--embed-dim``, delay from the average mutual information). The injected current is the
model's external input; we use the nominal square step of each sweep (amplitude and timing from
the file's provenance) rather than the measured, quantised current.

An ALRNN (``--M`` latent units, the last ``--P`` rectified) is trained with sparse teacher
forcing for ``--epochs`` epochs (the only expensive step). Then, for the current switched off
(I = 0) and for each step amplitude, the input is folded into the bias (``to_plmap(s=...)``) and
the autonomous map is analysed:

- fixed points and 2-cycles (exhaustive over the 2^P regions) and their stability,
- attractors from simulations started at the data (fixed point, cycle, quasi-periodic or
  chaotic, with Lyapunov exponents), and whether the model fires (spikes in a free run),
- distance of each attractor to the nearest saddle fixed point.

What the recording implies: a stable rest state without current and repetitive firing (a
limit cycle) during the step. The script prints whether the trained model shows each of these;
when it does not, it says so. It does not grow the stable manifold of a saddle here: for
M = 25 that manifold is 24-dimensional, and growing it exactly is out of reach on a laptop.

Writes ``fig4d_cortical_neuron.png``. Run: ``python examples/cortical_neuron.py [--epochs N]``
(about ``N`` x 2 s of training on one core, plus a minute of analysis).
"""

from __future__ import annotations

import json
import sys

import numpy as np
from _common import DATA, Timer, headless, parser, save


def load(args):
    from plrnn_manifolds.training import prepare

    with np.load(DATA / "cortical_neuron_b6.npz") as f:
        v = f["voltage"].astype(np.float64)  # (T, 5)
        prov = json.loads(str(f["provenance"]))
        dt = float(f["dt"])
    T, n = v.shape
    amps = np.array(prov["step_amplitude_pA"], dtype=float)
    current = np.zeros((T, n))
    for k, (a, b) in enumerate(prov["step_samples"]):
        current[a:b, k] = amps[k]
    raw_v = v.T.reshape(-1)  # sweeps one after the other
    raw_i = current.T.reshape(-1)
    p = prepare(
        raw_v,
        inputs=raw_i[:, None],
        downsample=args.downsample,
        embed_dim=args.embed_dim,
    )
    return p, amps, dt * args.downsample, T // args.downsample


def n_spikes(volts, threshold=-20.0):
    return int(np.sum((volts[1:] > threshold) & (volts[:-1] <= threshold)))


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=100, help="training epochs (default 100)")
    ap.add_argument("--M", type=int, default=25)
    ap.add_argument("--P", type=int, default=6)
    ap.add_argument("--downsample", type=int, default=2, help="keep every k-th 0.25 ms sample")
    ap.add_argument("--embed-dim", type=int, default=3)
    ap.add_argument("--tau", type=int, default=10, help="sparse teacher-forcing interval")
    ap.add_argument("--gtf", action="store_true", help="generalised teacher forcing instead")
    ap.add_argument(
        "--show-sweep", type=int, default=2, choices=range(5), help="sweep of the time-series plot"
    )
    args = ap.parse_args(argv)
    headless()
    try:
        import torch
    except ImportError:
        print("this example trains a model: install the train extra (pip install '.[train]')")
        return 2
    torch.set_num_threads(1)
    from matplotlib.figure import Figure

    from plrnn_manifolds.basins import find_attractors
    from plrnn_manifolds.orbits import find_orbits
    from plrnn_manifolds.plots import ORBIT_STYLES
    from plrnn_manifolds.training import TrainConfig, train

    tick = Timer()
    p, amps, dt, per_sweep = load(args)
    x, s = p.data, p.inputs
    tick(
        f"data: {x.shape[0]} samples x {x.shape[1]} (voltage, {p.rule}), dt = {dt * 1e3:.2f} ms, "
        f"input = step current (z-scored)"
    )
    cfg = TrainConfig(
        model="alrnn",
        M=args.M,
        P=args.P,
        epochs=args.epochs,
        batches_per_epoch=50,
        batch_size=16,
        seq_len=50,
        tau=args.tau,
        gtf=args.gtf,
        lr=2e-3,
        lr_gamma=0.98,
        test_fraction=0.2,
        eval_every=0,
        progress=False,
        seed=args.seed,
    )
    res = train(x, cfg, inputs=s)
    m = res.metrics
    tick(
        f"trained ALRNN (M = {args.M}, P = {args.P}, {args.epochs} epochs); held-out (last "
        f"sweep) D_stsp {m['D_stsp']:.3f}, D_H {m['D_H']:.4f}, PE({m['pe_steps']}) {m['PE']:.4f}"
    )

    vs, iscale = p.scaler, p.input_scaler

    def volts(z):
        return vs.inverse_transform(z[:, : x.shape[1]])[:, 0]

    # Free run through one whole sweep with its input (the model is driven, never forced).
    k = args.show_sweep
    a = max(0, k * per_sweep - p.offset)
    sweep = slice(a, min(x.shape[0], (k + 1) * per_sweep - p.offset))
    with torch.no_grad():
        free = res.model.generate(x[sweep][0], x[sweep].shape[0], s[sweep])
    free = free.to(torch.float64).numpy()
    data_sw = volts(x[sweep])
    diverged = not np.all(np.isfinite(free)) or np.abs(free).max() > 1e6
    model_sw = np.full(len(data_sw), np.nan) if diverged else volts(free)
    held_out = a >= int(round(0.8 * x.shape[0]))
    print(
        f"    sweep {k + 1} ({amps[k]:.0f} pA, {'held out' if held_out else 'in training'}): "
        f"data {n_spikes(data_sw)} spikes, model free run "
        + ("diverges" if diverged else f"{n_spikes(model_sw)} spikes")
    )

    currents = [0.0, *amps.tolist()]
    summary = []
    start_states = None
    with torch.no_grad():
        start_states = res.model.init_state(
            torch.tensor(x[:: max(1, len(x) // 64)], dtype=res.model.dtype_)
        )
    start_states = start_states.to(torch.float64).numpy()
    for I in currents:
        s_z = iscale.transform(np.array([[I]]))[0]
        F = res.model.to_plmap(s=s_z)
        orbits = find_orbits(F, max_period=2, seed=args.seed)
        lo = start_states.min(0) - 2 * np.ptp(start_states, axis=0)
        hi = start_states.max(0) + 2 * np.ptp(start_states, axis=0)
        cat = find_attractors(
            F, orbits, n_initial=64, box=(lo, hi), seed=args.seed, n_transient=3000
        )
        saddles = [o for o in orbits.orbits if o.classification == "saddle"]
        rows = []
        for a in cat:
            pts = np.atleast_2d(a.points)
            fires = n_spikes(volts(pts)) > 0 if len(pts) > 2 else False
            dist = (
                min(
                    float(np.min(np.linalg.norm(pts[:, None] - o.points[None], axis=2)))
                    for o in saddles
                )
                if saddles
                else float("nan")
            )
            rows.append((a, fires, dist))
        fp = [o for o in orbits.fixed_points()]
        print(
            f"    I = {I:5.0f} pA: fixed points "
            + (
                ", ".join(f"{o.classification} (V = {volts(o.points)[0]:.1f} mV)" for o in fp)
                or "none"
            )
        )
        for a, fires, dist in rows:
            lam = ", ".join(f"{v:.3f}" for v in a.lyapunov[:2])
            va = volts(np.atleast_2d(a.points))
            print(
                f"        attractor {a.id}: {a.kind}"
                + (f" (period {a.period})" if a.period else "")
                + f", fires: {fires}, Lyapunov [{lam}, ...], V range "
                f"{va.min():.0f}..{va.max():.0f} mV"
                + (f", distance to the nearest saddle {dist:.2f}" if np.isfinite(dist) else "")
            )
        summary.append((I, F, orbits, cat, rows))
    rest = summary[0]
    rest_ok = any(a.kind == "fixed_point" and not f for a, f, _ in rest[4])
    fire_ok = [any(f for _, f, _ in r[4]) for r in summary[1:]]
    print(
        f"rest fixed point without current: {'yes' if rest_ok else 'NO'}; "
        f"firing attractor during the step: "
        + ", ".join(
            f"{a:.0f} pA {'yes' if ok else 'NO'}" for a, ok in zip(amps, fire_ok, strict=True)
        )
    )
    if not rest_ok or not all(fire_ok):
        print(
            "note: the trained model does not reproduce every regime of the recording "
            "(see above); more epochs or another seed may, the figure shows what it does."
        )
    tick("analysis")

    fig = Figure(figsize=(13, 7.5), layout="constrained")
    gs = fig.add_gridspec(2, 2, height_ratios=[1, 1.3])
    ax_ts = fig.add_subplot(gs[0, :])
    t = np.arange(len(data_sw)) * dt
    ax_ts.plot(t, data_sw, color="#222222", lw=0.7, label=f"recording (sweep {k + 1})")
    ax_ts.plot(
        t,
        model_sw,
        color="#d62728",
        lw=0.7,
        alpha=0.8,
        label="model, free run" + (" (diverges)" if diverged else ""),
    )
    ax_ts.set_xlabel("time (s)")
    ax_ts.set_ylabel("V (mV)")
    ax_ts.legend(loc="upper right", fontsize=8)
    ax_ts.set_title(
        f"ALRNN (M = {args.M}, P = {args.P}, {args.epochs} epochs) driven by the "
        f"{amps[k]:.0f} pA step of sweep {k + 1}, started from the first data point"
    )
    j = 1 if x.shape[1] >= 2 else 0  # second embedding coordinate (a delayed voltage)

    def coord(z, k):
        return vs.inverse_transform(np.atleast_2d(z)[:, [k]])[:, 0]

    for col, (I, _F, orbits, _cat, rows) in zip((0, 1), (summary[0], summary[3]), strict=True):
        ax = fig.add_subplot(gs[1, col])
        for a, fires, _ in rows:
            pts = np.atleast_2d(a.points)
            ax.plot(
                coord(pts, 0),
                coord(pts, j),
                ".-" if len(pts) > 1 else "o",
                ms=2,
                lw=0.4,
                label=f"attractor {a.id}: {a.kind}" + (" (fires)" if fires else ""),
            )
        for o in orbits.orbits:
            st = ORBIT_STYLES.get(o.classification, ORBIT_STYLES["unstable"])
            ax.plot(
                coord(o.points, 0),
                coord(o.points, j),
                st["marker"],
                color=st["color"],
                mec="k",
                ms=7,
                ls="",
                label=f"{o.classification}, period {o.period}",
            )
        ax.set_xlabel("V (mV), embedding coordinate 1")
        ax.set_ylabel(f"V (mV), embedding coordinate {j + 1} (delay {p.delay})")
        ax.set_title(f"I = {I:.0f} pA: attractors and orbits of the exported map")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no attractor or orbit found", ha="center", transform=ax.transAxes)
    save(fig, args.out, "fig4d_cortical_neuron.png")
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
