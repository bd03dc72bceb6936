"""Fig 3B: the two border-collision maps, their saddle cycles and the basin boundary.

Both maps are the 2-D border-collision normal form with tau_r = -1.85, delta_l = delta_r = 0.9,
c = 1, d = 0, h1 = -1, h2 = 0; the left panel has tau_l = -0.3, the right one tau_l = 0.9
(bundled as ``fig3b_left.json`` and ``fig3b_right.json``). Each has a stable spiral fixed point
whose basin is bounded by the stable manifold of a saddle cycle; everything outside escapes.
For each map the script

1. finds every orbit up to period ``--max-period`` (8; exhaustive search with a completeness
   certificate),
2. grows the stable manifold of every saddle cycle exactly inside the panel's box
   (``[-3, 3]^2`` left, ``[-35, 35]^2`` right; saddles whose manifold does not end inside the
   growth box are cut at ``--max-pieces`` pieces),
3. labels a ``--grid`` x ``--grid`` grid by brute force (bounded or escaping), and
4. prints the fraction of the grid's boundary cells that lie within 2 grid cells of the exact
   stable manifolds (``boundary fraction``), per saddle and for their union,

then draws both panels into ``fig3b_border_collision.png``.

Run: ``python examples/fig3b_border_collision.py [--out DIR]`` (about 20 s).
"""

from __future__ import annotations

import sys

import numpy as np
from _common import DATA, Timer, boundary_cells, fraction_near, headless, parser, save, segments

PANELS = [
    ("left", "tau_l = -0.3", 3.0),
    ("right", "tau_l = 0.9", 35.0),
]


def analyse(name, half, args, tick):
    from plrnn_manifolds.basins import find_attractors, grid_basins
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.models import load_model
    from plrnn_manifolds.orbits import find_orbits

    F = load_model(DATA / f"fig3b_{name}.json")
    box = (np.array([-half, -half]), np.array([half, half]))
    orbits = find_orbits(F, max_period=args.max_period, seed=args.seed)
    tick(
        f"[{name}] orbits up to period {args.max_period} ({orbits.method}, "
        f"complete={orbits.complete}):"
    )
    for o in orbits.orbits:
        ev = ", ".join(f"{abs(e):.3f}" for e in o.eigenvalues)
        print(f"    period {o.period}: {o.classification} (|eigenvalues| {ev})")
    mans = []
    for o in orbits.saddles():
        m = grow_manifold(
            F,
            o,
            "stable",
            box=box,
            depth=60,
            max_pieces=args.max_pieces,
            seed=args.seed,
            orbit_id=orbits.orbits.index(o),
        )
        mans.append(m)
        tick(
            f"[{name}] W^s of the period-{o.period} saddle: {len(m.pieces)} pieces, "
            f"stopped by {m.stopped_by}, max residual {m.max_residual:.1e}"
        )
    cat = find_attractors(F, orbits, box=box, seed=args.seed)
    gb = grid_basins(F, cat, bounds=((-half, half), (-half, half)), n=args.grid, n_steps=400)
    undecided = float(np.mean(gb.labels == -2))
    tick(
        f"[{name}] brute-force grid {args.grid} x {args.grid}: bounded "
        f"{np.mean(gb.labels >= 0):.4f}, escape {np.mean(gb.labels == -1):.4f}, "
        f"undecided {undecided:.4f}"
    )
    mask = boundary_cells(gb.labels == -1)
    per = [fraction_near([m], gb.xs, gb.ys, mask) for m in mans]
    union = fraction_near(mans, gb.xs, gb.ys, mask)
    for m, f in zip(mans, per, strict=True):
        print(f"    boundary cells within 2 cells of W^s(period-{m.orbit.period} saddle): {f:.4f}")
    print(f"[{name}] boundary fraction: {union:.4f} ({int(mask.sum())} boundary cells)")
    return F, orbits, mans, gb


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--grid", type=int, default=300, help="grid points per axis (default 300)")
    ap.add_argument("--max-period", type=int, default=8)
    ap.add_argument(
        "--max-pieces", type=int, default=400, help="piece budget per manifold (default 400)"
    )
    args = ap.parse_args(argv)
    headless()
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from plrnn_manifolds.plots import MANIFOLD_COLOURS, phase_portrait

    tick = Timer()
    fig = Figure(figsize=(12.5, 5.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (name, label, half) in zip(axes, PANELS, strict=True):
        F, orbits, mans, gb = analyse(name, half, args, tick)
        # Manifolds that ended inside the growth box are the basin boundary; those cut by the
        # piece budget (saddles inside the basin, whose stable manifolds wind through it) are
        # drawn thin and dashed so they do not read as boundaries.
        full = [m for m in mans if "budget" not in m.stopped_by]
        cut = [m for m in mans if "budget" in m.stopped_by]
        phase_portrait(
            F,
            ax=ax,
            orbits=orbits,
            manifolds=full,
            basins=gb,
            trajectories=0,
            xlim=(-half, half),
            ylim=(-half, half),
            title=f"Fig 3B {name}: {label}",
        )
        for m in cut:
            lc = LineCollection(
                segments(m),
                colors=MANIFOLD_COLOURS["stable"],
                linewidths=0.5,
                linestyles="--",
                alpha=0.6,
                gid="manifold-stable-cut",
                label=f"W^s of the period-{m.orbit.period} saddle (cut at {len(m.pieces)} pieces)",
            )
            ax.add_collection(lc)
        if cut:
            ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
    save(fig, args.out, "fig3b_border_collision.png")
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
