"""Fig 3A: the Lozi map (a = 1.7, b = 0.5), its saddles, their manifolds and the escape basin.

The Lozi map x' = 1 - a|x| + y, y' = b x has two saddle fixed points. The chaotic Lozi attractor
is the closure of the unstable manifold of the saddle on the right (x > 0); the boundary of its
basin (everything else escapes to infinity) is the stable manifold of the saddle on the left
(x < 0). The script

1. finds the fixed points and cycles up to ``--max-period`` (exhaustively: 2 regions),
2. grows the stable and unstable manifolds of both saddle fixed points exactly,
3. catalogues the attractor by simulation and labels a ``--grid`` x ``--grid`` grid by brute
   force (escape or not),
4. prints the fraction of grid boundary cells within 2 cells of the left saddle's stable
   manifold (the exact basin boundary) and the fraction of attractor samples within 1e-3 of the
   right saddle's unstable manifold, and
5. draws everything into ``fig3a_lozi.png``.

Run: ``python examples/fig3a_lozi.py [--out DIR]`` (about 15 s).
"""

from __future__ import annotations

import sys

import numpy as np
from _common import Timer, boundary_cells, fraction_near, headless, parser, save

BOX = (np.array([-2.0, -2.0]), np.array([2.0, 2.0]))


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--grid", type=int, default=300, help="grid points per axis (default 300)")
    ap.add_argument("--max-period", type=int, default=4, help="orbit search up to this period")
    args = ap.parse_args(argv)
    headless()
    from matplotlib.lines import Line2D

    from plrnn_manifolds.basins import find_attractors, grid_basins
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.models import lozi
    from plrnn_manifolds.orbits import find_orbits
    from plrnn_manifolds.plots import phase_portrait

    tick = Timer()
    F = lozi(a=1.7, b=0.5)
    orbits = find_orbits(F, max_period=args.max_period, seed=args.seed)
    tick(f"orbits up to period {args.max_period} ({orbits.method}, complete={orbits.complete}):")
    for o in orbits.orbits:
        print(f"    period {o.period}: {o.classification}, first point {np.round(o.points[0], 4)}")
    fixed = sorted(
        (o for o in orbits.fixed_points() if o.classification == "saddle"),
        key=lambda o: o.points[0, 0],
    )
    if len(fixed) != 2:
        print(f"expected two saddle fixed points, found {len(fixed)}", file=sys.stderr)
        return 1
    left, right = fixed

    # Depths: the left saddle's stable manifold ends inside the growth box (it is complete);
    # the others fill the attractor / the basin more densely with every step, so they are cut.
    plan = [
        (left, "stable", 60),
        (left, "unstable", 6),
        (right, "unstable", 12),
        (right, "stable", 3),
    ]
    mans = {}
    for orbit, kind, depth in plan:
        m = grow_manifold(
            F,
            orbit,
            kind,
            box=BOX,
            depth=depth,
            max_pieces=5000,
            seed=args.seed,
            orbit_id=orbits.orbits.index(orbit),
        )
        side = "left" if orbit is left else "right"
        mans[side, kind] = m
        tick(
            f"W^{kind[0]} of the {side} saddle {np.round(orbit.points[0], 4)}: "
            f"{len(m.pieces)} pieces, stopped by {m.stopped_by}, "
            f"max residual {m.max_residual:.1e}"
        )

    cat = find_attractors(F, orbits, box=BOX, seed=args.seed)
    for a in cat:
        print(f"    attractor {a.id}: {a.kind}, Lyapunov exponents {np.round(a.lyapunov, 4)}")
    gb = grid_basins(F, cat, bounds=tuple(zip(*BOX, strict=True)), n=args.grid, n_steps=400)
    tick(f"brute-force grid {args.grid} x {args.grid}: fractions {gb.fractions()}")

    escape = gb.labels == -1
    mask = boundary_cells(escape)
    frac = fraction_near([mans["left", "stable"]], gb.xs, gb.ys, mask)
    print(
        f"escape-boundary cells within 2 cells of W^s(left saddle): {frac:.4f} "
        f"({int(mask.sum())} boundary cells)"
    )
    traj = F.trajectory(np.array([0.1, 0.1]), 3000, transient=1000)
    cover = float(np.mean(mans["right", "unstable"].distance(traj) <= 1e-3))
    print(f"attractor samples within 1e-3 of W^u(right saddle): {cover:.4f}")

    fig = phase_portrait(
        F,
        orbits=orbits,
        manifolds=list(mans.values()),
        basins=gb,
        trajectories=0,
        xlim=(-2, 2),
        ylim=(-2, 2),
        legend=False,
        title="Fig 3A: Lozi map, a = 1.7, b = 0.5",
    )
    ax = fig.axes[0]
    ax.plot(traj[:, 0], traj[:, 1], ".", ms=0.8, color="k", gid="attractor", zorder=5)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="", marker=".", color="k"))
    labels.append("Lozi attractor (3000 iterates)")
    ax.legend(handles, labels, loc="lower left", fontsize=7, framealpha=0.9)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    save(fig, args.out, "fig3a_lozi.png")
    tick("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
