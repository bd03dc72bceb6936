#!/usr/bin/env python
"""Basins and homoclinic points (issue 4) against brute force measured in the same run.

(1) **Basin fractions and basin boundaries** of bistable models, 2-D and 10-D:

    - *fractions*: seeded Monte Carlo (``basin_fractions``, ``--mc`` samples) against a
      brute-force baseline. In 2-D the baseline is the full ``n x n`` grid of the box
      (``grid_basins``). In 10-D a grid of the box is out of reach (``n^10`` points) and a 2-D
      slice grid measures area fractions of a plane, not volume fractions, so the baseline is a
      Monte Carlo run 20 times larger with another seed; for the half-space model the exact
      fraction is also known (an Irwin-Hall tail). Agreement = the largest difference of any
      label's fraction; ``se`` is the Monte Carlo standard error.
    - *boundary*: the exact stable manifold of the codimension-1 saddle (``find_orbits`` +
      ``grow_manifold``, plus ``basin_boundaries`` confirming which attractors it separates)
      against the boundary cells of the same brute-force grid (2-D: the box; 10-D: the 2-D
      slice grid through the attractors). Agreement = the share of grid boundary cells whose
      centre lies within 2 cells of the manifold (Euclidean distance in R^M, exact distance to
      the pieces; in 10-D at most ``--max-cells`` cells, a seeded subsample, are measured).
    - the attractor catalogue (``find_attractors``) needed by both sides is timed separately and
      counted in neither; ratio = baseline time / method time.

(2) **Homoclinic points of the paper's Fig 5 map** (saddle fixed point, box [-3,4]x[-4,2.5],
    depth 8): exact (``grow_manifold`` of both manifolds + ``find_intersections`` with
    verification) against a brute-force polyline method on the same depth and the same
    seeds: the local unstable/stable eigen-segments through the saddle (the part whose
    linearised orbit stays in the saddle's region and the growth box, as the exact seeds),
    sampled and iterated 8 times forward (unstable) or with the inverse map (stable; the map is
    invertible), with points dropped when they leave the growth box, the sampling refined
    adaptively until every drawn segment is shorter than ``h``; collinear sample points are
    merged and all segment pairs are intersected with the 2x2 formula. The saddle itself
    (from ``find_orbits``) is input to both and not timed. Match = share of points of one
    method within 1e-6 (and within ``h``) of a point of the other.

Usage::

    python benchmarks/bench_basins.py            # full: about 2-3 minutes
    python benchmarks/bench_basins.py --quick    # smaller grids and samples, ~40 s
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time

import numpy as np
from scipy.spatial import cKDTree

from plrnn_manifolds.basins import basin_fractions, find_attractors, grid_basins
from plrnn_manifolds.boundaries import basin_boundaries
from plrnn_manifolds.intersections import find_intersections
from plrnn_manifolds.manifolds import grow_manifold
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import (
    bistable_alrnn,
    bistable_shplrnn,
    example_path,
    load_model,
    shplrnn,
)
from plrnn_manifolds.orbits import find_orbits


def _load() -> str:
    try:
        la = os.getloadavg()
        return f"load average {la[0]:.2f}, {os.cpu_count()} cores"
    except OSError:  # pragma: no cover - not on every platform
        return f"{os.cpu_count()} cores"


# ------------------------------------------------------------------------------ models
def halfspace_bistable(M: int = 10, theta: float = 0.8) -> PLMap:
    r"""F(z) = 0.5 (I - u u^T) z + u g(u.z), g(s) = 2 clip(s - theta, -1, 1) + theta, u = 1/sqrt(M):
    stable fixed points (theta +- 2) u, a saddle at theta u; the basins are exactly the
    half-spaces u.z > theta and u.z < theta (the 10-D model of tests/test_basins.py)."""
    u = np.ones(M) / np.sqrt(M)
    A = 0.5 * (np.eye(M) - np.outer(u, u))
    W1 = np.stack([2 * u, -2 * u], axis=1)
    W2 = np.stack([u, u])
    return shplrnn(A, W1, W2, (theta - 2) * u, [1 - theta, -1 - theta])


def irwin_hall_sf(x: float, n: int) -> float:
    """P(U_1 + ... + U_n > x) for independent U(0, 1)."""
    cdf = sum((-1) ** k * math.comb(n, k) * (x - k) ** n for k in range(int(math.floor(x)) + 1))
    return 1.0 - cdf / math.factorial(n)


def models():
    """(label, model, box, slice, exact fraction of attractor 'plus' or None, note)."""
    out = []
    m = bistable_shplrnn(2, 20)
    out.append(("2-D bistable_shplrnn(2,20)", m, (np.array([-4.5, -2.0]), np.array([4.5, 2.0]))))
    m = load_model(example_path("fig3b_left"))
    out.append(("2-D Fig 3B-left (focus | escape)", m, (np.full(2, -3.0), np.full(2, 3.0))))
    m = bistable_alrnn(10, 4)
    lo = np.full(10, -1.2)
    lo[6] = lo[7] = -6.0
    out.append(("10-D bistable_alrnn(10,4)", m, (lo, -lo)))
    out.append(
        ("10-D half-space (exact fractions)", halfspace_bistable(), (-np.ones(10), np.ones(10)))
    )
    return out


# ------------------------------------------------------------------------------ (1)
def bench_basins(n_grid: int, n_mc: int, max_cells: int, seed: int):
    rows_f, rows_b = [], []
    for label, m, (lo, hi) in models():
        M = m.M
        t0 = time.perf_counter()
        orb = find_orbits(m, max_period=3 if M == 2 else 1, seed=seed)
        t_orb = time.perf_counter() - t0
        t0 = time.perf_counter()
        cat = find_attractors(m, orb.orbits, n_initial=100, box=(lo, hi), seed=seed)
        t_cat = time.perf_counter() - t0
        # codimension-1 saddles whose stable manifold is a basin boundary
        t0 = time.perf_counter()
        sad = [
            (i, o)
            for i, o in enumerate(orb.orbits)
            if o.classification == "saddle" and o.n_unstable == 1
        ]
        mans = [
            grow_manifold(m, o, "stable", box=(lo, hi), orbit_id=i, depth=60, max_pieces=20000)
            for i, o in sad
        ]
        t_grow = time.perf_counter() - t0
        t0 = time.perf_counter()
        ba = basin_boundaries(m, cat, mans, n_probes=32, seed=seed)
        t_probe = time.perf_counter() - t0
        bnd = [man for man, b in zip(mans, ba.boundaries, strict=True) if b.is_boundary]
        seps = sorted({tuple(b.separates) for b in ba.boundaries if b.is_boundary})

        # brute-force grid: the box (2-D) or the slice through the bistable pair (10-D)
        if M == 2:
            sl = (0, 1)
        else:
            c = np.array([a.centroid for a in cat])
            sl = tuple(int(k) for k in np.argsort(-np.ptp(c, axis=0))[:2])
        t0 = time.perf_counter()
        g = grid_basins(
            m, cat, slice=sl, bounds=((lo[sl[0]], hi[sl[0]]), (lo[sl[1]], hi[sl[1]])), n=n_grid
        )
        t_grid = time.perf_counter() - t0

        # fractions
        t0 = time.perf_counter()
        fr = basin_fractions(m, cat, n_samples=n_mc, seed=seed + 1)
        t_mc = time.perf_counter() - t0
        labels = [a.id for a in cat] + [-1]
        if M == 2:
            ref = g.fractions()
            t_ref, base = t_grid, f"grid {n_grid}^2"
        else:
            t0 = time.perf_counter()
            big = basin_fractions(m, cat, n_samples=20 * n_mc, seed=seed + 2)
            t_ref = time.perf_counter() - t0
            ref, base = big.fractions, f"MC {20 * n_mc}"
        diff = max(abs(fr.fractions.get(k, 0.0) - ref.get(k, 0.0)) for k in labels)
        se = max(fr.stderr.get(k, 0.0) for k in labels)
        shares = " / ".join(f"{fr.fractions.get(k, 0.0):.3f}" for k in labels)
        rows_f.append((label, base, f"MC {n_mc}", shares, diff, se, t_ref, t_mc))
        if "half-space" in label:
            u = np.ones(M) / np.sqrt(M)
            plus = next(a.id for a in cat if a.points[0] @ u > 0.8)
            exact = irwin_hall_sf((0.8 * np.sqrt(M) + M) / 2, M)
            rows_f.append(
                (
                    label,
                    "exact (Irwin-Hall)",
                    f"MC {n_mc}",
                    shares,
                    abs(fr.fractions[plus] - exact),
                    fr.stderr[plus],
                    float("nan"),
                    t_mc,
                )
            )
            rows_f.append(
                (
                    label,
                    "exact (Irwin-Hall)",
                    base,
                    "",
                    abs(ref[plus] - exact),
                    big.stderr[plus],
                    np.nan,
                    t_ref,
                )
            )

        # boundary agreement
        bc = g.boundary_cells()
        X, Y = np.meshgrid(g.xs, g.ys)
        P = np.repeat(g.base_point[None], int(bc.sum()), axis=0)
        P[:, sl[0]] = X[bc]
        P[:, sl[1]] = Y[bc]
        if M > 2 and len(P) > max_cells:
            P = P[np.random.default_rng(seed).choice(len(P), max_cells, replace=False)]
        cell = max(g.xs[1] - g.xs[0], g.ys[1] - g.ys[0])
        d = np.min([man.distance(P) for man in bnd], axis=0) if bnd and len(P) else np.inf
        within = float(np.mean(d <= 2 * cell)) if len(P) else float("nan")
        t_exact = t_orb + t_grow + t_probe
        rows_b.append(
            (
                label,
                f"{n_grid}^2" + ("" if M == 2 else f" slice {sl}"),
                int(bc.sum()),
                len(P),
                within,
                sum(len(man.pieces) for man in bnd),
                seps,
                t_grid,
                t_exact,
                t_cat,
            )
        )

    print("(1a) basin fractions: seeded Monte Carlo vs the brute-force baseline (same run)")
    print("     fractions listed per attractor id, then escape (-1); diff = largest |difference|")
    print("     2-D baseline: the full grid of the box; 10-D baseline: a 20x larger Monte Carlo")
    print("     run with another seed (no grid of a 10-D box is affordable)")
    h = f"    {'model':<34} {'baseline':<19} {'method':<9} {'fractions':<20} {'diff':>7} "
    print(h + f"{'se':>7} {'t base s':>9} {'t MC s':>7} {'ratio':>6}")
    for label, base, meth, shares, diff, se, tb, tm in rows_f:
        ratio = "-" if not np.isfinite(tb) else f"{tb / tm:.0f}x"
        tbs = "-" if not np.isfinite(tb) else f"{tb:.2f}"
        print(
            f"    {label:<34} {base:<19} {meth:<9} {shares:<20} {diff:>7.4f} {se:>7.4f} "
            f"{tbs:>9} {tm:>7.2f} {ratio:>6}"
        )
    print()
    print("(1b) basin boundary: exact stable manifold of the codimension-1 saddle(s) vs the")
    print("     boundary cells of the brute-force grid; 'near' = share of the measured cells")
    print("     within 2 cells of the manifold; t exact = orbits + manifolds + probes. In 10-D")
    print("     the manifold is the whole boundary in the 10-D box, the grid only one 2-D slice")
    print(
        f"    {'model':<34} {'grid':<18} {'cells':>6} {'meas.':>6} {'near':>7} {'pieces':>6} "
        f"{'separates':<10} {'t grid s':>8} {'t exact s':>9} {'ratio':>6} {'t attr s':>8}"
    )
    for label, gname, ncell, nmeas, within, npc, seps, tg, te, tc in rows_b:
        sep = ",".join("|".join(str(v) for v in s) for s in seps) or "-"
        print(
            f"    {label:<34} {gname:<18} {ncell:>6} {nmeas:>6} {100 * within:>6.1f}% {npc:>6} "
            f"{sep:<10} {tg:>8.2f} {te:>9.2f} {tg / te:>5.1f}x {tc:>8.2f}"
        )


# ------------------------------------------------------------------------------ (2)
class _Polylines:
    """Brute-force sampled manifolds of a saddle fixed point of a 2-D PL map (see docstring)."""

    def __init__(self, m: PLMap, p: np.ndarray, lo, hi, glo, ghi, depth: int):
        self.m, self.p, self.lo, self.hi, self.glo, self.ghi = m, p, lo, hi, glo, ghi
        self.depth = depth
        pats = [np.array(d, dtype=bool) for d in itertools.product([0, 1], repeat=m.H)]
        self.aff = [(d, *m.affine(d)) for d in pats]
        self.dp = m.pattern(p)

    def inverse(self, Y: np.ndarray) -> np.ndarray:
        """The preimage, by trying every region's affine inverse (the map is invertible)."""
        X = np.full_like(Y, np.nan)
        for d, J, c in self.aff:
            Xd = np.linalg.solve(J, (Y - c).T).T
            ok = np.all(self.m.pattern(Xd) == d, axis=1) & np.isnan(X[:, 0])
            X[ok] = Xd[ok]
        return X

    def _extent(self, v, lam):
        """Parameter range of the seed p + s v: points whose linearised next (unstable: previous)
        point, p + lam s v, is in the saddle's region and the growth box too."""
        S = np.linspace(-20.0, 20.0, 400001)
        ok = np.ones(len(S), dtype=bool)
        for f in (1.0, lam):
            P = self.p + (f * S)[:, None] * v
            ok &= np.all(self.m.pattern(P) == self.dp, axis=1)
            ok &= np.all((P >= self.glo) & (P <= self.ghi), axis=1)
        i0 = len(S) // 2
        a = b = i0
        while a > 0 and ok[a - 1]:
            a -= 1
        while b < len(S) - 1 and ok[b + 1]:
            b += 1
        return S[a], S[b]

    def _iterates(self, s, v, step):
        X = self.p + s[:, None] * v
        out, alive = [X], np.ones(len(s), dtype=bool)
        for _ in range(self.depth):
            with np.errstate(all="ignore"):
                X = step(X)
            alive &= np.all((X >= self.glo) & (X <= self.ghi), axis=1)
            X = np.where(alive[:, None], X, np.nan)
            out.append(X)
        return out

    def curve(self, v, lam, step, h, n0=64, max_rounds=80):
        a, b = self._extent(v, lam)
        s = np.unique(np.concatenate([np.linspace(a, b, n0), [0.0]]))
        for _ in range(max_rounds):
            its = self._iterates(s, v, step)
            need = np.zeros(len(s) - 1, dtype=bool)
            for X in its:
                fa = np.isfinite(X[:, 0])
                L = np.linalg.norm(X[1:] - X[:-1], axis=1)
                need |= fa[1:] & fa[:-1] & (L > h)
                need |= fa[1:] ^ fa[:-1]  # the curve leaves the growth box in between
            need &= (s[1:] - s[:-1]) > 1e-15 * max(1.0, abs(a), abs(b))
            if not need.any():
                break
            s = np.sort(np.concatenate([s, 0.5 * (s[1:] + s[:-1])[need]]))
        return its, len(s)

    def segments(self, its):
        A, B = [], []
        for X in its:
            idx = np.flatnonzero(np.isfinite(X[:, 0]))
            if len(idx) < 2:
                continue
            for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
                if len(r) < 2:
                    continue
                Y = X[r]
                d1, d2 = Y[1:-1] - Y[:-2], Y[2:] - Y[1:-1]
                cr = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
                keep = np.ones(len(Y), dtype=bool)
                keep[1:-1] = cr > 1e-10 * np.linalg.norm(d1, axis=1) * np.linalg.norm(d2, axis=1)
                Y = Y[keep]
                A.append(Y[:-1])
                B.append(Y[1:])
        a0, a1 = np.vstack(A), np.vstack(B)
        k = ~(
            np.any(np.minimum(a0, a1) > self.hi, axis=1)
            | np.any(np.maximum(a0, a1) < self.lo, axis=1)
        )
        return a0[k], a1[k]

    def intersect(self, h):
        J = self.m.jacobian(self.dp)
        ev, V = np.linalg.eig(J)
        ev, V = np.real(ev), np.real(V)
        iu = int(np.argmax(np.abs(ev)))
        cu, nu = self.curve(V[:, iu], 1.0 / ev[iu], self.m, h)
        cs, ns = self.curve(V[:, 1 - iu], ev[1 - iu], self.inverse, h)
        a0, a1 = self.segments(cu)
        b0, b1 = self.segments(cs)
        bmin, bmax = np.minimum(b0, b1), np.maximum(b0, b1)
        Ps = []
        for i0 in range(0, len(a0), 200):
            A0 = a0[i0 : i0 + 200, None]
            DA = a1[i0 : i0 + 200, None] - A0
            ok = ~(
                np.any(np.minimum(A0, A0 + DA) > bmax[None], axis=2)
                | np.any(np.maximum(A0, A0 + DA) < bmin[None], axis=2)
            )
            ia, ib = np.nonzero(ok)
            da, A0i = DA[ia, 0], A0[ia, 0]
            db, rr = b1[ib] - b0[ib], b0[ib] - A0i
            den = da[:, 0] * db[:, 1] - da[:, 1] * db[:, 0]
            with np.errstate(all="ignore"):
                t = (rr[:, 0] * db[:, 1] - rr[:, 1] * db[:, 0]) / den
                u = (rr[:, 0] * da[:, 1] - rr[:, 1] * da[:, 0]) / den
            hit = (np.abs(den) > 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
            Ps.append(A0i[hit] + t[hit, None] * da[hit])
        P = np.vstack(Ps)
        P = P[np.all((P >= self.lo) & (P <= self.hi), axis=1)]
        P = P[np.linalg.norm(P - self.p, axis=1) > 1e-9]
        return _distinct(P, 1e-9), (nu, ns, len(a0), len(b0))


def _distinct(P, tol):
    if not len(P):
        return P
    tree = cKDTree(P)
    alive = np.ones(len(P), dtype=bool)
    out = []
    for k in range(len(P)):
        if alive[k]:
            out.append(P[k])
            alive[tree.query_ball_point(P[k], tol)] = False
    return np.array(out)


def bench_homoclinic(hs, depth: int, seed: int):
    m = load_model(example_path("fig5"))
    orb = find_orbits(m, max_period=1, seed=seed)
    sad = orb.orbits[0]
    lo, hi = np.array([-3.0, -4.0]), np.array([4.0, 2.5])
    t0 = time.perf_counter()
    mans = [
        grow_manifold(m, sad, k, box=(lo, hi), depth=depth, orbit_id=0, seed=seed)
        for k in ("unstable", "stable")
    ]
    t_grow = time.perf_counter() - t0
    search = find_intersections(m, mans, max_points=None)
    t_ex = time.perf_counter() - t0
    homo = search.homoclinic()
    good = search.homoclinic(verified=True, transversal=True)
    E = np.array([p.point for p in homo])
    w = hi - lo  # grow_manifold's default growth margin for 1-D manifolds is 1.0
    bf = _Polylines(m, sad.points[0], lo, hi, lo - w, hi + w, depth)
    print(
        f"(2) homoclinic points of the Fig 5 map's saddle, box [-3,4]x[-4,2.5], depth {depth}: "
        "exact vs brute-force polylines"
    )
    print(
        f"    exact: {len(homo)} homoclinic points ({len(good)} verified and transversal), "
        f"pieces W^u {len(mans[0].pieces)}, W^s {len(mans[1].pieces)}; "
        f"{t_ex:.2f} s (growth {t_grow:.2f} s, intersection + verification "
        f"{t_ex - t_grow:.2f} s)"
    )
    print(
        f"    {'method':<24} {'points':>7} {'samples u/s':>15} {'segments u/s':>15} "
        f"{'matched<1e-6':>12} {'matched<h':>10} {'time s':>7} {'ratio':>6}"
    )
    print(
        f"    {'exact':<24} {len(E):>7} {'-':>15} {'-':>15} {'':>12} {'':>10} {t_ex:>7.2f} "
        f"{'1x':>6}"
    )
    for h in hs:
        t0 = time.perf_counter()
        P, (nu, ns, sa, sb) = bf.intersect(h)
        t_bf = time.perf_counter() - t0
        d_e2b = cKDTree(P).query(E)[0] if len(P) else np.full(len(E), np.inf)
        d_b2e = cKDTree(E).query(P)[0] if len(P) else np.zeros(0)
        print(
            f"    {f'brute force h={h:g}':<24} {len(P):>7} {f'{nu}/{ns}':>15} {f'{sa}/{sb}':>15} "
            f"{100 * np.mean(d_e2b < 1e-6):>11.1f}% {100 * np.mean(d_e2b < h):>9.1f}% "
            f"{t_bf:>7.2f} {t_bf / t_ex:>5.0f}x"
        )
        print(
            f"    {'':<24} brute-force points within 1e-6 / h of an exact point: "
            f"{100 * np.mean(d_b2e < 1e-6):.1f}% / {100 * np.mean(d_b2e < h):.1f}%"
        )
    print(
        "    matched = share of the exact points with a brute-force point that close; the "
        "brute force\n    misses points where its chords cut the corners of the manifolds "
        "(at region boundaries)"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grids and samples (~40 s)")
    ap.add_argument("--grid", type=int, default=None, help="grid points per axis (400; 150)")
    ap.add_argument("--mc", type=int, default=None, help="Monte Carlo samples (10000; 4000)")
    ap.add_argument(
        "--max-cells",
        type=int,
        default=None,
        help="10-D boundary cells measured (200; 60); 2-D: all",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    args = ap.parse_args(argv)
    n_grid = args.grid or (150 if args.quick else 400)
    n_mc = args.mc or (4000 if args.quick else 10000)
    max_cells = args.max_cells or (60 if args.quick else 200)
    print(f"plrnn-manifolds basin benchmarks ({_load()}), seed {args.seed}")
    t_all = time.perf_counter()
    bench_basins(n_grid, n_mc, max_cells, args.seed)
    print()
    bench_homoclinic((0.1,) if args.quick else (0.1, 0.03), 8, args.seed)
    print(f"total wall time {time.perf_counter() - t_all:.1f} s ({_load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
