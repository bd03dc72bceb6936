#!/usr/bin/env python
"""Seconds per training epoch on CPU for an ALRNN with M = 25, P = 6.

Data: the bundled cortical-neuron recording (trace 183, the 2 s current step, downsampled to
0.75 ms, z-scored, 3-D delay embedding); synthetic data of the same size if the file is absent.
An epoch is ``batches_per_epoch`` (50) batches of 16 windows of 50 steps (TrainConfig defaults).

Variants, all on the same model and data in the same process:

- baseline: plain BPTT without teacher forcing (tau larger than the sequence length);
- sparse teacher forcing (tau = 10);
- generalised teacher forcing (adaptive alpha, updated every 5 batches);
- sparse teacher forcing plus the invertibility regulariser (lambda = 1);
- sparse teacher forcing plus the free-run bound (100-step free runs per window);
- sparse teacher forcing plus the bound and the free-run distribution matching (shared 200-step
  free runs per window, MMD over 16 x 50 points).

Each time is (wall time of ``train`` - time of its final evaluation) / epochs, the median of
``--repeats`` runs. Ratios are against the baseline. Usage::

    python benchmarks/bench_training.py [--epochs 2] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from importlib import resources

import numpy as np


def _data() -> tuple[np.ndarray, str]:
    from plrnn_manifolds.training import prepare

    try:
        ref = resources.files("plrnn_manifolds") / "data" / "cortical_neuron_b6.npz"
        with resources.as_file(ref) as path, np.load(path) as f:
            v = f["voltage"][:, 2].astype(np.float64)
        p = prepare(v, start=2801, stop=10801, downsample=3, embed_dim=3)
        return p.data, f"cortical neuron B6 trace 183 ({p.data.shape[0]} x {p.data.shape[1]})"
    except (FileNotFoundError, KeyError, OSError):
        rng = np.random.default_rng(0)
        t = np.arange(2635)
        x = np.sin(2 * np.pi * t / 39)[:, None] + 0.1 * rng.standard_normal((2635, 3))
        return x, "synthetic (2635 x 3)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = ap.parse_args(argv)

    import torch

    from plrnn_manifolds.training.train import TrainConfig, evaluate, train

    torch.set_num_threads(args.threads)
    x, what = _data()
    n_test = int(round(0.2 * len(x)))
    base = dict(model="alrnn", M=25, P=6, epochs=args.epochs, eval_every=0, progress=False)
    variants = {
        "BPTT, no teacher forcing (baseline)": dict(tau=10_000),
        "sparse teacher forcing, tau = 10": dict(tau=10),
        "generalised teacher forcing": dict(gtf=True),
        "sparse TF + regulariser (lambda = 1)": dict(tau=10, lambda_reg=1.0),
        "sparse TF + free-run bound": dict(tau=10, bound_weight=1.0),
        "sparse TF + bound + MMD": dict(tau=10, bound_weight=1.0, mmd_weight=1.0),
    }
    print(
        f"data: {what}; ALRNN M = 25, P = 6; {args.epochs} epoch(s) of 50 batches x 16 x 50 "
        f"steps; torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    )
    # Warm-up: the first torch calls of a process pay one-off initialisation costs.
    train(x, TrainConfig(**{**base, "epochs": 1, "batches_per_epoch": 5}))
    times = {}
    for name, kw in variants.items():
        runs = []
        for r in range(args.repeats):
            cfg = TrainConfig(**base, **kw, seed=r)
            t0 = time.perf_counter()
            res = train(x, cfg)
            t1 = time.perf_counter()
            evaluate(res.model, x[-n_test:])
            t_eval = time.perf_counter() - t1
            runs.append(max(t1 - t0 - t_eval, 0.0) / args.epochs)
        times[name] = statistics.median(runs)
    ref = times["BPTT, no teacher forcing (baseline)"]
    print(f"{'variant':40s} {'s/epoch':>9s} {'ratio':>7s}")
    for name, t in times.items():
        print(f"{name:40s} {t:9.3f} {t / ref:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
