"""Fig 4D: an ALRNN trained on a cortical neuron's current-clamp recording, then analysed.

Data: the bundled recording ``cortical_neuron_b6.npz`` (cell B6 of BluePyEfe's test data, five
3 s sweeps with 2 s depolarising current steps of 106 to 341 pA; the cell rests at about
-70 mV and fires tonically during the step). The bundled model is trained on the step segment
of ONE sweep, the 341 pA one (sweep 5; tonic firing at about 43 Hz), from 100 ms after the
step onset to its end: voltage downsampled to 0.5 ms, z-scored and delay-embedded in 3
coordinates (delay 1.5 ms). The model is autonomous: it is a model of the neuron *during the
341 pA step* (the constant current is implicit in the bias), not of rest. The last 20 % of the
segment (the last 0.38 s of the step) is held out.

Training (``--train``): ALRNN, M = 25, P = 6, sparse teacher forcing every 6 steps, windows of
100 steps, RAdam lr 2e-3 decaying by 0.995 per epoch, 80 epochs, seed 0 (about 2.5 minutes on
one core; bit-identical to the bundled ``cortical_neuron_alrnn.json``). 80 epochs is an early
stop chosen by inspection: in the same run the free-running model stops firing after epoch 90
(it falls onto its stable fixed point), and longer forcing intervals give smooth sub-threshold
oscillations instead of spikes (see docs/figures.md).

Default run (under a minute, no training, no PyTorch needed), on the bundled model:

- a free run against the recording: spike rate (upward crossings of -10 mV), dominant
  frequency, mean spike shape, and ``D_H`` / ``D_stsp`` against the held-out stretch;
- the fixed points (exhaustive over the 2^P regions) and their stability, and the attractors
  found by simulation (fixed point, cycle, quasi-periodic or chaotic, with Lyapunov exponents);
- for every saddle with one unstable direction, its codimension-1 (24-dimensional) stable
  manifold grown exactly with a small piece budget (``--max-pieces``), which attractors it
  separates, and the exact distance of each attractor to that boundary (an upper bound, since
  the manifolds are cut by the budget).

``--mode sweep`` analyses (or, with ``--train``, retrains: seed 15, 92 epochs) the second
bundled model, ``cortical_neuron_alrnn_sweep.json``: one autonomous map of the whole sweep
(rest, step, rest), so that rest and firing are two behaviours of the same map. It has the
structure of the paper's Fig 4D (a stable rest fixed point near the recorded rest, a firing
attractor, a saddle between them whose stable manifold separates the two basins) and fires
at 40 Hz (recording 43.6 Hz), but with small spikes that stop short of 0 mV. It writes
``fig4d_cortical_neuron_sweep.png``.

``--mode mmd`` analyses (or retrains) the third bundled model, ``cortical_neuron_alrnn_mmd.json``:
the same whole-sweep data, trained with forcing every 3 steps (to fit the spike, which the
data place only about 1 ms ahead), the free-run bound and the free-run distribution matching
(``TrainConfig.bound_weight``, ``mmd_weight``: the long run spends its time where the data do,
whatever the phase). It rests at the recorded rest, fires at the recorded rate with nearly the
recorded spike, and has a threshold saddle between rest and firing (docs/figures.md). It writes
``fig4d_cortical_neuron_mmd.png``. ``SETTINGS["mode"] = "input"``
switches to training on the whole sweep with the step current as
an external input (then a second map with the current off, ``cortical_neuron_alrnn_rest.json``,
is written and analysed too); the models we trained that way did not spike (docs/figures.md).

Writes ``fig4d_cortical_neuron.png``. Run: ``python examples/cortical_neuron.py [--train]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from _common import DATA, Timer, headless, parser, save

#: Everything that defines the bundled model (``--train`` with defaults reproduces it).
SETTINGS = {
    # "step": step segment alone; "input": whole sweep, current as input; "sweep": whole sweep,
    # autonomous (rest and firing as two behaviours of one map, the step onset unexplained)
    "mode": "step",
    "skip": 400,  # "step" mode: raw samples (100 ms) after the step onset left out
    "sweep": 4,  # 0-based: the 341 pA sweep
    "downsample": 2,  # 0.5 ms
    "embed_dim": 3,
    "delay": 3,  # samples (1.5 ms)
    "M": 25,
    "P": 6,
    "tau": 6,
    "seq_len": 100,
    "lr": 2e-3,
    "lr_gamma": 0.995,
    "batches_per_epoch": 50,
    "batch_size": 16,
    "test_fraction": 0.2,
}
EPOCHS_MMD = 294  # the chosen snapshot (docs/figures.md, Fig 4D)
#: Per ``--mode``: the bundled model file, the seed and epochs that reproduce it, and (``mmd``)
#: the data mode, the ``SETTINGS`` and the extra ``TrainConfig`` fields of its recipe.
MODES = {
    "step": {"model": "cortical_neuron_alrnn.json", "seed": 0, "epochs": 80},
    "sweep": {"model": "cortical_neuron_alrnn_sweep.json", "seed": 15, "epochs": 92},
    "mmd": {
        "model": "cortical_neuron_alrnn_mmd.json",
        "seed": 15,
        "epochs": EPOCHS_MMD,
        "data": "sweep",
        "settings": {"tau": 3},
        "config": {"bound_weight": 1.0, "bound_steps": 200, "mmd_weight": 1.0},
    },
}
THRESHOLD = -10.0  # mV, upward crossing = one spike (recorded peaks: 0 to +17 mV)


def load(sweep: int = SETTINGS["sweep"]):
    """The prepared sweep: ``(Prepared, dt, (k0, k1) step range in prepared samples, amp)``."""
    from plrnn_manifolds.training import prepare

    with np.load(DATA / "cortical_neuron_b6.npz") as f:
        v = f["voltage"].astype(np.float64)[:, sweep]
        prov = json.loads(str(f["provenance"]))
        dt = float(f["dt"])
    s0, s1 = prov["step_samples"][sweep]
    amp = float(prov["step_amplitude_pA"][sweep])
    ds = SETTINGS["downsample"]
    emb = {"embed_dim": SETTINGS["embed_dim"], "delay": SETTINGS["delay"]}
    if SETTINGS["mode"] == "step":
        p = prepare(v, start=s0 + SETTINGS["skip"], stop=s1, downsample=ds, **emb)
        return p, dt * ds, (0, len(p.data)), amp
    if SETTINGS["mode"] == "sweep":
        p = prepare(v, downsample=ds, **emb)
    else:
        cur = np.zeros((len(v), 1))
        cur[s0:s1, 0] = amp
        p = prepare(v, inputs=cur, downsample=ds, **emb)
    k0, k1 = -(-s0 // ds) - p.offset, -(-s1 // ds) - p.offset
    return p, dt * ds, (k0, k1), amp


def spikes(volts, threshold=THRESHOLD):
    """Indices of upward threshold crossings."""
    return np.where((volts[1:] > threshold) & (volts[:-1] <= threshold))[0] + 1


def dominant_frequency(volts, dt):
    """Frequency (Hz) of the largest peak of the power spectrum (the mean removed)."""
    v = np.asarray(volts) - np.mean(volts)
    power = np.abs(np.fft.rfft(v * np.hanning(len(v)))) ** 2
    f = np.fft.rfftfreq(len(v), dt)
    return float(f[1:][np.argmax(power[1:])])


def spike_shape(volts, dt, before=3e-3, after=8e-3):
    """Mean waveform aligned at the threshold crossing (``None`` without complete spikes)."""
    a, b = int(round(before / dt)), int(round(after / dt))
    idx = [i for i in spikes(volts) if i - a >= 0 and i + b <= len(volts)]
    if not idx:
        return None
    return np.arange(-a, b) * dt, np.mean([volts[i - a : i + b] for i in idx], axis=0)


def half_width(volts, dt, lookback=10e-3, window=4e-3):
    """Median spike half-width (s): the time each spike spends above half its amplitude.

    For a spike crossing the threshold at sample ``i``, its peak ``V_p`` is the maximum within
    ``window`` after ``i`` and its base ``V_b`` the minimum within ``lookback`` before ``i``; the
    half-width is the time between the upward and downward crossings of ``(V_p + V_b) / 2``,
    linearly interpolated between samples (at 0.5 ms sampling a spike spans only a few samples,
    so whole-sample counting would be too coarse). Spikes cut by either end of the trace are
    skipped; ``None`` when none is left.
    """
    v = np.asarray(volts, dtype=float)
    back, w = int(round(lookback / dt)), int(round(window / dt))
    widths = []
    for i in spikes(v):
        if i < 2 or i + w >= len(v):
            continue
        k = i + int(np.argmax(v[i : i + w]))
        start = max(0, i - back)
        level = (v[k] + v[start:i].min()) / 2
        # the rise starts after the last sample at or below the level; the base is one, so the
        # search need not go back further than the base's window
        below = start + np.nonzero(v[start:k] <= level)[0]
        after = np.nonzero(v[k:] <= level)[0]  # the fall ends at the first of these
        if not len(after):
            continue  # the spike is cut by an end of the trace
        lo, hi = below[-1], k + after[0]
        t_up = lo + (level - v[lo]) / (v[lo + 1] - v[lo])
        t_down = hi - 1 + (v[hi - 1] - level) / (v[hi - 1] - v[hi])
        widths.append((t_down - t_up) * dt)
    return float(np.median(widths)) if widths else None


def spike_stats(v, dt) -> dict:
    """``rate`` (Hz), median ``peak`` (mV, ``None`` without spikes), ``trough`` (minimum),
    ``ahp`` (median minimum between consecutive spikes, ``None`` with fewer than two) and
    ``width`` (median half-width in ms, :func:`half_width`) of a trace."""
    sp = spikes(v)
    w = int(round(4e-3 / dt))
    width = half_width(v, dt)
    return {
        "width": None if width is None else 1e3 * width,
        "rate": len(sp) / (len(v) * dt),
        "peak": float(np.median([v[i : i + w].max() for i in sp])) if len(sp) else None,
        "trough": float(np.min(v)),
        "ahp": float(np.median([v[a:b].min() for a, b in zip(sp[:-1], sp[1:], strict=True)]))
        if len(sp) > 1
        else None,
    }


def _spike_summary(v, dt) -> str:
    st = {k: float("nan") if v is None else v for k, v in spike_stats(v, dt).items()}
    return f"{len(spikes(v))} spikes, peak {st['peak']:.1f} mV, half-width {st['width']:.2f} ms"


def train_settings(**fields) -> dict:
    """``TrainConfig`` keyword arguments of the recipe in ``SETTINGS`` (``fields`` override)."""
    keys = ("M", "P", "batches_per_epoch", "batch_size", "seq_len", "tau", "lr", "lr_gamma")
    return {
        "model": "alrnn",
        **{k: SETTINGS[k] for k in keys},
        "test_fraction": SETTINGS["test_fraction"],
        "eval_every": 0,
        **fields,
    }


def train_models(args, p, amp, out: Path):
    """Train the network (the recipe of ``--mode``) and write the folded map(s) into ``out``."""
    import torch

    from plrnn_manifolds.models import save_model
    from plrnn_manifolds.training import TrainConfig, train

    torch.set_num_threads(1)
    extra = MODES[args.mode].get("config", {})
    cfg = TrainConfig(**train_settings(epochs=args.epochs, seed=args.seed, progress=None, **extra))
    res = train(p.data, cfg, inputs=p.inputs)
    m = res.metrics
    print(
        f"    trained ({args.epochs} epochs, seed {args.seed}); training-time metrics on the "
        f"held-out stretch (driven free run): D_stsp {m['D_stsp']:.3f}, D_H {m['D_H']:.4f}, "
        f"PE({m['pe_steps']}) {m['PE']:.4f}"
    )
    out.mkdir(parents=True, exist_ok=True)
    if p.inputs is None:
        name = MODES[args.mode]["model"]
        return save_model(res.to_plmap(), out / name), None
    s_on = p.input_scaler.transform(np.array([[amp]]))[0]
    s_off = p.input_scaler.transform(np.array([[0.0]]))[0]
    fire = save_model(res.to_plmap(s=s_on), out / "cortical_neuron_alrnn.json")
    rest = save_model(res.to_plmap(s=s_off), out / "cortical_neuron_alrnn_rest.json")
    return fire, rest


def lift(F, x):
    """Latent states of observations ``x`` (``(N,)`` or ``(k, N)``): unobserved units at 0."""
    x = np.asarray(x)
    z = np.zeros(x.shape[:-1] + (F.M,))
    z[..., : x.shape[-1]] = x
    return z


def free_run(F, x0, n, transient=0):
    """Free run of a folded map from the observation ``x0`` (unobserved units start at 0)."""
    return F.trajectory(lift(F, x0), n + transient)[transient:]


def forced_predictions(F, x, h):
    """``h``-step-ahead predictions of the observations ``x`` (``(T, N)``) from the recording.

    The observed units are set to the data at every step (teacher forcing every step, so the
    unobserved units follow the data), and from each forced state ``z_t`` the map runs ``h``
    steps freely: row ``t`` of the result is the observed part of ``F^h(z_t)``, the prediction
    of ``x[t + h]`` (``T - h`` rows). How the predicted spikes shrink with ``h`` shows how far
    ahead the model can place a spike, which is what a mean-squared-error fit of windows of
    ``tau`` steps rewards.
    """
    n = x.shape[1]
    z = lift(F, x[0])
    forced = np.empty((len(x), F.M))
    for t in range(len(x)):
        z[:n] = x[t]
        forced[t] = z
        z = F(z)
    w = forced[: len(x) - h]
    for _ in range(h):
        w = F(w)
    return w[:, :n]


def analog_predictions(train, test, h, k=5):
    r"""Model-free ``h``-step-ahead predictions of ``test`` (``(T, N)``) by the method of analogues.

    Each state of ``test`` is matched to its ``k`` nearest states of ``train`` (Euclidean, in
    the delay coordinates; ``scipy.spatial.cKDTree``, :math:`O(T \log T_{train})`), and the
    prediction of ``test[t + h]`` is the mean of their successors ``h`` steps later. This is the
    best a deterministic predictor can do from these coordinates when the data are dense: if
    the recording's spikes shrink and widen in it too, the information to place them ``h``
    steps ahead is not in the state, and a mean-squared-error fit of any model will shrink
    them as well.
    """
    from scipy.spatial import cKDTree

    _, idx = cKDTree(train[:-h]).query(test[:-h], k=k)
    return train[np.reshape(idx, (len(test) - h, k)) + h].mean(axis=1)


def analyse_map(F, name, volts, start_states, args, grow=True):
    """Orbits, attractors, codimension-1 stable manifolds and distances of one map."""
    from plrnn_manifolds.basins import find_attractors
    from plrnn_manifolds.boundaries import basin_boundaries
    from plrnn_manifolds.bounds import default_box
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.orbits import find_orbits

    orbits = find_orbits(F, max_period=1, seed=args.seed)
    pts = np.vstack([o.points for o in orbits.orbits] + [start_states])
    box = default_box(F, points=pts, seed=args.seed)
    cat = find_attractors(
        F, orbits, n_initial=32, box=box, seed=args.seed, initial=start_states, n_transient=3000
    )
    print(
        f"  [{name}] fixed points ({'exhaustive' if orbits.complete else 'heuristic'} search): "
        + (
            "; ".join(
                f"#{i} {o.classification} (V = {volts(o.points)[0]:.1f} mV, "
                f"{o.n_unstable} unstable direction(s))"
                for i, o in enumerate(orbits.orbits)
            )
            or "none"
        )
    )
    for a in cat:
        va = volts(np.atleast_2d(a.points))
        n_sp = len(spikes(va)) if len(va) > 2 else 0
        print(
            f"  [{name}] attractor {a.id}: {a.kind}"
            + (f" (period {a.period})" if a.period else "")
            + f", V {va.min():.1f} .. {va.max():.1f} mV, largest Lyapunov exponent "
            f"{a.lyapunov[0]:.4f}, fires: {'yes' if n_sp else 'no'}"
        )
    manifolds, branches, direct = [], {}, {}
    if grow:
        for i, o in enumerate(orbits.orbits):
            if o.classification == "saddle" and o.n_unstable == 1:
                man = grow_manifold(
                    F, o, "stable", box=box, max_pieces=args.max_pieces, seed=args.seed, orbit_id=i
                )
                manifolds.append(man)
                print(
                    f"  [{name}] stable manifold of saddle #{i}: dimension {man.dimension}, "
                    f"{len(man.pieces)} pieces, stopped by {', '.join(man.stopped_by) or '-'}"
                )
                branches[i] = branch_test(F, o, cat)
                lab = ["escape" if b < 0 else f"attractor {b}" for b in branches[i]]
                print(f"  [{name}]   its two unstable branches end at: {lab[0]} / {lab[1]}")
                if len(set(branches[i])) == 2:
                    for a in cat:
                        pts = np.atleast_2d(a.points)[:: max(1, len(a.points) // 200)]
                        d = float(np.min(man.distance(pts)))
                        direct[(i, a.id)] = d
                        print(
                            f"  [{name}]   exact distance of attractor {a.id} to this stable "
                            f"manifold: {d:.3f} (latent units)"
                        )
    ba = (
        basin_boundaries(F, cat, manifolds, seed=args.seed, max_attractor_points=200)
        if manifolds and len(cat)
        else None
    )
    if ba is not None:
        for b in ba.boundaries:
            print(
                f"  [{name}] saddle #{b.orbit}'s stable manifold separates "
                + (
                    ", ".join("escape" if s < 0 else f"attractor {s}" for s in b.separates)
                    if b.is_boundary
                    else "nothing (same basin on both sides at every probe)"
                )
                + f" ({b.n_probes} probes, {b.n_undecided} undecided)"
            )
        for k, d in ba.distances.items():
            print(
                f"  [{name}] distance of attractor {k} to its basin boundary: "
                + ("none computed" if d is None else f"{d:.3f} (latent units)")
            )
    return orbits, cat, manifolds, ba, box, branches, direct


def unstable_direction(orbit) -> np.ndarray:
    """Unit eigenvector of the largest multiplier (in modulus) of a saddle fixed point, whose
    monodromy matrix is its Jacobian; for one unstable direction, that direction."""
    ev, vec = np.linalg.eig(orbit.monodromy)
    u = np.real(vec[:, np.argmax(np.abs(ev))])
    return u / np.linalg.norm(u)


def branch_test(F, orbit, cat, eps=1e-3, n_steps=5000):
    """Attractor labels (``-1``: escape) reached from the saddle displaced by ``+-eps`` along its
    unstable eigenvector: two different labels mean its stable manifold separates those basins
    (at least near the saddle). Each side is iterated ``n_steps`` times and its last 50 states
    are given to the attractor whose points are nearest (capture radii are not used: the
    chaotic attractor passes close to the saddles)."""
    z, u = orbit.points[0], unstable_direction(orbit)
    out = []
    for sgn in (1.0, -1.0):
        with np.errstate(all="ignore"):
            tail = F.trajectory(z + sgn * eps * u, n_steps)[-50:]
        if not np.all(np.isfinite(tail)) or np.abs(tail).max() > 1e6:
            out.append(-1)
            continue
        d = [
            np.min(np.linalg.norm(tail[:, None] - np.atleast_2d(a.points)[None], axis=2))
            for a in cat
        ]
        out.append(int(cat.attractors[int(np.argmin(d))].id) if d else -2)
    return out


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--train", action="store_true", help="retrain first (minutes, needs torch)")
    ap.add_argument(
        "--mode",
        choices=sorted(MODES),
        default="step",
        help="step: the model of the step segment (default); sweep: the autonomous model of "
        "the whole sweep, with rest and firing; mmd: the same data, trained with forcing every "
        "3 steps, the free-run bound and free-run distribution matching",
    )
    ap.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs with --train (default: the bundled model's)",
    )
    ap.add_argument(
        "--max-pieces", type=int, default=10, help="piece budget per stable manifold (default 10)"
    )
    ap.add_argument(
        "--models",
        type=Path,
        default=None,
        help="directory with cortical_neuron_alrnn[_rest].json to analyse (default: bundled)",
    )
    ap.set_defaults(seed=None)
    args = ap.parse_args(argv)
    mode = MODES[args.mode]
    SETTINGS["mode"] = mode.get("data", args.mode)
    SETTINGS.update(mode.get("settings", {}))
    for key in ("seed", "epochs"):
        if getattr(args, key) is None:
            setattr(args, key, MODES[args.mode][key])
    headless()
    from matplotlib.figure import Figure

    from plrnn_manifolds.models import load_model
    from plrnn_manifolds.plots import ORBIT_STYLES
    from plrnn_manifolds.training.metrics import (
        power_spectrum_distance,
        state_space_divergence,
    )

    tick = Timer()
    p, dt, (k0, k1), amp = load()
    x = p.data
    vs = p.scaler

    def volts(z):
        return vs.inverse_transform(np.atleast_2d(z)[:, :1])[:, 0]

    n_test = int(round(SETTINGS["test_fraction"] * len(x)))
    t_split = len(x) - n_test
    held = x[t_split:k1]  # the held-out part of the step (firing)
    tick(
        f"data: sweep {SETTINGS['sweep'] + 1} ({amp:.0f} pA), {len(x)} samples x {x.shape[1]} "
        f"({p.rule}), dt = {dt * 1e3:.2f} ms; held out: the last {n_test} samples "
        f"({len(held)} of them in the step)"
    )
    if args.train:
        fire_path, rest_path = train_models(args, p, amp, args.out)
        tick(f"training, models written to {fire_path.parent}")
    else:
        d = DATA if args.models is None else args.models
        fire_path = d / MODES[args.mode]["model"]
        rest_path = d / "cortical_neuron_alrnn_rest.json" if args.mode == "step" else None
    F_on = load_model(fire_path)
    F_off = load_model(rest_path) if rest_path is not None and rest_path.is_file() else None

    # ---- free run of the firing map against the recording
    nan = float("nan")
    data_step = volts(x[k0 + 100 : k1])  # tonic firing, after the first 50 ms
    held_v = volts(held)
    n_free = 4000  # 2 s
    traj = free_run(F_on, x[k0 + 100], n_free, transient=1000)
    model_v = volts(traj)
    ok = np.all(np.isfinite(model_v))
    st_d = spike_stats(data_step, dt)
    st_m = spike_stats(model_v, dt) if ok else dict.fromkeys(st_d)
    st_m = {k: nan if v is None else v for k, v in st_m.items()}
    data_rate, model_rate = st_d["rate"], st_m["rate"]
    held_rate = spike_stats(held_v, dt)["rate"]
    seg = traj[: len(held), : x.shape[1]]
    d_h = power_spectrum_distance(held, seg) if ok else nan
    d_st = state_space_divergence(held, seg, n_bins=30) if ok else nan
    d_h_all = power_spectrum_distance(x[k0 + 100 : k1], traj[: k1 - k0 - 100, : x.shape[1]])
    print(
        f"spike rate: recording {data_rate:.1f} Hz over the step ({held_rate:.1f} Hz in the "
        f"held-out part), model free run {model_rate:.1f} Hz "
        f"({100 * (model_rate / data_rate - 1):+.1f} %)"
    )
    f_data, f_model = dominant_frequency(data_step, dt), dominant_frequency(model_v, dt)
    print(f"dominant frequency of V: recording {f_data:.1f} Hz, model free run {f_model:.1f} Hz")
    print(
        f"spike peak: recording {st_d['peak']:.1f} mV, model {st_m['peak']:.1f} mV (medians); "
        f"trough: recording {st_d['trough']:.1f} mV, model {st_m['trough']:.1f} mV"
    )
    print(
        f"spike half-width: recording {st_d['width']:.2f} ms, model {st_m['width']:.2f} ms "
        "(medians)"
    )
    # How far ahead can a spike be placed? The model's forced predictions against the
    # model-free analogue forecast of the held-out firing stretch from the training part.
    fit = x[k0 + 100 : min(k1, t_split)]
    for h in sorted({1, 2, 4, SETTINGS["tau"]}):
        with np.errstate(all="ignore"):
            ours = volts(forced_predictions(F_on, held, h))
        print(
            f"  {h} step(s) ({h * dt * 1e3:.1f} ms) ahead, {len(spikes(held_v[h:]))} held-out "
            f"spikes: model {_spike_summary(ours, dt)}; analogues "
            f"{_spike_summary(volts(analog_predictions(fit, held, h)), dt)}"
        )
    print(
        f"held-out firing stretch ({len(held)} samples): D_H = {d_h:.4f}, D_stsp = {d_st:.3f} "
        f"(free run vs data, 3 delay coordinates); D_H over the whole step {d_h_all:.4f}"
    )
    tick("free run")

    # ---- dynamical analysis of both maps
    starts = traj[::200]
    if SETTINGS["mode"] == "sweep":  # the map also models rest: start from the recording at rest
        v_rest = volts(x[: k0 - 10])
        print(f"recording at rest before the step: V = {np.median(v_rest):.1f} mV (median)")
        starts = np.vstack([starts, lift(F_on, x[: k0 - 10 : 100])])
    label = f"{amp:.0f} pA" if args.mode == "step" else args.mode
    on = analyse_map(F_on, label, volts, starts, args)
    tick("map analysed")
    off = None
    if F_off is not None:
        rest_traj = free_run(F_off, x[0], 2000)
        off = analyse_map(
            F_off, "0 pA", volts, np.vstack([rest_traj[::200], starts]), args, grow=True
        )
        v_rest = volts(x[: k0 - 10])
        print(f"recording at rest before the step: V = {np.median(v_rest):.1f} mV (median)")
        tick("resting map analysed")

    # ---- figure
    fig = Figure(figsize=(13, 8), layout="constrained")
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1.2])
    ax = fig.add_subplot(gs[0, :2])
    n_show = min(len(held_v), 400)
    t = np.arange(n_show) * dt * 1e3
    ax.plot(t, held_v[:n_show], color="#222222", lw=0.8, label="recording (held out)")
    ax.plot(t, model_v[:n_show], color="#d62728", lw=0.8, label="model, free run")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("V (mV)")
    ax.set_title(
        f"{amp:.0f} pA: recording {data_rate:.1f} Hz, model {model_rate:.1f} Hz; "
        f"D_H = {d_h:.3f} vs held-out data"
    )
    ax.legend(loc="upper right", fontsize=8)
    ax = fig.add_subplot(gs[0, 2])
    for v, c, lab in ((data_step, "#222222", "recording"), (model_v, "#d62728", "model")):
        sh = spike_shape(v, dt)
        if sh is not None:
            ax.plot(sh[0] * 1e3, sh[1], color=c, lw=1.2, label=lab)
    ax.set_xlabel("time from threshold crossing (ms)")
    ax.set_ylabel("mean spike (mV)")
    ax.set_title("spike shape (mean over spikes)")
    ax.legend(fontsize=8)
    j = 1

    def coord(z, k):
        return vs.inverse_transform(np.atleast_2d(z)[:, [k]])[:, 0]

    panels = [(f"{amp:.0f} pA (firing map)", on, model_v)]
    if off is not None:
        panels.append(("0 pA (resting map)", off, None))
    for col, (title, (orbits, cat, _mans, ba, _box, _br, _d), _) in enumerate(panels):
        ax = fig.add_subplot(gs[1, col])
        ax.plot(coord(x, 0), coord(x, j), color="#bbbbbb", lw=0.3, label="data (delay coords)")
        for a in cat:
            pts = np.atleast_2d(a.points)
            d = None if ba is None else ba.distances.get(a.id)
            ax.plot(
                coord(pts, 0),
                coord(pts, j),
                ".-" if len(pts) > 1 else "*",
                ms=3 if len(pts) > 1 else 12,
                lw=0.5,
                label=f"attractor {a.id}: {a.kind}"
                + ("" if d is None else f", distance to boundary {d:.2f}"),
            )
        for o in orbits.orbits:
            st = ORBIT_STYLES.get(o.classification, ORBIT_STYLES["unstable"])
            ax.plot(
                coord(o.points, 0),
                coord(o.points, j),
                st["marker"],
                color=st["color"],
                mec="k",
                ms=8,
                ls="",
                label=f"fixed point: {o.classification} ({o.n_unstable} unstable)",
            )
        if ba is not None:
            for nr in ba.nearest.values():
                a_pt, b_pt = (
                    np.atleast_2d(nr["attractor_point"]),
                    np.atleast_2d(nr["boundary_point"]),
                )
                seg_pts = np.vstack([a_pt, b_pt])
                ax.plot(coord(seg_pts, 0), coord(seg_pts, j), "k--", lw=0.8)
                ax.plot(coord(b_pt, 0), coord(b_pt, j), "kx", ms=7)
        ax.set_xlabel("V(t) (mV)")
        ax.set_ylabel(f"V(t - {SETTINGS['delay'] * dt * 1e3:.0f} ms) (mV)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=6.5, loc="upper left")
    if off is None:  # step mode: show the bistability in time (one start fires, one stays silent)
        ax = fig.add_subplot(gs[1, 1])
        silent = None
        for k in range(100, len(x) - 100, 250):
            v = volts(free_run(F_on, x[k], 1000))
            if np.all(np.isfinite(v)) and np.ptp(v[-300:]) < 0.5:  # settles at a fixed point
                silent = (k, v)
                break
        tt = np.arange(1000) * dt * 1e3
        ax.plot(
            tt,
            volts(free_run(F_on, x[k0 + 100], 1000)),
            color="#d62728",
            lw=0.7,
            label=f"start: data sample {k0 + 100} (fires)",
        )
        if silent is not None:
            ax.plot(
                tt,
                silent[1],
                color="#1f77b4",
                lw=0.9,
                label=f"start: data sample {silent[0]} (falls silent at {silent[1][-1]:.1f} mV)",
            )
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("V (mV)")
        ax.set_title(
            "free runs of the map from data points"
            + ("" if silent else " (none of 15 starts falls silent)"),
            fontsize=10,
        )
        ax.legend(fontsize=7, loc="lower right")
    ax = fig.add_subplot(gs[1, 2])
    ax.axis("off")
    lines = [
        f"ALRNN M = {F_on.M}, P = {F_on.H}",
        f"spike rate: data {data_rate:.1f} Hz, model {model_rate:.1f} Hz",
        f"D_H (held out) = {d_h:.3f}",
    ]
    for title, (orbits, cat, _mans, ba, _box, _br, direct), _ in panels:
        lines.append("")
        lines.append(title + ":")
        for a in cat:
            va = volts(np.atleast_2d(a.points))
            d = None if ba is None else ba.distances.get(a.id)
            lines.append(
                f"  attractor {a.id}: {a.kind}, V {va.min():.0f}..{va.max():.0f} mV"
                + ("" if d is None else f", dist. to boundary {d:.2f}")
            )
        lines.append(
            f"  saddles with 1 unstable dir.: "
            f"{sum(o.classification == 'saddle' and o.n_unstable == 1 for o in orbits.orbits)}"
        )
        for i, br in _br.items():
            lab = ["escape" if b < 0 else f"attr. {b}" for b in br]
            lines.append(f"  saddle #{i}: unstable branches -> {lab[0]} / {lab[1]}")
        for (i, aid), d in direct.items():
            lines.append(f"  dist(attractor {aid}, W^s(saddle #{i})) = {d:.2f}")
    ax.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=8)
    suffix = "" if args.mode == "step" else f"_{args.mode}"
    save(fig, args.out, f"fig4d_cortical_neuron{suffix}.png")
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
