r"""Attractors and their basins by simulation (the brute-force half of DESIGN.md section 5).

Attractors
----------
:func:`find_attractors` combines two sources:

* **stable orbits** of a supplied orbit list (e.g. ``orbits.find_orbits(...).orbits``): only
  those with ``classification == "stable"`` are attractors; saddles and unstable orbits never are;
* **simulation**: ``n_initial`` seeded initial conditions, uniform in a box, are iterated
  ``n_transient`` steps and their next ``n_keep`` states (the *tail*) are classified.

A tail is *periodic* when its activation-pattern sequence is exactly ``k``-periodic over the
last ``2 max_period`` steps; the cycle is then solved exactly from the pattern sequence
(:meth:`PLMap.solve_cycle`), accepted if its points really have those patterns and its
monodromy :math:`J_{d_k}\cdots J_{d_1}` has spectral radius below 1. (If the patterns flicker
because the cycle lies on a region boundary, a return within ``tol`` after ``k`` steps is
accepted instead, with the tail's last ``k`` states as the points.) Periodic tails are matched
to known periodic attractors (within ``100 tol``, modulo cyclic shift); otherwise they found a
new one.

Other bounded tails are point clouds. A cloud joins an existing attractor when it comes within
that attractor's *capture radius* of its points (a :class:`scipy.spatial.cKDTree` query);
otherwise it founds a new one whose capture radius is twice the 95th percentile of the
nearest-neighbour distances of its points (recomputed once all tails are in), so the balls
cover the attractor. Clouds that come within each other's radius are merged at the end. Each
cloud is labelled by its Lyapunov spectrum (:func:`~plrnn_manifolds.chaos.lyapunov_spectrum`,
exact region Jacobians) with half-width ``hw`` of the 95 % band of the largest exponent
:math:`\lambda_1`:

* :math:`\lambda_1 - hw > \text{lyapunov\_tol}`: ``"chaotic"``;
* :math:`|\lambda_1| \le hw + \text{lyapunov\_tol}`: ``"quasi_periodic"``;
* :math:`\lambda_1 + hw < -\text{lyapunov\_tol}`: a cycle that the pattern test missed; the
  tail is iterated ``10 n_transient`` further steps and tested again, and if it still is not
  periodic it is reported as ``"cycle"`` with ``period=None``.

A cloud whose Lyapunov run diverges was a chaotic transient: it is dropped and its initial
conditions count as escaping.

Escape
------
A trajectory escapes when its norm exceeds ``escape_radius`` (default
``escape_factor * (|box centre| + box diameter)``, at least ``escape_factor``) or becomes
non-finite; it is frozen there and labelled ``-1``. States are never NaN in any output.

Basins
------
:func:`basin_of` iterates a batch of points (vectorised) and labels each by the attractor whose
capture radius it enters and stays in for ``n_confirm`` consecutive checks (every
``check_every`` steps); ``-1`` for escape, ``-2`` for undecided after ``n_steps``. The capture
radius of a periodic attractor is ``min(0.5 * boundary margin, 1e-3 L)`` (at least
``100 tol L``), with ``L = max(model.scale, box diameter)``, so that a captured point lies in
the regions of the orbit. :func:`grid_basins` and :func:`basin_fractions` are built on it.

All tolerances are relative to ``L``. Every random stream is seeded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from ._validate import as_float_array, as_state
from .bounds import default_box
from .chaos import lyapunov_spectrum
from .errors import DataError, OrbitError

__all__ = [
    "Attractor",
    "AttractorCatalogue",
    "BasinFractions",
    "GridBasins",
    "basin_fractions",
    "basin_of",
    "default_box",
    "find_attractors",
    "grid_basins",
]

ESCAPE = -1
UNDECIDED = -2
KINDS = ("fixed_point", "cycle", "quasi_periodic", "chaotic")


# ====================================================================== data classes
@dataclass
class Attractor:
    """One attractor of the catalogue.

    Attributes
    ----------
    id : int
        Label used by :func:`basin_of` (``0, 1, ...`` in catalogue order).
    kind : str
        ``"fixed_point"``, ``"cycle"``, ``"quasi_periodic"`` or ``"chaotic"``.
    period : int or None
        Period of a fixed point (1) or cycle; ``None`` otherwise (or if a cycle's period was not
        found, see the module notes).
    orbit : int or None
        Index into the orbit list given to :func:`find_attractors`, if the attractor is one of
        its stable orbits.
    points : ndarray, shape (n, M)
        The cycle's points, or a sample of the attractor (a trajectory tail).
    lyapunov : list of float
        Lyapunov exponents, descending: exact ``log|eig(monodromy)| / period`` for cycles,
        QR estimates for clouds (``-inf`` for exactly annihilated directions).
    centroid : ndarray, shape (M,)
        Mean of ``points``.
    basin_fraction : float or None
        Fraction of the box in the basin, once estimated (see
        :meth:`AttractorCatalogue.with_basin_fractions`).
    distance_to_boundary : float or None
        Distance to the basin boundary, filled by the exact (manifold-based) code.
    capture_radius : float
        Radius around ``points`` inside which :func:`basin_of` counts a point as captured.
    lyapunov_half_width : list of float
        Half-widths of the 95 % bands of ``lyapunov`` (zeros for exact values).
    n_hits : int
        How many of :func:`find_attractors`' initial conditions converged here.
    """

    id: int
    kind: str
    period: int | None
    orbit: int | None
    points: np.ndarray
    lyapunov: list
    centroid: np.ndarray
    basin_fraction: float | None = None
    distance_to_boundary: float | None = None
    capture_radius: float = 0.0
    lyapunov_half_width: list = field(default_factory=list)
    n_hits: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict with keys id, kind, period, orbit, points, lyapunov, basin_fraction,
        distance_to_boundary. An exponent ``-inf`` (a direction annihilated by a singular
        Jacobian) is written as ``None`` (JSON ``null``), since JSON has no infinities."""
        return {
            "id": int(self.id),
            "kind": self.kind,
            "period": None if self.period is None else int(self.period),
            "orbit": None if self.orbit is None else int(self.orbit),
            "points": np.asarray(self.points, dtype=float).tolist(),
            "lyapunov": [_json_float(x) for x in self.lyapunov],
            "basin_fraction": None if self.basin_fraction is None else float(self.basin_fraction),
            "distance_to_boundary": (
                None if self.distance_to_boundary is None else float(self.distance_to_boundary)
            ),
        }


@dataclass
class AttractorCatalogue:
    """Result of :func:`find_attractors`.

    Attributes
    ----------
    attractors : list of Attractor
        Stable orbits of the supplied list first (in list order), then attractors found by
        simulation in order of discovery; ``attractors[i].id == i``.
    box : (ndarray, ndarray)
        ``(lo, hi)`` of the box the initial conditions were drawn from.
    escape_radius : float
        Norm beyond which a trajectory escapes.
    length_scale : float
        ``L = max(model.scale, box diameter)``, the unit of the tolerances.
    n_initial, n_escaped : int
        Initial conditions simulated, and how many of them escaped.
    seed : int
        Seed of the initial conditions.
    notes : list of str
        Anything unusual (clouds dropped as transients, cycles without a period, ...).
    """

    attractors: list
    box: tuple
    escape_radius: float
    length_scale: float
    n_initial: int
    n_escaped: int
    seed: int
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.attractors)

    def __iter__(self):
        return iter(self.attractors)

    def __getitem__(self, i: int) -> Attractor:
        return self.attractors[i]

    @property
    def ids(self) -> list[int]:
        """Attractor ids in catalogue order."""
        return [a.id for a in self.attractors]

    def with_basin_fractions(self, fractions: BasinFractions) -> AttractorCatalogue:
        """Copy of the catalogue with ``basin_fraction`` set from a :class:`BasinFractions`."""
        new = copy.deepcopy(self)
        for a in new.attractors:
            a.basin_fraction = float(fractions.fractions.get(a.id, 0.0))
        return new

    def to_dict(self) -> dict:
        """JSON-ready description of the catalogue."""
        return {
            "attractors": [a.to_dict() for a in self.attractors],
            "box": [np.asarray(self.box[0]).tolist(), np.asarray(self.box[1]).tolist()],
            "escape_radius": float(self.escape_radius),
            "n_initial": int(self.n_initial),
            "n_escaped": int(self.n_escaped),
            "seed": int(self.seed),
            "notes": list(self.notes),
        }


@dataclass
class GridBasins:
    """Basin labels on a 2-D grid slice (see :func:`grid_basins`).

    ``labels[r, c]`` is the label of the state with coordinate ``slice[0]`` equal to ``xs[c]``,
    coordinate ``slice[1]`` equal to ``ys[r]`` and all others from ``base_point`` (the
    ``indexing="xy"`` convention of :func:`numpy.meshgrid`, so ``imshow(labels,
    origin="lower")`` draws it the right way up).
    """

    labels: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    slice: tuple
    base_point: np.ndarray

    def boundary_cells(self) -> np.ndarray:
        """Boolean mask of cells with a 4-neighbour of a different label."""
        L = self.labels
        mask = np.zeros(L.shape, dtype=bool)
        dx = L[:, 1:] != L[:, :-1]
        dy = L[1:, :] != L[:-1, :]
        mask[:, 1:] |= dx
        mask[:, :-1] |= dx
        mask[1:, :] |= dy
        mask[:-1, :] |= dy
        return mask

    def fractions(self) -> dict[int, float]:
        """Fraction of grid cells per label (attractor ids, ``-1`` escape, ``-2`` undecided)."""
        vals, counts = np.unique(self.labels, return_counts=True)
        return {int(v): float(c) / self.labels.size for v, c in zip(vals, counts, strict=True)}


@dataclass
class BasinFractions:
    """Monte Carlo basin fractions (see :func:`basin_fractions`).

    ``fractions[label]`` and ``stderr[label]`` for every attractor id, ``-1`` (escape) and
    ``-2`` (undecided); the standard error is the binomial :math:`\\sqrt{p(1-p)/n}`.
    """

    fractions: dict
    stderr: dict
    n_samples: int
    box: tuple
    seed: int

    def to_dict(self) -> dict:
        """JSON-ready dict (label keys as strings)."""
        return {
            "fractions": {str(k): float(v) for k, v in self.fractions.items()},
            "stderr": {str(k): float(v) for k, v in self.stderr.items()},
            "n_samples": int(self.n_samples),
            "box": [np.asarray(self.box[0]).tolist(), np.asarray(self.box[1]).tolist()],
            "seed": int(self.seed),
        }


# ====================================================================== helpers
def _json_float(x):
    """A float for JSON; -inf (the only non-finite exponent that can occur) becomes None."""
    x = float(x)
    return x if np.isfinite(x) else None


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool):
        raise DataError(f"{name} must be an integer, got {value!r}")
    try:
        iv = int(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be an integer, got {value!r}") from None
    if iv != value or iv < minimum:
        raise DataError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return iv


def _pos(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise DataError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _check_model(model):
    if not all(hasattr(model, a) for a in ("M", "H", "pattern", "jacobian", "scale")):
        raise DataError(f"model must be a PLMap (canonical map), got {type(model).__name__}")
    return model


def _check_box(model, box) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``box = (lo, hi)``: two finite length-M vectors with ``lo < hi``."""
    try:
        lo, hi = box
    except (TypeError, ValueError):
        raise DataError("box must be a pair (lo, hi) of length-M vectors") from None
    out = []
    for name, v in (("lo", lo), ("hi", hi)):
        try:
            a = np.array(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"box {name} is not numeric: {v!r}") from None
        if a.ndim == 0:
            a = np.full(model.M, float(a))
        if a.shape != (model.M,):
            raise DataError(f"box {name} must have shape ({model.M},), got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise DataError(f"box {name} contains NaN or infinite values")
        out.append(a)
    lo, hi = out
    if np.any(hi <= lo):
        bad = np.nonzero(hi <= lo)[0].tolist()
        raise DataError(
            f"box is empty or inverted in coordinate(s) {bad}: need lo < hi, got lo={lo[bad]}, "
            f"hi={hi[bad]}"
        )
    return lo, hi


def _length_scale(model, lo, hi) -> float:
    return float(max(model.scale, np.linalg.norm(hi - lo)))


def _escape_radius_for(lo, hi, escape_factor: float) -> float:
    centre = 0.5 * (lo + hi)
    return float(escape_factor * max(np.linalg.norm(centre) + np.linalg.norm(hi - lo), 1.0))


def _iterate(model, z: np.ndarray, n: int, R: float, escaped: np.ndarray) -> np.ndarray:
    """``n`` steps of a batch ``(B, M)``; escaping states are frozen at 0 and flagged."""
    for _ in range(n):
        with np.errstate(over="ignore", invalid="ignore"):
            z = model(z)
            nrm = np.linalg.norm(z, axis=1)
        esc = ~(nrm <= R)
        if esc.any():
            escaped |= esc
            z[esc] = 0.0
    return z


def _tails(model, z: np.ndarray, n_keep: int, R: float, escaped: np.ndarray) -> np.ndarray:
    """States ``(n_keep, B, M)`` of the batch; escaped members are zero rows (and flagged)."""
    out = np.empty((n_keep,) + z.shape)
    for t in range(n_keep):
        out[t] = z
        z = _iterate(model, z, 1, R, escaped)
    out[:, escaped] = 0.0
    return out


# ====================================================================== default box
def _pattern_periods(P: np.ndarray, max_period: int) -> np.ndarray:
    """Smallest ``k <= max_period`` with ``P`` (``(T, B, H)``) ``k``-periodic over its last
    ``2 max_period`` steps, per batch member; 0 if none."""
    T = P.shape[0]
    w = min(2 * max_period, T - max_period)
    per = np.zeros(P.shape[1], dtype=int)
    for k in range(1, max_period + 1):
        same = np.all(P[T - w :] == P[T - w - k : T - k], axis=(0, 2))
        per[(per == 0) & same] = k
    return per


def _distance_periods(Z: np.ndarray, max_period: int, tol: float) -> np.ndarray:
    """Smallest ``k`` with ``|z_{t} - z_{t-k}| <= tol`` over the last ``k`` states; 0 if none."""
    T = Z.shape[0]
    per = np.zeros(Z.shape[1], dtype=int)
    for k in range(1, max_period + 1):
        d = np.linalg.norm(Z[T - k :] - Z[T - 2 * k : T - k], axis=-1).max(axis=0)
        per[(per == 0) & (d <= tol)] = k
    return per


def _cycle_exponents(model, points: np.ndarray) -> list[float]:
    """Exact exponents ``log|eig(monodromy)| / k`` of a cycle, descending (-inf for eig 0)."""
    J, _ = model.compose(model.pattern(points))
    ev = np.abs(np.linalg.eigvals(J))
    with np.errstate(divide="ignore"):
        lam = np.log(ev) / points.shape[0]
    return sorted(lam.tolist(), reverse=True)


def _exact_cycle(model, tail: np.ndarray, k: int, L: float) -> np.ndarray | None:
    """Exact stable cycle of the last ``k`` patterns of ``tail`` (``(T, M)``), or None."""
    pats = model.pattern(tail[-k:])
    try:
        z1 = model.solve_cycle(pats)
    except OrbitError:
        return None
    pts = model.orbit_points(z1, pats)
    if not np.all(np.isfinite(pts)) or not np.array_equal(model.pattern(pts), pats):
        return None
    J, _ = model.compose(pats)
    if np.max(np.abs(np.linalg.eigvals(J))) >= 1.0:
        return None
    if np.max(np.linalg.norm(pts - tail[-k:], axis=1)) > 1e-3 * L:
        return None
    return pts


def _same_cycle(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Whether two cycles ``(k, M)`` are equal modulo cyclic shift within ``tol``."""
    if a.shape != b.shape:
        return False
    d0 = np.linalg.norm(b - a[0], axis=1)
    j = int(np.argmin(d0))
    return bool(np.max(np.linalg.norm(np.roll(b, -j, axis=0) - a, axis=1)) <= tol)


def _minimal_period(points: np.ndarray, tol: float) -> np.ndarray:
    k = points.shape[0]
    for q in range(1, k):
        if (
            k % q == 0
            and np.max(np.linalg.norm(points - np.roll(points, -q, axis=0), axis=1)) <= tol
        ):
            return points[:q]
    return points


def _cloud_radius(pts: np.ndarray, tol_abs: float) -> float:
    """Capture radius of a sampled attractor: twice the 95th percentile of the sample's
    nearest-neighbour distances, so that the balls cover (almost all of) the attractor."""
    if pts.shape[0] < 2:
        return 100.0 * tol_abs
    nn, _ = cKDTree(pts).query(pts, k=2)
    return float(max(2.0 * np.percentile(nn[:, 1], 95), 100.0 * tol_abs))


def _periodic_capture_radius(model, pts: np.ndarray, L: float, tol: float) -> float:
    margin = float(np.min(model.boundary_margin(pts)))
    return float(max(min(0.5 * margin, 1e-3 * L), 100.0 * tol * L))


# ====================================================================== find_attractors
class _Cloud:
    """A non-periodic attractor under construction."""

    def __init__(self, pts: np.ndarray, radius: float, hit: int):
        self.pts = pts
        self.radius = radius
        self.hits = [hit]
        self.tree = cKDTree(pts)

    def near(self, pts: np.ndarray) -> bool:
        d, _ = self.tree.query(pts, k=1, distance_upper_bound=self.radius)
        return bool(np.any(np.isfinite(d)))

    def absorb(self, other: _Cloud, max_points: int) -> None:
        if self.pts.shape[0] < max_points:
            self.pts = np.vstack([self.pts, other.pts])[:max_points]
            self.tree = cKDTree(self.pts)
        self.radius = max(self.radius, other.radius)
        self.hits += other.hits


def find_attractors(
    model,
    orbits=None,
    n_initial: int = 200,
    box=None,
    n_transient: int = 2000,
    n_keep: int = 1000,
    seed: int = 0,
    *,
    max_period: int = 64,
    tol: float = 1e-7,
    lyapunov_steps: int = 5000,
    lyapunov_tol: float = 1e-3,
    escape_factor: float = 1e3,
    max_points: int = 4000,
    initial=None,
) -> AttractorCatalogue:
    r"""Catalogue the attractors of a map: stable orbits plus attractors found by simulation.

    Parameters
    ----------
    model : PLMap
        The map.
    orbits : sequence or OrbitSearchResult, optional
        Orbit objects (duck-typed: ``points`` ``(k, M)``, ``classification``; e.g.
        ``find_orbits(...).orbits``, or the search result itself). Only ``"stable"`` ones enter
        the catalogue, whether or not a simulated trajectory reaches them; ``Attractor.orbit``
        is the index into this sequence.
    n_initial : int
        Number of seeded initial conditions, uniform in ``box``. As many again (at most) start
        next to the points of the non-stable orbits of ``orbits``, displaced by
        :math:`\pm 10^{-3} L` along seeded random directions: the unstable manifolds of saddles lead
        to attractors, which matters in high dimensions, where almost every uniform sample of a
        box escapes (an ECG ALRNN with ``M = 20``: 0 of 500 uniform samples reached its chaotic
        attractor).
    box : (lo, hi), optional
        Box of initial conditions; default :func:`default_box` ``(model, seed)``.
    n_transient, n_keep : int
        Steps discarded, then steps kept per trajectory (``n_keep >= 3 max_period`` after
        ``max_period`` is clipped to ``n_keep // 3``).
    seed : int
        Seed of the initial conditions (and of the default box and the Lyapunov frames).
    max_period : int
        Longest cycle detected as periodic.
    tol : float
        Relative tolerance (unit ``L = max(model.scale, box diameter)``) for distance-based
        periodicity; cycles match within ``100 tol L``.
    lyapunov_steps : int
        Steps of the Lyapunov run labelling each non-periodic attractor.
    lyapunov_tol : float
        Threshold on the largest exponent beyond its 95 % band (see module notes), per map
        step. Maps that discretise a flow with a small step have small per-step exponents
        (the Lorenz-63 ALRNNs of ``shared/models``: about ``0.008``), hence the small default.
    escape_factor : float
        Escape radius in units of ``|box centre| + box diameter``.
    max_points : int
        Cap on the points stored per non-periodic attractor.
    initial : (n, M) array_like, optional
        Further initial conditions, for example data points or states of a trained model's free
        run.

    Returns
    -------
    AttractorCatalogue

    Raises
    ------
    DataError
        On bad arguments, or if a stable orbit of the list is not an orbit of ``model``
        (residual above ``1e-6 L``; probably computed for another model).

    Notes
    -----
    Cost: ``O((n_transient + n_keep) n_initial (M + H) M)`` for the simulation, ``O(n_keep
    n_initial H max_period)`` for the pattern test, plus one Lyapunov run of
    ``lyapunov_steps`` per non-periodic attractor. Memory ``O(n_keep n_initial (M + H))``.
    Attractors whose basins miss the box are not found unless supplied as stable orbits.
    """
    model = _check_model(model)
    n_initial = _int("n_initial", n_initial, 1)
    n_transient = _int("n_transient", n_transient, 0)
    n_keep = _int("n_keep", n_keep, 3)
    max_period = min(_int("max_period", max_period, 1), n_keep // 3)
    tol = _pos("tol", tol)
    lyapunov_steps = _int("lyapunov_steps", lyapunov_steps, 10)
    lyapunov_tol = _pos("lyapunov_tol", lyapunov_tol)
    escape_factor = _pos("escape_factor", escape_factor)
    max_points = _int("max_points", max_points, 1)
    lo, hi = default_box(model, seed=seed) if box is None else _check_box(model, box)
    M = model.M
    L = _length_scale(model, lo, hi)
    R = _escape_radius_for(lo, hi, escape_factor)
    tol_abs = tol * L
    match_tol = 100.0 * tol_abs
    notes: list[str] = []

    # ---------------------------------------------------------------- supplied stable orbits
    attractors: list[Attractor] = []
    if orbits is not None and hasattr(orbits, "orbits"):
        orbits = orbits.orbits  # an OrbitSearchResult
    try:
        orbit_list = [] if orbits is None else list(orbits)
    except TypeError:
        raise DataError(
            f"orbits must be a sequence of orbit objects or an OrbitSearchResult, got "
            f"{type(orbits).__name__}"
        ) from None
    for idx, orb in enumerate(orbit_list):
        cls = getattr(orb, "classification", None)
        if cls is None or not hasattr(orb, "points"):
            raise DataError(
                f"orbit {idx} has no 'classification'/'points' attribute; pass orbit objects "
                "such as find_orbits(...).orbits"
            )
        if cls != "stable":
            continue
        pts = as_state(f"orbit {idx} points", orb.points, M, error=DataError)
        pts = np.atleast_2d(pts).astype(float)
        if pts.ndim != 2 or not np.all(np.isfinite(pts)):
            raise DataError(f"orbit {idx} points must be a finite (k, {M}) array")
        res = float(np.max(np.linalg.norm(model(pts) - np.roll(pts, -1, axis=0), axis=1)))
        if res > 1e-6 * L:
            raise DataError(
                f"orbit {idx} is not an orbit of this model (residual |F(p_j) - p_j+1| = "
                f"{res:.3g}); were the orbits computed for a different model?"
            )
        pts = _minimal_period(pts, match_tol)
        if any(
            a.period == pts.shape[0] and _same_cycle(a.points, pts, match_tol) for a in attractors
        ):
            continue
        attractors.append(_periodic_attractor(model, pts, idx, L, tol))

    # ---------------------------------------------------------------- simulation
    rng = np.random.default_rng(seed)
    starts = [rng.uniform(lo, hi, (n_initial, M))]
    near = [np.atleast_2d(o.points) for o in orbit_list if o.classification != "stable"]
    if near:
        # +- pairs: both sides of a codimension-1 stable manifold get a start.
        base = np.vstack(near)[: max(1, n_initial // 2)]
        step = rng.standard_normal(base.shape)
        step *= 1e-3 * L / np.linalg.norm(step, axis=1, keepdims=True)
        starts += [base + step, base - step]
    if initial is not None:
        extra = as_float_array("initial", initial, error=DataError)
        if extra.ndim == 1:
            extra = extra[None]
        if extra.ndim != 2 or extra.shape[1] != M or not np.all(np.isfinite(extra)):
            raise DataError(
                f"initial must be a finite (n, {M}) array of initial conditions, got shape "
                f"{extra.shape}"
            )
        starts.append(extra)
    z = np.vstack(starts)
    escaped = np.zeros(z.shape[0], dtype=bool)
    z = _iterate(model, z, n_transient, R, escaped)
    tails = _tails(model, z, n_keep, R, escaped)
    bounded = np.nonzero(~escaped)[0]
    n_escaped = int(escaped.sum())

    clouds: list[_Cloud] = []
    if bounded.size:
        T = tails[:, bounded]
        pper = _pattern_periods(model.pattern(T), max_period)
        dper = _distance_periods(T, max_period, tol_abs)
        for j, b in enumerate(bounded):
            tail = T[:, j]
            cyc = None
            if pper[j]:
                cyc = _exact_cycle(model, tail, int(pper[j]), L)
            if cyc is None and dper[j]:
                cyc = tail[-int(dper[j]) :].copy()
            if cyc is not None:
                _add_cycle(model, attractors, cyc, L, tol, match_tol)
                continue
            # Non-periodic: join a periodic attractor it is converging to, or a cloud.
            if _join_periodic(attractors, tail[-1:]):
                continue
            hit = next((c for c in clouds if c.near(tail)), None)
            if hit is not None:
                hit.hits.append(int(b))
                if hit.pts.shape[0] < max_points:
                    hit.pts = np.vstack([hit.pts, tail])[:max_points]
                    hit.tree = cKDTree(hit.pts)
                continue
            clouds.append(_Cloud(tail[:max_points].copy(), _cloud_radius(tail, tol_abs), int(b)))

    # Merge clouds that turned out to touch (one attractor sampled by several tails).
    merged = True
    while merged:
        merged = False
        for i in range(len(clouds)):
            for j in range(i + 1, len(clouds)):
                if clouds[i].near(clouds[j].pts) or clouds[j].near(clouds[i].pts):
                    clouds[i].absorb(clouds.pop(j), max_points)
                    merged = True
                    break
            if merged:
                break

    # ---------------------------------------------------------------- label clouds
    for c in clouds:
        c.radius = _cloud_radius(c.pts, tol_abs)
        try:
            lyap = lyapunov_spectrum(
                model,
                c.pts[-1],
                n_steps=lyapunov_steps,
                transient=100,
                seed=seed,
                escape_radius=R,
            )
        except DataError:
            n_escaped += len(c.hits)
            notes.append(
                f"a non-periodic set reached from {len(c.hits)} initial condition(s) diverged "
                "in its Lyapunov run: a chaotic transient, counted as escaping"
            )
            continue
        lam1, hw = float(lyap.exponents[0]), float(lyap.half_width[0])
        if lam1 + hw < -lyapunov_tol:
            # Contracting but not detected as periodic: iterate further and test again.
            zz = _iterate(model, c.pts[-1:].copy(), 10 * n_transient, R, np.zeros(1, bool))
            esc = np.zeros(1, dtype=bool)
            tail = _tails(model, zz, n_keep, R, esc)
            cyc = None
            if not esc[0]:
                k = int(_pattern_periods(model.pattern(tail), max_period)[0])
                cyc = _exact_cycle(model, tail[:, 0], k, L) if k else None
                if cyc is None:
                    k = int(_distance_periods(tail, max_period, 1e3 * tol_abs)[0])
                    cyc = tail[-k:, 0].copy() if k else None
            if cyc is not None:
                a = _add_cycle(model, attractors, cyc, L, tol, match_tol)
                a.n_hits += len(c.hits) - 1
                continue
            kind, period = "cycle", None
            notes.append(
                "a contracting attractor (largest Lyapunov exponent "
                f"{lam1:.3g}) was not resolved as a cycle of period <= {max_period}"
            )
        elif lam1 - hw > lyapunov_tol:
            kind, period = "chaotic", None
        else:
            kind, period = "quasi_periodic", None
        attractors.append(
            Attractor(
                id=-1,
                kind=kind,
                period=period,
                orbit=None,
                points=c.pts,
                lyapunov=lyap.exponents.tolist(),
                centroid=c.pts.mean(axis=0),
                capture_radius=c.radius,
                lyapunov_half_width=lyap.half_width.tolist(),
                n_hits=len(c.hits),
            )
        )

    for i, a in enumerate(attractors):
        a.id = i
    return AttractorCatalogue(
        attractors=attractors,
        box=(lo, hi),
        escape_radius=R,
        length_scale=L,
        n_initial=int(z.shape[0]),
        n_escaped=n_escaped,
        seed=int(seed),
        notes=notes,
    )


def _periodic_attractor(model, pts: np.ndarray, orbit_idx, L: float, tol: float) -> Attractor:
    k = pts.shape[0]
    return Attractor(
        id=-1,
        kind="fixed_point" if k == 1 else "cycle",
        period=k,
        orbit=orbit_idx,
        points=pts,
        lyapunov=_cycle_exponents(model, pts),
        centroid=pts.mean(axis=0),
        capture_radius=_periodic_capture_radius(model, pts, L, tol),
        lyapunov_half_width=[0.0] * model.M,
    )


def _add_cycle(model, attractors, cyc: np.ndarray, L, tol, match_tol) -> Attractor:
    """Count a hit on the matching periodic attractor, or append a new one; return it."""
    cyc = _minimal_period(cyc, match_tol)
    for a in attractors:
        if a.period == cyc.shape[0] and _same_cycle(a.points, cyc, match_tol):
            a.n_hits += 1
            return a
    a = _periodic_attractor(model, cyc, None, L, tol)
    a.n_hits = 1
    attractors.append(a)
    return a


def _join_periodic(attractors, pts: np.ndarray) -> bool:
    for a in attractors:
        if a.period is not None:
            d = np.linalg.norm(a.points[None, :, :] - pts[:, None, :], axis=-1).min()
            if d <= a.capture_radius:
                a.n_hits += 1
                return True
    return False


# ====================================================================== basins
def basin_of(
    model,
    catalogue: AttractorCatalogue,
    points,
    n_steps: int = 1000,
    *,
    check_every: int = 5,
    n_confirm: int = 3,
    n_confirm_cloud: int = 20,
) -> np.ndarray:
    """Label points by the attractor whose basin they are in (brute force, vectorised).

    Every ``check_every`` steps each still-active trajectory is tested against every
    attractor's capture radius (k-d tree queries); a trajectory inside the same attractor's
    radius at ``n_confirm`` consecutive checks is labelled with its id.

    Fixed points and cycles take precedence: their capture balls lie inside the orbit's
    regions, where the linear dynamics converge, so entering one decides the basin. The balls
    around a sampled (chaotic or quasi-periodic) attractor only say "near the sampled cloud",
    and in a high-dimensional model that cloud can pass close to saddles and to other
    attractors (the bundled cortical-neuron ALRNN's chaotic attractor passes within 0.23 of its
    silent fixed point, inside its capture radius 0.49); such a label is therefore confirmed
    only after ``n_confirm_cloud`` consecutive checks, long enough for a trajectory that merely
    passes by to leave or to reach a fixed point's ball.

    Parameters
    ----------
    model : PLMap
        The map the catalogue was made for.
    catalogue : AttractorCatalogue
        From :func:`find_attractors`.
    points : (M,) or (N, M) array_like
        Finite initial states.
    n_steps : int
        Maximum iterations.
    check_every, n_confirm : int
        Check spacing and number of consecutive confirming checks.
    n_confirm_cloud : int
        Consecutive confirming checks for chaotic and quasi-periodic attractors.

    Returns
    -------
    ndarray of int, shape (N,) (or scalar shape for one point)
        Attractor id, ``-1`` if the trajectory escaped (norm beyond
        ``catalogue.escape_radius`` or non-finite), ``-2`` if undecided after ``n_steps``.

    Raises
    ------
    DataError
        If ``points`` has the wrong shape or non-finite entries, or an argument is bad.

    Notes
    -----
    Cost ``O(n_steps N (M + H) M)`` plus ``O(N log n_points)`` per check; captured and escaped
    trajectories leave the active set, so well-separated basins are cheap.
    """
    model = _check_model(model)
    if not isinstance(catalogue, AttractorCatalogue):
        raise DataError("catalogue must be an AttractorCatalogue from find_attractors")
    bad = [a.id for a in catalogue if np.atleast_2d(a.points).shape[-1] != model.M]
    if bad:
        raise DataError(
            f"attractor(s) {bad} of the catalogue do not live in R^{model.M}; "
            "was the catalogue made for another model?"
        )
    n_steps = _int("n_steps", n_steps, 1)
    check_every = _int("check_every", check_every, 1)
    n_confirm = _int("n_confirm", n_confirm, 1)
    n_confirm_cloud = _int("n_confirm_cloud", n_confirm_cloud, 1)
    z0 = as_state("points", points, model.M, error=DataError)
    if not np.all(np.isfinite(z0)):
        raise DataError("points contain NaN or infinite values; give finite initial states")
    shape = z0.shape[:-1]
    z = np.array(z0.reshape(-1, model.M), dtype=np.float64)
    N = z.shape[0]
    labels = np.full(N, UNDECIDED, dtype=int)
    active = np.arange(N)
    cand = np.full(N, -1, dtype=int)
    count = np.zeros(N, dtype=int)
    trees = [(a.id, cKDTree(np.atleast_2d(a.points)), a.capture_radius) for a in catalogue]
    periodic = {a.id for a in catalogue if a.kind in ("fixed_point", "cycle")}
    # confirmations needed per attractor id (index id + 1, so that -1 "none" maps to 0)
    need = np.full(max([a.id for a in catalogue], default=-1) + 2, n_confirm, dtype=int)
    for a in catalogue:
        need[a.id + 1] = n_confirm if a.id in periodic else max(n_confirm, n_confirm_cloud)
    R = catalogue.escape_radius
    for step in range(1, n_steps + 1):
        if active.size == 0:
            break
        with np.errstate(over="ignore", invalid="ignore"):
            z = model(z)
        if step % check_every and step != n_steps:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            nrm = np.linalg.norm(z, axis=1)
        esc = ~(nrm <= R)
        near = np.full(active.size, -1, dtype=int)
        best = np.full(active.size, np.inf)
        ok = ~esc
        if trees and ok.any():
            zi = z[ok]
            for aid, tree, rad in trees:
                d, _ = tree.query(zi, k=1, distance_upper_bound=rad)
                rel = d / rad
                if aid in periodic:
                    rel = rel - 2.0  # inside a fixed point's or cycle's ball beats any cloud
                sub = np.nonzero(ok)[0]
                better = rel < best[sub]
                near[sub[better]] = aid
                best[sub[better]] = rel[better]
        same = (near == cand[active]) & (near >= 0)
        count[active] = np.where(same, count[active] + 1, (near >= 0).astype(int))
        cand[active] = near
        done = count[active] >= need[cand[active] + 1]
        labels[active[esc]] = ESCAPE
        labels[active[done & ~esc]] = cand[active[done & ~esc]]
        keep = ~(esc | done)
        active = active[keep]
        z = z[keep]
    return labels.reshape(shape)


def grid_basins(
    model,
    catalogue: AttractorCatalogue,
    slice=(0, 1),
    bounds=None,
    n: int = 400,
    base_point=None,
    *,
    n_steps: int = 1000,
) -> GridBasins:
    """Brute-force basin labels on an ``n x n`` grid in a 2-D slice of state space.

    Parameters
    ----------
    model : PLMap
        The map.
    catalogue : AttractorCatalogue
        From :func:`find_attractors`.
    slice : (int, int)
        The two coordinates ``(i, j)`` spanning the slice (distinct, in ``0..M-1``).
    bounds : ((lo_i, hi_i), (lo_j, hi_j)), optional
        Ranges of the two coordinates; default the catalogue's box.
    n : int
        Grid points per axis (``>= 2``), end points included (:func:`numpy.linspace`).
    base_point : (M,) array_like, optional
        Values of the other coordinates; default the mean of the attractor centroids (the box
        centre if the catalogue is empty).
    n_steps : int
        Passed to :func:`basin_of`.

    Returns
    -------
    GridBasins

    Raises
    ------
    DataError
        If ``n < 2``, the slice indices are out of range or equal, the bounds are empty,
        inverted or non-finite, or ``base_point`` is malformed.
    """
    model = _check_model(model)
    n = _int("n (grid points per axis)", n, 2)
    M = model.M
    try:
        i, j = (int(s) for s in slice)
        if any(int(s) != s or isinstance(s, bool) for s in slice):
            raise ValueError
    except (TypeError, ValueError):
        raise DataError(
            f"slice must be a pair of integer coordinates (i, j), got {slice!r}"
        ) from None
    if not (0 <= i < M and 0 <= j < M):
        raise DataError(f"slice indices must lie in 0..{M - 1} for an M = {M} model, got {slice!r}")
    if i == j:
        raise DataError(f"slice indices must differ, got ({i}, {j})")
    if bounds is None:
        lo, hi = catalogue.box
        bounds = ((lo[i], hi[i]), (lo[j], hi[j]))
    try:
        b = np.array(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"bounds must be ((lo_i, hi_i), (lo_j, hi_j)), got {bounds!r}") from None
    if b.shape != (2, 2):
        raise DataError(f"bounds must be ((lo_i, hi_i), (lo_j, hi_j)), got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise DataError("bounds contain NaN or infinite values")
    if np.any(b[:, 1] <= b[:, 0]):
        raise DataError(
            f"bounds are empty or inverted (need lo < hi on both axes), got {b.tolist()}"
        )
    if base_point is None:
        if len(catalogue):
            base = np.mean([a.centroid for a in catalogue], axis=0)
        else:
            base = 0.5 * (catalogue.box[0] + catalogue.box[1])
    else:
        base = as_state("base_point", base_point, M, error=DataError)
        if base.shape != (M,) or not np.all(np.isfinite(base)):
            raise DataError(f"base_point must be a finite vector of length {M}")
    base = np.array(base, dtype=np.float64)
    xs = np.linspace(b[0, 0], b[0, 1], n)
    ys = np.linspace(b[1, 0], b[1, 1], n)
    X, Y = np.meshgrid(xs, ys)
    pts = np.repeat(base[None], n * n, axis=0)
    pts[:, i] = X.ravel()
    pts[:, j] = Y.ravel()
    labels = basin_of(model, catalogue, pts, n_steps=n_steps).reshape(n, n)
    return GridBasins(labels=labels, xs=xs, ys=ys, slice=(i, j), base_point=base)


def basin_fractions(
    model,
    catalogue: AttractorCatalogue,
    n_samples: int = 10000,
    box=None,
    seed: int = 0,
    *,
    n_steps: int = 1000,
) -> BasinFractions:
    r"""Monte Carlo basin fractions of a box, in any dimension.

    ``n_samples`` seeded points uniform in ``box`` (default the catalogue's box) are labelled by
    :func:`basin_of`; the fraction of label ``a`` is :math:`\hat p_a = n_a / n` with binomial
    standard error :math:`\sqrt{\hat p_a (1 - \hat p_a) / n}`.

    Returns
    -------
    BasinFractions
        Entries for every attractor id (also those with no sample), ``-1`` and ``-2``.

    Raises
    ------
    DataError
        On bad ``n_samples`` or ``box``.
    """
    model = _check_model(model)
    n_samples = _int("n_samples", n_samples, 1)
    lo, hi = catalogue.box if box is None else _check_box(model, box)
    rng = np.random.default_rng(seed)
    pts = rng.uniform(lo, hi, (n_samples, model.M))
    labels = basin_of(model, catalogue, pts, n_steps=n_steps)
    fr, se = {}, {}
    for lab in [*catalogue.ids, ESCAPE, UNDECIDED]:
        p = float(np.count_nonzero(labels == lab)) / n_samples
        fr[lab] = p
        se[lab] = float(np.sqrt(p * (1.0 - p) / n_samples))
    return BasinFractions(
        fractions=fr, stderr=se, n_samples=n_samples, box=(lo, hi), seed=int(seed)
    )
