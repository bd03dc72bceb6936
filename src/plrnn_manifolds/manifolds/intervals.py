r"""Fast path for 1-dimensional pieces: intervals on lines (DESIGN.md section 4, "Fast paths").

A 1-D piece is :math:`\{o + u s : lo \le s \le hi\}` with a unit vector :math:`u`. Everything
the general polytope machinery does to it is closed-form here, in plain floats:

- the image or preimage of the line under an affine map is a line again, and the interval is
  scaled by the factor :math:`r` of the (1-column) QR decomposition;
- intersecting with half-spaces :math:`a_i s \le b_i` (a region in local coordinates, the box)
  moves the two ends;
- the cells of the region hyperplanes are the pieces between sorted crossing parameters;
- the vertices are the two ends.

The functions reproduce the conventions of :class:`~plrnn_manifolds.polytope.Polytope` exactly
(unit-normalised rows, zero rows, the relative tolerance ``tol * scale`` with ``scale`` the
largest offset of *all* rows, redundant ones included, and the cut semantics of
:func:`~plrnn_manifolds.polytope.cells`), so that the fast path yields the same pieces as the
general one up to round-off; ``tests/test_manifolds_fastpath.py`` compares the two.
"""

from __future__ import annotations

import math

import numpy as np

from ..polytope import _BIG, _DUP, _ZERO_ROW, Polytope, _interval_points

_ROWS = np.array([[1.0], [-1.0]])
_ROWS.setflags(write=False)


class Interval:
    """``[lo, hi]`` with the bookkeeping of the H-representation it stands for.

    ``gmax`` is the largest ``|g_i|`` over every (normalised) row, redundant rows included: the
    polytope's ``scale`` is ``max(1, gmax)``. ``feasible`` is False for the canonical empty
    polytope (a zero row with a negative offset was met).
    """

    __slots__ = ("lo", "hi", "gmax", "feasible")

    def __init__(self, lo: float, hi: float, gmax: float, feasible: bool = True):
        self.lo, self.hi, self.gmax, self.feasible = lo, hi, gmax, feasible

    @classmethod
    def of(cls, poly: Polytope) -> Interval:
        if poly._cache.get("feasible") is False:
            return cls(1.0, -1.0, 1.0, False)
        lo, hi = poly._interval()
        gmax = max(map(abs, poly.g.tolist()), default=0.0)
        return cls(lo, hi, gmax)

    @property
    def scale(self) -> float:
        return max(1.0, self.gmax)

    def scaled(self, r: float) -> Interval:
        """Image under ``s' = r s`` (``r != 0``)."""
        if not self.feasible:
            return self
        a = abs(r)
        if r > 0:
            return Interval(self.lo * r, self.hi * r, self.gmax * a)
        return Interval(self.hi * r, self.lo * r, self.gmax * a)

    def clip(self, a, b) -> Interval:
        """Intersection with ``{s : a_i s <= b_i}`` (rows normalised as in
        :meth:`Polytope.intersect`: zero rows are dropped, or make the set empty).

        ``a``, ``b``: sequences of floats (plain Python loops: the rows are few, and numpy's
        per-call overhead would dominate)."""
        if not self.feasible:
            return self
        a = a.tolist() if isinstance(a, np.ndarray) else a
        b = b.tolist() if isinstance(b, np.ndarray) else b
        if not a:
            return Interval(self.lo, self.hi, self.gmax)
        zero_tol = _ZERO_ROW * max(1.0, max(map(abs, a)))
        gscale = None
        lo, hi, gmax = self.lo, self.hi, self.gmax
        for ai, bi in zip(a, b, strict=True):
            n = abs(ai)
            if n <= zero_tol:
                if gscale is None:
                    gscale = max(1.0, max(map(abs, b)))
                if bi < -_ZERO_ROW * gscale:
                    return Interval(1.0, -1.0, 1.0, False)
                continue
            g = bi / n
            if ai > 0:
                if g < hi:
                    hi = g
            elif -g > lo:
                lo = -g
            if abs(g) > gmax:
                gmax = abs(g)
        return Interval(lo, hi, gmax)

    def radius(self) -> float:
        """Chebyshev radius as :meth:`Polytope.chebyshev` computes it for ``n = 1``."""
        lo, hi = self.lo, self.hi
        if math.isfinite(lo) and math.isfinite(hi):
            return 0.5 * (hi - lo)
        R = _BIG * self.scale
        if math.isfinite(lo):
            c = min(lo + R, R)
        elif math.isfinite(hi):
            c = max(hi - R, -R)
        else:
            c = 0.0
        return float(min(R, c - lo, hi - c))

    def is_empty(self, tol: float) -> bool:
        """No interior: Chebyshev radius ``<= tol * scale`` (as :meth:`Polytope.is_empty`)."""
        return (not self.feasible) or self.radius() <= tol * self.scale

    def polytope(self) -> Polytope:
        """The redundancy-free polytope ``{s <= hi, -s <= -lo}`` (bounded intervals only)."""
        return Polytope._raw(
            _ROWS,
            np.array([self.hi, -self.lo]),
            reduced=True,
            bounded=True,
            feasible=True,
            interval=(self.lo, self.hi),
        )


def orth1(v: np.ndarray, rank_tol: float = 1e-12):
    """``(u, r)`` with ``v = u r``, ``|u| = 1``, the sign convention of LAPACK's Householder QR
    (as :func:`numpy.linalg.qr` of the column ``v``); ``None`` when ``v`` vanishes."""
    x = v.tolist()
    x0 = x[0]
    tail = sum(t * t for t in x[1:])
    if tail == 0.0:
        r = x0
        if r == 0.0:
            return None
        u = np.zeros_like(v)
        u[0] = 1.0
        return u, r
    r = -math.copysign(math.sqrt(x0 * x0 + tail), x0)
    if not abs(r) > rank_tol * max(abs(r), 1e-300):
        return None
    return v / r, r


def box_active(iv: Interval, a, b) -> bool:
    """Whether a box row ``a_i s <= b_i`` is one of the two rows kept by redundancy removal
    (compared as :func:`growth._box_active` does: same direction, offsets within 1e-9)."""
    a = a.tolist() if isinstance(a, np.ndarray) else a
    b = b.tolist() if isinstance(b, np.ndarray) else b
    up, dn = iv.hi, -iv.lo
    fin_up, fin_dn = math.isfinite(up), math.isfinite(dn)
    for ai, bi in zip(a, b, strict=True):
        if ai == 0:
            continue
        g = bi / abs(ai)
        tol = 1e-9 * (1 + abs(g))
        if ai > 0:
            if fin_up and abs(up - g) <= tol:
                return True
        elif fin_dn and abs(dn - g) <= tol:
            return True
    return False


def line_box(origin: np.ndarray, u: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Rows ``a s <= b`` (as lists) of the box ``lo <= origin + u s <= hi``, in the order of
    :func:`.pieces.box_rows`."""
    ul = u.tolist()
    return ul + [-x for x in ul], (hi - origin).tolist() + (origin - lo).tolist()


def cells_1d(iv: Interval, A: np.ndarray, b: np.ndarray, tol: float):
    """Cells ``[(bits, Interval)]`` of the points ``A_i s + b_i = 0`` in ``iv``, with the cut
    semantics of :func:`~plrnn_manifolds.polytope.cells` (a crossing within ``tol * scale`` of
    an end or of the previous cut is absorbed; bits are those of the cell's midpoint).

    ``A``, ``b``: ``(k,)`` coefficients of the hyperplanes restricted to the line.
    """
    if not iv.feasible:
        return []
    tol_abs = tol * iv.scale
    lo, hi = iv.lo, iv.hi
    k = A.shape[0]
    norms = np.abs(A)
    zero = norms <= _ZERO_ROW * max(1.0, float(norms.max()) if k else 1.0)
    nz = np.flatnonzero(~zero)
    an = np.sign(A[nz])
    bn = b[nz] / norms[nz]
    t = -bn / an
    if nz.size > 1:
        # hyperplanes equal up to sign (as polytope._prepare_hyperplanes): keep the first
        tolX = _DUP * np.maximum(1.0, np.abs(bn))
        close = np.abs(t[:, None] - t[None, :]) <= np.maximum(tolX[:, None], tolX[None, :])
        dup = np.triu(close, 1).any(axis=0)
        t_rep = t[~dup]
    else:
        t_rep = t
    if not hi - lo > 2 * tol_abs:
        return []
    cut = (t_rep - lo > tol_abs) & (hi - t_rep > tol_abs)
    pts = np.sort(t_rep[cut], kind="stable").tolist()
    bounds = []
    last = lo
    for p in pts:
        if p - last > tol_abs and hi - p > tol_abs:
            bounds.append(p)
            last = p
    ends = [lo, *bounds, hi]
    const = b > 0
    out = []
    for i, x in enumerate(_interval_points(ends, iv.scale)):
        l, h = ends[i], ends[i + 1]
        bits = const.copy()
        bits[nz] = an * x + bn > 0
        gmax = max(abs(l), abs(h)) if math.isfinite(l) and math.isfinite(h) else 0.0
        out.append((bits, Interval(l, h, gmax)))
    return out
