#!/usr/bin/env python
"""Orbit search: ``find_orbits`` against a straightforward port of the original SCYFI.

Models (seeded; bounded by construction, with a handful of fixed points and cycles):

- shPLRNN, M = 10, H = 50: A = diag(U[0.3, 0.9]), W1 = -|N(0, g^2/H)| (inhibitory output,
  g = 2), W2 = |N(0, 1/M)|, h1 = U[0.5, 1.5], h2 = N(0, 0.25). With W1 <= 0 and W2 >= 0 every
  state is bounded above by A z + h1 and then below, so the dynamics stay bounded;
- PLRNN, M = 20: A = diag(U[0.3, 0.9]), W = -|N(0, g^2/M)| off the diagonal (inhibition,
  g = 2), h = U[0.5, 1.5]: bounded for the same reason.

(Random sign-symmetric weights, e.g. W ~ N(0, 1/M), mostly give diverging models with one fixed
point and no cycles, which says nothing about cycle search.)

Both searches run in the same process on the same model, periods 1..K:

- **ours**: ``find_orbits(model, max_period=K)`` with its defaults (``exhaustive="auto"``,
  which falls back to SCYFI here; ``outer_restarts = 200``, ``inner_iterations = 40``, restart
  cap ``100 * outer_restarts`` per period);
- **baseline**: the algorithm of the reference implementation (DurstewitzLab/SCYFI,
  ``scy_fi``), written here in plain numpy, one candidate at a time: a restart draws k uniformly
  random activation patterns (each bit 0/1 with probability 1/2), solves the cycle equation,
  takes the patterns of the candidate's true trajectory as the next guess, accepts when they
  equal the guess, deduplicates by rounding orbit points to 2 decimals, rejects points of
  lower-period orbits the same way, draws fresh random patterns when the guess does not change,
  and resets both loop counters when it finds a new orbit. It stops a period after ``outer``
  consecutive restarts without a new orbit, a restart having up to ``inner`` cycle solves:
  the *same* ``outer`` / ``inner`` / restart-cap values as ours, so both have the same stopping
  rule. (The reference code's own defaults, ``set_loop_iterations``, are smaller: outer 10 for
  k < 8, 40 below 30; inner 20, 60, 300, 1080 for k < 3, < 6, < 8, < 20; ``--paper-budget`` uses
  them.) The reference shPLRNN code draws initial patterns from a pool of patterns of 10^7
  random points in [-10, 10]^M instead of uniform bits; this baseline uses uniform bits
  throughout, as the PLRNN code does.

Orbits are compared modulo cyclic shift with a tolerance relative to the model scale, after
reducing every baseline orbit to its true period (the 2-decimal rule can let a repeated lower
period orbit through). Every orbit of either method is checked with the true map. ``cand`` is the
number of cycle equations solved. Times are wall-clock seconds on a possibly shared machine; the
ratio is baseline / ours. "ours" per-period times exclude its one-off set-up (region pool,
simulated trajectories), which is included in the total row. The ratio mixes two things: the
search strategy (starting patterns, loop handling, stopping) and the implementation (ours solves
batches of 64 cycle equations per numpy call, the baseline one at a time, as the reference code
does).

Ground truth for the PLRNN (#0): a brute-force solve of all 2^20 fixed-point patterns (about two
minutes, not part of this benchmark) finds exactly 9 fixed points. With the default budget, both
methods find only a few of them in the period-1 search; most are found later, as solutions of
higher-period sequences that reduce to period 1 (ours reports them as fixed points; the baseline
reports them as cycles of the period it was searching, see the ``raw`` column).

Usage::

    python benchmarks/bench_orbits.py            # full: ~5 minutes
    python benchmarks/bench_orbits.py --quick    # ~30 s: periods 1..4, smaller budget
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import plrnn, shplrnn
from plrnn_manifolds.orbits import OrbitWarning, find_orbits

# --------------------------------------------------------------------------------- models


def make_shplrnn(seed: int, M: int = 10, H: int = 50, g: float = 2.0) -> PLMap:
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.3, 0.9, M)
    W1 = -np.abs(rng.normal(0.0, g / np.sqrt(H), (M, H)))
    W2 = np.abs(rng.normal(0.0, 1.0 / np.sqrt(M), (H, M)))
    h1 = rng.uniform(0.5, 1.5, M)
    h2 = rng.normal(0.0, 0.5, H)
    return shplrnn(A, W1, W2, h1, h2)


def make_plrnn(seed: int, M: int = 20, g: float = 2.0) -> PLMap:
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.3, 0.9, M)
    W = -np.abs(rng.normal(0.0, g / np.sqrt(M), (M, M)))
    np.fill_diagonal(W, 0.0)
    h = rng.uniform(0.5, 1.5, M)
    return plrnn(A, W, h)


# ------------------------------------------------------------------------------- baseline


def paper_loop_iterations(k: int) -> tuple[int, int]:
    """``set_loop_iterations`` of DurstewitzLab/SCYFI (tuned there for 2-D models)."""
    outer = 10 if k < 8 else (40 if k < 30 else 100)
    if k < 3:
        inner = 20
    elif k < 6:
        inner = 60
    elif k < 8:
        inner = 300
    elif k < 20:
        inner = 1080
    else:
        inner = 1115
    return outer, inner


def baseline_scyfi(model: PLMap, max_period: int, outer, inner, max_restarts: int, seed: int):
    """Original SCYFI, one candidate at a time. ``outer``/``inner``: ints or a function of k.

    Returns ``{k: {"orbits": [(k, M) arrays], "restarts", "candidates", "capped", "seconds"}}``.
    """
    rng = np.random.default_rng(seed)
    A, W1, W2, h1, h2 = model.A, model.W1, model.W2, model.h1, model.h2
    H = model.H

    def rounded(z):
        return tuple(np.round(z, 2).tolist())

    def solve(D):
        """Cycle point of the pattern sequence D (k, H), or None if I - J is singular."""
        J = np.eye(model.M)
        c = np.zeros(model.M)
        for d in D:
            Jd = A + (W1 * d) @ W2
            J = Jd @ J
            c = Jd @ c + h1 + W1 @ (d * h2)
        try:
            return np.linalg.solve(np.eye(model.M) - J, c)
        except np.linalg.LinAlgError:
            return None

    def trajectory(z, k):
        out = [z]
        for _ in range(k - 1):
            z = A @ z + W1 @ np.maximum(W2 @ z + h2, 0.0) + h1
            out.append(z)
        return np.array(out)

    lower: set = set()  # rounded points of all orbits of lower periods
    result = {}
    for k in range(1, max_period + 1):
        t0 = time.perf_counter()
        n_out = outer(k) if callable(outer) else outer
        n_in = inner(k) if callable(inner) else inner
        cycles, seen = [], set()
        restarts = cands = 0
        capped = False
        i = -1
        with np.errstate(all="ignore"):
            while i < n_out:
                if restarts >= max_restarts:
                    capped = True
                    break
                i += 1
                restarts += 1
                D = rng.random((k, H)) < 0.5
                c = 0
                while c < n_in:
                    c += 1
                    z = solve(D)
                    cands += 1
                    if z is None:
                        D = rng.random((k, H)) < 0.5
                        continue
                    traj = trajectory(z, k)
                    TD = (traj @ W2.T + h2) > 0
                    same = bool(np.array_equal(TD, D))
                    if same and rounded(traj[0]) not in lower and rounded(traj[0]) not in seen:
                        cycles.append(traj)
                        seen.update(rounded(p) for p in traj)
                        i = 0
                        c = 0
                    D = rng.random((k, H)) < 0.5 if same else TD
        lower |= seen
        result[k] = {
            "orbits": cycles,
            "restarts": restarts,
            "candidates": cands,
            "capped": capped,
            "seconds": time.perf_counter() - t0,
        }
    return result


# ----------------------------------------------------------------------------- comparison


def true_period(model: PLMap, pts: np.ndarray) -> np.ndarray:
    """The orbit reduced to its smallest period."""
    k = pts.shape[0]
    tol = 1e-8 * (model.scale + np.linalg.norm(pts, axis=1).max())
    for j in range(1, k):
        if k % j == 0 and np.all(np.linalg.norm(np.roll(pts, -j, axis=0) - pts, axis=1) <= tol):
            return pts[:j]
    return pts


def residual(model: PLMap, pts: np.ndarray) -> float:
    img = model(pts)
    return float(np.max(np.linalg.norm(img - np.roll(pts, -1, axis=0), axis=1)))


def same_orbit(model: PLMap, p: np.ndarray, q: np.ndarray) -> bool:
    if p.shape != q.shape:
        return False
    tol = 1e-6 * (model.scale + np.linalg.norm(p, axis=1).max())
    return any(
        np.all(np.linalg.norm(np.roll(p, -s, axis=0) - q, axis=1) <= tol) for s in range(p.shape[0])
    )


def distinct(model: PLMap, orbits: list) -> list:
    out = []
    for o in orbits:
        if not any(same_orbit(model, o, q) for q in out):
            out.append(o)
    return out


def compare(model: PLMap, K: int, outer, inner, max_restarts: int, seed: int, paper: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OrbitWarning)
        t0 = time.perf_counter()
        res = find_orbits(
            model,
            max_period=K,
            seed=seed,
            outer_restarts=outer,
            inner_iterations=inner,
            max_restarts=max_restarts,
        )
        t_ours = time.perf_counter() - t0
    if paper:
        b_out = lambda k: paper_loop_iterations(k)[0]  # noqa: E731
        b_in = lambda k: paper_loop_iterations(k)[1]  # noqa: E731
    else:
        b_out, b_in = outer, inner
    t0 = time.perf_counter()
    base = baseline_scyfi(model, K, b_out, b_in, max_restarts, seed)
    t_base = time.perf_counter() - t0

    # baseline orbits by true period, deduplicated with tolerances; raw counts kept
    base_by_k: dict[int, list] = {k: [] for k in range(1, K + 1)}
    raw = {k: len(base[k]["orbits"]) for k in base}
    for k in base:
        for o in base[k]["orbits"]:
            p = true_period(model, o)
            base_by_k[p.shape[0]].append(p)
    rows = []
    worst = 0.0
    for k in range(1, K + 1):
        ours_k = (
            [o.points for o in res.cycles(k)] if k > 1 else [o.points for o in res.fixed_points()]
        )
        base_k = distinct(model, base_by_k[k])
        for o in ours_k + base_k:
            worst = max(worst, residual(model, o) / (model.scale + np.abs(o).max()))
        only_ours = sum(not any(same_orbit(model, o, q) for q in base_k) for o in ours_k)
        only_base = sum(not any(same_orbit(model, o, q) for q in ours_k) for o in base_k)
        pp = res.per_period.get(k, {})
        rows.append(
            {
                "k": k,
                "ours": len(ours_k),
                "base": len(base_k),
                "base_raw": raw[k],
                "only_ours": only_ours,
                "only_base": only_base,
                "cand_ours": pp.get("candidates", 0),
                "cand_base": base[k]["candidates"],
                "restarts_ours": pp.get("restarts", 0),
                "restarts_base": base[k]["restarts"],
                "t_ours": pp.get("seconds", float("nan")),
                "t_base": base[k]["seconds"],
                "capped": ("o" if pp.get("restart_cap_hit") else "")
                + ("b" if base[k]["capped"] else ""),
            }
        )
    return res, rows, t_ours, t_base, worst


def print_table(name: str, res, rows, t_ours: float, t_base: float, worst: float) -> None:
    head = (
        f"{'model':<22}{'k':>3}{'ours':>6}{'base':>6}{'raw':>5}{'ours-only':>10}{'base-only':>10}"
        f"{'cand ours':>11}{'cand base':>11}{'t ours':>9}{'t base':>9}{'base/ours':>10}{'cap':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = r["t_base"] / r["t_ours"] if r["t_ours"] > 0 else float("nan")
        print(
            f"{name:<22}{r['k']:>3}{r['ours']:>6}{r['base']:>6}{r['base_raw']:>5}"
            f"{r['only_ours']:>10}{r['only_base']:>10}{r['cand_ours']:>11}{r['cand_base']:>11}"
            f"{r['t_ours']:>9.2f}{r['t_base']:>9.2f}{ratio:>10.2f}{r['capped']:>5}"
        )
    tot = {key: sum(r[key] for r in rows) for key in rows[0] if key not in ("k", "capped")}
    print(
        f"{name:<22}{'all':>3}{tot['ours']:>6}{tot['base']:>6}{tot['base_raw']:>5}"
        f"{tot['only_ours']:>10}{tot['only_base']:>10}{tot['cand_ours']:>11}"
        f"{tot['cand_base']:>11}{t_ours:>9.2f}{t_base:>9.2f}{t_base / t_ours:>10.2f}"
    )
    print(
        f"  ours: method {res.method}, {res.n_restarts} restarts; "
        f"largest orbit residual |F(p_j) - p_j+1| / (scale + |p|) of either method: {worst:.1e}"
    )
    print()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="periods 1..4, outer 50, one model each")
    ap.add_argument("--max-period", type=int, default=None, help="default 10 (4 with --quick)")
    ap.add_argument("--outer", type=int, default=None, help="default 200 (50 with --quick)")
    ap.add_argument("--inner", type=int, default=40)
    ap.add_argument("--max-restarts", type=int, default=None, help="default 100 * outer")
    ap.add_argument("--seed", type=int, default=0, help="search seed (both methods)")
    ap.add_argument(
        "--paper-budget",
        action="store_true",
        help="baseline with the reference code's own outer/inner defaults instead of ours",
    )
    args = ap.parse_args(argv)
    K = args.max_period or (4 if args.quick else 10)
    outer = args.outer or (50 if args.quick else 200)
    max_restarts = args.max_restarts or 100 * outer
    models = [("shPLRNN M=10 H=50 #0", make_shplrnn(0)), ("PLRNN M=20 #0", make_plrnn(0))]
    if not args.quick:
        models.insert(1, ("shPLRNN M=10 H=50 #1", make_shplrnn(1)))

    budget = (
        "reference code's set_loop_iterations"
        if args.paper_budget
        else f"outer {outer}, inner {args.inner}"
    )
    print(
        f"periods 1..{K}; ours: outer {outer}, inner {args.inner}; baseline: {budget}; "
        f"restart cap {max_restarts} per period; seed {args.seed}\n"
        "ours/base: distinct orbits of that exact period found; raw: what the baseline itself "
        "reported for that k;\nours-only/base-only: found by one method and missed by the other; "
        "cap: restart cap hit (o = ours, b = baseline)\n"
    )
    t_all = time.perf_counter()
    for name, model in models:
        res, rows, t_o, t_b, worst = compare(
            model, K, outer, args.inner, max_restarts, args.seed, args.paper_budget
        )
        print_table(name, res, rows, t_o, t_b, worst)
    print(f"total wall time {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
