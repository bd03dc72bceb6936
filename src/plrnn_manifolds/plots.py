r"""Figures: phase portraits, manifolds in 3-D, bifurcation diagrams, spectra, time series.

Every function returns the :class:`matplotlib.figure.Figure` it drew on. When an ``ax=`` is
passed the function draws on it (and returns its figure); otherwise it creates a new figure with
:class:`matplotlib.figure.Figure` directly, without :mod:`matplotlib.pyplot`, so no global figure
state is kept and any backend (including the headless ``Agg``) works. Save with
``fig.savefig("out.png")``.

Inputs are either a ``results.json`` document (a dict, as returned by
:func:`plrnn_manifolds.results.read_results`) or a :class:`~plrnn_manifolds.maps.PLMap` together
with orbits and manifolds (objects or their ``to_dict()`` forms).

Palette
-------
The colours and markers are fixed, so that figures from different runs read the same way:

| element | colour | marker | gid (for programmatic access) |
|---|---|---|---|
| stable orbit (attracting) | ``#2ca02c`` | ``o`` | ``orbit-stable`` |
| saddle orbit | ``#ff7f0e`` | ``D`` | ``orbit-saddle`` |
| unstable orbit (repelling) | ``#9467bd`` | ``^`` | ``orbit-unstable`` |
| stable manifold | ``#1f77b4`` | line | ``manifold-stable`` |
| unstable manifold | ``#d62728`` | line | ``manifold-unstable`` |
| trace on the plane | same, dashed | line | ``trace-stable``, ``trace-unstable`` |
| region hyperplanes | ``#b0b0b0`` | dotted | ``region`` |
| trajectories | ``#7f7f7f`` | ``.`` | ``trajectory`` |
| attractor samples | ``#000000`` | ``.`` | ``attractor`` |
| homoclinic / heteroclinic | ``#e6b800`` | ``*`` | ``intersection`` |
| basins | pastel map; escape white, undecided grey | image | ``basins`` |

Projections
-----------
For :math:`M > 2` a phase portrait shows an affine view :math:`x \mapsto (x - c)^\top V` with an
orthonormal :math:`V \in \mathbb{R}^{M \times 2}`: two coordinates (``projection=(i, j)``,
:math:`c = 0`), the first two principal components of the trajectories (the default, with a
:class:`UserWarning`; :math:`c` is the trajectories' mean), or two given directions. Pieces of
dimension 1 and 2 are drawn as their exact projections (from their vertices). A codimension-1
manifold (dimension :math:`M - 1`) projects onto the whole plane, so it is drawn instead as its
*trace* on the display plane :math:`\{b + V t\}` through a base point :math:`b` (default: the
first saddle): for each piece the set :math:`\{t : b + V t \in Q\}`, computed exactly from the
piece's half-spaces by :func:`piece_trace`. The legend says "trace on the plane". Region
hyperplanes :math:`W_{2,i} z + h_{2,i} = 0` are drawn as their traces on the same plane.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._atomic import atomic_write_text
from .errors import DataError, ResultsError
from .maps import PLMap

__all__ = [
    "BASIN_COLOURS",
    "MANIFOLD_COLOURS",
    "ORBIT_STYLES",
    "Projection",
    "bifurcation_diagram",
    "lyapunov_spectrum_plot",
    "make_projection",
    "manifold_3d",
    "manifold_3d_html",
    "manifold_3d_plotly",
    "model_from_results",
    "phase_portrait",
    "piece_trace",
    "power_spectrum_plot",
    "time_series_plot",
]

#: Marker style of each orbit classification (colour, marker, legend label).
ORBIT_STYLES: dict[str, dict] = {
    "stable": {"color": "#2ca02c", "marker": "o", "label": "stable orbit"},
    "saddle": {"color": "#ff7f0e", "marker": "D", "label": "saddle"},
    "unstable": {"color": "#9467bd", "marker": "^", "label": "unstable orbit"},
}
_OTHER_ORBIT = {"color": "#8c564b", "marker": "s", "label": "orbit"}
#: Colour of stable and unstable manifolds.
MANIFOLD_COLOURS: dict[str, str] = {"stable": "#1f77b4", "unstable": "#d62728"}
#: Basin colours, attractor label ``k`` gets ``BASIN_COLOURS[k % len]``; escape (label < 0) is
#: ``ESCAPE_COLOUR``.
BASIN_COLOURS: tuple[str, ...] = (
    "#c6dbef",
    "#fdd0a2",
    "#c7e9c0",
    "#dadaeb",
    "#fcbba1",
    "#fde0ef",
    "#e5f5e0",
    "#d9d9d9",
)
ESCAPE_COLOUR = "#ffffff"
UNDECIDED_COLOUR = "#bdbdbd"
REGION_COLOUR = "#b0b0b0"
TRAJECTORY_COLOUR = "#7f7f7f"
ATTRACTOR_COLOUR = "#000000"
INTERSECTION_COLOUR = "#e6b800"
DATA_COLOUR = "#222222"
GENERATED_COLOUR = "#d62728"


# ====================================================================== figure helpers
def _figure_of(ax) -> Figure:
    try:
        return ax.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10 has no root= argument
        return ax.figure


def _new_axes(ax, projection: str | None = None, figsize=(6.4, 5.6)):
    if ax is not None:
        return _figure_of(ax), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(projection=projection)


# ====================================================================== input normalisation
def model_from_results(results: Mapping) -> PLMap | None:
    """Rebuild the canonical map from ``results["model"]["canonical"]``.

    Returns ``None`` when the document carries no canonical parameters.

    Raises
    ------
    ResultsError
        If the canonical parameters are present but do not form a valid map.
    """
    model = results.get("model") if isinstance(results, Mapping) else None
    canon = model.get("canonical") if isinstance(model, Mapping) else None
    if not canon:
        return None
    try:
        return PLMap(
            **{k: np.asarray(canon[k], dtype=float) for k in ("A", "W1", "W2", "h1", "h2")}
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ResultsError(
            f"results['model']['canonical'] does not describe a canonical map ({exc}); "
            "the results file is corrupt, re-run analyze"
        ) from None


def _as_dict(obj) -> dict:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise DataError(f"expected a dict or an object with to_dict(), got {type(obj).__name__}")


def _arr(name, value, ndim=None, allow_nonfinite=False) -> np.ndarray:
    try:
        a = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} is not a rectangular numeric array ({exc})") from None
    if ndim is not None and a.ndim != ndim:
        raise DataError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if not allow_nonfinite and not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains NaN or infinite values")
    return a


def _norm_piece(p: Mapping, M: int, n: int, where: str) -> dict:
    try:
        origin = _arr(f"{where} origin", p["origin"]).reshape(M)
        basis = _arr(f"{where} basis", p["basis"]).reshape(M, n)
        G = _arr(f"{where} G", p["G"]).reshape(-1, n)
        g = _arr(f"{where} g", p["g"]).reshape(-1)
    except KeyError as exc:
        raise DataError(f"{where} lacks the field {exc}; pieces need origin, basis, G, g") from None
    except ValueError as exc:
        raise DataError(f"{where} has inconsistent shapes ({exc}) for M = {M}, n = {n}") from None
    if G.shape[0] != g.shape[0]:
        raise DataError(f"{where}: G has {G.shape[0]} rows but g has {g.shape[0]} entries")
    out = {"origin": origin, "basis": basis, "G": G, "g": g, "region": p.get("region")}
    if p.get("vertices") is not None and n <= 2:
        v = _arr(f"{where} vertices", p["vertices"])
        out["vertices"] = v.reshape(-1, M) if v.size else np.zeros((0, M))
    return out


def _norm_manifold(m, M: int, i: int) -> dict:
    d = _as_dict(m)
    kind = d.get("kind")
    if kind not in ("stable", "unstable"):
        raise DataError(f"manifold {i}: kind must be 'stable' or 'unstable', got {kind!r}")
    n = d.get("dimension")
    pieces = d.get("pieces") or []
    if n is None:
        if not pieces:
            n = 0
        else:
            n = np.asarray(pieces[0]["basis"]).reshape(M, -1).shape[1]
    n = int(n)
    return {
        "orbit": d.get("orbit"),
        "kind": kind,
        "dimension": n,
        "pieces": [_norm_piece(p, M, n, f"manifold {i} piece {j}") for j, p in enumerate(pieces)],
    }


def _norm_orbit(o, M: int, i: int) -> dict:
    d = _as_dict(o)
    if "points" not in d:
        raise DataError(f"orbit {i} has no 'points'")
    pts = _arr(f"orbit {i} points", d["points"])
    try:
        pts = pts.reshape(-1, M)
    except ValueError:
        raise DataError(
            f"orbit {i}: points of shape {pts.shape} do not have M = {M} columns"
        ) from None
    return {"id": d.get("id", i), "points": pts, "classification": d.get("classification", "")}


@dataclass
class _Scene:
    model: PLMap | None
    M: int
    orbits: list
    manifolds: list
    attractors: list
    intersections: list
    box: tuple | None


def _scene(src, orbits=None, manifolds=None) -> _Scene:
    if isinstance(src, PLMap):
        model, res = src, {}
    elif isinstance(src, Mapping):
        res = src
        model = model_from_results(res)
    else:
        raise DataError(
            f"expected a results dict or a PLMap, got {type(src).__name__}; read a results "
            "directory with plrnn_manifolds.results.read_results"
        )
    if model is not None:
        M = model.M
    elif isinstance(res.get("model"), Mapping) and res["model"].get("M"):
        M = int(res["model"]["M"])
    else:
        raise DataError("cannot tell the state dimension M: the results have no model")
    if orbits is None:
        orbits = res.get("orbits") or []
    elif hasattr(orbits, "orbits"):  # an OrbitSearchResult
        orbits = orbits.orbits
    orb = [_norm_orbit(o, M, i) for i, o in enumerate(orbits)]
    if manifolds is None:
        manifolds = res.get("manifolds") or []
    man = [_norm_manifold(m, M, i) for i, m in enumerate(manifolds)]
    att = []
    for i, a in enumerate(res.get("attractors") or []):
        pts = a.get("points")
        if pts is not None and np.size(pts):
            att.append(
                {
                    "id": a.get("id", i),
                    "kind": a.get("kind"),
                    "points": _arr(f"attractor {i} points", pts).reshape(-1, M),
                }
            )
    inter = []
    for i, x in enumerate(res.get("intersections") or []):
        if x.get("point") is not None:
            inter.append(
                {"kind": x.get("kind"), "point": _arr(f"intersection {i}", x["point"]).reshape(M)}
            )
    box = None
    if res.get("box") is not None:
        b = _arr("box", res["box"])
        if b.shape[0] == 2:
            box = (
                np.broadcast_to(b[0], (M,)).astype(float),
                np.broadcast_to(b[1], (M,)).astype(float),
            )
    return _Scene(model, M, orb, man, att, inter, box)


# ====================================================================== geometry
def _interval(G: np.ndarray, g: np.ndarray, tol: float = 0.0):
    """``{s in R : G s <= g}`` as ``(lo, hi)``, or ``None`` when empty. ``G`` is ``(r, 1)``."""
    a = G.reshape(-1)
    lo, hi = -np.inf, np.inf
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    for ai, gi in zip(a, g, strict=True):
        if abs(ai) <= 1e-14 * max(1.0, amax):
            if gi < -tol:  # 0 <= g_i violated: empty
                return None
        elif ai > 0:
            hi = min(hi, gi / ai)
        else:
            lo = max(lo, gi / ai)
    if lo > hi + tol:
        return None
    return lo, max(lo, hi)


def _polygon(G: np.ndarray, g: np.ndarray, bound: float):
    """Vertices (counter-clockwise) of ``{s in R^2 : G s <= g}`` clipped to ``|s|_inf <= bound``.

    Sutherland-Hodgman clipping of a square by each half-plane: exact up to round-off, O(r^2).
    Returns an array ``(v, 2)``, empty when the polygon is empty.
    """
    P = np.array([[-bound, -bound], [bound, -bound], [bound, bound], [-bound, bound]], float)
    for a, b in zip(G, g, strict=True):
        if P.shape[0] == 0:
            break
        val = P @ a - b
        keep = val <= 0
        out = []
        n = len(P)
        for k in range(n):
            cur, nxt = P[k], P[(k + 1) % n]
            vc, vn = val[k], val[(k + 1) % n]
            if keep[k]:
                out.append(cur)
            if (vc <= 0) != (vn <= 0):
                t = vc / (vc - vn)
                out.append(cur + t * (nxt - cur))
        P = np.array(out).reshape(-1, 2)
    return P


def _piece_local_vertices(piece: dict, n: int, bound: float) -> np.ndarray:
    """Local-coordinate vertices of a 1-D (2 points) or 2-D (ordered polygon) piece."""
    if n == 1:
        iv = _interval(piece["G"], piece["g"])
        if iv is None:
            return np.zeros((0, 1))
        lo, hi = max(iv[0], -bound), min(iv[1], bound)
        return np.array([[lo], [hi]])
    return _polygon(piece["G"], piece["g"], bound)


def _piece_vertices(piece: dict, n: int, bound: float) -> np.ndarray:
    """State-space vertices ``(v, M)`` of a piece of dimension 1 or 2; polygons are ordered."""
    o, U = piece["origin"], piece["basis"]
    V = piece.get("vertices")
    if V is None or len(V) == 0:
        return o + _piece_local_vertices(piece, n, bound) @ U.T
    if n == 2 and len(V) > 2:
        # Order the vertices around their centroid in local coordinates (the stored order
        # is not part of the contract).
        s = (V - o) @ U
        c = s.mean(axis=0)
        order = np.argsort(np.arctan2(s[:, 1] - c[1], s[:, 0] - c[0]))
        return V[order]
    if n == 1 and len(V) > 2:
        s = ((V - o) @ U)[:, 0]
        return V[[int(np.argmin(s)), int(np.argmax(s))]]
    return V


def piece_trace(origin, basis, G, g, base, directions, bound: float | None = None) -> np.ndarray:
    r"""Exact intersection of a manifold piece with a 2-D plane.

    The piece is :math:`Q = \{o + U s : G s \le g\}` (``basis`` :math:`U`, ``M x n``) and the plane
    :math:`\Pi = \{b + V t : t \in \mathbb{R}^2\}` (``directions`` :math:`V`, ``M x 2``). Points of
    :math:`Q \cap \Pi` solve :math:`[U, -V] (s, t) = b - o`; with a particular solution
    :math:`x_0` (least squares) and a null-space basis :math:`N` (SVD), they are
    :math:`(s, t) = x_0 + N\lambda` with :math:`G (s_0 + N_s \lambda) \le g`, a polytope in
    :math:`\lambda` of dimension :math:`k \le 2`. For a codimension-1 piece (:math:`n = M - 1`)
    in general position :math:`k = 1`: an interval, found by a ratio test, so the trace is a
    segment.

    Parameters
    ----------
    origin : (M,) array_like
    basis : (M, n) array_like
    G : (r, n) array_like
    g : (r,) array_like
    base : (M,) array_like
        A point :math:`b` of the plane.
    directions : (M, 2) array_like
        Two linearly independent directions spanning the plane.
    bound : float, optional
        Clip unbounded traces to :math:`|\lambda|_\infty \le` ``bound`` (default
        :math:`10^6 (1 + \max|g|)`); pieces from a manifold are bounded, so this only matters
        for hand-made input.

    Returns
    -------
    ndarray, shape (v, M)
        Points of the trace in state space: ``0`` rows (no intersection), ``1`` (a point),
        ``2`` (segment endpoints) or ``v >= 3`` (an ordered polygon, when the plane lies in the
        piece's affine hull).

    Raises
    ------
    DataError
        If the shapes do not fit or the directions are dependent.

    Notes
    -----
    Cost: one SVD of an ``M x (n+2)`` matrix plus :math:`O(r)` (segment) or :math:`O(r^2)`
    (polygon). Tolerances are relative to :math:`\max(1, |o|, |b|)`.
    """
    o = _arr("origin", origin, 1)
    M = o.shape[0]
    U = _arr("basis", basis).reshape(M, -1)
    n = U.shape[1]
    Gm = _arr("G", G).reshape(-1, n)
    gv = _arr("g", g).reshape(-1)
    b = _arr("base", base).reshape(M)
    V = _arr("directions", directions).reshape(M, 2)
    if np.linalg.matrix_rank(V) < 2:
        raise DataError("the two plane directions are linearly dependent")
    K = np.hstack([U, -V])
    rhs = b - o
    P, S, Qt = np.linalg.svd(K)
    scale = max(1.0, float(np.max(np.abs(o))), float(np.max(np.abs(b))))
    r = int(np.sum(S > 1e-12 * max(S[0], 1e-300)))
    x0 = Qt[:r].T @ ((P[:, :r].T @ rhs) / S[:r])
    if np.linalg.norm(K @ x0 - rhs) > 1e-9 * scale:
        return np.zeros((0, M))  # the affine hulls do not meet
    N = Qt[r:].T  # (n+2, k)
    k = N.shape[1]
    Ns, Nt = N[:n], N[n:]
    s0, t0 = x0[:n], x0[n:]
    Gl = Gm @ Ns
    gl = gv - Gm @ s0
    tol = 1e-9 * scale * max(1.0, float(np.max(np.abs(gv))) if gv.size else 1.0)
    if bound is None:
        bound = 1e6 * (1.0 + (float(np.max(np.abs(gv))) if gv.size else 0.0))
    if k == 0:
        if np.all(gl >= -tol):
            return (b + V @ t0)[None, :]
        return np.zeros((0, M))
    if k == 1:
        iv = _interval(Gl, gl, tol)
        if iv is None:
            return np.zeros((0, M))
        lam = np.array([max(iv[0], -bound), min(iv[1], bound)])
        ts = t0 + np.outer(lam, Nt[:, 0])
        pts = b + ts @ V.T
        if np.linalg.norm(pts[1] - pts[0]) <= 1e-12 * scale:
            return pts[:1]
        return pts
    lam = _polygon(Gl, gl, bound)
    if len(lam) == 0:
        return np.zeros((0, M))
    return b + (t0 + lam @ Nt.T) @ V.T


# ====================================================================== projections
@dataclass(frozen=True)
class Projection:
    r"""An affine 2-D view of state space, :math:`u = (x - c)^\top V`.

    Attributes
    ----------
    V : (M, 2) ndarray
        Orthonormal display directions.
    centre : (M,) ndarray
        :math:`c`: ``0`` for coordinate projections, the mean for principal components.
    base : (M,) ndarray
        Base point :math:`b` of the display plane :math:`\{b + V t\}` on which codimension-1
        manifolds and region hyperplanes are traced.
    labels : tuple of str
        Axis labels.
    kind : str
        ``"identity"`` (M = 2), ``"coordinates"``, ``"pca"`` or ``"directions"``.
    """

    V: np.ndarray
    centre: np.ndarray
    base: np.ndarray
    labels: tuple
    kind: str

    def __call__(self, X) -> np.ndarray:
        """Display coordinates ``(..., 2)`` of states ``(..., M)``."""
        return (np.asarray(X, dtype=float) - self.centre) @ self.V

    @property
    def is_lossless(self) -> bool:
        """True when the view is the whole state space (M = 2)."""
        return self.V.shape[0] == 2


def make_projection(
    M: int, projection=None, points=None, base=None, warn: bool = True
) -> Projection:
    """Build a :class:`Projection`.

    Parameters
    ----------
    M : int
        State dimension.
    projection : None, (i, j), "pca" or (M, 2) array_like
        ``None``: identity for M = 2, principal components of ``points`` for M > 2 (with a
        :class:`UserWarning` when ``warn``). ``(i, j)``: coordinates ``z_i``, ``z_j``. An array:
        two directions (orthonormalised by QR).
    points : (N, M) array_like, optional
        Points for the principal components (trajectories).
    base : (M,) array_like, optional
        Base point of the display plane (default: the centre).

    Raises
    ------
    DataError
        If indices are out of range or equal, directions are dependent, or principal components
        are requested with fewer than 3 finite points.
    """
    if M < 2:
        raise DataError(f"a phase portrait needs M >= 2, got M = {M}")
    if isinstance(projection, str) and projection != "pca":
        raise DataError(
            f"projection must be None, (i, j), 'pca' or an (M, 2) array, got {projection!r}"
        )
    centre = np.zeros(M)
    if projection is None and M == 2:
        V, labels, kind = np.eye(2), ("$z_1$", "$z_2$"), "identity"
    elif projection is None or (isinstance(projection, str) and projection == "pca"):
        P = None if points is None else np.asarray(points, dtype=float).reshape(-1, M)
        if P is not None:
            P = P[np.all(np.isfinite(P), axis=1)]
        if P is None or len(P) < 3:
            raise DataError(
                f"M = {M}: principal components need trajectory points; pass projection=(i, j) "
                "or trajectories"
            )
        if projection is None and warn:
            warnings.warn(
                f"the model has M = {M} > 2 dimensions and no projection was given; falling "
                "back to the first two principal components of the trajectories. Pass "
                "projection=(i, j) to choose coordinates.",
                UserWarning,
                stacklevel=3,
            )
        centre = P.mean(axis=0)
        _, sv, Vt = np.linalg.svd(P - centre, full_matrices=False)
        V = Vt[:2].T.copy()
        if V.shape[1] < 2:
            raise DataError("principal components need points spanning at least 2 dimensions")
        # deterministic signs: largest-magnitude entry of each component positive
        for c in range(2):
            if V[np.argmax(np.abs(V[:, c])), c] < 0:
                V[:, c] *= -1
        tot = float(np.sum(sv**2)) or 1.0
        labels = tuple(f"PC{c + 1} ({100 * sv[c] ** 2 / tot:.0f}%)" for c in range(2))
        kind = "pca"
    elif (
        np.ndim(projection) == 1
        and len(projection) == 2
        and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in projection)
    ):
        i, j = (int(x) for x in projection)
        if not (0 <= i < M and 0 <= j < M) or i == j:
            raise DataError(
                f"projection=(i, j) needs two different indices in 0..{M - 1}, got {projection}"
            )
        V = np.zeros((M, 2))
        V[i, 0] = V[j, 1] = 1.0
        labels, kind = (f"$z_{{{i + 1}}}$", f"$z_{{{j + 1}}}$"), "coordinates"
    else:
        D = _arr("projection directions", projection)
        if D.shape != (M, 2):
            raise DataError(
                f"projection directions must have shape (M, 2) = ({M}, 2), got {D.shape}"
            )
        Q, R = np.linalg.qr(D)
        if abs(R[1, 1]) <= 1e-12 * max(abs(R[0, 0]), 1e-300):
            raise DataError("the two projection directions are linearly dependent")
        V, labels, kind = Q * np.sign(np.diag(R)), ("direction 1", "direction 2"), "directions"
    b = centre.copy() if base is None else _arr("base point", base).reshape(M)
    return Projection(V, centre, b, labels, kind)


# ====================================================================== phase portrait
def _trajectories(scene: _Scene, trajectories, n_steps: int, transient: int, seed: int):
    """(n, T, M) trajectory array or None."""
    M = scene.M
    if trajectories is None or (np.ndim(trajectories) == 0 and int(trajectories) == 0):
        return None
    if np.ndim(trajectories) == 0:
        if scene.model is None:
            raise DataError("trajectories=N needs the model; pass trajectory arrays instead")
        n = int(trajectories)
        if n < 0:
            raise DataError(f"trajectories must be a count >= 0 or arrays, got {n}")
        rng = np.random.default_rng(seed)
        if scene.box is not None:
            lo, hi = scene.box
        else:
            s = scene.model.scale
            lo, hi = -s * np.ones(M), s * np.ones(M)
        z0 = rng.uniform(lo, hi, size=(n, M))
        T = scene.model.trajectory(z0, n_steps, transient=transient)  # (T, n, M)
        return np.moveaxis(T, 1, 0)
    A = _arr("trajectories", trajectories, allow_nonfinite=True)
    if A.shape[-1] != M:
        raise DataError(f"trajectories must have last dimension M = {M}, got shape {A.shape}")
    if A.ndim == 2:
        if scene.model is not None and A.shape[0] <= 64 and n_steps > 0 and np.all(np.isfinite(A)):
            # a short list of initial conditions
            T = scene.model.trajectory(A, n_steps, transient=transient)
            return np.moveaxis(T, 1, 0)
        return A[None]
    if A.ndim == 3:
        return A
    raise DataError(
        f"trajectories must be a count, (n, M) initial states or (n, T, M) arrays, got {A.shape}"
    )


def _finite_rows(X: np.ndarray, window=None) -> np.ndarray:
    """Rows of ``X`` that are finite (and inside ``window = (lo, hi)`` when given)."""
    ok = np.all(np.isfinite(X), axis=-1)
    if window is not None:
        with np.errstate(invalid="ignore"):
            ok &= np.all((X >= window[0]) & (X <= window[1]), axis=-1)
    return X[ok]


def _default_base(scene: _Scene):
    for cls in ("saddle", "stable", "unstable", ""):
        for o in scene.orbits:
            if not cls or o["classification"] == cls:
                return o["points"][0]
    return None


def _basin_data(basins):
    """``(labels[iy, ix], xs, ys, slice or None, base_point or None)`` of a GridBasins-like."""

    def get(name, default=KeyError):
        if isinstance(basins, Mapping):
            if name in basins:
                return basins[name]
        elif hasattr(basins, name):
            return getattr(basins, name)
        if default is KeyError:
            raise DataError(f"basins must provide labels, xs and ys (missing {name!r})")
        return default

    labels = np.asarray(get("labels"))
    xs = _arr("basins xs", get("xs"), 1)
    ys = _arr("basins ys", get("ys"), 1)
    if labels.shape == (len(xs), len(ys)) and labels.shape != (len(ys), len(xs)):
        labels = labels.T  # stored as [ix, iy]
    if labels.shape != (len(ys), len(xs)):
        raise DataError(
            f"basin labels of shape {labels.shape} do not fit len(ys) x len(xs) = "
            f"{len(ys)} x {len(xs)}"
        )
    sl = get("slice", None)
    if sl is not None:
        sl = tuple(int(x) for x in sl)
    base = get("base_point", None)
    return labels.astype(int), xs, ys, sl, base


def _basin_layer(ax, labels, xs, ys):
    lab = labels
    K = max(int(lab.max()) + 1, 1) if lab.size else 1
    # colour index 0: undecided (-2 and below), 1: escape (-1), k + 2: basin of attractor k
    colours = [UNDECIDED_COLOUR, ESCAPE_COLOUR]
    colours += [BASIN_COLOURS[k % len(BASIN_COLOURS)] for k in range(K)]
    img = np.maximum(lab, -2) + 2
    mesh = ax.pcolormesh(
        xs,
        ys,
        img,
        shading="nearest",
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=K + 1.5,
        zorder=0,
        rasterized=True,
    )
    mesh.set_gid("basins")
    # legend proxies: the mesh itself has no legend entry
    names = {-2: "undecided", -1: "escape"}
    proxies = [
        Patch(facecolor=colours[k + 2], edgecolor="0.6", label=names.get(k, f"basin {k}"))
        for k in sorted({int(v) for v in np.unique(img - 2)})
    ]
    return mesh, proxies


def phase_portrait(
    results_or_model,
    *,
    ax=None,
    orbits=None,
    manifolds=None,
    trajectories=20,
    n_steps: int = 300,
    transient: int = 0,
    basins=None,
    show_regions: bool = True,
    projection=None,
    base_point=None,
    xlim=None,
    ylim=None,
    seed: int = 0,
    legend: bool = True,
    title: str | None = None,
) -> Figure:
    r"""2-D phase portrait: trajectories, orbits by type, manifolds, regions and basins.

    Parameters
    ----------
    results_or_model : dict or PLMap
        A ``results.json`` document (orbits, manifolds, attractors, intersections and the box are
        read from it, the model is rebuilt from ``model.canonical``) or a map.
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.
    orbits : OrbitSearchResult, list of Orbit or list of dict, optional
        Overrides ``results["orbits"]``.
    manifolds : list of Manifold or list of dict, optional
        Overrides ``results["manifolds"]``.
    trajectories : int or array_like
        Number of seeded trajectories from uniform initial states in the box (default 20); or
        initial states ``(n, M)`` (``n <= 64``, iterated ``n_steps``); or trajectories
        ``(n, T, M)`` / ``(T, M)``. ``0`` draws none.
    n_steps, transient : int
        Length of simulated trajectories and steps discarded first.
    basins : GridBasins-like, optional
        A :class:`~plrnn_manifolds.basins.GridBasins` or any object (or dict) with ``labels``
        (``(len(ys), len(xs))`` ints, ``labels[iy, ix]``; ``-1`` escape, ``-2`` undecided),
        ``xs`` and ``ys``; drawn underneath as a colour map. When it has ``slice = (i, j)`` (and
        ``base_point``), that slice is the default projection (and base point), so traces of
        codimension-1 manifolds are drawn on the grid's own plane.
    show_regions : bool
        Draw the region hyperplanes :math:`W_{2,i} z + h_{2,i} = 0` faintly (their traces on the
        display plane for M > 2).
    projection : None, (i, j), "pca" or (M, 2) array_like
        See :func:`make_projection`. ``None`` with M > 2 falls back to principal components of
        the trajectories and warns.
    base_point : (M,) array_like, optional
        Base point of the display plane for traces (default: the first saddle, else the first
        orbit point, else the projection centre).
    xlim, ylim : (float, float), optional
        Axis limits. Default: the box (M = 2 or coordinate projections), else the extent of the
        drawn points, always enlarged to contain every orbit point.
    seed : int
        Seed of the initial states.

    Returns
    -------
    Figure

    Raises
    ------
    DataError
        Malformed input (pieces, trajectories, projection, basins).
    ResultsError
        A results document whose canonical model is corrupt.

    Notes
    -----
    Artists carry gids (see the module's palette table): one ``LineCollection`` per manifold with
    one segment (or one polygon in a ``PolyCollection``) per piece, one ``Line2D`` per orbit
    classification. Cost: ``O(trajectories * n_steps * M * H)`` for simulation plus
    ``O(pieces)`` drawing (codimension-1 traces: one SVD each).
    """
    scene = _scene(results_or_model, orbits, manifolds)
    M = scene.M
    fig, ax = _new_axes(ax)
    traj = _trajectories(scene, trajectories, n_steps, transient, seed)
    lim = None
    if scene.box is not None:
        # trajectory points far outside the box (escaping orbits) would dominate the principal
        # components and the limits: keep the box plus half its width on every side
        w = scene.box[1] - scene.box[0]
        lim = (scene.box[0] - 0.5 * w, scene.box[1] + 0.5 * w)
    tpts = None if traj is None else _finite_rows(traj.reshape(-1, M), lim)
    bdata = None if basins is None else _basin_data(basins)
    if bdata is not None and bdata[3] is not None:
        # the basin grid is a slice (i, j) through base_point: show that very plane, so the
        # traces of codimension-1 manifolds on it are the basin boundaries of the grid
        bslice = bdata[3]
        if projection is None:
            if not (M == 2 and bslice == (0, 1)):
                projection = bslice
        elif np.ndim(projection) == 1 and tuple(int(x) for x in projection) != bslice:
            raise DataError(
                f"the basins are a slice over coordinates {bslice} but projection={projection}; "
                "pass the same coordinates (or omit projection)"
            )
        if base_point is None and bdata[4] is not None:
            base_point = bdata[4]
    base = base_point if base_point is not None else _default_base(scene)
    pca_pts = tpts
    if (pca_pts is None or len(pca_pts) < 3) and M > 2:
        extra = [o["points"] for o in scene.orbits] + [a["points"] for a in scene.attractors]
        pca_pts = np.vstack(extra) if extra else None
    proj = make_projection(M, projection, points=pca_pts, base=base)
    if base is None:
        base = proj.base

    drawn = []  # display points that decide the default limits
    basin_handles = []
    if bdata is not None:
        _, basin_handles = _basin_layer(ax, *bdata[:3])

    if traj is not None:
        first = True
        for tr in traj:
            P = _finite_rows(tr, lim)
            if len(P) == 0:
                continue
            u = proj(P)
            ax.plot(
                u[:, 0],
                u[:, 1],
                ".",
                ms=1.5,
                color=TRAJECTORY_COLOUR,
                alpha=0.5,
                label="trajectories" if first else None,
                gid="trajectory",
                zorder=1,
            )
            first = False
            drawn.append(u)

    for a in scene.attractors:
        u = proj(_finite_rows(a["points"]))
        ax.plot(
            u[:, 0],
            u[:, 1],
            ".",
            ms=2.5,
            color=ATTRACTOR_COLOUR,
            gid="attractor",
            label=f"attractor {a['id']} ({a['kind']})",
            zorder=3,
        )
        drawn.append(u)

    # -- manifolds
    bound = 1e6
    if scene.box is not None:
        bound = 10.0 * float(np.max(np.abs(np.concatenate(scene.box))) + 1.0)
    skipped = []
    for m in scene.manifolds:
        n, kind, colour = m["dimension"], m["kind"], MANIFOLD_COLOURS[m["kind"]]
        if not m["pieces"]:
            continue
        label = f"{kind} manifold of orbit {m['orbit']}"
        if M > 2 and n == M - 1 and n >= 2:
            segs, polys = [], []
            for p in m["pieces"]:
                T = piece_trace(p["origin"], p["basis"], p["G"], p["g"], base, proj.V, bound=bound)
                if len(T) == 2:
                    segs.append(proj(T))
                elif len(T) >= 3:
                    polys.append(proj(T))
            lab = f"{label}: trace on the plane"
            if segs:
                lc = LineCollection(
                    segs, colors=colour, linewidths=1.6, linestyles="--", label=lab, zorder=4
                )
                lc.set_gid(f"trace-{kind}")
                ax.add_collection(lc)
                lab = None
            if polys:
                pc = PolyCollection(
                    polys, facecolors=colour, edgecolors=colour, alpha=0.3, label=lab, zorder=4
                )
                pc.set_gid(f"trace-{kind}")
                ax.add_collection(pc)
            if not segs and not polys:
                # keep the legend honest: the manifold exists but misses the plane
                ax.plot(
                    [],
                    [],
                    "--",
                    color=colour,
                    label=f"{lab} (no intersection)",
                    gid=f"trace-{kind}",
                )
        elif n == 1:
            segs = [proj(_piece_vertices(p, 1, bound)) for p in m["pieces"]]
            segs = [s for s in segs if len(s) == 2]
            lc = LineCollection(segs, colors=colour, linewidths=1.6, label=label, zorder=4)
            lc.set_gid(f"manifold-{kind}")
            ax.add_collection(lc)
            drawn.extend(segs)
        elif n == 2:
            polys = [proj(_piece_vertices(p, 2, bound)) for p in m["pieces"]]
            polys = [q for q in polys if len(q) >= 3]
            pc = PolyCollection(
                polys,
                facecolors=colour,
                edgecolors=colour,
                alpha=0.25,
                linewidths=0.5,
                label=label,
                zorder=4,
            )
            pc.set_gid(f"manifold-{kind}")
            ax.add_collection(pc)
            drawn.extend(polys)
        else:
            skipped.append(f"{kind} manifold of orbit {m['orbit']} (dimension {n})")
    if skipped:
        warnings.warn(
            "no 2-D view for " + ", ".join(skipped) + f" in M = {M}: only pieces of dimension "
            "1, 2 or M-1 can be drawn; use manifold_3d or another projection",
            UserWarning,
            stacklevel=2,
        )

    # -- regions
    if show_regions and scene.model is not None:
        W2, h2 = scene.model.W2, scene.model.h2
        ub = proj(base)
        first = True
        for i in range(scene.model.H):
            a = W2[i] @ proj.V
            na = float(a @ a)
            if na <= 1e-24 * max(1.0, float(W2[i] @ W2[i])):
                continue  # hyperplane parallel to the display plane
            # plane points b + V t map to display u = u_b + t (V orthonormal), so the trace
            # W2_i (b + V t) + h2_i = 0 reads a.(u - u_b) = beta with a = W2_i V
            beta = -(h2[i] + W2[i] @ base)
            u0 = ub + beta * a / na
            d = np.array([-a[1], a[0]])
            ax.axline(
                tuple(u0),
                tuple(u0 + d),
                color=REGION_COLOUR,
                lw=0.8,
                ls=":",
                zorder=0.5,
                gid="region",
                label="region boundaries" if first else None,
            )
            first = False

    # -- orbits, by type
    groups: dict[str, list] = {}
    for o in scene.orbits:
        groups.setdefault(o["classification"], []).append(o)
    for cls in sorted(
        groups,
        key=lambda c: (
            c not in ORBIT_STYLES,
            list(ORBIT_STYLES).index(c) if c in ORBIT_STYLES else 0,
            c,
        ),
    ):
        st = ORBIT_STYLES.get(cls, _OTHER_ORBIT)
        pts = np.vstack([o["points"] for o in groups[cls]])
        u = proj(pts)
        k = len(groups[cls])
        ax.plot(
            u[:, 0],
            u[:, 1],
            linestyle="none",
            marker=st["marker"],
            color=st["color"],
            mec="black",
            mew=0.6,
            ms=7,
            zorder=6,
            gid=f"orbit-{cls or 'other'}",
            label=f"{st['label'] if cls in ORBIT_STYLES else cls or 'orbit'} ({k})",
        )
        drawn.append(u)

    if scene.intersections:
        u = proj(np.array([x["point"] for x in scene.intersections]))
        kinds = sorted({str(x["kind"]) for x in scene.intersections})
        ax.plot(
            u[:, 0],
            u[:, 1],
            linestyle="none",
            marker="*",
            ms=10,
            color=INTERSECTION_COLOUR,
            mec="black",
            mew=0.5,
            zorder=7,
            gid="intersection",
            label=" / ".join(kinds) + " points",
        )
        drawn.append(u)

    # -- limits
    orbit_u = proj(np.vstack([o["points"] for o in scene.orbits])) if scene.orbits else None
    if scene.box is not None and proj.kind in ("identity", "coordinates"):
        i = int(np.argmax(proj.V[:, 0]))
        j = int(np.argmax(proj.V[:, 1]))
        x0, x1 = scene.box[0][i], scene.box[1][i]
        y0, y1 = scene.box[0][j], scene.box[1][j]
    elif drawn:
        D = np.vstack([d for d in drawn if len(d)])
        (x0, y0), (x1, y1) = D.min(axis=0), D.max(axis=0)
        px, py = 0.05 * max(x1 - x0, 1e-9), 0.05 * max(y1 - y0, 1e-9)
        x0, x1, y0, y1 = x0 - px, x1 + px, y0 - py, y1 + py
    else:
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    if orbit_u is not None:
        # orbits are always visible, with a small margin
        pad = 0.02 * max(x1 - x0, y1 - y0, 1e-9)
        x0 = min(x0, orbit_u[:, 0].min() - pad)
        x1 = max(x1, orbit_u[:, 0].max() + pad)
        y0 = min(y0, orbit_u[:, 1].min() - pad)
        y1 = max(y1, orbit_u[:, 1].max() + pad)
    ax.set_xlim(xlim if xlim is not None else (x0, x1))
    ax.set_ylim(ylim if ylim is not None else (y0, y1))
    ax.set_xlabel(proj.labels[0])
    ax.set_ylabel(proj.labels[1])
    if title is None:
        title = "phase portrait" + ("" if proj.is_lossless else f" ({proj.kind} projection)")
    ax.set_title(title)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        handles += basin_handles
        labels += [h.get_label() for h in basin_handles]
        if handles:
            ax.legend(handles, labels, fontsize="small", loc="best", framealpha=0.85)
    return fig


# ====================================================================== 3-D
def _coords3(M: int, coords) -> tuple[int, int, int]:
    if M < 3:
        raise DataError(f"a 3-D view needs M >= 3, got M = {M}; use phase_portrait")
    if coords is None:
        if M > 3:
            warnings.warn(
                f"M = {M} > 3 and no coords given; showing coordinates (0, 1, 2)",
                UserWarning,
                stacklevel=3,
            )
        return (0, 1, 2)
    c = tuple(int(x) for x in coords)
    if len(c) != 3 or len(set(c)) != 3 or not all(0 <= x < M for x in c):
        raise DataError(f"coords must be three different indices in 0..{M - 1}, got {coords}")
    return c


def _pieces_3d(scene: _Scene, coords):
    """Per manifold: (kind, label, dimension, list of vertex arrays (v, 3)); skipped list."""
    out, skipped = [], []
    bound = 1e6
    if scene.box is not None:
        bound = 10.0 * float(np.max(np.abs(np.concatenate(scene.box))) + 1.0)
    idx = list(coords)
    for m in scene.manifolds:
        n = m["dimension"]
        if n > 2:
            skipped.append(f"{m['kind']} manifold of orbit {m['orbit']} (dimension {n})")
            continue
        shapes = [_piece_vertices(p, n, bound)[:, idx] for p in m["pieces"]]
        shapes = [s for s in shapes if len(s) >= (2 if n == 1 else 3)]
        out.append((m["kind"], f"{m['kind']} manifold of orbit {m['orbit']}", n, shapes))
    return out, skipped


def manifold_3d(
    results_or_model,
    *,
    ax=None,
    orbits=None,
    manifolds=None,
    trajectories=0,
    n_steps: int = 300,
    transient: int = 0,
    coords=None,
    seed: int = 0,
    elev: float = 25.0,
    azim: float = -60.0,
    legend: bool = True,
    title: str | None = None,
) -> Figure:
    """3-D view of manifold pieces: polygons for 2-D pieces, segments for 1-D pieces.

    Parameters
    ----------
    results_or_model, orbits, manifolds, trajectories, n_steps, transient, seed
        As in :func:`phase_portrait` (no trajectories by default).
    ax : Axes3D, optional
        A 3-D axes (``fig.add_subplot(projection="3d")``).
    coords : (i, j, k), optional
        Coordinates shown; default ``(0, 1, 2)`` (with a warning when M > 3).

    Returns
    -------
    Figure
        One ``Poly3DCollection`` (gid ``manifold-<kind>``, one polygon per piece) per 2-D
        manifold, one ``Line3DCollection`` (one segment per piece) per 1-D manifold.

    Raises
    ------
    DataError
        If M < 3, the coordinates are invalid, or the input is malformed. Pieces of dimension
        > 2 (only for M > 3) are skipped with a :class:`UserWarning`.
    """
    from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

    scene = _scene(results_or_model, orbits, manifolds)
    c = _coords3(scene.M, coords)
    if ax is not None and getattr(ax, "name", "") != "3d":
        raise DataError("manifold_3d needs a 3-D axes: fig.add_subplot(projection='3d')")
    fig, ax = _new_axes(ax, projection="3d", figsize=(6.4, 6.0))
    allpts = []
    traj = _trajectories(scene, trajectories, n_steps, transient, seed)
    if traj is not None:
        for t, tr in enumerate(traj):
            P = _finite_rows(tr)[:, list(c)]
            ax.plot(
                P[:, 0],
                P[:, 1],
                P[:, 2],
                ".",
                ms=1,
                color=TRAJECTORY_COLOUR,
                alpha=0.4,
                gid="trajectory",
                label="trajectories" if t == 0 else None,
            )
            allpts.append(P)
    shapes, skipped = _pieces_3d(scene, c)
    if skipped:
        warnings.warn(
            "3-D view cannot draw " + ", ".join(skipped) + "; skipped", UserWarning, stacklevel=2
        )
    for kind, label, n, polys in shapes:
        if not polys:
            continue
        colour = MANIFOLD_COLOURS[kind]
        if n == 2:
            coll = Poly3DCollection(
                polys, facecolors=colour, edgecolors=colour, alpha=0.35, linewidths=0.3, label=label
            )
        else:
            coll = Line3DCollection(polys, colors=colour, linewidths=1.6, label=label)
        coll.set_gid(f"manifold-{kind}")
        ax.add_collection3d(coll)
        allpts.append(np.vstack(polys))
    groups: dict[str, list] = {}
    for o in scene.orbits:
        groups.setdefault(o["classification"], []).append(o)
    for cls, os_ in groups.items():
        st = ORBIT_STYLES.get(cls, _OTHER_ORBIT)
        P = np.vstack([o["points"] for o in os_])[:, list(c)]
        ax.plot(
            P[:, 0],
            P[:, 1],
            P[:, 2],
            linestyle="none",
            marker=st["marker"],
            color=st["color"],
            mec="black",
            ms=7,
            gid=f"orbit-{cls or 'other'}",
            label=f"{st['label'] if cls in ORBIT_STYLES else cls or 'orbit'} ({len(os_)})",
        )
        allpts.append(P)
    if scene.box is not None:
        lo, hi = scene.box
        ax.set_xlim(lo[c[0]], hi[c[0]])
        ax.set_ylim(lo[c[1]], hi[c[1]])
        ax.set_zlim(lo[c[2]], hi[c[2]])
    elif allpts:
        D = np.vstack(allpts)
        lo, hi = D.min(axis=0), D.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-9)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_zlim(lo[2] - pad[2], hi[2] + pad[2])
    ax.set_xlabel(f"$z_{{{c[0] + 1}}}$")
    ax.set_ylabel(f"$z_{{{c[1] + 1}}}$")
    ax.set_zlabel(f"$z_{{{c[2] + 1}}}$")
    ax.view_init(elev=elev, azim=azim)
    ax.set_title(title or "manifolds in 3-D")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left")
    return fig


def _require_plotly():
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError(
            "interactive 3-D figures need plotly, which is not installed; install it with "
            "`pip install 'plrnn-manifolds[plots]'` (or `pip install plotly`)"
        ) from None
    return go


def manifold_3d_plotly(results_or_model, *, orbits=None, manifolds=None, coords=None):
    """Interactive plotly figure of the manifold pieces in 3-D (see :func:`manifold_3d_html`).

    2-D pieces become one ``Mesh3d`` trace per manifold (each convex polygon triangulated as a
    fan, ``v - 2`` triangles for ``v`` vertices), 1-D pieces one ``Scatter3d`` line trace per
    manifold (segments separated by gaps), orbits one marker trace per classification.

    Raises
    ------
    ImportError
        If plotly is not installed (the ``plots`` extra).
    DataError
        As :func:`manifold_3d`.
    """
    go = _require_plotly()
    scene = _scene(results_or_model, orbits, manifolds)
    c = _coords3(scene.M, coords)
    shapes, skipped = _pieces_3d(scene, c)
    if skipped:
        warnings.warn(
            "3-D view cannot draw " + ", ".join(skipped) + "; skipped", UserWarning, stacklevel=2
        )
    fig = go.Figure()
    for kind, label, n, polys in shapes:
        colour = MANIFOLD_COLOURS[kind]
        if not polys:
            continue
        if n == 2:
            verts, I, J, K = [], [], [], []
            off = 0
            for P in polys:
                v = len(P)
                verts.append(P)
                for q in range(1, v - 1):
                    I.append(off)
                    J.append(off + q)
                    K.append(off + q + 1)
                off += v
            V = np.vstack(verts)
            fig.add_trace(
                go.Mesh3d(
                    x=V[:, 0],
                    y=V[:, 1],
                    z=V[:, 2],
                    i=I,
                    j=J,
                    k=K,
                    color=colour,
                    opacity=0.45,
                    name=label,
                    showlegend=True,
                    flatshading=True,
                )
            )
        else:
            xs, ys, zs = [], [], []
            for P in polys:
                xs += [P[0, 0], P[1, 0], None]
                ys += [P[0, 1], P[1, 1], None]
                zs += [P[0, 2], P[1, 2], None]
            fig.add_trace(
                go.Scatter3d(
                    x=xs, y=ys, z=zs, mode="lines", name=label, line={"color": colour, "width": 4}
                )
            )
    groups: dict[str, list] = {}
    for o in scene.orbits:
        groups.setdefault(o["classification"], []).append(o)
    symbols = {"o": "circle", "D": "diamond", "^": "cross", "s": "square"}
    for cls, os_ in groups.items():
        st = ORBIT_STYLES.get(cls, _OTHER_ORBIT)
        P = np.vstack([o["points"] for o in os_])[:, list(c)]
        fig.add_trace(
            go.Scatter3d(
                x=P[:, 0],
                y=P[:, 1],
                z=P[:, 2],
                mode="markers",
                name=f"{st['label'] if cls in ORBIT_STYLES else cls} ({len(os_)})",
                marker={
                    "color": st["color"],
                    "size": 6,
                    "symbol": symbols.get(st["marker"], "circle"),
                    "line": {"color": "black", "width": 1},
                },
            )
        )
    fig.update_layout(
        scene={
            "xaxis_title": f"z{c[0] + 1}",
            "yaxis_title": f"z{c[1] + 1}",
            "zaxis_title": f"z{c[2] + 1}",
        },
        title="stable (blue) and unstable (red) manifolds",
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return fig


def manifold_3d_html(
    results, path, *, orbits=None, manifolds=None, coords=None, include_plotlyjs=True
) -> Path:
    """Write an interactive 3-D view of the manifolds as an HTML file (plotly), atomically.

    Parameters
    ----------
    results : dict or PLMap
        As in :func:`phase_portrait`.
    path : path-like
        Output ``.html`` file.
    include_plotlyjs : bool or "cdn"
        ``True`` (default) embeds plotly.js so the file works offline (about 4 MB); ``"cdn"``
        links it instead.

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        If plotly is not installed: ``pip install 'plrnn-manifolds[plots]'``.
    """
    fig = manifold_3d_plotly(results, orbits=orbits, manifolds=manifolds, coords=coords)
    html = fig.to_html(include_plotlyjs=include_plotlyjs, full_html=True)
    return atomic_write_text(Path(path), html)


# ====================================================================== bifurcation, spectra
def _split_runs(labels):
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((start, i, labels[start]))
            start = i
    return runs


def bifurcation_diagram(
    param_values,
    attractor_points,
    lyapunov,
    orbits=None,
    *,
    coordinate: int = 0,
    param_name: str = "parameter",
    ax=None,
    title: str | None = None,
) -> Figure:
    r"""Bifurcation diagram with the largest Lyapunov exponent in a panel underneath.

    Parameters
    ----------
    param_values : (P,) array_like
    attractor_points : sequence of length P
        For each parameter value the attractor points: ``(n_p, M)`` states (coordinate
        ``coordinate`` is plotted) or ``(n_p,)`` values; empty where nothing was found.
    lyapunov : (P,) or (P, M) array_like
        Largest exponent per value (or spectra, whose first column is used). NaN leaves a gap.
    orbits : sequence of dict, optional
        Tracked orbit branches, each ``{"param": (q,), "points": (q,) or (q, M) or (q, k, M),
        "classification": str or list of q str}``; drawn as lines in the orbit palette
        (stable solid, saddle dashed, unstable dotted).
    coordinate : int
        State coordinate on the vertical axis.
    ax : (Axes, Axes), optional
        Top (diagram) and bottom (exponent) axes.

    Returns
    -------
    Figure

    Raises
    ------
    DataError
        If lengths disagree, parameters are not finite, or the coordinate is out of range.
    """
    p = _arr("param_values", param_values, 1)
    if len(p) == 0:
        raise DataError("param_values is empty")
    if len(attractor_points) != len(p):
        raise DataError(f"attractor_points has {len(attractor_points)} entries, expected {len(p)}")
    lyap = _arr("lyapunov", lyapunov, allow_nonfinite=True)
    if lyap.ndim == 2:
        lyap = lyap[:, 0]
    if lyap.shape != p.shape:
        raise DataError(f"lyapunov must have {len(p)} values (or rows), got shape {lyap.shape}")
    if ax is None:
        fig = Figure(figsize=(6.4, 6.0), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    else:
        try:
            top, bottom = ax
        except (TypeError, ValueError):
            raise DataError("ax must be a pair (top, bottom) of Axes") from None
        fig = _figure_of(top)
    xs, ys = [], []
    for k, pts in enumerate(attractor_points):
        a = _arr(f"attractor_points[{k}]", pts, allow_nonfinite=True)
        if a.size == 0:
            continue
        if a.ndim == 2:
            if not 0 <= coordinate < a.shape[1]:
                raise DataError(f"coordinate {coordinate} out of range for M = {a.shape[1]}")
            a = a[:, coordinate]
        a = a.reshape(-1)
        a = a[np.isfinite(a)]
        xs.append(np.full(a.shape, p[k]))
        ys.append(a)
    X = np.concatenate(xs) if xs else np.zeros(0)
    Y = np.concatenate(ys) if ys else np.zeros(0)
    top.plot(
        X,
        Y,
        ",",
        color=ATTRACTOR_COLOUR,
        alpha=0.6,
        gid="attractor",
        rasterized=True,
        label="attractor points",
    )
    for bi, br in enumerate(orbits or []):
        q = _arr(f"orbits[{bi}]['param']", br["param"], 1)
        P = _arr(f"orbits[{bi}]['points']", br["points"], allow_nonfinite=True)
        if P.shape[0] != len(q):
            raise DataError(f"orbits[{bi}]: {P.shape[0]} points for {len(q)} parameter values")
        if P.ndim >= 2:
            P = P[..., coordinate]
        P = P.reshape(len(q), -1)
        cls = br.get("classification", "")
        labels = [cls] * len(q) if isinstance(cls, str) else list(cls)
        for s, e, c in _split_runs(labels):
            st = ORBIT_STYLES.get(c, _OTHER_ORBIT)
            ls = {"stable": "-", "saddle": "--", "unstable": ":"}.get(c, "-.")
            e2 = min(e + 1, len(q))  # connect to the next run
            for col in range(P.shape[1]):
                top.plot(
                    q[s:e2],
                    P[s:e2, col],
                    ls,
                    color=st["color"],
                    lw=1.2,
                    gid=f"branch-{c or 'other'}",
                )
    top.set_ylabel(f"$z_{{{coordinate + 1}}}$")
    top.set_title(title or "bifurcation diagram")
    bottom.axhline(0.0, color="0.5", lw=0.8, gid="zero")
    bottom.plot(
        p, lyap, "-", color="#1f77b4", lw=1.2, gid="lyapunov", marker="." if len(p) < 60 else None
    )
    pos = np.isfinite(lyap) & (lyap > 0)
    if pos.any():
        bottom.plot(
            p[pos],
            lyap[pos],
            "o",
            ms=3,
            color=GENERATED_COLOUR,
            gid="lyapunov-positive",
            label=r"$\lambda_{\max} > 0$",
        )
        bottom.legend(fontsize="small")
    bottom.set_xlabel(param_name)
    bottom.set_ylabel(r"$\lambda_{\max}$")
    lo, hi = float(p.min()), float(p.max())
    if hi > lo:
        top.set_xlim(lo, hi)
    return fig


def lyapunov_spectrum_plot(exponents, band=None, *, ax=None, title: str | None = None) -> Figure:
    r"""Lyapunov spectrum: exponents by index, with a confidence band and the zero line.

    Parameters
    ----------
    exponents : (M,) array_like or LyapunovResult
        Exponents (descending). ``-inf`` (a direction annihilated by a singular Jacobian) is drawn
        as a downward triangle at the bottom edge and labelled.
    band : (low, high) of (M,) arrays, (M,) half-widths, or None
        Confidence band (a :class:`~plrnn_manifolds.chaos.LyapunovResult` brings its own).

    Returns
    -------
    Figure

    Raises
    ------
    DataError
        Empty exponents, NaN, or a band of the wrong shape.
    """
    if hasattr(exponents, "exponents"):
        res = exponents
        exponents = res.exponents
        if band is None and hasattr(res, "ci_low"):
            band = (res.ci_low, res.ci_high)
    e = _arr("exponents", exponents, 1, allow_nonfinite=True)
    if e.size == 0 or np.any(np.isnan(e)) or np.any(e == np.inf):
        raise DataError("exponents must be a non-empty vector without NaN or +inf")
    idx = np.arange(1, e.size + 1)
    fin = np.isfinite(e)
    fig, ax = _new_axes(ax, figsize=(5.0, 3.6))
    ax.axhline(0.0, color="0.5", lw=0.8, gid="zero")
    if band is not None:
        b = _arr("band", band, allow_nonfinite=True)
        if b.shape == (2, e.size):
            low, high = b
        elif b.shape == (e.size,):
            low, high = e - b, e + b
        else:
            raise DataError(
                f"band must be (low, high) arrays or half-widths of length {e.size}, got {b.shape}"
            )
        ok = fin & np.isfinite(low) & np.isfinite(high)
        yerr = np.vstack([e[ok] - low[ok], high[ok] - e[ok]])
        cont = ax.errorbar(idx[ok], e[ok], yerr=yerr, fmt="none", ecolor="#1f77b4", capsize=4)
        for bars in cont.lines[2]:  # the vertical bars (a LineCollection)
            bars.set_gid("band")
    colours = np.where(e[fin] > 0, GENERATED_COLOUR, "#1f77b4")
    ax.scatter(idx[fin], e[fin], c=list(colours), zorder=3, gid="exponents", s=30)
    if (~fin).any():
        lowest = float(np.min(e[fin])) if fin.any() else 0.0
        span = (float(np.max(e[fin])) - lowest) if fin.sum() > 1 else 1.0
        y = lowest - 0.25 * max(span, 1e-3)
        ax.plot(
            idx[~fin],
            np.full((~fin).sum(), y),
            "v",
            color="0.3",
            gid="minus-inf",
            label=r"$-\infty$ (singular Jacobian)",
        )
        ax.legend(fontsize="small")
    ax.margins(x=0.15, y=0.15)
    ax.set_xticks(idx)
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"$\lambda_i$ (per step)")
    ax.set_title(title or "Lyapunov spectrum")
    return fig


# ====================================================================== trained models
def _series(name, x, allow_nonfinite=False) -> np.ndarray:
    a = _arr(name, x, allow_nonfinite=allow_nonfinite)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 2:
        raise DataError(f"{name} must be a time series (T,) or (T, N) with T >= 2, got {a.shape}")
    return a


def _dims(N: int, dims, max_dims: int) -> list[int]:
    if dims is None:
        return list(range(min(N, max_dims)))
    d = [int(x) for x in dims]
    if not d or any(not 0 <= x < N for x in d):
        raise DataError(f"dims must be indices in 0..{N - 1}, got {dims}")
    return d


def _axes_list(ax, n, figsize):
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        return fig, list(axes)
    if isinstance(ax, Sequence) or isinstance(ax, np.ndarray):
        axes = list(np.ravel(ax))
        if len(axes) != n:
            raise DataError(f"{n} dimension(s) to draw but {len(axes)} axes given")
        return _figure_of(axes[0]), axes
    return _figure_of(ax), [ax] * n


def time_series_plot(
    data,
    generated,
    *,
    dt: float = 1.0,
    dims=None,
    max_dims: int = 6,
    ax=None,
    title: str | None = None,
) -> Figure:
    """Measured against generated time series, one panel per dimension.

    Parameters
    ----------
    data : (T, N) or (T,) array_like
        Observed series (finite).
    generated : (T', N) or (T',) array_like
        Model-generated series (may diverge: non-finite values leave gaps).
    dt : float
        Sampling interval (time axis ``t = k dt``).
    dims : sequence of int, optional
        Dimensions drawn (default the first ``max_dims``).
    ax : Axes or sequence of Axes, optional
        One Axes (all dimensions on it) or one per dimension.

    Returns
    -------
    Figure
        Per dimension two lines: gid ``data`` (colour ``#222222``) and ``generated``
        (``#d62728``, dashed).

    Raises
    ------
    DataError
        Mismatched numbers of dimensions, non-positive ``dt``, malformed arrays.
    """
    x = _series("data", data)
    y = _series("generated", generated, allow_nonfinite=True)
    if x.shape[1] != y.shape[1]:
        raise DataError(f"data has {x.shape[1]} dimension(s) but generated has {y.shape[1]}")
    if not (np.isfinite(dt) and dt > 0):
        raise DataError(f"dt must be positive, got {dt}")
    d = _dims(x.shape[1], dims, max_dims)
    fig, axes = _axes_list(ax, len(d), (7.0, 1.0 + 1.4 * len(d)))
    tx = np.arange(len(x)) * dt
    ty = np.arange(len(y)) * dt
    for a, k in zip(axes, d, strict=True):
        a.plot(
            tx,
            x[:, k],
            "-",
            color=DATA_COLOUR,
            lw=1.0,
            gid="data",
            label="data" if k == d[0] else None,
        )
        a.plot(
            ty,
            y[:, k],
            "--",
            color=GENERATED_COLOUR,
            lw=1.0,
            gid="generated",
            label="generated" if k == d[0] else None,
        )
        a.set_ylabel(f"$x_{{{k + 1}}}$")
    axes[-1].set_xlabel("time")
    axes[0].legend(fontsize="small", loc="upper right")
    axes[0].set_title(title or "time series: data vs generated")
    return fig


def _periodogram(x: np.ndarray, dt: float, smoothing: float):
    """Hann-windowed periodogram per column, optionally Gaussian-smoothed (std in bins)."""
    T = x.shape[0]
    w = np.hanning(T)
    X = np.fft.rfft((x - x.mean(axis=0)) * w[:, None], axis=0)
    P = (np.abs(X) ** 2) / max(float(np.sum(w**2)), 1e-300) * dt
    f = np.fft.rfftfreq(T, dt)
    if smoothing and smoothing > 0:
        half = int(np.ceil(4 * smoothing))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / smoothing) ** 2)
        k /= k.sum()
        P = np.apply_along_axis(
            lambda c: np.convolve(np.pad(c, half, mode="reflect"), k, "valid"), 0, P
        )
    return f, P


def power_spectrum_plot(
    data,
    generated,
    dt: float = 1.0,
    *,
    dims=None,
    max_dims: int = 6,
    smoothing: float = 0.0,
    ax=None,
    title: str | None = None,
) -> Figure:
    r"""Power spectra of measured and generated series (Hann-windowed periodograms, log scale).

    :math:`P(f_k) = \Delta t\,|\sum_t w_t (x_t - \bar x) e^{-2\pi i k t / T}|^2 / \sum_t w_t^2`
    at :math:`f_k = k / (T \Delta t)`, optionally smoothed by a Gaussian of ``smoothing`` bins.
    The zero frequency is not drawn (the mean is removed). Cost :math:`O(T \log T)` per
    dimension.

    Parameters
    ----------
    data, generated : (T, N) array_like
        Series; generated values must be finite here (a diverged run has no spectrum).
    dt : float
        Sampling interval; frequencies are in cycles per unit time.

    Returns
    -------
    Figure
        Per dimension two lines, gids ``data`` and ``generated``.

    Raises
    ------
    DataError
        Non-finite input, mismatched dimensions, non-positive ``dt``.
    """
    x = _series("data", data)
    y = _series("generated", generated)
    if x.shape[1] != y.shape[1]:
        raise DataError(f"data has {x.shape[1]} dimension(s) but generated has {y.shape[1]}")
    if not (np.isfinite(dt) and dt > 0):
        raise DataError(f"dt must be positive, got {dt}")
    d = _dims(x.shape[1], dims, max_dims)
    fx, Px = _periodogram(x[:, d], dt, smoothing)
    fy, Py = _periodogram(y[:, d], dt, smoothing)
    fig, axes = _axes_list(ax, len(d), (6.4, 1.0 + 1.6 * len(d)))
    tiny = 1e-300
    for c, (a, k) in enumerate(zip(axes, d, strict=True)):
        a.semilogy(
            fx[1:],
            np.maximum(Px[1:, c], tiny),
            "-",
            color=DATA_COLOUR,
            lw=1.0,
            gid="data",
            label="data" if c == 0 else None,
        )
        a.semilogy(
            fy[1:],
            np.maximum(Py[1:, c], tiny),
            "--",
            color=GENERATED_COLOUR,
            lw=1.0,
            gid="generated",
            label="generated" if c == 0 else None,
        )
        a.set_ylabel(f"power $x_{{{k + 1}}}$")
        # keep ten decades below the peak: numerical floors (1e-30) would flatten the plot
        top = max(float(np.max(Px[1:, c], initial=tiny)), float(np.max(Py[1:, c], initial=tiny)))
        a.set_ylim(bottom=max(top * 1e-10, tiny))
    axes[-1].set_xlabel("frequency (cycles per unit time)")
    axes[0].legend(fontsize="small", loc="upper right")
    axes[0].set_title(title or "power spectra")
    return fig
