"""Fig 5: chaos in a 2-D piecewise-linear map: homoclinic tangle, bifurcation diagram, spectrum.

The map is the border-collision normal form bundled as ``fig5.json`` (tau_l = -1.77,
delta_l = 0.9, tau_r = 1.5, delta_r = 0.75, c = 0.6, d = 0.15, h1 = -0.7, h2 = -0.4). It has a
saddle fixed point and a chaotic attractor. The script

1. finds the orbits up to ``--max-period`` and grows the stable and unstable manifolds of the
   saddle fixed point exactly (a homoclinic tangle);
2. if :mod:`plrnn_manifolds.intersections` is available, intersects them and marks the
   homoclinic points (otherwise it says so and skips that layer);
3. sweeps h1 over ``--h1-range`` (``--n-params`` values): attractor points from seeded
   trajectories, the largest Lyapunov exponent (:func:`plrnn_manifolds.chaos.largest_lyapunov`)
   and the fixed-point branches of the two regions;
4. computes the full Lyapunov spectrum at h1 = -0.7 with its confidence band,

and draws the three panels into ``fig5_chaos.png``. The printed line ``largest Lyapunov
exponent at h1 = -0.7: ...`` is the quantitative result.

Run: ``python examples/fig5_chaos.py [--out DIR]`` (about 20 s).
"""

from __future__ import annotations

import sys

import numpy as np
from _common import DATA, Timer, headless, parser, save

BOX = (np.array([-3.0, -3.0]), np.array([3.0, 3.0]))


def sweep(F, values, seed, n_traj=6, transient=400, keep=150, lyap_steps=1000):
    """Attractor points, largest Lyapunov exponent and fixed-point branches along h1."""
    from plrnn_manifolds.chaos import largest_lyapunov
    from plrnn_manifolds.errors import PLRNNManifoldsError
    from plrnn_manifolds.orbits import find_orbits

    rng = np.random.default_rng(seed)
    h2 = F.h1[1]
    points, lyap = [], []
    branches = {}  # region pattern -> (points, classifications) per parameter value
    for k, h in enumerate(values):
        G = F.with_h1([h, h2])
        z = rng.uniform(-1.0, 1.0, size=(n_traj, 2))
        tail = []
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(transient + keep):
                z = G(z)
                if t >= transient:
                    tail.append(z.copy())
        tail = np.stack(tail, axis=1)  # (n_traj, keep, 2)
        ok = np.all(np.isfinite(tail) & (np.abs(tail) < 1e3), axis=(1, 2))
        points.append(tail[ok].reshape(-1, 2))
        lam = np.nan
        if ok.any():
            try:
                lam = largest_lyapunov(G, tail[ok][0, -1], n_steps=lyap_steps, transient=50)
            except PLRNNManifoldsError:
                lam = np.nan  # the trajectory diverged after all
        lyap.append(lam)
        for o in find_orbits(G, max_period=1, seed=seed).orbits:
            key = "R" if o.patterns[0, 0] else "L"
            pts, cls = branches.setdefault(
                key, (np.full((len(values), 2), np.nan), [""] * len(values))
            )
            pts[k] = o.points[0]
            cls[k] = o.classification
    orbits = [
        {"param": values, "points": pts, "classification": cls} for pts, cls in branches.values()
    ]
    return points, np.array(lyap), orbits


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--max-period", type=int, default=4)
    ap.add_argument("--h1-range", type=float, nargs=2, default=(-1.0, 0.5), metavar=("LO", "HI"))
    ap.add_argument("--n-params", type=int, default=76, help="h1 values of the sweep")
    ap.add_argument("--depth-stable", type=int, default=4)
    ap.add_argument("--depth-unstable", type=int, default=8)
    args = ap.parse_args(argv)
    headless()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from plrnn_manifolds.chaos import lyapunov_spectrum
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.models import load_model
    from plrnn_manifolds.orbits import find_orbits
    from plrnn_manifolds.plots import (
        INTERSECTION_COLOUR,
        bifurcation_diagram,
        lyapunov_spectrum_plot,
        phase_portrait,
    )

    tick = Timer()
    F = load_model(DATA / "fig5.json")
    orbits = find_orbits(F, max_period=args.max_period, seed=args.seed)
    tick(f"orbits up to period {args.max_period} ({orbits.method}, complete={orbits.complete}):")
    for k in range(1, args.max_period + 1):
        cyc = [o for o in orbits.orbits if o.period == k]
        if cyc:
            kinds = sorted({o.classification for o in cyc})
            print(f"    period {k}: {len(cyc)} orbit(s), {', '.join(kinds)}")
    saddle = [o for o in orbits.fixed_points() if o.classification == "saddle"]
    if not saddle:
        print("no saddle fixed point found", file=sys.stderr)
        return 1
    saddle = saddle[0]
    sid = orbits.orbits.index(saddle)
    print(
        f"    saddle fixed point {np.round(saddle.points[0], 4)}, eigenvalues "
        f"{np.round(saddle.eigenvalues.real, 4)}"
    )
    mans = []
    for kind, depth in (("stable", args.depth_stable), ("unstable", args.depth_unstable)):
        m = grow_manifold(
            F, saddle, kind, box=BOX, depth=depth, max_pieces=5000, seed=args.seed, orbit_id=sid
        )
        mans.append(m)
        tick(
            f"W^{kind[0]} of the saddle: {len(m.pieces)} pieces, stopped by {m.stopped_by}, "
            f"max residual {m.max_residual:.1e}"
        )

    homoclinic = None
    try:
        from plrnn_manifolds.intersections import find_intersections
    except ImportError:
        print("note: plrnn_manifolds.intersections is not available; homoclinic points skipped")
    else:
        search = find_intersections(F, mans, pairs="homoclinic", max_points=2000)
        homoclinic = search.homoclinic()
        n_ver = sum(p.verified for p in homoclinic)
        n_tr = sum(p.transversal and p.verified for p in homoclinic)
        tick(
            f"homoclinic points: {len(homoclinic)} reported ({search.n_found} found), "
            f"{n_ver} verified, {n_tr} verified and transversal"
        )

    traj = F.trajectory(np.array([0.1, 0.1]), 4000, transient=1000)
    spec = lyapunov_spectrum(F, traj[-1], n_steps=20000, transient=1000, seed=args.seed)
    tick(
        f"Lyapunov spectrum at h1 = -0.7: {np.round(spec.exponents, 4)} "
        f"(95 % half-widths {np.round(spec.half_width, 4)}), "
        f"Kaplan-Yorke dimension {spec.kaplan_yorke_dimension():.3f}"
    )
    print(f"largest Lyapunov exponent at h1 = -0.7: {spec.largest:.4f}")

    values = np.linspace(args.h1_range[0], args.h1_range[1], args.n_params)
    points, lyap, branches = sweep(F, values, args.seed)
    pos = values[np.isfinite(lyap) & (lyap > 0)]
    tick(
        f"sweep over {len(values)} values of h1 in [{values[0]}, {values[-1]}]: "
        f"largest exponent > 0 for {len(pos)} of them"
        + (f" (h1 from {pos.min():.3f} to {pos.max():.3f})" if len(pos) else "")
    )

    fig = Figure(figsize=(15, 5.6), layout="constrained")
    gs = fig.add_gridspec(2, 3, height_ratios=[3, 1], width_ratios=[1.15, 1.0, 0.8])
    ax_pp = fig.add_subplot(gs[:, 0])
    ax_top = fig.add_subplot(gs[0, 1])
    ax_bot = fig.add_subplot(gs[1, 1], sharex=ax_top)
    ax_ly = fig.add_subplot(gs[:, 2])
    phase_portrait(
        F,
        ax=ax_pp,
        orbits=[o for o in orbits.orbits if o.period <= 2],
        manifolds=mans,
        trajectories=0,
        xlim=(-2.2, 3.0),
        ylim=(-3.0, 1.6),
        legend=False,
        title="Fig 5: W^s and W^u of the saddle fixed point",
    )
    ax_pp.plot(traj[:, 0], traj[:, 1], ".", ms=1.0, color="0.55", gid="attractor", zorder=0.5)
    handles, labels = ax_pp.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="", marker=".", color="0.55"))
    labels.append("chaotic attractor")
    if homoclinic:
        H = np.array([p.point for p in homoclinic])
        ax_pp.plot(
            H[:, 0],
            H[:, 1],
            "*",
            ms=5,
            color=INTERSECTION_COLOUR,
            mec="k",
            mew=0.4,
            gid="intersection",
            zorder=6,
            label=f"homoclinic points ({len(H)})",
        )
        handles.append(ax_pp.lines[-1])
        labels.append(f"homoclinic points ({len(H)})")
    ax_pp.legend(handles, labels, loc="lower left", fontsize=7, framealpha=0.9)
    ax_pp.set_xlabel("$x$")
    ax_pp.set_ylabel("$y$")
    bifurcation_diagram(
        values,
        points,
        lyap,
        orbits=branches,
        param_name="$h_1$",
        ax=(ax_top, ax_bot),
        title="bifurcation diagram along $h_1$ ($h_2 = -0.4$)",
    )
    ax_top.axvline(-0.7, color="0.6", lw=0.8, ls="--")
    ax_bot.axvline(-0.7, color="0.6", lw=0.8, ls="--")
    lyapunov_spectrum_plot(spec, ax=ax_ly, title="Lyapunov spectrum at $h_1 = -0.7$")
    save(fig, args.out, "fig5_chaos.png")
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
