r"""Exact growth of stable (backward) and unstable (forward) manifolds of saddle orbits.

Algorithm (DESIGN.md section 4)
-------------------------------
1. **Seeds.** At :math:`p_0` the ordered real Schur form of the monodromy gives the invariant
   subspace; :mod:`.seeds` computes the maximal invariant polytope :math:`S_0` in it, and
   :math:`S_j = F^j(S_0)` gives the seeds at the other cycle points, so that
   :math:`F(S_j) = S_{j+1}` for :math:`j < k-1` and :math:`F(S_{k-1}) \subseteq S_0` (stable) or
   :math:`\supseteq S_0` (unstable).
2. **Fundamental domain.** The levels :math:`F^{-n}(S)` are nested, so instead of reporting
   overlapping levels we grow only what is new. Each seed :math:`S_j` is the *maximal* set of
   the invariant subspace at :math:`p_j` whose linearised orbit stays in the orbit's regions and
   the growth box, so the preimage of :math:`S_{j+1}` in the orbit's own region :math:`d_j` is
   :math:`S_j` itself: the fundamental domain is the preimage (image) of the seeds in all the
   *other* regions, with no set difference. Pieces of depth ``m`` are the cells of
   :math:`F^{-(m-1)}(D)` (or :math:`F^{m-1}(D)`); with the seeds they tile the manifold without
   overlap (for invertible maps; for non-invertible ones distinct preimage branches may still
   overlap in the unstable manifold, which folds).
3. **Growth.** Forward: image under :math:`F_d`, split by the region hyperplanes (a flood fill
   over cells with linear programs). Backward: for every region :math:`d'` whose affine preimage
   meets the region, :math:`\{x \in P_{d'} : F_{d'}(x) \in Q\}`; regions are found by
   point-preimage iteration plus a flood across facets (complete for homeomorphisms), and by
   enumerating every region for non-invertible maps when that is feasible. One-dimensional
   manifolds (pieces are segments) do all of this in closed form, by interval arithmetic on the
   line (:mod:`.intervals`, no LP, no vertex enumeration), with the same pieces as the general
   path up to round-off.
4. **Bounds.** Growth happens inside a *growth box* (by default larger than the output box, so
   parts whose orbits leave the output box and come back are kept), up to a depth (map steps)
   and within a piece budget. Stable manifolds of dimension >= 3 keep whole preimage cells in
   the tree (bounded, because the seeds are) as long as they meet the growth box, so no box rows
   pile up in their LPs; lower dimensions clip every piece to the growth box. Only the output
   is clipped to the output box.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import schur as _schur

from ..bounds import default_box, parse_box
from ..errors import ManifoldError
from ..maps import PLMap
from ..polytope import DEFAULT_TOL, Polytope, cells
from .intervals import Interval, box_active, cells_1d, line_box, orth1
from .pieces import (
    Piece,
    backward_image,
    box_rows,
    forward_image,
    hull_distances,
    link_residual,
    recentre,
    residual_points,
    solve_with_inverse,
)
from .seeds import invariant_seed, one_period_constraints
from .subspaces import invariant_subspace

# Private switch, for tests and benchmarks only: 1-D manifolds (pieces are intervals on lines)
# take the closed-form interval path of :mod:`.intervals` instead of the general polytope
# machinery. Both give the same pieces up to round-off; set it to False to compare.
_FAST_1D = True


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
        H = model.H
        if 2**H > max_regions:
            return cls(None, None)
        allp = ((np.arange(2**H)[:, None] >> np.arange(H)) & 1).astype(bool)
        if np.linalg.matrix_rank(model.W2) == H:
            # Hyperplanes with independent normals: every sign pattern is a non-empty cell.
            pats = allp
        else:
            pats = np.array([d for d in allp if _region_nonempty(model, d)])
        J = model.jacobian(pats)
        signs, _ = np.linalg.slogdet(J)
        # Singular means numerically singular relative to the matrix itself (a determinant
        # compared with scale**M would call every strongly contracting Jacobian singular).
        sv = np.linalg.svd(J, compute_uv=False)
        singular = sv[:, -1] <= 1e-12 * np.maximum(sv[:, 0], 1e-300)
        signs = np.where(singular, 0.0, signs)
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
            # two lower bounds: the bounding sphere (pieces of dimension 2) and the distance to
            # the affine hull (the only one for dimension >= 3, where spheres are absent)
            hull = hull_distances(rest, X)
            for i, xi in enumerate(X):
                lb = np.maximum(np.linalg.norm(centres - xi, axis=1) - radii, hull[:, i])
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
                cc, _ = p.polytope.inner_ball()
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
        """``n`` points on the pieces.

        For dimension <= 5 the pieces are chosen in proportion to their volume and points are
        exactly uniform in a piece, so the sample is uniform on the manifold. Above that, volumes
        and uniform samplers are too costly (2 n LPs and long hit-and-run chains per piece):
        pieces are then chosen with equal weight and points come from short hit-and-run chains
        (``5 n + 50`` burn-in steps), so the sample covers every part of the manifold but is not
        uniform.
        """
        rng = np.random.default_rng(seed)
        if not self.pieces:
            raise ManifoldError("the manifold has no pieces inside the box; nothing to sample")
        high = self.dimension > 5
        if high:
            vol = np.ones(len(self.pieces))
        else:
            vol = np.array([max(p.volume(), 0.0) for p in self.pieces])
            if not np.isfinite(vol).all() or vol.sum() <= 0:
                vol = np.ones(len(self.pieces))
        counts = rng.multinomial(n, vol / vol.sum())
        kw = {"burn_in": 5 * self.dimension + 50, "thin": self.dimension} if high else {}
        pts = [
            p.point(p.polytope.sample(int(m), rng, **kw))
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
        self.scale = model.scale
        # Stable manifolds of dimension >= 3 keep their tree pieces unclipped (see run()).
        self.clip_tree = True
        self._regions_cache: dict = {}
        self._flood_cost = 0.0  # running mean of LPs per flood (unclipped trees)
        self._slabs = None
        self._region_boxes: dict = {}
        self.fast1d = False  # set in run(): 1-D pieces take the interval fast path

    # ---- helpers
    def _event(self, msg):
        if msg not in self.events:
            self.events.append(msg)

    def _region(self, d):
        """Cached per region: ``(J, J^{-1} or None if singular, c, Gr, gr)``."""
        key = d.tobytes()
        out = self._regions_cache.get(key)
        if out is None:
            J, c = self.model.affine(d)
            Gr, gr = self.model.region(d)
            Jinv = None if np.linalg.cond(J) > 1e12 else np.linalg.inv(J)
            out = (J, Jinv, c, Gr, gr)
            self._regions_cache[key] = out
        return out

    def _new_piece(self, region, depth, origin, basis, poly, parent, seed):
        o2, p2, _ = recentre(origin, basis, poly)
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

    def _make(self, region, depth, origin, basis, poly, parent, seed, in_box=False):
        """Intersect with the growth box (unless ``in_box``: already inside it), drop empty
        pieces, recentre, link to the parent."""
        if in_box:
            full = poly
        else:
            Gb, gb = box_rows(self.glo, self.ghi, origin, basis)
            full = poly.intersect(Gb, gb)
            if full.is_empty(self.tol):
                if not poly.is_empty(self.tol):
                    self.box_cut = True
                return None
        if poly.dim <= 2:
            red = full.remove_redundant()  # no LPs: vertex fast paths
            if not in_box and _box_active(red, Gb, gb):
                self.box_cut = True
        else:
            # n >= 3: redundancy removal costs one LP per row, more than the growth step itself,
            # so it runs only when rows pile up; the box cut is certified by cheap ray shooting.
            if full.is_empty(self.tol):
                return None
            red = full.remove_redundant() if len(full.g) > self.row_limit else full
            if not in_box and _rays_hit_box(poly, Gb, gb, full.inner_ball()[0], self.rng):
                self.box_cut = True
        return self._new_piece(region, depth, origin, basis, red, parent, seed)

    def _link(self, child: Piece, parent: Piece):
        if self.kind == "stable":
            J, _, c, _, _ = self._region(child.region)
            R = parent.basis.T @ J @ child.basis
            t = parent.basis.T @ (J @ child.origin + c - parent.origin)
        else:
            J, _, c, _, _ = self._region(parent.region)
            R = child.basis.T @ J @ parent.basis
            t = child.basis.T @ (J @ parent.origin + c - child.origin)
        return R, t

    # ---- 1-D fast path (pieces are intervals; see .intervals)
    def _interval_piece(self, region, depth, origin, u, iv: Interval, parent, seed) -> Piece:
        """The piece ``origin + u s``, ``s`` in ``iv``, recentred at the interval's midpoint
        (exactly as :meth:`_new_piece` does through the general path)."""
        c = 0.5 * (iv.lo + iv.hi)
        lo, hi = -((-iv.lo) + c), iv.hi - c
        piece = Piece(
            region=np.asarray(region, dtype=bool),
            depth=depth,
            origin=origin + u * c,
            basis=u[:, None],
            polytope=Interval(lo, hi, max(abs(lo), abs(hi))).polytope(),
            parent=parent,
            seed=seed,
        )
        piece.link = self._link(piece, parent) if parent is not None else None
        return piece

    def _line_box(self, origin, u):
        """Growth box rows ``a s <= b`` on the line ``origin + u s``."""
        return line_box(origin, u, self.glo, self.ghi)

    def _preimage_child_1d(self, piece: Piece, d, depth: int):
        """Closed-form ``try_region`` for 1-D pieces: the preimage of ``piece`` under ``F_d`` in
        region ``d`` and the growth box. Returns ``"singular"``, ``None`` (no interior),
        ``"outside"`` (non-empty, but outside the growth box) or the child piece."""
        J, Jinv, c, Gr, gr = self._region(d)
        if Jinv is None:
            return "singular"
        sol = solve_with_inverse(J, Jinv, np.column_stack([piece.origin - c, piece.basis]))
        x0 = sol[:, 0]
        q = orth1(sol[:, 1])
        if q is None:
            return "singular"
        u, r = q
        cell = Interval.of(piece.polytope).scaled(r).clip(Gr @ u, gr - Gr @ x0)
        if cell.is_empty(self.tol):
            return None
        a, b = self._line_box(x0, u)
        full = cell.clip(a, b)
        if full.is_empty(self.tol):
            self.box_cut = True
            return "outside"
        if box_active(full, a, b):
            self.box_cut = True
        return self._interval_piece(d, depth, x0, u, full, piece, piece.seed)

    def _forward_children_1d(self, piece: Piece, depth: int, skip=None) -> list[Piece]:
        """Closed-form :meth:`forward_children` for 1-D pieces."""
        J, _, c, _, _ = self._region(piece.region)
        q = orth1(J @ piece.basis[:, 0])
        if q is None:
            self.complete = False
            self._event(
                f"fold: the region map of {_pat(piece.region)} loses rank on the manifold at "
                f"depth {piece.depth}; the lower-dimensional image is not grown further"
            )
            return []
        u, r = q
        o = J @ piece.origin + c
        a, b = self._line_box(o, u)
        clipped = Interval.of(piece.polytope).scaled(r).clip(a, b)
        if clipped.is_empty(self.tol):
            self.box_cut = True
            return []
        if not self.box_cut and box_active(clipped, a, b):
            self.box_cut = True
        W2, h2 = self.model.W2, self.model.h2
        out = []
        for sign, cell in cells_1d(clipped, W2 @ u, W2 @ o + h2, self.tol):
            if skip is not None and np.array_equal(sign, skip):
                continue
            out.append(self._interval_piece(sign, depth, o, u, cell, piece, piece.seed))
        return out

    # ---- one step
    def forward_children(self, piece: Piece, depth: int, skip=None) -> list[Piece]:
        """Cells of the image of ``piece`` inside the growth box (except region ``skip``)."""
        if self.fast1d:
            return self._forward_children_1d(piece, depth, skip)
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
        if not self.box_cut:
            if poly.dim <= 2:
                if _box_active(clipped.remove_redundant(), Gb, gb):
                    self.box_cut = True
            elif _rays_hit_box(poly, Gb, gb, clipped.inner_ball()[0], self.rng):
                self.box_cut = True
        A = self.model.W2 @ U
        b = self.model.W2 @ o + self.model.h2
        out = []
        for sign, cell in cells(clipped, A, b, tol=self.tol):
            if skip is not None and np.array_equal(sign, skip):
                continue
            ch = self._make(sign, depth, o, U, cell, piece, piece.seed, in_box=True)
            if ch is not None:
                out.append(ch)
        return out

    def _preimage_cell(self, piece: Piece, d):
        """``(x0, U, cell)``: the preimage of ``piece`` under ``F_d`` intersected with region
        ``d`` (no box), or ``None`` when ``J_d`` is singular."""
        J, Jinv, c, Gr, gr = self._region(d)
        pre = backward_image(self.model, piece, d, inverse=(J, Jinv, c))
        if pre is None:
            return None
        x0, U, poly, _ = pre
        return x0, U, poly.intersect(Gr @ U, gr - Gr @ x0)

    def _image_slabs(self):
        """``(V, lo, hi)`` with ``lo <= V^T F(x) <= hi`` for every ``x`` in the growth box.

        Directions ``V``: the axes and the real Schur vectors of the orbit's monodromy (in which
        the local dynamics contracts or expands cleanly). With enumerable regions the bounds
        are the union over regions ``d`` of the exact extents of the parallelotopes
        ``F_d(box of region d ∩ growth box)``; otherwise interval arithmetic on the axes.
        """
        if self._slabs is not None:
            return self._slabs
        M = self.model.M
        pats = self.regions.patterns
        if pats is None:
            lo, hi = _image_bounds(self.model, self.glo, self.ghi)
            self._slabs = (np.eye(M), lo, hi)
            return self._slabs
        try:
            _, Q, _ = schur_real(self.orbit.monodromy)
        except Exception:  # noqa: BLE001 - the axes alone are still valid
            Q = np.eye(M)
        V = np.hstack([np.eye(M), Q])
        lo = np.full(V.shape[1], np.inf)
        hi = np.full(V.shape[1], -np.inf)
        for d in pats:
            box = self._region_box(d)
            if box is None:
                continue
            J, _, c, _, _ = self._region(d)
            mid, rad = 0.5 * (box[0] + box[1]), 0.5 * (box[1] - box[0])
            VJ = V.T @ J
            centre = VJ @ mid + V.T @ c
            ext = np.abs(VJ) @ rad
            lo = np.minimum(lo, centre - ext)
            hi = np.maximum(hi, centre + ext)
        pad = 1e-9 * (self.scale + np.abs(lo) + np.abs(hi))
        self._slabs = (V, lo - pad, hi + pad)
        return self._slabs

    def _region_box(self, d):
        """Bounding box of ``region d ∩ growth box`` by bound tightening (exact for region
        hyperplanes along the axes, an outer bound otherwise); ``None`` if certainly empty."""
        key = d.tobytes()
        if key in self._region_boxes:
            return self._region_boxes[key]
        _, _, _, Gr, gr = self._region(d)
        lo, hi = self.glo.copy(), self.ghi.copy()
        for _ in range(2):
            for a, b in zip(Gr, gr, strict=True):
                # a . x <= b: a_k x_k <= b - sum_{i != k} min(a_i x_i)
                mins = np.minimum(a * lo, a * hi)
                total = mins.sum()
                for k in np.flatnonzero(np.abs(a) > 1e-14):
                    bound = (b - (total - mins[k])) / a[k]
                    if a[k] > 0:
                        hi[k] = min(hi[k], bound)
                    else:
                        lo[k] = max(lo[k], bound)
        out = None if np.any(lo > hi + 1e-12 * (1 + np.abs(hi))) else (lo, hi)
        self._region_boxes[key] = out
        return out

    def _hull_misses_region(self, piece: Piece, d, normals) -> bool:
        """True if the affine preimage of the hull of ``piece`` under ``F_d`` certainly misses
        ``region d ∩ growth box``: some normal hyperplane of it misses the region's bounding
        box (closed form, no LP). False means "unknown"."""
        box = self._region_box(d)
        if box is None:
            return True
        J, Jinv, c, _, _ = self._region(d)
        if Jinv is None:
            return False
        lo, hi = box
        mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
        nu = J.T @ normals  # normals of the preimage hull {x : N^T (J x + c - o) = 0}
        gap = np.abs(nu.T @ mid + normals.T @ (c - piece.origin))
        reach = np.abs(nu.T) @ rad
        slack = 1e-9 * (self.scale * (1 + np.abs(mid).max()) + np.abs(gap))
        return bool(np.any(gap > reach + slack))

    def backward_children(self, piece: Piece, depth: int, skip=None) -> list[Piece]:
        """Cells of the preimage of ``piece``, one per region, that meet the growth box.

        Region ``skip`` is treated as non-empty and flooded through but yields no child (the
        seed's own region in the fundamental domain).

        Clipped trees (dimension <= 2) store ``cell ∩ growth box``; unclipped trees (dimension
        >= 3) store the whole cell when it meets the growth box, so its rows do not pile up
        with box rows and orbits that leave the box and return are kept.
        """
        out, seen, queue = [], set(), deque()
        skip_key = None if skip is None else np.asarray(skip, dtype=bool).tobytes()
        if not self.clip_tree and skip is None:
            # Leaf test (one LP instead of one per region): preimages inside the growth box
            # map into F(box), which lies between the slabs flo <= V^T y <= fhi; a piece
            # missing them has no child.
            V, flo, fhi = self._image_slabs()
            VU = V.T @ piece.basis
            Vo = V.T @ piece.origin
            Gf, gf = np.vstack([VU, -VU]), np.concatenate([fhi - Vo, Vo - flo])
            if piece.polytope.intersect(Gf, gf).probe(tol=self.tol) is False:
                self.box_cut = True
                return out

        normals = None if self.clip_tree else _normal_basis(piece.basis)

        def singular(d):
            self.complete = False
            self._event(
                f"singular region map: region {_pat(d)} has a singular Jacobian, so the "
                "preimage there is higher-dimensional; it is not included"
            )

        def try_region(d):
            key = d.tobytes()
            if key in seen:
                return None
            seen.add(key)
            if key == skip_key:
                return "skip"
            if exhaustive and normals is not None and self._hull_misses_region(piece, d, normals):
                return None  # certified without an LP
            if self.fast1d:
                ch = self._preimage_child_1d(piece, d, depth)
                if ch == "singular":
                    singular(d)
                    return None
                if isinstance(ch, Piece):
                    out.append(ch)
                return ch
            pre = self._preimage_cell(piece, d)
            if pre is None:
                singular(d)
                return None
            x0, U, cell = pre
            if self.clip_tree:
                if cell.is_empty(self.tol):
                    return None
                ch = self._make(d, depth, x0, U, cell, piece, piece.seed)
                if ch is None:
                    # non-empty preimage cell outside the growth box: still flood through it
                    return "outside"
                out.append(ch)
                return ch
            Gb, gb = box_rows(self.glo, self.ghi, x0, U)
            inbox = cell.intersect(Gb, gb)
            n_lp[0] += 1
            if not inbox.probe(tol=self.tol):
                if exhaustive:
                    return None  # no flood: whether it is non-empty outside does not matter
                n_lp[0] += 1
                if not cell.probe(tol=self.tol):
                    return None
                self.box_cut = True
                return "outside"
            centre, rad = inbox.inner_ball()
            cell.with_inner_ball(centre, rad)
            if not self.box_cut and _rays_hit_box(cell, Gb, gb, centre, self.rng):
                self.box_cut = True  # the cell reaches out of the box: growth is cut there
            if len(cell.g) > self.row_limit:
                cell = cell.remove_redundant()
            ch = self._new_piece(d, depth, x0, U, cell, piece, piece.seed)
            out.append(ch)
            return ch

        pats = self.regions.patterns
        exhaustive = pats is not None and (
            self.regions.invertible is not True
            # few regions: testing them all is cheaper than point preimages plus a flood
            or len(pats) <= 2 * self.model.H + 2
            # A flood costs one LP per child and two per empty neighbour; when that has
            # cost more than one LP per region on average, test every region instead.
            or (not self.clip_tree and self._flood_cost > len(pats))
        )
        n_lp = [0]
        if exhaustive:
            for d in pats:
                try_region(d)
            return out
        for d in self._point_preimage_regions(piece):
            queue.append(d)
        if skip is not None:
            queue.append(np.asarray(skip, dtype=bool))
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
        if not self.clip_tree:
            self._flood_cost = 0.7 * self._flood_cost + 0.3 * n_lp[0]
        return out

    def _point_preimage_regions(self, piece: Piece, n_points: int = 4, max_iter: int = 100):
        """Regions of preimages of a few points of ``piece`` (SCYFI-style fixed-point iteration
        on the pattern: guess ``d``, solve ``J_d x = y - c_d``, re-pattern, repeat)."""
        found = {}
        pts = [np.zeros(piece.dimension)]
        if piece.dimension <= 2:
            pts += list(piece.polytope.sample(n_points - 1, self.rng))
        else:
            pts += list(residual_points(piece.polytope, n_points - 1, self.rng))
        starts = [piece.region]
        if piece.parent is not None:
            starts.append(piece.parent.region)
        for s in pts:
            y = piece.point(s)
            for d0 in starts + [self.rng.random(self.model.H) < 0.5 for _ in range(4)]:
                d = np.asarray(d0, dtype=bool)
                for _ in range(max_iter):
                    J, Jinv, c, _, _ = self._region(d)
                    if Jinv is None:
                        break
                    x = solve_with_inverse(J, Jinv, y - c)
                    dn = self.model.pattern(x)
                    if np.array_equal(dn, d):
                        found[d.tobytes()] = d
                        break
                    d = dn
                if found:
                    break
        return list(found.values())

    # ---- seeds
    def _phase_seed(self, j: int, kind: str) -> Piece:
        """Maximal invariant seed at orbit point ``j``: stable, the points of ``p_j + E^s_j``
        whose linearised forward orbit stays in the orbit's regions and the growth box;
        unstable (before the push forward in :meth:`seeds`), the same for the backward orbit
        sampled once per period."""
        orb, model = self.orbit, self.model
        sub = invariant_subspace(orb.monodromy_at(j), kind)
        U = sub.basis
        T = sub.restricted if kind == "stable" else np.linalg.inv(sub.restricted)
        C, c = one_period_constraints(model, orb, U, self.glo, self.ghi, start=j)
        radius = float(np.linalg.norm(self.ghi - self.glo))
        S = invariant_seed(C, c, T, radius)
        return Piece(orb.patterns[j].astype(bool), 0, orb.points[j].copy(), U, S, seed=j)

    def seeds(self) -> list[Piece]:
        r"""One maximal seed per orbit point, :math:`S_j`.

        Stable: :math:`S_j = \{x \in p_j + E^s_j : F^m(x) \in P_{d_{j+m}} \cap B\ \forall m \ge
        0\}` (linearised along the orbit), so :math:`F(S_j) \subseteq S_{j+1}` and the preimage
        of :math:`S_{j+1}` in region :math:`d_j` (inside the box) is exactly :math:`S_j`.
        Unstable: the same with the backward orbit, obtained by pushing the seed of point
        :math:`j+1` forward :math:`k-1` steps; then the image of :math:`S_j` in region
        :math:`d_{j+1}` (inside the box) is exactly :math:`S_{j+1}`. Either way the fundamental
        domain needs no set difference.
        """
        orb, model = self.orbit, self.model
        k = orb.period
        if self.kind == "stable":
            seeds = [self._phase_seed(j, "stable") for j in range(k)]
        else:
            seeds = [None] * k
            for i in range(k):
                p = self._phase_seed(i, "unstable")
                for step in range(k - 1):
                    img = forward_image(model, p)
                    if img is None:
                        raise ManifoldError(
                            "the seed folds along the orbit (a region Jacobian is singular on "
                            "the invariant subspace); the manifold cannot be seeded at every "
                            "cycle point"
                        )
                    o, U, poly, _ = img
                    jn = (i + step + 1) % k
                    p = Piece(orb.patterns[jn].astype(bool), 0, o, U, poly, seed=jn)
                seeds[(i + k - 1) % k] = p
        for j, s in enumerate(seeds):
            s.parent = seeds[(j + 1) % k] if self.kind == "stable" else seeds[(j - 1) % k]
            s.link = self._link(s, s.parent)
        return seeds

    def fundamental_domain(self, seeds: list[Piece]) -> list[Piece]:
        """Depth-1 pieces: preimages (images) of the seeds outside the seeds themselves.

        Because every seed is maximal (see :meth:`seeds`), the part of the preimage of
        :math:`S_{j+1}` in the orbit's own region :math:`d_j` is :math:`S_j` itself, so that
        region is skipped and the rest needs no set difference.
        """
        k = len(seeds)
        pats = self.orbit.patterns.astype(bool)
        out = []
        for j in range(k):
            if self.kind == "stable":
                out.extend(self.backward_children(seeds[(j + 1) % k], 1, skip=pats[j]))
            else:
                out.extend(self.forward_children(seeds[j], 1, skip=pats[(j + 1) % k]))
        return out

    # ---- driver
    def run(self, interrupt=None):
        seeds = self.seeds()
        # Stable manifolds of dimension >= 3: tree pieces are whole preimage cells (bounded,
        # since the seeds are), kept when they meet the growth box; only the output is clipped.
        # This keeps LPs small (no 2M box rows per step) and loses no orbit that leaves the box
        # while its piece still meets it. Dimensions <= 2 clip at every step (vertex paths are
        # cheap there and the box keeps pieces short).
        self.clip_tree = not (self.kind == "stable" and seeds[0].dimension >= 3)
        self.fast1d = _FAST_1D and seeds[0].dimension == 1
        # Redundancy removal (one LP per row) only pays off once rows have piled up well beyond
        # what the seeds bring along.
        self.row_limit = max(self.row_limit, 2 * max(len(s.polytope.g) for s in seeds))
        tree = list(seeds)
        budget_hit = False
        first = self.fundamental_domain(seeds)
        room = max(self.max_pieces - len(tree), 0)
        if len(first) > room:
            first = first[:room]
            budget_hit = True
        frontier = deque(first)
        tree.extend(frontier)
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


def schur_real(A: np.ndarray):
    """Real Schur form ``(T, Q, 0)`` of ``A``."""
    T, Q = _schur(np.asarray(A, dtype=float), output="real")
    return T, Q, 0


def _normal_basis(U: np.ndarray) -> np.ndarray:
    """Orthonormal basis ``(M, M - n)`` of the orthogonal complement of ``U`` ``(M, n)``."""
    Q, _ = np.linalg.qr(U, mode="complete")
    return Q[:, U.shape[1] :]


def _image_bounds(model: PLMap, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Interval hull of ``F(box)`` by interval arithmetic (an outer bound, never too small)."""
    c, r = 0.5 * (lo + hi), 0.5 * (hi - lo)
    pc = model.W2 @ c + model.h2
    pr = np.abs(model.W2) @ r
    alo, ahi = np.maximum(pc - pr, 0.0), np.maximum(pc + pr, 0.0)
    ac, ar = 0.5 * (alo + ahi), 0.5 * (ahi - alo)
    oc = model.A @ c + model.W1 @ ac + model.h1
    orad = np.abs(model.A) @ r + np.abs(model.W1) @ ar
    pad = 1e-9 * (model.scale + np.abs(oc) + orad)
    return oc - orad - pad, oc + orad + pad


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


def _clip_output_1d(piece: Piece, lo, hi, tol) -> Piece | None:
    """:func:`_clip_output` for 1-D pieces, in closed form (see :mod:`.intervals`)."""
    a, b = line_box(piece.origin, piece.basis[:, 0], lo, hi)
    iv = Interval.of(piece.polytope).clip(a, b)
    if iv.is_empty(tol):
        return None
    return Piece(
        piece.region,
        piece.depth,
        piece.origin,
        piece.basis,
        iv.polytope(),
        piece.parent,
        piece.link,
        piece.seed,
        clipped=box_active(iv, a, b),
    )


def grow_manifold(
    model: PLMap,
    orbit,
    kind: str,
    *,
    box=None,
    depth: int | None = None,
    max_pieces: int = 5000,
    growth_margin: float | None = None,
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
    growth_margin : float, optional
        The growth box extends the output box by this fraction of its width on every side.
        Default 1.0 for manifolds of dimension <= 2 (whose tree pieces are clipped to the
        growth box at every step) and 0.0 for stable manifolds of dimension >= 3, whose tree
        pieces are whole preimage cells kept while they meet the growth box: an orbit that
        leaves the box and returns is then lost only if its whole piece lies outside the box,
        and a wider box multiplies the number of pieces in high dimension.
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
    For stable manifolds of dimension >= 3 most candidates are rejected without an LP (the
    preimage hull misses the region's box, or the piece misses an outer bound of the image of
    the growth box), and the LPs that remain are warm-started from each other. In high
    dimension the number of itineraries inside the box, not the depth, is what limits growth:
    pieces leave the box after a few steps, so the default depth rarely binds and
    ``max_pieces`` is the budget that matters.
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
    if growth_margin is None:
        dim = orbit.n_stable if kind == "stable" else orbit.n_unstable
        growth_margin = 0.0 if (kind == "stable" and dim >= 3) else 1.0
    if not np.isfinite(growth_margin) or growth_margin < 0:
        raise ManifoldError(f"growth_margin must be a finite number >= 0, got {growth_margin}")
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
    clip = _clip_output_1d if gr.fast1d else _clip_output
    pieces = [q for q in (clip(p, lo, hi, DEFAULT_TOL) for p in tree) if q is not None]
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
