"""Benchmarks of exact invariant manifolds (issue 3).

(a) Fig 3B-left: exact basin boundary (stable manifolds of the saddles) against a brute-force
    grid basin computation of equal resolution, in the same process; ratio of times.
(b) The 24-dimensional stable manifold of the saddle of ``bistable_alrnn(25, 6)`` in a box
    around its attractors: time and piece count.
(c) Growth with M for M = 5, 10, 25, 50 (time, pieces, depth reached, stopped_by).
(d) Exact against sampled (the paper's method) on the same inputs: residual, Delta_sigma,
    coverage of the true manifold in the box, time.

Run ``python benchmarks/bench_manifolds.py`` (add ``--quick`` for a fast smoke run and
``--markdown FILE`` to write table (d) as Markdown).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from plrnn_manifolds.basins import find_attractors, grid_basins
from plrnn_manifolds.manifolds import grow_manifold, growth
from plrnn_manifolds.manifolds.sampled import sampled_manifold
from plrnn_manifolds.manifolds.verify import delta_sigma
from plrnn_manifolds.models import bistable_alrnn, example_path, load_model
from plrnn_manifolds.orbits import find_orbits


def _load() -> str:
    try:
        la = os.getloadavg()
        return f"load average {la[0]:.2f}, {os.cpu_count()} cores"
    except OSError:  # pragma: no cover - not on every platform
        return f"{os.cpu_count()} cores"


def attractor_box(orbits, margin):
    pts = np.array([o.points[0] for o in orbits.orbits])
    return pts.min(axis=0) - margin, pts.max(axis=0) + margin


# ------------------------------------------------------------------------------ distances
def _lower_bounds(pieces, x):
    """Lower bounds on the distance from ``x`` to each piece (hull distance and the worst
    violated facet of the projection), vectorised per piece."""
    out = np.empty(len(pieces))
    for i, p in enumerate(pieces):
        rel = x - p.origin
        s = p.basis.T @ rel
        perp = np.linalg.norm(rel - p.basis @ s)
        viol = max(0.0, float(np.max(p.polytope.G @ s - p.polytope.g))) if len(p.g) else 0.0
        out[i] = np.hypot(perp, viol)
    return out


def fraction_within(man, R, delta):
    """Exact fraction of the points ``R`` within ``delta`` of the manifold (exact distances
    only for pieces whose lower bound does not already decide)."""
    if not man.pieces:
        return 0.0
    hit = 0
    for x in R:
        lb = _lower_bounds(man.pieces, x)
        for j in np.argsort(lb):
            if lb[j] > delta:
                break
            if man.pieces[j].distance(x[None])[0] <= delta:
                hit += 1
                break
    return hit / len(R)


def invariance_residual(F, man, n, seed=0):
    """max dist(F(x), W) / scale over sampled x whose image stays in the box (exact distance)."""
    X = man.sample(n, seed=seed)
    Y = F(X)
    lo, hi = man.box
    Y = Y[np.all((Y >= lo) & (Y <= hi), axis=1)]
    if not len(Y):
        return float("nan")
    worst = 0.0
    for y in Y:
        lb = _lower_bounds(man.pieces, y)
        best = np.inf
        for j in np.argsort(lb):
            if lb[j] >= best:
                break
            best = min(best, float(man.pieces[j].distance(y[None])[0]))
        worst = max(worst, best)
    return worst / F.scale


# ------------------------------------------------------------------------------ references
def escape_boundary_points(F, lo, hi, n):
    """Centres of the boundary cells of an ``n x n`` bounded/escaping grid (brute force)."""
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    Z = np.stack([X.ravel(), Y.ravel()], axis=1)
    alive = np.ones(len(Z), bool)
    idx = np.arange(len(Z))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(400):
            Z = F(Z)
            ok = np.all(np.abs(Z) < 1e4, axis=1)
            alive[idx[~ok]] = False
            Z, idx = Z[ok], idx[ok]
    L = alive.reshape(n, n)
    b = np.zeros_like(L)
    d0, d1 = L[:, 1:] != L[:, :-1], L[1:, :] != L[:-1, :]
    b[:, 1:] |= d0
    b[:, :-1] |= d0
    b[1:, :] |= d1
    b[:-1, :] |= d1
    iy, ix = np.nonzero(b)
    return np.stack([xs[ix], ys[iy]], axis=1), max(xs[1] - xs[0], ys[1] - ys[0])


def bistable_boundary_points(F, orbits, lo, hi, n, seed=0):
    """Points of the basin boundary of a bistable ALRNN by bisection along the unstable
    direction of the saddle (independent of the manifold code)."""
    rng = np.random.default_rng(seed)
    saddle = orbits.saddles()[0]
    w, V = np.linalg.eig(saddle.monodromy)
    u = np.real(V[:, np.argmax(np.abs(w))])
    u /= np.linalg.norm(u)
    att = np.array([o.points[0] for o in orbits.stable()])

    def label(X):
        Z = X.copy()
        for _ in range(300):
            Z = F(Z)
        return np.argmin(np.linalg.norm(Z[:, None] - att[None], axis=2), axis=1)

    X = lo + (hi - lo) * rng.random((n, F.M))
    span = 2 * np.linalg.norm(hi - lo)
    ta, tb = np.full(n, -span), np.full(n, span)
    la, lb = label(X + ta[:, None] * u), label(X + tb[:, None] * u)
    ok = la != lb
    for _ in range(60):
        tm = 0.5 * (ta + tb)
        lm = label(X + tm[:, None] * u)
        same = lm == la
        ta, tb = np.where(same, tm, ta), np.where(same, tb, tm)
    R = X + 0.5 * (ta + tb)[:, None] * u
    ok &= np.all((R >= lo) & (R <= hi), axis=1)
    return R[ok]


# ------------------------------------------------------------------------------ (a)
def bench_fig3b(n_grid: int):
    F = load_model(example_path("fig3b_left"))
    lo, hi = np.array([-3.0, -3.0]), np.array([3.0, 3.0])
    t0 = time.perf_counter()
    orbits = find_orbits(F, max_period=8)
    t_orbits = time.perf_counter() - t0

    def grow():
        return [
            grow_manifold(F, o, "stable", box=(lo, hi), depth=60, max_pieces=20000)
            for o in orbits.saddles()
        ]

    t0 = time.perf_counter()
    mans = grow()
    t_grow = time.perf_counter() - t0
    # the same growth through the general polytope machinery (the 1-D fast path switched off)
    growth._FAST_1D = False
    try:
        t0 = time.perf_counter()
        mans_gen = grow()
        t_gen = time.perf_counter() - t0
    finally:
        growth._FAST_1D = True
    same = [len(m.pieces) for m in mans] == [len(m.pieces) for m in mans_gen]
    # brute force: attractor search, then every cell of the grid labelled by iteration
    t0 = time.perf_counter()
    cat = find_attractors(F, box=(lo, hi), seed=0)
    t_att = time.perf_counter() - t0
    t0 = time.perf_counter()
    gb = grid_basins(F, cat, bounds=((lo[0], hi[0]), (lo[1], hi[1])), n=n_grid)
    t_grid = time.perf_counter() - t0
    R, dx = escape_boundary_points(F, lo, hi, n_grid)
    near = np.mean(
        [any(m.distance(r) <= 2 * dx for m in mans) for r in R[:: max(1, len(R) // 2000)]]
    )
    print("(a) Fig 3B-left, box [-3,3]^2: exact basin boundary vs brute-force grid")
    print(
        f"    saddles: {[o.period for o in orbits.saddles()]}  pieces: "
        f"{[len(m.pieces) for m in mans]}  max residual: "
        f"{max(m.max_residual for m in mans):.1e}"
    )
    print(
        f"    grid_basins {n_grid}x{n_grid}: {t_grid:.2f} s (+ attractor search {t_att:.2f} s)\n"
        f"    exact stable manifolds: {t_grow:.4f} s  -> ratio {t_grid / t_grow:.0f}x\n"
        f"    exact incl. orbit search (periods <= 8, {t_orbits:.3f} s) vs grid incl. attractor "
        f"search: ratio {(t_grid + t_att) / (t_grow + t_orbits):.0f}x\n"
        f"    general polytope path (1-D fast path off): {t_gen:.4f} s  -> ratio "
        f"{t_grid / t_gen:.0f}x  (same pieces: {same})"
    )
    print(
        f"    boundary cells of the {n_grid}x{n_grid} escape grid within 2 cells of the exact "
        f"boundary: {100 * near:.1f}%   ({int(gb.boundary_cells().sum())} boundary cells in "
        "grid_basins)"
    )


# ------------------------------------------------------------------------------ (b), (c)
def grow_bistable(M, P, margin, budget):
    F = bistable_alrnn(M, P)
    orbits = find_orbits(F, max_period=1)
    saddle = orbits.saddles()[0]
    box = attractor_box(orbits, margin)
    t0 = time.perf_counter()
    man = grow_manifold(F, saddle, "stable", box=box, max_pieces=budget, growth_margin=0.0)
    dt = time.perf_counter() - t0
    depth = max((p.depth for p in man.pieces), default=0)
    return F, orbits, man, dt, depth


def bench_m25(margin, budget):
    F, orbits, man, dt, depth = grow_bistable(25, 6, margin, budget)
    print(
        f"(b) bistable_alrnn(25, 6), 24-dimensional W^s, box = attractors and saddle "
        f"+- {margin}, growth box = box"
    )
    print(
        f"    {dt:.1f} s, {len(man.pieces)} pieces, depth reached {depth}, stopped_by "
        f"{man.stopped_by}, complete {man.complete}, max residual {man.max_residual:.1e}"
    )


def bench_growth(Ms, margin, budget):
    print(
        f"(c) growth with M: bistable_alrnn(M, P), W^s of dimension M-1, box = attractors +- "
        f"{margin}, budget {budget} pieces"
    )
    print(f"    {'M':>3} {'P':>2} {'time s':>8} {'pieces':>7} {'depth':>5}  stopped_by")
    for M in Ms:
        P = {5: 3, 10: 4}.get(M, 6)
        _, _, man, dt, depth = grow_bistable(M, P, margin, budget)
        print(f"    {M:>3} {P:>2} {dt:>8.1f} {len(man.pieces):>7} {depth:>5}  {man.stopped_by}")


# ------------------------------------------------------------------------------ (d)
def compare(label, F, orbits, saddle, box, R, delta, depth, n_support, max_pieces):
    rows = []
    t0 = time.perf_counter()
    ex = grow_manifold(F, saddle, "stable", box=box, depth=depth, max_pieces=max_pieces)
    t_ex = time.perf_counter() - t0
    t0 = time.perf_counter()
    sa = sampled_manifold(F, saddle, "stable", box=box, depth=depth, n_support=n_support)
    t_sa = time.perf_counter() - t0
    for name, man, dt in (("exact", ex, t_ex), ("sampled", sa, t_sa)):
        res = invariance_residual(F, man, 100)
        _, Dsig = delta_sigma(F, man, n=200)
        cov = fraction_within(man, R, delta)
        rows.append((label, name, len(man.pieces), res, Dsig, cov, dt))
    return rows


def bench_compare(quick):
    rows = []
    # Fig 3B-left: the basin boundary is the stable manifold of the period-3 saddle
    F = load_model(example_path("fig3b_left"))
    lo, hi = np.array([-3.0, -3.0]), np.array([3.0, 3.0])
    orbits = find_orbits(F, max_period=8)
    saddle = max(orbits.saddles(), key=lambda o: o.period)
    R, dx = escape_boundary_points(F, lo, hi, 200 if quick else 400)
    R = R[:: max(1, len(R) // 400)]
    rows += compare("Fig 3B-left (W^s 1-D)", F, orbits, saddle, (lo, hi), R, 2 * dx, 60, 400, 20000)
    # bistable ALRNNs: the basin boundary is the saddle's codimension-1 stable manifold
    for M, P in ((5, 3),) if quick else ((5, 3), (10, 4)):
        F = bistable_alrnn(M, P)
        orbits = find_orbits(F, max_period=1)
        saddle = orbits.saddles()[0]
        lo, hi = attractor_box(orbits, 0.5)
        R = bistable_boundary_points(F, orbits, lo, hi, 100 if quick else 300)
        rows += compare(
            f"bistable_alrnn({M},{P}) (W^s {M - 1}-D)",
            F,
            orbits,
            saddle,
            (lo, hi),
            R,
            1e-3 * np.linalg.norm(hi - lo),
            20,
            400,
            20000,
        )
    head = (
        "| model | method | pieces | residual | Delta_sigma | coverage | time (s) |\n"
        "|---|---|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for label, name, n, res, ds, cov, dt in rows:
        lines.append(
            f"| {label} | {name} | {n} | {res:.1e} | {ds:.1e} | {100 * cov:.1f}% | {dt:.2f} |"
        )
    print("(d) exact vs sampled on the same inputs (Markdown table)")
    print("    residual = max dist(F(x), W)/scale over sampled x; coverage = share of points of")
    print("    the true boundary (brute force) within delta of W (2 grid cells; 1e-3 box diag)")
    for line in lines:
        print("    " + line)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a few seconds each")
    ap.add_argument("--markdown", help="write table (d) to this Markdown file")
    args = ap.parse_args(argv)
    print(f"plrnn-manifolds manifold benchmarks ({_load()})")
    bench_fig3b(200 if args.quick else 400)
    bench_m25(0.1 if args.quick else 0.2, 300 if args.quick else 20000)
    bench_growth((5, 10) if args.quick else (5, 10, 25, 50), 0.2, 300 if args.quick else 1000)
    table = bench_compare(args.quick)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(table + "\n")
    print(f"done ({_load()})")


if __name__ == "__main__":
    main()
