"""Fig 4D, model selection: train the cortical-neuron ALRNN and score every snapshot.

The bundled model (``cortical_neuron.py``) is one epoch of one seed. This script shows how
that choice looks from the outside: it trains one recipe (the bundled one by default, with
``--set`` / ``--cfg`` overrides) one or a few epochs at a time, resuming from the checkpoint in
``--out`` (so the run is the same as an uninterrupted one and can itself be interrupted), and
after each step scores the snapshot by a free run on the *training* part of the step:

- ``rate``: spikes per second (upward crossings of -10 mV) over a 2 s free run after 0.5 s of
  transient, started from the data; ``rate_late``: the same over its last quarter;
- ``peak``: median spike peak (mV, maximum within 4 ms of the crossing); ``trough``: minimum;
  ``ahp``: median after-hyperpolarisation (minimum between consecutive spikes); ``width``:
  median spike half-width (ms, ``cortical_neuron.half_width``);
- ``dh_train`` / ``dh_held``: D_H of the free run against the training part / the held-out
  part (the held-out part is only reported, never used to choose);
- ``rest_v``, ``rest_fires`` (``--set mode=sweep`` only, where the map is trained on the
  whole sweep): median V of a free run started at rest, and whether that run spikes;
- ``error``: why a snapshot has no score (its free run overflows).

Each record also holds the recording's ``rate_data``, ``peak_data``, ``trough_data``,
``ahp_data``, ``width_data`` (same definitions, on the training part of the step).
``--init OLD/checkpoint.pt`` fine-tunes an earlier run (e.g. the bundled whole-sweep model's,
written by ``--set mode=sweep --seed 15 --epochs 92 --every 92``) with the given recipe instead
of starting from a random initialisation.

One JSON record per snapshot is appended to ``OUT/log.jsonl`` (default ``out/cortical_sweep``)
and each snapshot's folded map is written as ``OUT/model_epNNN.json`` (loadable by
``plrnn-manifolds analyze`` and by ``cortical_neuron.py --models``: copy it to
``cortical_neuron_alrnn.json``). ``--summary DIR...`` prints, for finished runs, how many
snapshots fire, fire within 15 % of the recorded rate, overshoot 0 mV, match the spike shape
(median peak and AHP within 5 mV of the recording's, median half-width within 25 %), match
rate and shape together, and diverge, and names the snapshot closest to the recording
(``misfit``: rate, peak, AHP and half-width errors in units of their tolerances, summed; among
the snapshots that rest, when any does). Writing a record after its checkpoint makes a killed
run safe to restart with the same command.

Examples (each about 2 to 4 minutes on one core)::

    python examples/cortical_sweep.py --out runs/seed0 --epochs 110
    python examples/cortical_sweep.py --out runs/seed3 --epochs 110 --seed 3
    python examples/cortical_sweep.py --out runs/tau8 --epochs 110 --set tau=8
    python examples/cortical_sweep.py --out runs/noise --epochs 110 --cfg noise=0.05
    python examples/cortical_sweep.py --out runs/ft --epochs 60 --set mode=sweep \
        --init runs/sweep15/checkpoint.pt --set tau=12 --cfg lr=3e-4
    python examples/cortical_sweep.py --summary runs/*

The results of such sweeps (about 11,000 snapshots over three sessions) are in docs/figures.md,
Fig 4D.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cortical_neuron as cn
import numpy as np
from _common import ROOT, headless, parser

RATE_BAND = 0.15  # "matches the rate": within 15 % of the recording
MIN_RATE = 10.0  # Hz: a snapshot "fires" at this rate or more, with a plausible voltage range
V_RANGE = (-80.0, 40.0)  # mV; the recording spans -49 to +17 mV
SHAPE_MV = 5.0  # "matches the spike shape": median peak and AHP within 5 mV ...
WIDTH_BAND = 0.25  # ... and median half-width within 25 %


def _value(text: str):
    """``"8"`` -> 8, ``"0.05"`` -> 0.05, ``"true"`` -> True, anything else stays a string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _pairs(items, allowed, what):
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or key not in allowed:
            raise SystemExit(
                f"error: {what} expects KEY=VALUE with KEY one of {', '.join(sorted(allowed))}; "
                f"got {item!r}"
            )
        out[key] = _value(val)
    return out


def score(F, x, volts, fire, held, dt, rest=None) -> dict:
    """Free-run scores of one folded map (see the module docstring).

    ``fire``: the training part of the step (the free run starts at its first point);
    ``held``: the held-out part; ``rest``: training data at rest (``mode=sweep``), from whose
    first point a second free run checks that the map also rests.
    """
    from plrnn_manifolds.training.metrics import power_spectrum_distance

    n, skip = int(round(2.0 / dt)), int(round(0.5 / dt))
    with np.errstate(all="ignore"):
        traj = cn.free_run(F, fire[0], n, transient=skip)
        rest_v = None if rest is None else volts(cn.free_run(F, rest[0], 400, transient=skip))
        v = volts(traj)  # may overflow: reported below, not warned about
    if not np.all(np.isfinite(v)) or np.abs(v).max() > 1e4:
        return {"error": "free run overflows (|V| > 1e4 mV)"}
    q = v[-len(v) // 4 :]
    out = {
        **cn.spike_stats(v, dt),
        "rate_late": cn.spike_stats(q, dt)["rate"],
        "dh_train": float(power_spectrum_distance(fire, traj[: len(fire), : x.shape[1]])),
        "dh_held": float(power_spectrum_distance(held, traj[: len(held), : x.shape[1]])),
    }
    if rest_v is not None and np.all(np.isfinite(rest_v)):
        # Resting: the free run from rest stays below threshold, its median is reported.
        out["rest_v"] = float(np.median(rest_v))
        out["rest_fires"] = bool(len(cn.spikes(rest_v)))
    return out


def classify(rec: dict, rate_data: float | None = None) -> dict:
    """Flags of one log record: fires, matches the rate, overshoots, matches the spike shape
    (median peak and after-hyperpolarisation within ``SHAPE_MV`` of the recording's and median
    half-width within ``WIDTH_BAND`` of it; logs written before these were recorded never
    match), diverged."""
    rate_data = rec["rate_data"] if rate_data is None else rate_data
    fires = (
        rec.get("rate") is not None
        and rec["rate"] >= MIN_RATE
        and rec["trough"] > V_RANGE[0]
        and (rec["peak"] is None or rec["peak"] < V_RANGE[1])
    )
    keys = ("peak", "ahp", "width", "peak_data", "ahp_data", "width_data")
    have = all(rec.get(k) is not None for k in keys)
    shape = (
        fires
        and have
        and abs(rec["peak"] - rec["peak_data"]) <= SHAPE_MV
        and abs(rec["ahp"] - rec["ahp_data"]) <= SHAPE_MV
        and abs(rec["width"] / rec["width_data"] - 1) <= WIDTH_BAND
    )
    return {
        "fires": fires,
        "rate_ok": fires and abs(rec["rate"] / rate_data - 1) <= RATE_BAND,
        "overshoot": fires and rec["peak"] is not None and rec["peak"] > 0,
        "shape_ok": shape,
        "diverged": "error" in rec,
    }


DATA_KEYS = ("rate_data", "peak_data", "ahp_data", "width_data")


def misfit(rec: dict) -> float:
    """How far a snapshot is from the recording, in units of the tolerances above:
    :math:`|r/r_d - 1| / 0.15 + |V_p - V_{p,d}| / 5 + |V_{ahp} - V_{ahp,d}| / 5 +
    |w/w_d - 1| / 0.25` (rate, peak, AHP, half-width). A snapshot that matches rate and shape
    has each term at most 1; ``inf`` for snapshots that do not fire or lack a measure."""
    keys = ("rate", "peak", "ahp", "width")
    if not classify(rec)["fires"] or any(rec.get(k) is None for k in keys + DATA_KEYS):
        return float("inf")
    return (
        abs(rec["rate"] / rec["rate_data"] - 1) / RATE_BAND
        + abs(rec["peak"] - rec["peak_data"]) / SHAPE_MV
        + abs(rec["ahp"] - rec["ahp_data"]) / SHAPE_MV
        + abs(rec["width"] / rec["width_data"] - 1) / WIDTH_BAND
    )


def rests(rec: dict) -> bool:
    """Started at the recorded rest (``mode=sweep``), the free run stays silent between -80
    and -60 mV."""
    return rec.get("rest_v") is not None and -80 < rec["rest_v"] < -60 and not rec["rest_fires"]


def summary(dirs) -> None:
    keys = ("fires", "rate_ok", "overshoot", "shape_ok", "diverged")
    print("run                snapshots  fire  rate+-15%  overshoot  shape  rate+shape  diverged")
    for d in dirs:
        log = Path(d) / "log.jsonl"
        if not log.is_file():
            print(f"{str(d):18s} (no log.jsonl)")
            continue
        recs = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        flags = [classify(r) for r in recs]
        n = {k: sum(f[k] for f in flags) for k in keys}
        both = sum(f["rate_ok"] and f["shape_ok"] for f in flags)
        print(
            f"{str(d):18s} {len(recs):9d} {n['fires']:5d} {n['rate_ok']:10d} "
            f"{n['overshoot']:10d} {n['shape_ok']:6d} {both:11d} {n['diverged']:9d}"
        )
        # The closest snapshot that also rests (whole-sweep runs), else the closest one.
        pool = [r for r in recs if rests(r)] or recs
        best = min(pool, key=misfit, default=None)
        if best is not None and misfit(best) < float("inf"):
            print(
                f"    closest{' resting' if rests(best) else ''} snapshot: epoch "
                f"{best['epoch']}, misfit {misfit(best):.2f} ({best['rate']:.1f} Hz, peak "
                f"{best['peak']:+.1f} mV, AHP {best['ahp']:.1f} mV, half-width "
                f"{best['width']:.2f} ms)"
            )


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=110, help="last epoch (default 110)")
    ap.add_argument("--every", type=int, default=1, help="epochs between snapshots (default 1)")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="data/recipe setting"
    )
    ap.add_argument(
        "--cfg", action="append", default=[], metavar="KEY=VALUE", help="TrainConfig field"
    )
    ap.add_argument(
        "--init",
        type=Path,
        metavar="CHECKPOINT",
        help="fine-tune: start from this checkpoint.pt (same architecture) instead of a "
        "random initialisation",
    )
    ap.add_argument("--summary", nargs="+", type=Path, metavar="DIR", help="summarise runs")
    ap.set_defaults(out=ROOT / "out" / "cortical_sweep")
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return 0
    if args.epochs < 1 or args.every < 1:
        raise SystemExit("error: --epochs and --every must be positive")
    headless()
    import torch

    from plrnn_manifolds.models import save_model
    from plrnn_manifolds.training import TrainConfig, train
    from plrnn_manifolds.training.train import CHECKPOINT_NAME, load_checkpoint

    torch.set_num_threads(1)
    cn.SETTINGS.update(_pairs(args.set, set(cn.SETTINGS), "--set"))
    S = cn.SETTINGS
    if S["mode"] not in ("step", "sweep"):
        raise SystemExit("error: --set mode= must be step or sweep (input mode needs two maps)")
    p, dt, (k0, k1), _ = cn.load()
    x, vs = p.data, p.scaler

    def volts(z):
        return vs.inverse_transform(np.atleast_2d(z)[:, :1])[:, 0]

    n_test = int(round(S["test_fraction"] * len(x)))
    t_split = len(x) - n_test
    fire = x[k0 + 100 : min(k1, t_split)]  # training part of the step, after 50 ms
    rest = x[: k0 - 10] if k0 > 200 else None  # training data at rest (mode=sweep)
    data_stats = cn.spike_stats(volts(fire), dt)
    rate_data = data_stats["rate"]
    kw = cn.train_settings(checkpoint_every=args.every, progress=False, seed=args.seed)
    kw.update(_pairs(args.cfg, set(TrainConfig.__dataclass_fields__), "--cfg"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.jsonl"
    done = (
        [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        if log.is_file()
        else []
    )
    # Restart after an interruption: the checkpoint may be one snapshot ahead of the log (it
    # is written before the record); that snapshot is then scored without training.
    ck = out / CHECKPOINT_NAME
    resume = ck.is_file()
    last = done[-1]["epoch"] if done else 0
    ck_epoch = int(load_checkpoint(ck)["epoch"]) if resume else 0
    ep = ck_epoch if ck_epoch > last else last + args.every
    print(f"recording, training part: {rate_data:.1f} Hz; snapshots every {args.every} epoch(s)")
    while ep <= args.epochs:
        # The warm start applies to the first call only; later calls resume the fine-tuning run.
        init = None if resume else args.init
        res = train(x, TrainConfig(epochs=ep, **kw), out_dir=out, resume=resume, init=init)
        resume = True
        F = res.to_plmap()
        sc = score(F, x, volts, fire, x[t_split:], dt, rest)
        rec = {
            "epoch": ep,
            **sc,
            **{f"{k}_data": v for k, v in data_stats.items()},
        }
        save_model(F, out / f"model_ep{ep:03d}.json")
        with log.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        shown = "  ".join(
            f"{k} {rec[k]:.2f}" for k in ("rate", "peak", "trough", "dh_held") if rec.get(k)
        )
        print(f"epoch {ep:4d}  {shown or rec.get('error', 'silent')}", flush=True)
        ep += args.every
    summary([out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
