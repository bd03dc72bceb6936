r"""Exact growth of stable (backward) and unstable (forward) manifolds of saddle orbits.

Algorithm (DESIGN.md section 4)
-------------------------------
1. **Seeds.** At :math:`p_0` the ordered real Schur form of the monodromy gives the invariant
   subspace; :mod:`.seeds` computes the maximal invariant polytope :math:`S_0` in it, and
   :math:`S_j = F^j(S_0)` gives the seeds at the other cycle points, so that
   :math:`F(S_j) = S_{j+1}` for :math:`j < k-1` and :math:`F(S_{k-1}) \subseteq S_0` (stable) or
   :math:`\supseteq S_0` (unstable).
2. **Fundamental domain.** The levels :math:`F^{-n}(S)` are nested, so instead of reporting
   overlapping levels we grow only what is new: :math:`D = F^{-1}(S) \setminus S` (stable) or
   :math:`D = F(S) \setminus S` (unstable), split into convex cells. Pieces of depth ``m`` are
   the cells of :math:`F^{-(m-1)}(D)` (or :math:`F^{m-1}(D)`); with the seeds they tile the
   manifold without overlap (for invertible maps; for non-invertible ones distinct preimage
   branches may still overlap in the unstable manifold, which folds).
3. **Growth.** Forward: image under :math:`F_d`, split by the region hyperplanes (a flood fill
   over cells with linear programs). Backward: for every region :math:`d'` whose affine preimage
   meets the region, :math:`\{x \in P_{d'} : F_{d'}(x) \in Q\}`; regions are found by
   point-preimage iteration plus a flood across facets (complete for homeomorphisms), and by
   enumerating every region for non-invertible maps when that is feasible.
4. **Bounds.** Growth happens inside a *growth box* larger than the output box (so parts whose
   orbits leave the output box and come back are kept), up to a depth (map steps) and within a
   piece budget. Only the output is clipped to the output box.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..bounds import default_box, parse_box
from ..errors import ManifoldError
from ..maps import PLMap
from ..polytope import DEFAULT_TOL, Polytope, cells
from .pieces import (
    Piece,
    backward_image,
    box_rows,
    forward_image,
    link_residual,
    recentre,
    region_rows,
)
from .seeds import invariant_seed, one_period_constraints
from .subspaces import invariant_subspace


# ------------------------------------------------------------------------------ region catalogue
@dataclass
class RegionInfo:
    """What is known about the model's regions: enumerable patterns and invertibility.

    ``patterns`` lists every non-empty region when that was enumerable (``None`` otherwise);
    ``invertible`` is True when all region Jacobians have determinants of one sign (for a
    continuous piecewise-linear map this makes it a homeomorphism), False when signs differ,
    and None when not every region could be checked.
    """

    patterns: np.ndarray | None
    invertible: bool | None
    dets_sign: np.ndarray | None = None

    @classmethod
    def of(cls, model: PLMap, max_regions: int = 4096) -> RegionInfo:
        H, M = model.H, model.M
        if 2**H > max_regions:
            return cls(None, None)
        allp = ((np.arange(2**H)[:, None] >> np.arange(H)) & 1).astype(bool)
        if np.linalg.matrix_rank(model.W2) == H:
            # Hyperplanes with independent normals: every sign pattern is a non-empty cell.
            pats = allp
        else:
            pats = np.array([d for d in allp if _region_nonempty(model, d)])
        dets = np.linalg.det(model.jacobian(pats))
        sc = model.scale**M
        signs = np.sign(np.where(np.abs(dets) <= 1e-13 * sc, 0.0, dets))
        inv = bool(np.all(signs > 0) or np.all(signs < 0))
        return cls(pats, inv, signs)


def _region_nonempty(model: PLMap, d) -> bool:
    G, g = model.region(d)
    return not Polytope.from_halfspaces(G, g).is_empty()


# ------------------------------------------------------------------------------ result
@dataclass(eq=False)
class Manifold:
    """Stable or unstable manifold of a saddle orbit, as exact pieces.

    Attributes
    ----------
    orbit : Orbit
    kind : {"stable", "unstable"}
    dimension : int
    pieces : list of Piece
        Pieces clipped to the output box; disjoint up to shared boundaries (see module docs).
    box : (lo, hi)
        Output box.
    growth_box : (lo, hi)
        Box inside which growth happened.
    stopped_by : list of str
        Limits that stopped growth: ``"depth"``, ``"box"``, ``"budget"``; ``["complete"]`` when
        none did (the manifold ended inside the growth box).
    complete : bool
        True when preimage (or image) enumeration was complete at every step: no region could
        have been missed, no fold or singular region was skipped.
    max_residual : float
        Largest one-step residual of any piece, relative to ``model.scale``.
    events : list of str
        Folds, singular region maps and other things the user must know.
    """

    orbit: object
    kind: str
    dimension: int
    pieces: list
    box: tuple
    growth_box: tuple
    stopped_by: list
    complete: bool
    max_residual: float
    depth: int
    max_pieces: int
    method: str = "exact"
    events: list = field(default_factory=list)
    seeds: list = field(default_factory=list)
    n_tree_pieces: int = 0
    seconds: float = 0.0
    orbit_id: int | None = None
    scale: float = 1.0
    metrics: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ queries
    def distance(self, x) -> np.ndarray:
        """Exact Euclidean distance from ``x`` ``(M,)`` or ``(N, M)`` to the union of pieces.

        Pieces are visited in order of a lower bound (distance to their affine hull or bounding
        sphere) so that most are skipped. Returns ``inf`` for an empty manifold.
        """
        X = np.atleast_2d(np.asarray(x, dtype=float))
        out = np.full(len(X), np.inf)
        if not self.pieces:
            return out if np.ndim(x) > 1 else out[0]
        segs = [p for p in self.pieces if p.dimension == 1]
        rest = [p for p in self.pieces if p.dimension != 1]
        if segs:
            # 1-D pieces are segments: exact distances, vectorised over points and segments.
            ends = np.array([p.vertices() for p in segs])  # (S, 2, M)
            a, b = ends[:, 0], ends[:, 1]
            ab = b - a
            L2 = np.maximum(np.einsum("sm,sm->s", ab, ab), 1e-300)
            for i0 in range(0, len(X), 256):
                xs = X[i0 : i0 + 256]
                t = np.einsum("nsm,sm->ns", xs[:, None, :] - a[None], ab) / L2
                t = np.clip(t, 0.0, 1.0)
                proj = a[None] + t[..., None] * ab[None]
                out[i0 : i0 + 256] = np.linalg.norm(xs[:, None, :] - proj, axis=2).min(axis=1)
        if rest:
            centres, radii = self._spheres(rest)
            for i, xi in enumerate(X):
                lb = np.maximum(np.linalg.norm(centres - xi, axis=1) - radii, 0.0)
                best = out[i]
                for j in np.argsort(lb):
                    if lb[j] >= best:
                        break
                    best = min(best, float(rest[j].distance(xi)[0]))
                out[i] = best
        return out if np.ndim(x) > 1 else out[0]

    def _spheres(self, pieces):
        """Bounding spheres (centre, radius) of pieces, for pruning distance queries."""
        c, r = [], []
        for p in pieces:
            v = p.polytope.vertices() if p.dimension <= 2 else None
            if v is None or len(v) == 0:
                # n >= 3: no cheap bounding sphere; a zero lower bound visits the piece
                cc, _ = p.polytope.chebyshev()
                c.append(p.point(cc))
                r.append(np.inf)
            else:
                cc = v.mean(axis=0)
                c.append(p.point(cc))
                r.append(np.max(np.linalg.norm(v - cc, axis=1)))
        return np.array(c), np.array(r)

    def contains(self, x, tol: float | None = None) -> np.ndarray | bool:
        """Whether ``x`` lies on the manifold within ``tol`` (default ``1e-8 * scale``)."""
        tol = 1e-8 * self.scale if tol is None else tol
        d = self.distance(x)
        return d <= tol

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points spread over the pieces in proportion to their n-dimensional volume."""
        rng = np.random.default_rng(seed)
        if not self.pieces:
            raise ManifoldError("the manifold has no pieces inside the box; nothing to sample")
        vol = np.array([max(p.volume(), 0.0) for p in self.pieces])
        if not np.isfinite(vol).all() or vol.sum() <= 0:
            vol = np.ones(len(self.pieces))
        counts = rng.multinomial(n, vol / vol.sum())
        pts = [
            p.point(p.polytope.sample(int(m), rng))
            for p, m in zip(self.pieces, counts, strict=True)
            if m
        ]
        return np.vstack(pts)

    def to_dict(self) -> dict:
        """JSON-ready dict with the ``results.json`` fields (see docs/results.md)."""
        return {
            "orbit": self.orbit_id,
            "kind": self.kind,
            "dimension": self.dimension,
            "method": self.method,
            "stopped_by": list(self.stopped_by),
            "complete": bool(self.complete),
            "max_residual": float(self.max_residual),
            "depth": self.depth,
            "max_pieces": self.max_pieces,
            "box": [self.box[0], self.box[1]],
            "growth_box": [self.growth_box[0], self.growth_box[1]],
            "events": list(self.events),
            "n_pieces": len(self.pieces),
            "seconds": self.seconds,
            "metrics": self.metrics,
            "pieces": [p.to_dict() for p in self.pieces],
        }


# ------------------------------------------------------------------------------ growth engine
class _Grower:
    def __init__(
        self, model, orbit, kind, lo, hi, glo, ghi, depth, max_pieces, regions, rng, progress=None
    ):
        self.model, self.orbit, self.kind = model, orbit, kind
        self.lo, self.hi, self.glo, self.ghi = lo, hi, glo, ghi
        self.depth, self.max_pieces = depth, max_pieces
        self.regions = regions
        self.rng = rng
        self.events: list[str] = []
        self.complete = True
        self.box_cut = False
        self.depth_hit = False
        # Polytope tolerances are relative to each polytope's own scale (see polytope.py).
        self.tol = DEFAULT_TOL
        self.progress = progress
        self.row_limit = 4 * (2 * model.M + model.H)

    # ---- helpers
    def _event(self, msg):
        if msg not in self.events:
            self.events.append(msg)

    def _make(self, region, depth, origin, basis, poly, parent, seed):
        """Intersect with the growth box, drop empty pieces, recentre, link to the parent."""
        Gb, gb = box_rows(self.glo, self.ghi, origin, basis)
        full = poly.intersect(Gb, gb)
        if full.is_empty(self.tol):
            if not poly.is_empty(self.tol):
                self.box_cut = True
            return None
        if poly.dim <= 2:
            red = full.remove_redundant()  # no LPs: vertex fast paths
            if _box_active(red, Gb, gb):
                self.box_cut = True
        else:
            # n >= 3: redundancy removal costs one LP per row, more than the growth step itself,
            # so it runs only when rows pile up; the box cut is certified by cheap ray shooting.
            red = full.remove_redundant() if len(full.g) > self.row_limit else full
            if _rays_hit_box(poly, Gb, gb, full.chebyshev()[0], self.rng):
                self.box_cut = True
        o2, p2, _ = recentre(origin, basis, red)
        piece = Piece(
            region=np.asarray(region, dtype=bool),
            depth=depth,
            origin=o2,
            basis=basis,
            polytope=p2,
            parent=parent,
            seed=seed,
        )
        piece.link = self._link(piece, parent) if parent is not None else None
        return piece

    def _link(self, child: Piece, parent: Piece):
        if self.kind == "stable":
            J, c = self.model.affine(child.region)
            R = parent.basis.T @ J @ child.basis
            t = parent.basis.T @ (J @ child.origin + c - parent.origin)
        else:
            J, c = self.model.affine(parent.region)
            R = child.basis.T @ J @ parent.basis
            t = child.basis.T @ (J @ parent.origin + c - child.origin)
        return R, t

    # ---- one step
    def forward_children(self, piece: Piece, depth: int) -> list[Piece]:
        img = forward_image(self.model, piece)
        if img is None:
            self.complete = False
            self._event(
                f"fold: the region map of {_pat(piece.region)} loses rank on the manifold at "
                f"depth {piece.depth}; the lower-dimensional image is not grown further"
            )
            return []
        o, U, poly, _ = img
        Gb, gb = box_rows(self.glo, self.ghi, o, U)
        clipped = poly.intersect(Gb, gb)
        if clipped.is_empty(self.tol):
            self.box_cut = True
            return []
        A = self.model.W2 @ U
        b = self.model.W2 @ o + self.model.h2
        out = []
        for sign, cell in cells(clipped, A, b, tol=self.tol):
            ch = self._make(sign, depth, o, U, cell, piece, piece.seed)
            if ch is not None:
                out.append(ch)
        return out

    def backward_children(self, piece: Piece, depth: int) -> list[Piece]:
        out, seen, queue = [], set(), deque()

        def try_region(d):
            key = d.tobytes()
            if key in seen:
                return None
            seen.add(key)
            pre = backward_image(self.model, piece, d)
            if pre is None:
                Gr, gr = self.model.region(d)
                self.complete = False
                self._event(
                    f"singular region map: region {_pat(d)} has a singular Jacobian, so the "
                    "preimage there is higher-dimensional; it is not included"
                )
                return None
            x0, U, poly, _ = pre
            Gr, gr = region_rows(self.model, d, x0, U)
            cell = poly.intersect(Gr, gr)
            if cell.is_empty(self.tol):
                return None
            ch = self._make(d, depth, x0, U, cell, piece, piece.seed)
            if ch is None:
                # non-empty preimage cell outside the growth box: still flood through it
                return "outside"
            out.append(ch)
            return ch

        exhaustive = self.regions.patterns is not None and self.regions.invertible is not True
        if exhaustive:
            for d in self.regions.patterns:
                try_region(d)
            return out
        for d in self._point_preimage_regions(piece):
            queue.append(d)
        if not queue:
            if self.regions.patterns is not None:
                queue.extend(self.regions.patterns)
            else:
                self.complete = False
                self._event(
                    "point-preimage search failed for a piece and the regions are too many to "
                    "enumerate; its preimage may be missing"
                )
        while queue:
            d = queue.popleft()
            r = try_region(d)
            if r is None:
                continue
            for i in range(self.model.H):
                nb = d.copy()
                nb[i] = ~nb[i]
                if nb.tobytes() not in seen:
                    queue.append(nb)
        if self.regions.invertible is None:
            self.complete = False
            self._event(
                "preimage enumeration incomplete: the map's invertibility could not be checked "
                f"(2^H = 2^{self.model.H} regions are too many to enumerate); preimage "
                "components not connected to a point preimage may be missed"
            )
        return out

    def _point_preimage_regions(self, piece: Piece, n_points: int = 4, max_iter: int = 100):
        """Regions of preimages of a few points of ``piece`` (SCYFI-style fixed-point iteration
        on the pattern: guess ``d``, solve ``J_d x = y - c_d``, re-pattern, repeat)."""
        found = {}
        pts = [np.zeros(piece.dimension)]
        pts += list(piece.polytope.sample(n_points - 1, self.rng))
        starts = [piece.region]
        if piece.parent is not None:
            starts.append(piece.parent.region)
        for s in pts:
            y = piece.point(s)
            for d0 in starts + [self.rng.random(self.model.H) < 0.5 for _ in range(4)]:
                d = np.asarray(d0, dtype=bool)
                for _ in range(max_iter):
                    J, c = self.model.affine(d)
                    try:
                        x = np.linalg.solve(J, y - c)
                    except np.linalg.LinAlgError:
                        break
                    dn = self.model.pattern(x)
                    if np.array_equal(dn, d):
                        found[d.tobytes()] = d
                        break
                    d = dn
                if found:
                    break
        return list(found.values())

    # ---- seeds
    def seeds(self) -> list[Piece]:
        orb, model = self.orbit, self.model
        M0 = orb.monodromy
        sub = invariant_subspace(M0, self.kind)
        U0 = sub.basis
        T = sub.restricted if self.kind == "stable" else np.linalg.inv(sub.restricted)
        C, c = one_period_constraints(model, orb, U0, self.glo, self.ghi)
        radius = float(np.linalg.norm(self.ghi - self.glo))
        S0 = invariant_seed(C, c, T, radius)
        seeds = [Piece(orb.patterns[0].astype(bool), 0, orb.points[0].copy(), U0, S0, seed=0)]
        for j in range(1, orb.period):
            prev = seeds[-1]
            img = forward_image(model, prev)
            if img is None:
                raise ManifoldError(
                    "the seed folds along the orbit (a region Jacobian is singular on the "
                    "invariant subspace); the manifold cannot be seeded at every cycle point"
                )
            o, U, poly, _ = img
            seeds.append(Piece(orb.patterns[j].astype(bool), 0, o, U, poly, seed=j))
        k = orb.period
        for j, s in enumerate(seeds):
            s.parent = seeds[(j + 1) % k] if self.kind == "stable" else seeds[(j - 1) % k]
            s.link = self._link(s, s.parent)
        return seeds

    def fundamental_domain(self, seeds: list[Piece]) -> list[Piece]:
        k = len(seeds)
        out = []
        for j in range(k):
            if self.kind == "stable":
                target, src = seeds[j], seeds[(j + 1) % k]
                children = self.backward_children(src, 1)
            else:
                target, src = seeds[(j + 1) % k], seeds[j]
                children = self.forward_children(src, 1)
            for ch in children:
                out.extend(self._subtract(ch, target))
        return out

    def _subtract(self, piece: Piece, seed: Piece) -> list[Piece]:
        """``piece`` minus the seed, as convex cells (only where they share region and hull)."""
        if not np.array_equal(piece.region, seed.region):
            return [piece]
        # seed constraints in the piece's local coordinates: z = o_p + U_p s = o_s + U_s t
        off = seed.basis.T @ (piece.origin - seed.origin)
        Rm = seed.basis.T @ piece.basis
        perp = piece.origin - seed.origin - seed.basis @ off
        if np.linalg.norm(perp) > 1e-7 * self.model.scale or abs(abs(np.linalg.det(Rm)) - 1) > 1e-6:
            return [piece]  # different affine hull: no overlap of positive measure
        Gs = seed.polytope.G @ Rm
        gs = seed.polytope.g - seed.polytope.G @ off
        inside = piece.polytope.intersect(Gs, gs)
        if inside.is_empty(self.tol):
            return [piece]
        parts = []
        Gacc = np.zeros((0, piece.dimension))
        gacc = np.zeros(0)
        for i in range(len(gs)):
            part = piece.polytope.intersect(
                np.vstack([Gacc, -Gs[i : i + 1]]), np.concatenate([gacc, -gs[i : i + 1]])
            )
            if not part.is_empty(self.tol):
                red = part.remove_redundant() if piece.dimension <= 2 else part
                o2, p2, _ = recentre(piece.origin, piece.basis, red)
                q = Piece(
                    piece.region, piece.depth, o2, piece.basis, p2, piece.parent, seed=piece.seed
                )
                q.link = self._link(q, q.parent)
                parts.append(q)
            Gacc = np.vstack([Gacc, Gs[i : i + 1]])
            gacc = np.concatenate([gacc, gs[i : i + 1]])
        return parts

    # ---- driver
    def run(self, interrupt=None):
        seeds = self.seeds()
        tree = list(seeds)
        frontier = deque(self.fundamental_domain(seeds))
        tree.extend(frontier)
        budget_hit = False
        while frontier:
            if interrupt is not None and interrupt():
                self._event("interrupted: growth stopped early")
                break
            piece = frontier.popleft()
            if piece.depth >= self.depth:
                self.depth_hit = True
                continue
            if len(tree) >= self.max_pieces:
                budget_hit = True
                break
            step = self.backward_children if self.kind == "stable" else self.forward_children
            kids = step(piece, piece.depth + 1)
            room = self.max_pieces - len(tree)
            if len(kids) > room:
                kids = kids[:room]
                budget_hit = True
            tree.extend(kids)
            frontier.extend(kids)
            if self.progress is not None:
                self.progress(len(tree), piece.depth + 1)
        stopped = []
        if self.depth_hit:
            stopped.append("depth")
        if self.box_cut:
            stopped.append("box")
        if budget_hit:
            stopped.append("budget")
        return seeds, tree, stopped or ["complete"]


def _pat(d) -> str:
    return "".join("1" if x else "0" for x in np.asarray(d).ravel())


def _box_active(poly: Polytope, Gb: np.ndarray, gb: np.ndarray) -> bool:
    """Whether one of the (normalised) box rows survives in a redundancy-free polytope."""
    nb = np.linalg.norm(Gb, axis=1)
    keep = nb > 0
    Gn, gn = Gb[keep] / nb[keep, None], gb[keep] / nb[keep]
    if len(poly.g) == 0:
        return False
    dots = poly.G @ Gn.T
    close = (dots > 1 - 1e-9) & (np.abs(poly.g[:, None] - gn[None, :]) <= 1e-9 * (1 + np.abs(gn)))
    return bool(close.any())


def _rays_hit_box(poly: Polytope, Gb, gb, centre, rng, n_rays: int = 64) -> bool:
    """Shoot rays from an interior point of ``poly ∩ box``; True if one leaves through a box
    facet first, which certifies that the box cuts ``poly`` (False is not a proof of the
    opposite, so ``"box"`` may be missing from ``stopped_by`` in rare cases for n >= 3)."""
    centre = np.asarray(centre, dtype=float)
    G = np.vstack([poly.G, Gb])
    slack = np.concatenate([poly.g, gb]) - G @ centre
    D = rng.normal(size=(n_rays, poly.dim))
    GD = D @ G.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(GD > 1e-14, slack[None, :] / GD, np.inf)
    first = np.argmin(t, axis=1)
    hit = np.isfinite(t[np.arange(n_rays), first])
    return bool(np.any(first[hit] >= len(poly.g)))


def _clip_output(piece: Piece, lo, hi, tol) -> Piece | None:
    """The part of a piece inside the output box (``None`` if it has no interior there).

    Redundant rows are removed for dimension <= 2 only (no LPs needed there); in higher
    dimensions the box rows are kept, which is exact but leaves some redundant rows.
    """
    Gb, gb = box_rows(lo, hi, piece.origin, piece.basis)
    poly = piece.polytope.intersect(Gb, gb)
    if poly.is_empty(tol):
        return None
    if piece.dimension <= 2:
        poly = poly.remove_redundant()
        clipped = _box_active(poly, Gb, gb)
    else:
        clipped = True
    return Piece(
        piece.region,
        piece.depth,
        piece.origin,
        piece.basis,
        poly,
        piece.parent,
        piece.link,
        piece.seed,
        clipped=clipped,
    )


def grow_manifold(
    model: PLMap,
    orbit,
    kind: str,
    *,
    box=None,
    depth: int | None = None,
    max_pieces: int = 5000,
    growth_margin: float = 1.0,
    seed: int = 0,
    orbit_id: int | None = None,
    max_regions: int = 4096,
    n_residual_samples: int = 8,
    progress=None,
    interrupt=None,
) -> Manifold:
    r"""Grow the stable or unstable manifold of a saddle fixed point or cycle exactly.

    Parameters
    ----------
    model : PLMap
    orbit : Orbit
        A saddle orbit from :func:`plrnn_manifolds.orbits.find_orbits`.
    kind : {"stable", "unstable"}
    box : box spec, optional
        Output box, ``(lo, hi)`` arrays or a flat list (see
        :func:`~plrnn_manifolds.bounds.parse_box`).
        Default: :func:`~plrnn_manifolds.bounds.default_box` around long trajectories.
    depth : int, optional
        Maximum number of map steps from the seed (default ``max(20, 4 * period)``).
    max_pieces : int
        Piece budget (growth stops with ``"budget"`` in ``stopped_by``, no exception).
    growth_margin : float
        The growth box extends the output box by this fraction of its width on every side.
    seed : int
        Seeds the random point-preimage restarts and the residual samples.

    Returns
    -------
    Manifold

    Raises
    ------
    ManifoldError
        The orbit is not a saddle, the box is empty or does not contain the orbit.
    NonHyperbolicError
        An eigenvalue lies on the unit circle.

    Notes
    -----
    Each growth step costs one linear program per candidate region (backward) or per cell of the
    image (forward); the piece count grows with depth like the number of distinct itineraries.
    """
    t0 = time.perf_counter()
    if kind not in ("stable", "unstable"):
        raise ManifoldError(f"kind must be 'stable' or 'unstable', got {kind!r}")
    if orbit.classification != "saddle":
        raise ManifoldError(
            f"the orbit is {orbit.classification}, not a saddle (n_unstable = {orbit.n_unstable},"
            f" n_stable = {orbit.n_stable}); only saddles have proper stable and unstable "
            "manifolds"
        )
    if box is None:
        lo, hi = default_box(model, points=orbit.points, seed=seed)
    else:
        lo, hi = parse_box(box, model.M)
    pts = orbit.points
    if np.any(pts < lo) or np.any(pts > hi):
        raise ManifoldError(
            "the box does not contain the orbit (an orbit point lies outside it); enlarge the "
            "box so that it contains the saddle whose manifold you want"
        )
    if depth is None:
        depth = max(20, 4 * orbit.period)
    if int(depth) < 0 or int(max_pieces) < 1:
        raise ManifoldError("depth must be >= 0 and max_pieces >= 1")
    w = hi - lo
    glo, ghi = lo - growth_margin * w, hi + growth_margin * w
    rng = np.random.default_rng(seed)
    regions = RegionInfo.of(model, max_regions=max_regions)
    gr = _Grower(
        model,
        orbit,
        kind,
        lo,
        hi,
        glo,
        ghi,
        int(depth),
        int(max_pieces),
        regions,
        rng,
        progress=progress,
    )
    seeds, tree, stopped = gr.run(interrupt=interrupt)
    pieces = [q for q in (_clip_output(p, lo, hi, DEFAULT_TOL) for p in tree) if q is not None]
    scale = model.scale
    res_rng = np.random.default_rng(seed + 1)
    max_res = 0.0
    for p in tree:
        r = link_residual(model, p, kind, n_residual_samples, res_rng)
        nrm = max(1.0, float(np.linalg.norm(p.origin)))
        max_res = max(max_res, r / (scale * nrm))
    if regions.invertible is False and kind == "stable":
        gr._event(
            "the map is not invertible (region determinants differ in sign); every region was "
            "searched for preimage components"
        )
    return Manifold(
        orbit=orbit,
        kind=kind,
        dimension=seeds[0].dimension,
        pieces=pieces,
        box=(lo, hi),
        growth_box=(glo, ghi),
        stopped_by=stopped,
        complete=gr.complete,
        max_residual=max_res,
        depth=int(depth),
        max_pieces=int(max_pieces),
        events=gr.events,
        seeds=seeds,
        n_tree_pieces=len(tree),
        seconds=time.perf_counter() - t0,
        orbit_id=orbit_id,
        scale=scale,
    )
