"""Second real data set: an ALRNN trained on a human ECG, then the full chaos analysis.

The data are ``ecg_5d.npy`` from ``../shared/data`` (human electrocardiogram, z-scored and
delay-embedded into 5 dimensions, from DurstewitzLab/ALRNN-DSR, GPL-3.0). They are read at run
time and never committed. The script

1. trains an ALRNN with generalised teacher forcing (``--epochs``, ``--M``, ``--P``; the first
   80 % of the series, the last 20 % held out), or loads a trained model (``--model FILE``),
2. measures the reconstruction on the held-out part (D_stsp, D_H, PE) and checks that the
   model's free run stays bounded,
3. computes the Lyapunov spectrum on the model's own attractor (started from the data), and
4. runs the whole analysis of ``plrnn-manifolds analyze`` (orbits up to ``--max-period``,
   manifolds of every saddle within ``--max-pieces`` pieces, attractors, basins, homoclinic
   points and the chaos verdict),

and writes ``ecg_model.json``, ``ecg_summary.json``, ``analysis/results.json`` and
``ecg_chaos.png`` into ``--out``. It states what it finds, whatever that is.

Run: ``python examples/ecg_chaos.py --out out/ecg`` (training: about 5 s per epoch on one core).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ecg_5d.npy"


def _args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="path to ecg_5d.npy")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "ecg")
    ap.add_argument("--model", type=Path, default=None, help="analyse this model, no training")
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--family", default="alrnn", choices=["alrnn", "shplrnn", "plrnn"])
    ap.add_argument("--M", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=100, help="shPLRNN hidden units")
    ap.add_argument("--P", type=int, default=6)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--max-period", type=int, default=2)
    ap.add_argument("--max-pieces", type=int, default=300, help="piece budget per manifold")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def _train(x, args):
    import torch

    from plrnn_manifolds.training import TrainConfig, train

    torch.set_num_threads(1)
    cfg = TrainConfig(
        model=args.family,
        M=args.M,
        P=args.P,
        hidden=args.hidden,
        epochs=args.epochs,
        batches_per_epoch=50,
        batch_size=16,
        seq_len=args.seq_len,
        gtf=True,
        lr=2e-3,
        lr_gamma=0.98,
        eval_every=max(1, args.epochs // 5),
        seed=args.seed,
    )
    out = args.out / "training"
    res = train(x, cfg, out_dir=out, resume=(out / "checkpoint.pt").exists())
    return res.to_plmap()


def _free_run(F, x0, n, N):
    """Free run of the canonical map from the data point x0 (latent units from the data)."""
    z = np.zeros(F.M)
    z[:N] = x0
    traj = F.trajectory(z, n)
    return traj


def main(argv=None) -> int:
    args = _args(argv)
    if not args.data.exists():
        print(f"ECG data not found at {args.data}; pass --data PATH to ecg_5d.npy", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from plrnn_manifolds.analysis import run_analysis
    from plrnn_manifolds.chaos import lyapunov_spectrum
    from plrnn_manifolds.models.io import load_model, save_model
    from plrnn_manifolds.plots import lyapunov_spectrum_plot
    from plrnn_manifolds.training.metrics import power_spectrum_distance, state_space_divergence

    x = np.load(args.data).astype(np.float64)
    x = (x - x.mean(0)) / x.std(0)
    n_train = int(0.8 * len(x))
    x_test = x[n_train:]
    N = x.shape[1]
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"data": str(args.data), "n_train": n_train, "n_test": len(x_test)}

    t0 = time.perf_counter()
    if args.model is None:
        F = _train(x, args)  # holds out the same trailing 20 % (test_fraction=0.2)
        save_model(F, args.out / "ecg_model.json")
        summary["train_seconds"] = time.perf_counter() - t0
        summary["config"] = {
            k: getattr(args, k) for k in ("family", "M", "P", "hidden", "epochs", "seq_len", "seed")
        }
    else:
        F = load_model(args.model, P=args.P if args.model.suffix in (".pt", ".pth") else None)
    print(f"model: M={F.M}, H={F.H} ({time.perf_counter() - t0:.0f} s)")

    # The model's own attractor, reached from the first held-out point.
    traj = _free_run(F, x_test[0], len(x_test) + 5000, N)
    bounded = bool(np.all(np.isfinite(traj)) and np.abs(traj).max() < 1e6 * (1 + F.scale))
    summary["free_run_bounded"] = bounded
    if not bounded:
        print("the model's free run diverges: no attractor to analyse (train longer or smaller P)")
        (args.out / "ecg_summary.json").write_text(json.dumps(summary, indent=1))
        return 1
    gen = traj[: len(x_test), :N]
    summary["metrics_test"] = {
        "D_stsp": state_space_divergence(x_test, gen),
        "D_H": power_spectrum_distance(x_test, gen),
    }
    print(f"held-out reconstruction: {summary['metrics_test']}")

    spec = lyapunov_spectrum(F, traj[-1], n_steps=20000, transient=2000, n_segments=5, seed=0)
    summary["lyapunov"] = [float(v) for v in spec.exponents]
    summary["largest_lyapunov"] = [float(spec.largest), float(spec.stderr[0])]
    print(f"largest Lyapunov exponent {spec.largest:.4f} +- {spec.stderr[0]:.4f} per step")

    t1 = time.perf_counter()
    results, path = run_analysis(
        F,
        args.out / "analysis",
        source="ecg_model.json",
        max_period=args.max_period,
        max_pieces=args.max_pieces,
        seed=args.seed,
        n_initial=50,
        basin_samples=500,
    )
    summary["analysis_seconds"] = time.perf_counter() - t1
    summary["orbits"] = [
        {k: o[k] for k in ("id", "period", "classification", "n_unstable")}
        for o in results["orbits"]
    ]
    summary["attractors"] = [
        {k: a.get(k) for k in ("id", "kind", "period", "lyapunov", "basin_fraction")}
        for a in results["attractors"]
    ]
    summary["n_intersections"] = len(results["intersections"])
    summary["chaos"] = results["chaos"]
    print(f"orbits: {[(o['period'], o['classification']) for o in results['orbits']]}")
    print(f"attractors: {[(a['kind'], a['period']) for a in results['attractors']]}")
    print(f"homoclinic/heteroclinic points: {summary['n_intersections']}")
    print(f"chaos verdict: {results['chaos']['verdict']}")
    for r in results["chaos"]["reasons"]:
        print(f"  - {r}")
    (args.out / "ecg_summary.json").write_text(json.dumps(summary, indent=1, default=float))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    n = 600
    axes[0].plot(x_test[:n, 0], lw=0.9, label="ECG (held-out data)")
    axes[0].plot(gen[:n, 0], lw=0.9, label="model (free run)")
    axes[0].set_xlabel("time step")
    axes[0].set_title("first embedding coordinate")
    axes[0].legend(loc="upper right")
    axes[1].plot(x_test[:, 0], x_test[:, 1], lw=0.3, color="0.6", label="data")
    axes[1].plot(traj[-3000:, 0], traj[-3000:, 1], lw=0.4, color="C1", label="model attractor")
    for o in results["orbits"]:
        p = np.asarray(o["points"])
        mk = "x" if o["classification"] == "saddle" else "o"
        axes[1].plot(p[:, 0], p[:, 1], mk, ms=7, color="k")
    axes[1].set_xlabel("$x_1$")
    axes[1].set_ylabel("$x_2$")
    axes[1].set_title("attractor (orbits: o, saddles: x)")
    axes[1].legend(loc="upper right")
    lyapunov_spectrum_plot(spec.exponents, ax=axes[2], title="Lyapunov spectrum of the ECG model")
    fig.suptitle(f"ECG ALRNN: chaos verdict '{results['chaos']['verdict']}'")
    fig.tight_layout()
    fig.savefig(args.out / "ecg_chaos.png", dpi=110)
    print(f"wrote {args.out / 'ecg_chaos.png'} and {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
