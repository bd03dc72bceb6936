r"""Homoclinic and heteroclinic points: exact intersections of unstable and stable manifolds.

A point of :math:`W^u(O_1) \cap W^s(O_2)` is *homoclinic* when :math:`O_1 = O_2` and
*heteroclinic* otherwise. Both manifolds are unions of exact pieces
:math:`\{o + U s : G s \le g\}` (:mod:`.manifolds`), so their intersection is computed piece
pair by piece pair (DESIGN.md section 5):

1. **Prefilter.** Only pieces in the same region can meet (pieces are closed, so pieces on the
   two sides of a shared facet may also touch; the facet point is then found from the pieces of
   one side at least). Pairs whose bounding boxes in state space are disjoint are skipped
   (vectorised over all pairs; pieces of dimension up to 5 get exact boxes from their
   vertices), and so are pairs where one piece has codimension 1 and the other one's vertices
   all lie strictly on one side of its hyperplane. The candidates are examined in order of
   depth sum, so a capped search (``max_points``, ``count_all=False``) can stop early and
   still keep the points closest to the seeds.
2. **Complementary dimensions** (:math:`n_u + n_s = M`). If :math:`[U_u, -U_s]` is invertible,
   the affine hulls meet in exactly one point, the solution of
   :math:`o_u + U_u a = o_s + U_s b`; it is an intersection iff :math:`G_u a \le g_u` and
   :math:`G_s b \le g_s` (within a relative tolerance). These systems are solved in batches.
3. **Other cases** (:math:`n_u + n_s \ne M`, or a rank-deficient :math:`[U_u, -U_s]`): one
   linear program per pair finds the point of the intersection that is deepest inside both
   polytopes (``scipy.optimize.linprog``, HiGHS), with the equation relaxed to round-off.

**Transversality** is decided from the bases alone: the intersection is transversal iff
:math:`\operatorname{span} U_u + \operatorname{span} U_s = \mathbb{R}^M`, i.e. the :math:`M`-th
singular value of :math:`[U_u, U_s]` exceeds ``rank_tol`` times the largest (the columns are
orthonormal, so the smallest singular value of :math:`[U_u, U_s]` is :math:`\sqrt{2}\sin` of the
smallest principal angle between the two subspaces when they are complementary). An
intersection of two piecewise-linear manifolds in the interior of a region is therefore either
transversal or a whole flat overlap; tangencies do not occur inside regions (they happen on
region boundaries, where a kink of one manifold touches the other, and are then reported as
the pieces' shared point with ``transversal`` decided from the pieces involved).

**The trivial intersection** of a homoclinic pair, the orbit itself (where the two seeds meet),
is excluded: points within ``exclude_radius`` of an orbit point of either orbit are dropped.

Verification
------------
Each point is checked twice, with the true map :math:`F`:

* **forward**: the iterates :math:`F^n(x)` approach the stable orbit :math:`O_2` (their closest
  approach, relative to ``L``, must be below ``converge_tol``);
* **backward, by shadowing**: plain backward iteration is ill-conditioned (it stalls far from a
  saddle in double precision), so instead the unstable piece's *itinerary* is followed: every
  grown piece stores the affine link of its local coordinates to the piece it was grown from,
  :math:`F(o_p + U_p s_p) = o + U (R s_p + t)`, so :math:`s_p = R^{-1}(s - t)` maps the point
  back one step exactly in local coordinates, down to the seed (the local unstable manifold),
  and on through the seeds until it is within ``backward_radius`` of :math:`O_1`. Then the back
  point :math:`y_n` is iterated *forward* with the true map: each :math:`F(y_i)` must reproduce
  the next itinerary point :math:`y_{i-1}` and :math:`F^n(y_n)` must reproduce :math:`x`, within
  ``shadow_tol``. Forward iteration along an unstable manifold is well conditioned, so this
  confirms that :math:`x` lies on the unstable manifold of :math:`O_1` up to round-off.

A point is ``verified`` when both checks pass. All tolerances are relative to
``L = max(model.scale, |x|)``.

Chaos verdict
-------------
:func:`chaos_verdict` combines the intersections with the Lyapunov exponents of the attractors:
``"evidence"`` needs a verified transversal homoclinic point (a Smale horseshoe exists near it,
by the Smale–Birkhoff theorem) *and* a positive largest Lyapunov exponent of an attractor;
``"none"`` means no homoclinic point within the computed manifolds and no positive exponent;
everything else is ``"inconclusive"``. The verdict is numerical evidence from finite
floating-point computations, not a mathematical certainty, and its wording says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from .errors import DataError

__all__ = [
    "Intersection",
    "IntersectionSearch",
    "chaos_verdict",
    "find_intersections",
    "intersect_manifolds",
    "verify_intersection",
]

#: Relative singular-value threshold for transversality / invertibility of [U_u, -U_s].
RANK_TOL = 1e-8
#: Relative membership tolerance of the polytope constraints (times the polytope scale).
MEMBER_TOL = 1e-9
#: Pairs per batch of the bounding-box prefilter (keeps memory bounded).
_CHUNK = 512
#: |det [U_u, -U_s]| at or below this is singular (the LP path handles the pair).
_DET_TOL = 1e-13
#: Candidate pairs solved per batch (bounds memory), and per batch when stopping early.
_SOLVE_CHUNK = 100_000
_EARLY_CHUNK = 20_000
#: Pieces up to this dimension get vertex bounding boxes (Qhull above 2, cost grows fast).
_VERTEX_MAX_DIM = 5


# ====================================================================== results
@dataclass
class Intersection:
    """One homoclinic or heteroclinic point.

    Attributes
    ----------
    kind : str
        ``"homoclinic"`` (``unstable_orbit == stable_orbit``) or ``"heteroclinic"``.
    unstable_orbit, stable_orbit : int or None
        Ids of the orbits whose unstable / stable manifold contains the point.
    point : ndarray, shape (M,)
        The intersection point.
    transversal : bool
        :math:`\\operatorname{span} U_u + \\operatorname{span} U_s = \\mathbb{R}^M`.
    verified : bool
        Both the forward and the backward (shadowing) checks passed.
    region : str
        Region pattern of the two pieces.
    unstable_depth, stable_depth : int
        Depths of the two pieces (map steps from their seeds).
    angle : float
        Smallest of the first ``M`` singular values of :math:`[U_u, U_s]` divided by the largest;
        ``0`` when the spans do not fill :math:`\\mathbb{R}^M`.
    forward_distance : float
        Closest approach of :math:`F^n(x)` to the stable orbit, relative to ``L``.
    forward_steps : int
        Step at which it was reached.
    backward_distance : float or None
        Distance of the shadowed back point to the unstable orbit, relative to ``L``
        (``None`` when the piece has no itinerary, e.g. the sampled method).
    backward_steps : int
        Length of the shadowed itinerary.
    shadow_residual : float or None
        Largest mismatch between the forward iterates of the back point and the itinerary
        (including the final return to ``x``), relative to ``L``.
    note : str
        Why verification failed, if it did.
    """

    kind: str
    unstable_orbit: int | None
    stable_orbit: int | None
    point: np.ndarray
    transversal: bool
    verified: bool = False
    region: str = ""
    unstable_depth: int = 0
    stable_depth: int = 0
    angle: float = 0.0
    forward_distance: float = float("inf")
    forward_steps: int = 0
    backward_distance: float | None = None
    backward_steps: int = 0
    shadow_residual: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict: the contract fields ``kind, unstable_orbit, stable_orbit, point,
        transversal, verified`` plus the diagnostic extras."""

        def f(x):
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "kind": self.kind,
            "unstable_orbit": None if self.unstable_orbit is None else int(self.unstable_orbit),
            "stable_orbit": None if self.stable_orbit is None else int(self.stable_orbit),
            "point": np.asarray(self.point, dtype=float).tolist(),
            "transversal": bool(self.transversal),
            "verified": bool(self.verified),
            "region": self.region,
            "unstable_depth": int(self.unstable_depth),
            "stable_depth": int(self.stable_depth),
            "angle": float(self.angle),
            "forward_distance": f(self.forward_distance),
            "forward_steps": int(self.forward_steps),
            "backward_distance": f(self.backward_distance),
            "backward_steps": int(self.backward_steps),
            "shadow_residual": f(self.shadow_residual),
            "note": self.note,
        }


@dataclass
class IntersectionSearch:
    """All intersections found between a set of unstable and stable manifolds.

    Attributes
    ----------
    intersections : list of Intersection
        Homoclinic before heteroclinic, verified before unverified, then by depth sum; at most
        ``max_points``.
    n_found : int
        Distinct points found over all manifold pairs, before any ``max_points`` cap.
    n_candidates : int
        Piece pairs examined that survived the prefilter (same region, overlapping bounding
        boxes).
    counted_all : bool
        Every candidate pair was examined, so ``n_found`` is the total (see ``count_all``).
    pairs : list of dict
        Per manifold pair: ``unstable_orbit, stable_orbit, n_points`` (distinct points found),
        ``n_checked`` (kept and verified, at most ``max_points``), ``n_verified``,
        ``n_transversal`` (among the checked ones).
    notes : list of str
    seconds : float
    """

    intersections: list
    n_found: int = 0
    n_candidates: int = 0
    counted_all: bool = True
    pairs: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def homoclinic(self, verified: bool = False, transversal: bool = False) -> list:
        """Homoclinic points, optionally only verified and/or transversal ones."""
        return [
            p
            for p in self.intersections
            if p.kind == "homoclinic"
            and (p.verified or not verified)
            and (p.transversal or not transversal)
        ]

    def heteroclinic(self) -> list:
        return [p for p in self.intersections if p.kind == "heteroclinic"]

    def summary(self) -> dict:
        """``n_found, n_reported, n_candidates, counted_all, pairs, notes, seconds`` (for
        results.json)."""
        return {
            "n_found": int(self.n_found),
            "n_reported": len(self.intersections),
            "n_candidates": int(self.n_candidates),
            "counted_all": bool(self.counted_all),
            "pairs": list(self.pairs),
            "notes": list(self.notes),
            "seconds": float(self.seconds),
        }

    def to_dict(self) -> dict:
        d = self.summary()
        d["intersections"] = [p.to_dict() for p in self.intersections]
        return d


# ====================================================================== piece geometry
class _Pieces:
    """Arrays describing a list of pieces for vectorised tests.

    Pieces of dimension ``<= _VERTEX_MAX_DIM`` get exact state-space bounding boxes from their
    vertices (kept in ``verts``). Higher-dimensional pieces get no box (``-inf, inf``; a box
    would cost ``2n`` LPs per piece); if they have codimension 1 their unit ``normals`` serve the
    hyperplane prefilter instead.
    """

    def __init__(self, pieces, M: int):
        self.pieces = list(pieces)
        N = len(self.pieces)
        n = self.pieces[0].basis.shape[1] if N else 0
        self.n = n
        self.origins = np.array([p.origin for p in self.pieces]).reshape(N, M)
        self.bases = np.array([p.basis for p in self.pieces]).reshape(N, M, n)
        self.regions = [np.asarray(p.region, dtype=bool).tobytes() for p in self.pieces]
        rmax = max([len(p.polytope.g) for p in self.pieces], default=0)
        self.G = np.zeros((N, rmax, n))
        self.g = np.full((N, rmax), np.inf)
        self.gtol = np.zeros(N)
        self.lo = np.full((N, M), -np.inf)
        self.hi = np.full((N, M), np.inf)
        self.verts: list = [None] * N
        self.normals = None
        for i, p in enumerate(self.pieces):
            r = len(p.polytope.g)
            self.G[i, :r] = p.polytope.G
            self.g[i, :r] = p.polytope.g
            self.gtol[i] = MEMBER_TOL * p.polytope.scale
            if n <= _VERTEX_MAX_DIM:
                V = _state_vertices(p)
                if V is not None:
                    self.verts[i] = V
                    self.lo[i], self.hi[i] = V.min(axis=0), V.max(axis=0)
        if N and n == M - 1:
            nr = np.empty((N, M))
            for i, p in enumerate(self.pieces):
                Q, _ = np.linalg.qr(p.basis, mode="complete")
                nr[i] = Q[:, -1]
            self.normals = nr


def _state_vertices(piece) -> np.ndarray | None:
    """Vertices of a piece in state space (None if they cannot be enumerated)."""
    try:
        V = piece.polytope.vertices()
    except Exception:  # flat, unbounded or a Qhull failure: no prefilter for this piece
        return None
    if V is None or not len(V):
        return None
    return piece.point(V)


def _straddles(low: _Pieces, high: _Pieces, pairs: np.ndarray, swap: bool) -> np.ndarray:
    """For pairs (i in ``low``, j in ``high``) with ``high`` of codimension 1: whether the
    vertices of piece i reach both sides of the hyperplane of piece j (within round-off)."""
    keep = np.ones(len(pairs), dtype=bool)
    il = pairs[:, 1] if swap else pairs[:, 0]
    jh = pairs[:, 0] if swap else pairs[:, 1]
    order = np.argsort(il, kind="stable")
    bounds = np.flatnonzero(np.diff(il[order])) + 1
    for grp in np.split(order, bounds):
        if grp.size == 0:
            continue
        V = low.verts[il[grp[0]]]
        if V is None:
            continue
        j = jh[grp]
        nrm = high.normals[j]  # (g, M)
        off = np.einsum("gm,gm->g", nrm, high.origins[j])
        h = V @ nrm.T - off[None, :]  # (v, g) signed distances
        tol = 1e-9 * max(1.0, float(np.abs(V).max()))
        keep[grp] = (h.min(axis=0) <= tol) & (h.max(axis=0) >= -tol)
    return keep


def _candidate_pairs(A: _Pieces, B: _Pieces, pad: float) -> np.ndarray:
    """Index pairs (i, j) of pieces in the same region whose bounding boxes overlap."""
    out = []
    groups: dict = {}
    for j, r in enumerate(B.regions):
        groups.setdefault(r, []).append(j)
    groups = {r: np.array(v) for r, v in groups.items()}
    byA: dict = {}
    for i, r in enumerate(A.regions):
        byA.setdefault(r, []).append(i)
    for r, ia in byA.items():
        jb = groups.get(r)
        if jb is None:
            continue
        ia = np.array(ia)
        for c0 in range(0, len(ia), _CHUNK):
            ii = ia[c0 : c0 + _CHUNK]
            ok = np.all(
                (A.lo[ii, None, :] <= B.hi[None, jb, :] + pad)
                & (B.lo[None, jb, :] <= A.hi[ii, None, :] + pad),
                axis=2,
            )
            a, b = np.nonzero(ok)
            if a.size:
                out.append(np.stack([ii[a], jb[b]], axis=1))
    return np.vstack(out) if out else np.zeros((0, 2), dtype=int)


def _spans(Uu: np.ndarray, Us: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Batched ``(full_span, angle)``: whether span Uu + span Us = R^M, and the ratio of the
    M-th to the first singular value of [Uu, Us]."""
    K = np.concatenate([Uu, Us], axis=2)
    if K.shape[2] < M:
        return np.zeros(len(K), dtype=bool), np.zeros(len(K))
    sv = np.linalg.svd(K, compute_uv=False)
    ratio = sv[:, M - 1] / np.maximum(sv[:, 0], 1e-300)
    return ratio > RANK_TOL, ratio


def _lp_point(pu, ps, M: int, scale: float):
    """Deepest point of {o_u + U_u a = o_s + U_s b, G_u a <= g_u, G_s b <= g_s} (or None)."""
    nu, ns = pu.basis.shape[1], ps.basis.shape[1]
    Gu, gu = pu.polytope.G, pu.polytope.g
    Gs, gs = ps.polytope.G, ps.polytope.g
    E = np.hstack([pu.basis, -ps.basis])
    e = ps.origin - pu.origin
    eps = 1e-10 * max(scale, float(np.linalg.norm(pu.origin)), 1.0)
    nv = nu + ns + 1  # (a, b, r): maximise the common slack r
    rows = [
        np.hstack([Gu, np.zeros((len(gu), ns)), np.ones((len(gu), 1))]),
        np.hstack([np.zeros((len(gs), nu)), Gs, np.ones((len(gs), 1))]),
        np.hstack([E, np.zeros((M, 1))]),
        np.hstack([-E, np.zeros((M, 1))]),
    ]
    A_ub = np.vstack(rows)
    b_ub = np.concatenate([gu, gs, e + eps, -e + eps])
    cap = 1e6 * max(scale, 1.0)
    bounds = [(-cap, cap)] * (nu + ns) + [(None, cap)]
    c = np.zeros(nv)
    c[-1] = -1.0
    try:
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    except ValueError:
        return None
    if res.status != 0:
        return None
    x = res.x
    a, b, r = x[:nu], x[nu : nu + ns], x[-1]
    tol_u = MEMBER_TOL * pu.polytope.scale
    tol_s = MEMBER_TOL * ps.polytope.scale
    if r < -max(tol_u, tol_s):
        return None
    if np.any(Gu @ a > gu + tol_u) or np.any(Gs @ b > gs + tol_s):
        return None
    if np.linalg.norm(E @ np.concatenate([a, b]) - e) > 10 * eps:
        return None
    return a, b


# ====================================================================== verification
def _orbit_points(manifold) -> np.ndarray:
    return np.atleast_2d(np.asarray(manifold.orbit.points, dtype=float))


def _forward_check(model, X: np.ndarray, target: np.ndarray, n_steps: int):
    """Closest approach of the forward orbits of ``X`` to the orbit ``target`` (absolute) and
    the step it happened."""
    best = np.full(len(X), np.inf)
    when = np.zeros(len(X), dtype=int)
    Z = X.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps + 1):
            d = np.min(np.linalg.norm(Z[:, None, :] - target[None], axis=2), axis=1)
            d = np.where(np.isfinite(d), d, np.inf)
            better = d < best
            best[better] = d[better]
            when[better] = t
            Z = model(Z)
    return best, when


class _Shadower:
    """Backward shadowing along unstable itineraries (see module docstring), with the inverse
    links cached per piece."""

    def __init__(self, model, source: np.ndarray, radius: float, max_steps: int):
        self.model = model
        self.source = source
        self.radius = radius
        self.max_steps = max_steps
        self._inv: dict = {}

    def _inverse(self, piece):
        key = id(piece)
        out = self._inv.get(key)
        if out is None:
            R, t = piece.link
            try:
                Ri = np.linalg.inv(R)
            except np.linalg.LinAlgError:
                Ri = None
            out = (Ri, np.asarray(t, dtype=float), piece)  # keep piece alive: ids stay unique
            self._inv[key] = out
        return out[0], out[1]

    def chain(self, piece, s, x, L: float):
        """``(chain, reached_seed, dist, note)``: the itinerary points ``x = y_0, y_1, ...``
        (``F(y_{i+1}) = y_i`` exactly in local coordinates)."""
        if getattr(piece, "link", None) is None or getattr(piece, "parent", None) is None:
            return None, False, None, "the unstable piece has no itinerary (no parent link)"
        chain = [np.asarray(x, dtype=float)]
        cur, sc = piece, np.asarray(s, dtype=float)
        reached = cur.depth == 0
        src = self.source
        dist = float(np.min(np.linalg.norm(src - chain[-1], axis=1)))
        lim = self.radius * L
        while len(chain) <= self.max_steps:
            if reached and dist <= lim:
                break
            par = getattr(cur, "parent", None)
            if getattr(cur, "link", None) is None or par is None:
                break
            Ri, t = self._inverse(cur)
            if Ri is None:
                return None, reached, None, "singular itinerary link (folded unstable piece)"
            sc = Ri @ (sc - t)
            cur = par
            chain.append(cur.origin + cur.basis @ sc)
            reached = reached or cur.depth == 0
            if reached:
                dist = float(np.min(np.linalg.norm(src - chain[-1], axis=1)))
        if not np.all(np.isfinite(chain[-1])):
            return None, reached, None, "the itinerary left the finite range"
        note = ""
        if not reached:
            note = "the itinerary did not reach the seed within the step limit"
        elif dist > lim:
            note = (
                f"the shadowed back point stayed {dist / L:.2e} L from the unstable orbit after "
                f"{len(chain) - 1} steps"
            )
        return chain, reached, dist, note

    def forward_residuals(self, chains: list) -> np.ndarray:
        """For each chain, iterate its last point forward with the true map and return the
        largest distance to the chain points it should reproduce (vectorised over chains)."""
        n = len(chains)
        lens = np.array([len(c) for c in chains])
        T = int(lens.max()) - 1 if n else 0
        M = self.source.shape[1]
        Y = np.array([c[-1] for c in chains]).reshape(n, M)
        res = np.zeros(n)
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(1, T + 1):
                act = lens - 1 >= i
                Y[act] = self.model(Y[act])
                tgt = np.array([c[len(c) - 1 - i] for c, a in zip(chains, act, strict=True) if a])
                d = np.linalg.norm(Y[act] - tgt, axis=1)
                d = np.where(np.isfinite(d), d, np.inf)
                res[act] = np.maximum(res[act], d)
        return res


# ====================================================================== main entry points
def _orbit_id(manifold, default):
    oid = getattr(manifold, "orbit_id", None)
    return default if oid is None else int(oid)


def _same_orbit(mu, ms) -> bool:
    if mu.orbit is ms.orbit:
        return True
    iu, is_ = getattr(mu, "orbit_id", None), getattr(ms, "orbit_id", None)
    if iu is not None and is_ is not None:
        return iu == is_
    a, b = _orbit_points(mu), _orbit_points(ms)
    if a.shape != b.shape:
        return False
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return bool(np.all(d.min(axis=1) <= 1e-9 * max(1.0, float(np.abs(a).max()))))


class _Found:
    """Intersection points found so far, as lists of arrays (piece indices, local coordinates on
    the unstable piece, points, transversality, angles)."""

    def __init__(self):
        self.fi, self.fj, self.fa, self.fx, self.ft, self.fang = [], [], [], [], [], []
        self._cache = None

    def add(self, i, j, a, x, t, ang):
        self.fi.append(i)
        self.fj.append(j)
        self.fa.append(a)
        self.fx.append(x)
        self.ft.append(t)
        self.fang.append(ang)
        self._cache = None

    def distinct(self, ud, sd, orb_pts, scale, exclude_radius):
        """Indices of the distinct non-trivial points in depth-sum order, and the sorted arrays.

        Points within ``exclude_radius * L`` of an orbit point are the trivial intersection;
        of points closer than ``1e-9 L`` to each other (the same point found in two pieces
        sharing a boundary) the first in depth-sum order is kept.
        """
        if self._cache is not None:
            return self._cache
        if not self.fi:
            return np.zeros(0, dtype=int), None
        FI, FJ = np.concatenate(self.fi), np.concatenate(self.fj)
        FA, P = np.concatenate(self.fa), np.concatenate(self.fx)
        FT, FANG = np.concatenate(self.ft), np.concatenate(self.fang)
        order = np.argsort(ud[FI] + sd[FJ], kind="stable")
        arrs = tuple(x[order] for x in (FI, FJ, FA, P, FT, FANG))
        P = arrs[3]
        Ls = np.maximum(scale, np.linalg.norm(P, axis=1))
        dorb = np.min(np.linalg.norm(P[:, None, :] - orb_pts[None], axis=2), axis=1)
        alive = dorb > exclude_radius * Ls
        dup = cKDTree(P).query_pairs(1e-9 * float(Ls.max()), output_type="ndarray")
        if len(dup):
            # keep the first of two coincident points (lower depth sum)
            alive[np.max(dup, axis=1)] = False
        self._cache = (np.nonzero(alive)[0], arrs)
        return self._cache


def _solve_chunk(A: _Pieces, B: _Pieces, pc: np.ndarray, M: int, scale: float, acc: _Found):
    """Intersect the candidate piece pairs ``pc`` and add the points found to ``acc``."""
    Uu, Us = A.bases[pc[:, 0]], B.bases[pc[:, 1]]
    if A.n + B.n != M:
        full, angle = _spans(Uu, Us, M)
        rest = [(k, bool(full[k]), float(angle[k])) for k in range(len(pc))]
    else:
        K = np.concatenate([Uu, -Us], axis=2)
        # unit columns: |det K| <= 1 (Hadamard); pairs singular to round-off go to the LP, and
        # transversality (the singular value ratio) is decided for the points that are kept
        sing = np.abs(np.linalg.det(K)) <= _DET_TOL
        rest = [(k, False, 0.0) for k in np.nonzero(sing)[0]]
        idx = np.nonzero(~sing)[0]
        if idx.size:
            ia, jb = pc[idx, 0], pc[idx, 1]
            rhs = B.origins[jb] - A.origins[ia]
            sol = np.linalg.solve(K[idx], rhs[..., None])[..., 0]
            a, b = sol[:, : A.n], sol[:, A.n :]
            inu = np.all(np.einsum("prn,pn->pr", A.G[ia], a) <= A.g[ia] + A.gtol[ia, None], axis=1)
            ins = np.all(np.einsum("prn,pn->pr", B.G[jb], b) <= B.g[jb] + B.gtol[jb, None], axis=1)
            ok = inu & ins
            if ok.any():
                n_ok = int(ok.sum())
                acc.add(
                    ia[ok],
                    jb[ok],
                    a[ok],
                    A.origins[ia[ok]] + np.einsum("pmn,pn->pm", A.bases[ia[ok]], a[ok]),
                    np.ones(n_ok, dtype=bool),
                    np.full(n_ok, np.nan),  # decided after deduplication
                )
    for k, trans, ang in rest:
        i, j = pc[k]
        res = _lp_point(A.pieces[i], B.pieces[j], M, scale)
        if res is not None:
            a = res[0]
            acc.add(
                np.array([i]),
                np.array([j]),
                a[None],
                (A.origins[i] + A.bases[i] @ a)[None],
                np.array([trans]),
                np.array([ang if trans else 0.0]),
            )


def intersect_manifolds(
    model,
    unstable,
    stable,
    *,
    exclude_radius: float = 1e-6,
    verify: bool = True,
    converge_tol: float = 1e-6,
    backward_radius: float = 1e-3,
    shadow_tol: float = 1e-6,
    max_backward: int = 2000,
    forward_steps: int | None = None,
    unstable_id: int | None = None,
    stable_id: int | None = None,
    max_points: int | None = None,
    count_all: bool = True,
) -> tuple[list[Intersection], int, int, bool]:
    r"""Intersection points of one unstable and one stable manifold.

    Parameters
    ----------
    model : PLMap
        The map both manifolds belong to.
    unstable, stable : Manifold
        :func:`~plrnn_manifolds.manifolds.grow_manifold` results of kind ``"unstable"`` and
        ``"stable"``.
    exclude_radius : float
        Points closer than ``exclude_radius * L`` to an orbit point of either orbit are dropped
        (the trivial intersection at the orbit).
    verify : bool
        Run the forward and shadowing checks (module docstring).
    converge_tol, backward_radius, shadow_tol : float
        Relative tolerances of the checks (units of ``L = max(scale, |x|)``): closest forward
        approach to the stable orbit; how close to the unstable orbit the shadowed back point
        must get; largest allowed mismatch of the forward shadow.
    max_backward : int
        Cap on shadowing steps.
    forward_steps : int, optional
        Forward iterations (default ``stable depth + 200 * period``).
    unstable_id, stable_id : int, optional
        Orbit ids written into the results (default: the manifolds' ``orbit_id``).
    max_points : int, optional
        Keep (and verify) only the ``max_points`` points with the lowest depth sums.
    count_all : bool
        With ``max_points``: ``True`` intersects every candidate pair, so that the number of
        distinct points is the total; ``False`` works through the candidates in order of
        depth sum and stops once ``max_points`` distinct points are known (much faster for
        long manifolds; the count is then a lower bound). The points kept are the same.

    Returns
    -------
    (list of Intersection, int, int, bool)
        The points (deduplicated, sorted by depth sum), the number of candidate piece pairs
        examined, the number of distinct points found, and whether every candidate was
        examined (so that this number is the total).

    Raises
    ------
    DataError
        If the manifolds have the wrong kinds or live in another dimension.
    """
    if getattr(unstable, "kind", None) != "unstable" or getattr(stable, "kind", None) != "stable":
        raise DataError(
            "intersect_manifolds needs an unstable manifold and a stable manifold (check the "
            "argument order)"
        )
    M = model.M
    for man in (unstable, stable):
        if man.pieces and np.asarray(man.pieces[0].origin).shape != (M,):
            raise DataError(f"a manifold does not live in R^{M}; was it grown for another model?")
    iu = _orbit_id(unstable, unstable_id) if unstable_id is None else unstable_id
    is_ = _orbit_id(stable, stable_id) if stable_id is None else stable_id
    homo = _same_orbit(unstable, stable)
    kind = "homoclinic" if homo else "heteroclinic"
    if not unstable.pieces or not stable.pieces:
        return [], 0, 0, True
    scale = float(model.scale)
    A = _Pieces(unstable.pieces, M)
    B = _Pieces(stable.pieces, M)
    big = [np.abs(X[np.isfinite(X)]).max(initial=0.0) for X in (A.lo, A.hi, B.lo, B.hi)]
    pad = 1e-9 * max(scale, float(max(big)), 1.0)
    pairs = _candidate_pairs(A, B, pad)
    if len(pairs) and B.normals is not None and A.n <= _VERTEX_MAX_DIM:
        pairs = pairs[_straddles(A, B, pairs, swap=False)]
    if len(pairs) and A.normals is not None and B.n <= _VERTEX_MAX_DIM:
        pairs = pairs[_straddles(B, A, pairs, swap=True)]
    n_cand = len(pairs)
    if n_cand == 0:
        return [], 0, 0, True
    ud = np.array([p.depth for p in A.pieces])
    sd = np.array([p.depth for p in B.pieces])
    pairs = pairs[np.argsort(ud[pairs[:, 0]] + sd[pairs[:, 1]], kind="stable")]
    orb_pts = np.vstack([_orbit_points(unstable), _orbit_points(stable)])
    acc = _Found()
    early = max_points is not None and not count_all
    chunk = _EARLY_CHUNK if early else _SOLVE_CHUNK
    counted_all = True
    processed = 0
    for c0 in range(0, n_cand, chunk):
        _solve_chunk(A, B, pairs[c0 : c0 + chunk], M, scale, acc)
        processed = min(c0 + chunk, n_cand)
        if early and processed < n_cand:
            if len(acc.distinct(ud, sd, orb_pts, scale, exclude_radius)[0]) >= max_points:
                counted_all = False
                break
    if not acc.fi:
        return [], processed, 0, counted_all
    keep_idx, (FI, FJ, FA, P, FT, FANG) = acc.distinct(ud, sd, orb_pts, scale, exclude_radius)
    n_distinct = len(keep_idx)
    if max_points is not None:
        keep_idx = keep_idx[: int(max_points)]
    todo = keep_idx[np.isnan(FANG[keep_idx])]
    if todo.size:
        full, angle = _spans(A.bases[FI[todo]], B.bases[FJ[todo]], M)
        FT[todo], FANG[todo] = full, np.where(full, angle, 0.0)
    keep = [(FI[k], FJ[k], FA[k], P[k], bool(FT[k]), float(FANG[k])) for k in keep_idx]
    out = []
    for i, j, _a, x, trans, ang in keep:
        pu, ps = A.pieces[i], B.pieces[j]
        out.append(
            Intersection(
                kind=kind,
                unstable_orbit=iu,
                stable_orbit=is_,
                point=np.asarray(x, dtype=float),
                transversal=bool(trans),
                region="".join("1" if v else "0" for v in np.asarray(pu.region).ravel()),
                unstable_depth=int(pu.depth),
                stable_depth=int(ps.depth),
                angle=float(ang) if trans else 0.0,
            )
        )
    if verify and out:
        _verify(
            model,
            out,
            [(A.pieces[r[0]], r[2]) for r in keep],
            unstable,
            stable,
            converge_tol=converge_tol,
            backward_radius=backward_radius,
            shadow_tol=shadow_tol,
            max_backward=max_backward,
            forward_steps=forward_steps,
        )
    return out, processed, n_distinct, counted_all


def _verify(
    model,
    points,
    upieces,
    unstable,
    stable,
    *,
    converge_tol,
    backward_radius,
    shadow_tol,
    max_backward,
    forward_steps,
):
    scale = float(model.scale)
    X = np.array([p.point for p in points])
    L = np.maximum(scale, np.linalg.norm(X, axis=1))
    target = _orbit_points(stable)
    source = _orbit_points(unstable)
    if forward_steps is None:
        dmax = max(p.stable_depth for p in points)
        forward_steps = dmax + 200 * target.shape[0]
    best, when = _forward_check(model, X, target, int(forward_steps))
    sh = _Shadower(model, source, backward_radius, int(max_backward))
    chains, notes_b = [], []
    for k, p in enumerate(points):
        piece, a = upieces[k]
        chain, _, dist, note = sh.chain(piece, a, p.point, float(L[k]))
        chains.append(chain)
        notes_b.append(note)
        p.backward_distance = None if dist is None else dist / L[k]
        p.backward_steps = 0 if chain is None else len(chain) - 1
    ok = [k for k, c in enumerate(chains) if c is not None]
    if ok:
        res = sh.forward_residuals([chains[k] for k in ok])
        for k, r in zip(ok, res, strict=True):
            points[k].shadow_residual = float(r / L[k])
    for k, p in enumerate(points):
        p.forward_distance = float(best[k] / L[k])
        p.forward_steps = int(when[k])
        res = p.shadow_residual
        fwd_ok = p.forward_distance <= converge_tol
        bwd_ok = chains[k] is not None and not notes_b[k] and res is not None and res <= shadow_tol
        notes = []
        if not fwd_ok:
            notes.append(
                f"forward iterates came only {p.forward_distance:.2e} L close to the stable orbit"
            )
        if notes_b[k]:
            notes.append(notes_b[k])
        elif res is not None and res > shadow_tol:
            notes.append(f"forward shadow of the back point misses the itinerary by {res:.2e} L")
        p.verified = bool(fwd_ok and bwd_ok)
        p.note = "; ".join(notes)


def verify_intersection(model, point, unstable, stable, **kwargs) -> Intersection:
    r"""Run the forward and shadowing checks (module docstring) on any candidate point.

    The point is attributed to the nearest piece of ``unstable`` (its local coordinates are the
    orthogonal projection onto that piece's affine hull), so a point that is not on the unstable
    manifold fails the shadowing check, and one that is not on the stable manifold fails the
    forward check.

    Parameters
    ----------
    model : PLMap
    point : (M,) array_like
    unstable, stable : Manifold
    **kwargs
        ``converge_tol``, ``backward_radius``, ``shadow_tol``, ``max_backward``,
        ``forward_steps`` as in :func:`intersect_manifolds`.

    Returns
    -------
    Intersection
        With ``verified``, the check diagnostics, ``transversal`` from the two nearest pieces.
    """
    x = np.asarray(point, dtype=float).reshape(-1)
    if x.shape != (model.M,) or not np.all(np.isfinite(x)):
        raise DataError(f"point must be a finite vector of length M = {model.M}")
    if not unstable.pieces or not stable.pieces:
        raise DataError("both manifolds need pieces to verify a point against")
    du = [float(p.distance(x)[0]) for p in unstable.pieces]
    ds = [float(p.distance(x)[0]) for p in stable.pieces]
    pu = unstable.pieces[int(np.argmin(du))]
    ps = stable.pieces[int(np.argmin(ds))]
    a = pu.basis.T @ (x - pu.origin)
    full, ang = _spans(pu.basis[None], ps.basis[None], model.M)
    homo = _same_orbit(unstable, stable)
    rec = Intersection(
        kind="homoclinic" if homo else "heteroclinic",
        unstable_orbit=getattr(unstable, "orbit_id", None),
        stable_orbit=getattr(stable, "orbit_id", None),
        point=x,
        transversal=bool(full[0]),
        region="".join("1" if v else "0" for v in np.asarray(pu.region).ravel()),
        unstable_depth=int(pu.depth),
        stable_depth=int(ps.depth),
        angle=float(ang[0]) if full[0] else 0.0,
    )
    opts = {
        "converge_tol": 1e-6,
        "backward_radius": 1e-3,
        "shadow_tol": 1e-6,
        "max_backward": 2000,
        "forward_steps": None,
    }
    unknown = set(kwargs) - set(opts)
    if unknown:
        raise DataError(f"unknown option(s) {sorted(unknown)}; known: {sorted(opts)}")
    opts.update(kwargs)
    _verify(model, [rec], [(pu, a)], unstable, stable, **opts)
    return rec


def find_intersections(
    model,
    manifolds,
    *,
    pairs: str = "all",
    max_points: int | None = 1000,
    count_all: bool = True,
    **kwargs,
) -> IntersectionSearch:
    r"""Homoclinic and heteroclinic points among a set of manifolds.

    Every unstable manifold is intersected with every stable manifold (``pairs="all"``) or only
    with the stable manifold of the same orbit (``pairs="homoclinic"``).

    Parameters
    ----------
    model : PLMap
    manifolds : sequence of Manifold
        Manifolds of one or more saddle orbits (both kinds). Their ``orbit_id`` names the
        orbits in the output (the position in the sequence if unset).
    pairs : {"all", "homoclinic"}
    max_points : int or None
        Keep and verify at most this many points per manifold pair (lowest depth sums), and
        report at most this many overall (homoclinic and verified first); ``n_found`` keeps
        the total.
    count_all : bool
        See :func:`intersect_manifolds`: ``False`` stops each manifold pair once
        ``max_points`` distinct points are known (``n_found`` is then a lower bound and
        ``counted_all`` is False).
    **kwargs
        Passed to :func:`intersect_manifolds` (tolerances, ``verify``).

    Returns
    -------
    IntersectionSearch

    Notes
    -----
    Cost per manifold pair: ``O(N_u N_s M)`` for the vectorised bounding-box prefilter (pieces
    grouped by region), one batched ``M x M`` solve per candidate pair (complementary
    dimensions) or one LP per candidate pair otherwise, plus ``O(n_points (depth + 200 k) M H)``
    for verification.
    """
    t0 = time.perf_counter()
    if pairs not in ("all", "homoclinic"):
        raise DataError(f"pairs must be 'all' or 'homoclinic', got {pairs!r}")
    mans = list(manifolds)
    uns = [(k, m) for k, m in enumerate(mans) if getattr(m, "kind", None) == "unstable"]
    sts = [(k, m) for k, m in enumerate(mans) if getattr(m, "kind", None) == "stable"]
    res = IntersectionSearch(intersections=[])
    allpts = []
    for ku, mu in uns:
        for ks, ms in sts:
            if pairs == "homoclinic" and not _same_orbit(mu, ms):
                continue
            pts, nc, nd, whole = intersect_manifolds(
                model,
                mu,
                ms,
                unstable_id=_orbit_id(mu, ku),
                stable_id=_orbit_id(ms, ks),
                max_points=max_points,
                count_all=count_all,
                **kwargs,
            )
            res.n_candidates += nc
            res.n_found += nd
            res.counted_all = res.counted_all and whole
            res.pairs.append(
                {
                    "unstable_orbit": _orbit_id(mu, ku),
                    "stable_orbit": _orbit_id(ms, ks),
                    "n_points": nd,
                    "n_verified": sum(p.verified for p in pts),
                    "n_transversal": sum(p.transversal for p in pts),
                    "n_checked": len(pts),
                    "counted_all": bool(whole),
                }
            )
            allpts.extend(pts)
    allpts.sort(
        key=lambda p: (
            p.kind != "homoclinic",
            not p.verified,
            p.unstable_depth + p.stable_depth,
            -1 if p.unstable_orbit is None else p.unstable_orbit,
            -1 if p.stable_orbit is None else p.stable_orbit,
        )
    )
    if not res.counted_all:
        res.notes.append(
            f"at least {res.n_found} distinct intersection points exist within the computed "
            f"manifolds; the search stopped at {max_points} per manifold pair (those with the "
            "lowest depth sums, which are the ones kept)"
        )
    elif max_points is not None and res.n_found > len(allpts):
        res.notes.append(
            f"{res.n_found} distinct intersection points found; at most {max_points} per "
            "manifold pair (lowest depth sums) were verified"
        )
    if max_points is not None and len(allpts) > max_points:
        res.notes.append(
            f"{len(allpts)} verified candidates; the {max_points} with the lowest depth sums are "
            "reported (homoclinic and verified first)"
        )
        allpts = allpts[: int(max_points)]
    res.intersections = allpts
    res.seconds = time.perf_counter() - t0
    return res


# ====================================================================== chaos verdict
def _attractor_exponents(attractors):
    """``[(label, lambda_1, half_width)]`` from an AttractorCatalogue, a list of Attractor/dicts
    or a list of numbers."""
    out = []
    if attractors is None:
        return out
    items = getattr(attractors, "attractors", attractors)
    for k, a in enumerate(items):
        if isinstance(a, (int, float, np.floating, np.integer)):
            out.append((f"exponent {k}", float(a), 0.0))
            continue
        lyap = a.get("lyapunov") if isinstance(a, dict) else getattr(a, "lyapunov", None)
        hw = (
            a.get("lyapunov_half_width")
            if isinstance(a, dict)
            else getattr(a, "lyapunov_half_width", None)
        )
        aid = a.get("id", k) if isinstance(a, dict) else getattr(a, "id", k)
        kind = a.get("kind", "") if isinstance(a, dict) else getattr(a, "kind", "")
        if not lyap or lyap[0] is None:
            continue
        h = float(hw[0]) if hw else 0.0
        out.append((f"attractor {aid} ({kind})", float(lyap[0]), h))
    return out


def chaos_verdict(
    intersections,
    attractors=None,
    *,
    lyapunov_tol: float = 1e-3,
    manifolds=None,
) -> dict:
    r"""The chaos verdict ``{"verdict", "reasons"}``.

    Parameters
    ----------
    intersections : IntersectionSearch or list of Intersection
    attractors : AttractorCatalogue, list of Attractor / attractor dicts, or list of floats
        Source of the largest Lyapunov exponents. An exponent is *positive* when it exceeds
        ``lyapunov_tol`` by more than the half-width of its 95 % band (the rule that labels an
        attractor ``"chaotic"`` in :func:`~plrnn_manifolds.basins.find_attractors`).
    manifolds : sequence of Manifold or dicts, optional
        Only used to describe the limits of the computed manifolds in the reasons.

    Returns
    -------
    dict
        ``verdict``: ``"evidence"`` (a verified transversal homoclinic point and a positive
        largest exponent), ``"none"`` (no homoclinic point within the computed manifolds and no
        positive exponent) or ``"inconclusive"``; ``reasons``: sentences.
    """
    pts = list(getattr(intersections, "intersections", intersections) or [])
    homo = [p for p in pts if _get(p, "kind") == "homoclinic"]
    good = [p for p in homo if _get(p, "transversal") and _get(p, "verified")]
    exps = _attractor_exponents(attractors)
    pos = [(lab, lam, hw) for lab, lam, hw in exps if lam - hw > lyapunov_tol]
    reasons = []
    if good:
        orbs = sorted({_get(p, "unstable_orbit") for p in good}, key=lambda v: (v is None, v))
        reasons.append(
            f"{len(good)} verified transversal homoclinic point(s) of orbit(s) "
            f"{', '.join(str(o) for o in orbs)} were found: forward iterates converge to the "
            "saddle and backward shadowing along the unstable itinerary returns to it, which by "
            "the Smale-Birkhoff theorem indicates a horseshoe (a chaotic invariant set)."
        )
    elif homo:
        nt = sum(bool(_get(p, "transversal")) for p in homo)
        nv = sum(bool(_get(p, "verified")) for p in homo)
        reasons.append(
            f"{len(homo)} homoclinic point(s) were found, but none is both transversal and "
            f"verified ({nt} transversal, {nv} verified)."
        )
    else:
        lim = ""
        if manifolds:
            stops = sorted(
                {s for m in manifolds for s in (_get(m, "stopped_by") or []) if s != "complete"}
            )
            if stops:
                lim = f" (growth was limited by {', '.join(stops)})"
        reasons.append(
            "No homoclinic point was found within the computed manifolds"
            + lim
            + "; longer manifolds or higher-period saddles might still intersect."
        )
    het = [p for p in pts if _get(p, "kind") == "heteroclinic"]
    if het:
        reasons.append(f"{len(het)} heteroclinic point(s) were found.")
    if not exps:
        reasons.append("No attractor with Lyapunov exponents was available.")
    elif pos:
        lab, lam, hw = max(pos, key=lambda r: r[1])
        reasons.append(
            f"The largest Lyapunov exponent is positive: {lam:.4g} +/- {hw:.2g} per step ({lab})."
        )
    else:
        lab, lam, hw = max(exps, key=lambda r: r[1])
        reasons.append(
            f"No attractor has a positive largest Lyapunov exponent (the largest is {lam:.4g} "
            f"+/- {hw:.2g} per step, {lab}; threshold {lyapunov_tol:g} beyond the band)."
        )
    if good and pos:
        verdict = "evidence"
        reasons.append(
            "Both indicators agree, so this is numerical evidence of chaos, obtained from finite "
            "manifolds and exponents computed in floating point."
        )
    elif not homo and exps and not pos:
        verdict = "none"
        reasons.append(
            "Neither indicator shows chaos; this describes the computed manifolds and the "
            "attractors found, and chaos beyond them is not ruled out."
        )
    else:
        verdict = "inconclusive"
        if good and not pos:
            reasons.append(
                "A horseshoe without a positive attractor exponent suggests a chaotic saddle "
                "(transient chaos) rather than a chaotic attractor."
            )
        elif pos and not good:
            reasons.append(
                "A positive exponent without a verified transversal homoclinic point: grow the "
                "manifolds further or search higher-period saddles."
            )
    return {"verdict": verdict, "reasons": reasons}


def _get(obj, name):
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)
