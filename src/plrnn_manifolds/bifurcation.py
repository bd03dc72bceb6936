r"""One-parameter bifurcation diagrams: tracked orbits, attractor points, largest exponents.

For every value of one model parameter, :func:`bifurcation_diagram` computes

* the **orbits** up to ``max_period`` (:func:`~plrnn_manifolds.orbits.find_orbits`), joined
  into **branches** across neighbouring values (continuation, below);
* **attractor points**: the tails of ``n_initial`` seeded trajectories (those that stay
  bounded);
* the **largest Lyapunov exponent** (:func:`~plrnn_manifolds.chaos.lyapunov_spectrum`, exact
  region Jacobians) from the end points of a few bounded tails; the largest over them is
  reported, so a chaotic attractor coexisting with a regular one shows up.

Parameter names
---------------
A parameter is named by one of these forms (resolved in this order):

1. ``NAME`` -- a scalar parameter of the model's family, as stored in the model file (e.g.
   ``h1`` or ``tau_l`` of ``border_collision``, ``a`` of ``lozi``);
2. ``NAME[i]`` or ``NAME[i,j]`` -- an element of an array parameter of the family whose rank is
   the number of indices (e.g. ``h[0]`` or ``W[2,3]`` of a PLRNN, ``A[1]`` of a diagonal ``A``);
3. otherwise ``NAME[i]`` / ``NAME[i,j]`` with ``NAME`` one of the **canonical** parameters
   ``A`` (M x M), ``W1`` (M x H), ``W2`` (H x M), ``h1`` (M), ``h2`` (H) of
   :math:`F(z) = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1`, which every model has. Prefix
   ``canonical:`` to force this reading when the family has a parameter of the same name and
   rank (``canonical:h1[0]``).

Indices are zero-based. Family parameters are changed by rebuilding the model from its family
(the result keeps the family); canonical ones by editing the canonical map (the result is a
``canonical`` map). Integer structure parameters (``P`` of an ALRNN) cannot be swept. For the
border-collision normal form, ``h1`` (family) and ``h1[0]`` (canonical) are the same number.

Continuation
------------
Orbits found at value :math:`p_i` are matched to branches alive at :math:`p_{i-1}` with the
same period: first those with the same region sequence (modulo cyclic shift), then the nearest
by point distance after the best cyclic alignment, compared with a secant prediction from the
branch's last two points; a match by distance must be within ``jump_tol * L`` of the prediction
(``L = max(scale, box diameter)``). This follows an orbit through a border collision, where its
region sequence changes but its points move continuously. Unmatched orbits start new branches.
Each branch's points are cyclically aligned with its previous entry so that the drawn lines
are continuous.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError, ModelError, PLRNNManifoldsError

__all__ = [
    "BifurcationResult",
    "ParameterRef",
    "bifurcation_diagram",
    "parse_range",
    "resolve_parameter",
]

_CANONICAL = ("A", "W1", "W2", "h1", "h2")
_NAME_RE = re.compile(r"^\s*(canonical:)?\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:\[([^\]]*)\])?\s*$")


# ====================================================================== parameter names
@dataclass(frozen=True)
class ParameterRef:
    """A resolved parameter name (see the module docstring for the naming rule).

    Attributes
    ----------
    name : str
        The name as given.
    source : {"family", "canonical"}
    key : str
        Parameter name inside the family or canonical dict.
    index : tuple of int
        Element index (empty for a scalar).
    """

    name: str
    source: str
    key: str
    index: tuple

    def get(self, model) -> float:
        """Current value of the parameter in ``model``."""
        arr = self._array(model)
        return float(arr[self.index]) if self.index else float(arr)

    def _array(self, model) -> np.ndarray:
        if self.source == "family":
            return np.asarray(model.params[self.key], dtype=float)
        return np.asarray(model.canonical_params()[self.key], dtype=float)

    def set(self, model, value: float):
        """Copy of ``model`` with the parameter set to ``value``."""
        from .maps import PLMap
        from .models import from_params

        value = float(value)
        arr = np.array(self._array(model), dtype=float)
        if self.index:
            arr[self.index] = value
        else:
            arr = np.array(value)
        if self.source == "family":
            params = dict(model.params)
            params[self.key] = arr
            return from_params(model.family, params)
        cp = dict(model.canonical_params())
        cp[self.key] = arr
        return PLMap(**cp, family="canonical")


def _parse_index(text: str, name: str) -> tuple:
    try:
        idx = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise DataError(
            f"bad index in parameter name {name!r}: write integers like h[0] or W[1,2]"
        ) from None
    return idx


def _check_index(arr: np.ndarray, idx: tuple, name: str, what: str) -> None:
    for k, (i, n) in enumerate(zip(idx, arr.shape, strict=True)):
        if not 0 <= i < n:
            raise DataError(
                f"index {i} of parameter {name!r} is out of range: axis {k} of {what} has "
                f"length {n} (indices are zero-based)"
            )


def _describe(model) -> str:
    scal, arrs = [], []
    for k, v in model.params.items():
        a = np.asarray(v)
        if not np.issubdtype(a.dtype, np.floating):
            continue
        (scal if a.ndim == 0 else arrs).append(k if a.ndim == 0 else f"{k}{list(a.shape)}")
    parts = []
    if scal:
        parts.append(f"scalar family parameters {', '.join(scal)}")
    if arrs:
        first = arrs[0].split("[")[0]
        parts.append(f"family arrays {', '.join(arrs)} (index them, e.g. {first}[0])")
    shapes = {k: list(np.shape(v)) for k, v in model.canonical_params().items()}
    parts.append(
        "canonical arrays " + ", ".join(f"{k}{s}" for k, s in shapes.items()) + " (e.g. h1[0])"
    )
    return "; ".join(parts)


def resolve_parameter(model, name: str) -> ParameterRef:
    """Resolve a parameter name against a model (rule in the module docstring).

    Raises
    ------
    DataError
        Unknown name, wrong number of indices, index out of range, a non-float (structure)
        parameter, or a family that cannot be rebuilt from its stored parameters.
    """
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"a parameter name must be a non-empty string, got {name!r}")
    m = _NAME_RE.match(name)
    if m is None:
        raise DataError(
            f"cannot read parameter name {name!r}: use NAME, NAME[i] or NAME[i,j] "
            f"(this model has {_describe(model)})"
        )
    forced, key, idx_text = m.group(1), m.group(2), m.group(3)
    idx = () if idx_text is None else _parse_index(idx_text, name)
    params = getattr(model, "params", {}) or {}
    if not forced and key in params:
        val = np.asarray(params[key])
        if not np.issubdtype(val.dtype, np.floating):
            raise DataError(
                f"parameter {key!r} of the {model.family} family is a structure parameter "
                f"({val.dtype}), not a real number; it cannot be swept"
            )
        if val.ndim == len(idx):
            _check_index(val, idx, name, f"family parameter {key!r}")
            ref = ParameterRef(name, "family", key, idx)
            _check_rebuild(model, ref)
            return ref
        if key not in _CANONICAL:
            if val.ndim == 0:
                raise DataError(f"parameter {key!r} is a scalar; write it without an index")
            raise DataError(
                f"parameter {key!r} has shape {list(val.shape)}: give {val.ndim} index(es), "
                f"e.g. {key}[{','.join('0' * val.ndim)}]"
            )
    if key in _CANONICAL:
        arr = np.asarray(model.canonical_params()[key])
        if arr.ndim != len(idx):
            raise DataError(
                f"canonical parameter {key!r} has shape {list(arr.shape)}: give {arr.ndim} "
                f"index(es), e.g. {key}[{','.join(['0'] * arr.ndim)}]"
            )
        _check_index(arr, idx, name, f"canonical parameter {key!r}")
        return ParameterRef(name, "canonical", key, idx)
    raise DataError(f"unknown parameter {name!r}; this model has {_describe(model)}")


def _check_rebuild(model, ref: ParameterRef) -> None:
    """A family parameter is only usable if the family rebuilds exactly this model."""
    try:
        again = ref.set(model, ref.get(model))
    except (PLRNNManifoldsError, KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"the {model.family} model cannot be rebuilt from its stored parameters ({exc}); "
            "use a canonical name instead (e.g. h1[0])"
        ) from None
    same = all(
        np.array_equal(a, b)
        for a, b in zip(
            model.canonical_params().values(), again.canonical_params().values(), strict=True
        )
    )
    if not same:
        raise DataError(
            f"the {model.family} model is not reproduced by its stored family parameters "
            "(e.g. an external input was folded in); use a canonical name instead (e.g. h1[0])"
        )


def parse_range(text) -> np.ndarray:
    """``"lo,hi,steps"`` (or a 3-sequence) -> ``numpy.linspace(lo, hi, steps)``.

    Raises
    ------
    DataError
        Not three numbers, non-finite ends, ``lo == hi`` with ``steps > 1``, or ``steps`` not an
        integer >= 1.
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    if len(parts) != 3:
        raise DataError(f"a range is 'lo,hi,steps' (three comma-separated numbers), got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        steps_f = float(parts[2])
    except (TypeError, ValueError):
        raise DataError(f"a range is 'lo,hi,steps' with numbers, got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DataError(f"the range ends must be finite numbers, got {lo}, {hi}")
    if not np.isfinite(steps_f) or steps_f != int(steps_f) or steps_f < 1:
        raise DataError(f"the number of steps must be an integer >= 1, got {parts[2]!r}")
    steps = int(steps_f)
    if steps > 1 and lo == hi:
        raise DataError(f"the range is empty (lo = hi = {lo}) but {steps} steps were asked")
    return np.linspace(lo, hi, steps)


# ====================================================================== result
@dataclass
class BifurcationResult:
    """Result of :func:`bifurcation_diagram`.

    Attributes
    ----------
    param : str
        Parameter name as given.
    values : ndarray, shape (P,)
    attractor_points : list of ndarray
        Per value, the tail states ``(n_p, M)`` of the bounded trajectories (``(0, M)`` if all
        escaped).
    lyapunov : ndarray, shape (P,)
        Largest Lyapunov exponent per value (NaN where no trajectory stayed bounded).
    lyapunov_half_width : ndarray, shape (P,)
        Half-width of its 95 % band.
    orbits : list of list of dict
        Per value, the orbits found (``Orbit.to_dict()`` plus ``"branch"``, the branch id).
    branches : list of dict
        Tracked orbits: ``id, period, param (q,), index (q,), points (q, k, M),
        classification (q,), patterns (q lists of k strings)``.
    n_escaped : ndarray of int, shape (P,)
    notes : list of str
    seconds : float
    """

    param: str
    values: np.ndarray
    attractor_points: list
    lyapunov: np.ndarray
    lyapunov_half_width: np.ndarray
    orbits: list
    branches: list
    n_escaped: np.ndarray
    M: int = 0
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def to_plot(self, coordinate: int = 0) -> dict:
        """Keyword arguments for :func:`plrnn_manifolds.plots.bifurcation_diagram`."""
        return {
            "param_values": np.asarray(self.values, dtype=float),
            "attractor_points": [np.asarray(a) for a in self.attractor_points],
            "lyapunov": np.asarray(self.lyapunov, dtype=float),
            "orbits": [
                {
                    "param": np.asarray(b["param"], dtype=float),
                    "points": np.asarray(b["points"], dtype=float),
                    "classification": list(b["classification"]),
                }
                for b in self.branches
            ],
            "coordinate": int(coordinate),
            "param_name": self.param,
        }

    def plot(self, coordinate: int = 0, **kwargs):
        """Draw it with :func:`plrnn_manifolds.plots.bifurcation_diagram`."""
        from .plots import bifurcation_diagram as _plot

        kw = self.to_plot(coordinate)
        kw.update(kwargs)
        return _plot(**kw)

    def to_dict(self, max_points: int | None = 200) -> dict:
        """JSON-ready dict; at most ``max_points`` attractor points per value (evenly thinned)."""

        def thin(a):
            a = np.asarray(a, dtype=float)
            if max_points is not None and len(a) > max_points:
                a = a[np.linspace(0, len(a) - 1, max_points).astype(int)]
            return a.tolist()

        def f(x):
            return None if not np.isfinite(x) else float(x)

        return {
            "param": self.param,
            "values": [float(v) for v in self.values],
            "attractor_points": [thin(a) for a in self.attractor_points],
            "lyapunov": [f(x) for x in self.lyapunov],
            "lyapunov_half_width": [f(x) for x in self.lyapunov_half_width],
            "n_escaped": [int(n) for n in self.n_escaped],
            "orbits": self.orbits,
            "branches": [
                {
                    "id": int(b["id"]),
                    "period": int(b["period"]),
                    "param": [float(v) for v in b["param"]],
                    "index": [int(i) for i in b["index"]],
                    "points": np.asarray(b["points"], dtype=float).tolist(),
                    "classification": list(b["classification"]),
                    "patterns": [list(p) for p in b["patterns"]],
                }
                for b in self.branches
            ],
            "notes": list(self.notes),
            "seconds": float(self.seconds),
        }


# ====================================================================== continuation
def _align(prev: np.ndarray, pts: np.ndarray) -> tuple[int, float]:
    """Cyclic shift ``r`` of ``pts`` (``np.roll(pts, -r)``) closest to ``prev`` (same period),
    and the mean point distance."""
    best, bd = 0, np.inf
    for r in range(len(pts)):
        d = float(np.mean(np.linalg.norm(np.roll(pts, -r, axis=0) - prev, axis=1)))
        if d < bd:
            best, bd = r, d
    return best, bd


def _same_sequence(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    return any(a[r:] + a[:r] == b for r in range(len(a)))


class _Tracker:
    def __init__(self, jump_tol: float):
        self.jump_tol = jump_tol
        self.branches: list[dict] = []
        self.alive: list[int] = []

    def step(self, i: int, value: float, orbits: list, L: float) -> list[int]:
        """Assign the orbits at value index ``i`` to branches; returns branch ids per orbit."""
        assign = [-1] * len(orbits)
        cands = []
        for bi in self.alive:
            b = self.branches[bi]
            prev = b["points"][-1]
            if len(b["points"]) >= 2 and b["index"][-1] == i - 1 and b["index"][-2] == i - 2:
                pred = prev + (prev - b["points"][-2])
            else:
                pred = prev
            step = 0.0
            if len(b["points"]) >= 2:
                step = float(np.mean(np.linalg.norm(prev - b["points"][-2], axis=1)))
            tol = max(self.jump_tol * L, 2.0 * step)
            for oi, o in enumerate(orbits):
                if o.period != b["period"]:
                    continue
                shift, d = _align(pred, o.points)
                same = _same_sequence(b["patterns"][-1], o.pattern_strings())
                if same or d <= tol:
                    cands.append((0 if same else 1, d, bi, oi, shift))
        cands.sort(key=lambda c: (c[0], c[1]))
        used_b, used_o = set(), set()
        for _, _, bi, oi, shift in cands:
            if bi in used_b or oi in used_o:
                continue
            used_b.add(bi)
            used_o.add(oi)
            self._append(bi, i, value, orbits[oi], shift)
            assign[oi] = bi
        for oi, o in enumerate(orbits):
            if assign[oi] < 0:
                bi = len(self.branches)
                self.branches.append(
                    {
                        "id": bi,
                        "period": o.period,
                        "param": [],
                        "index": [],
                        "points": [],
                        "classification": [],
                        "patterns": [],
                    }
                )
                self._append(bi, i, value, o, 0)
                assign[oi] = bi
        self.alive = sorted(set(assign))
        return assign

    def _append(self, bi, i, value, orbit, shift: int):
        b = self.branches[bi]
        b["param"].append(float(value))
        b["index"].append(int(i))
        b["points"].append(np.roll(np.asarray(orbit.points, dtype=float), -shift, axis=0))
        b["classification"].append(orbit.classification)
        pats = orbit.pattern_strings()
        b["patterns"].append(pats[shift:] + pats[:shift])

    def finish(self) -> list[dict]:
        for b in self.branches:
            b["points"] = np.array(b["points"])
            b["param"] = np.array(b["param"])
        return self.branches


# ====================================================================== main
def _tails(model, box, n_initial, n_transient, n_keep, rng):
    lo, hi = box
    z = rng.uniform(lo, hi, size=(n_initial, model.M))
    R = 1e3 * (float(np.linalg.norm(0.5 * (lo + hi))) + float(np.linalg.norm(hi - lo)))
    R = max(R, 1e3)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_transient):
            z = model(z)
            z = np.where(np.isfinite(z), z, np.inf)
        tail = np.empty((n_keep, n_initial, model.M))
        for t in range(n_keep):
            tail[t] = z
            z = model(z)
            z = np.where(np.isfinite(z), z, np.inf)
    ok = np.all(np.isfinite(tail), axis=(0, 2)) & np.all(
        np.linalg.norm(np.where(np.isfinite(tail), tail, 0.0), axis=2) <= R, axis=0
    )
    return tail[:, ok, :], int(np.count_nonzero(~ok))


def bifurcation_diagram(
    model,
    param: str,
    values,
    *,
    max_period: int = 4,
    n_initial: int = 16,
    n_transient: int = 1000,
    n_keep: int = 200,
    lyapunov_steps: int = 4000,
    n_lyapunov: int = 4,
    box=None,
    seed: int = 0,
    jump_tol: float = 0.05,
    progress=None,
    **orbit_kwargs,
) -> BifurcationResult:
    """Orbits, attractor points and the largest Lyapunov exponent along one parameter.

    Parameters
    ----------
    model : PLMap
        The base model; every other parameter keeps its value.
    param : str
        Parameter name (naming rule in the module docstring).
    values : array_like or str
        Parameter values, or ``"lo,hi,steps"`` (:func:`parse_range`).
    max_period : int
        Largest orbit period searched at every value.
    n_initial, n_transient, n_keep : int
        Seeded trajectories per value (uniform in the box), steps discarded, steps kept as
        attractor points.
    lyapunov_steps : int
        Measured steps of each Lyapunov run (a tenth of them as transient).
    n_lyapunov : int
        Bounded tails whose end points start Lyapunov runs (the largest exponent is kept).
    box : (lo, hi), optional
        Box of initial conditions; default :func:`~plrnn_manifolds.bounds.default_box` of the
        model at each value.
    seed : int
        Seed of everything random (the same at every value).
    jump_tol : float
        Continuation tolerance (module docstring).
    progress : callable, optional
        Called with ``(i, value)`` before each value.
    **orbit_kwargs
        Passed to :func:`~plrnn_manifolds.orbits.find_orbits`.

    Returns
    -------
    BifurcationResult

    Raises
    ------
    DataError
        Bad parameter name or values.
    """
    from .bounds import default_box, parse_box
    from .chaos import lyapunov_spectrum
    from .orbits import find_orbits

    t0 = time.perf_counter()
    ref = resolve_parameter(model, param)
    vals = parse_range(values) if isinstance(values, str) else np.asarray(values, dtype=float)
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)):
        raise DataError("values must be a non-empty 1-D sequence of finite numbers")
    for name, v, lo in (
        ("max_period", max_period, 1),
        ("n_initial", n_initial, 1),
        ("n_transient", n_transient, 0),
        ("n_keep", n_keep, 1),
        ("lyapunov_steps", lyapunov_steps, 10),
        ("n_lyapunov", n_lyapunov, 0),
    ):
        if isinstance(v, bool) or int(v) != v or int(v) < lo:
            raise DataError(f"{name} must be an integer >= {lo}, got {v!r}")
    fixed_box = None if box is None else parse_box(box, model.M)
    tracker = _Tracker(float(jump_tol))
    att, lyap, lhw, esc, per_value = [], [], [], [], []
    notes: list[str] = []
    import warnings

    for i, v in enumerate(vals):
        if progress is not None:
            progress(i, float(v))
        try:
            mv = ref.set(model, v)
        except ModelError as exc:
            raise DataError(f"{param} = {v:g} gives an invalid model: {exc}") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = find_orbits(mv, max_period=max_period, seed=seed, **orbit_kwargs)
        orbs = res.orbits
        pts = np.vstack([o.points for o in orbs]) if orbs else None
        bx = fixed_box if fixed_box is not None else default_box(mv, points=pts, seed=seed)
        L = max(float(mv.scale), float(np.linalg.norm(bx[1] - bx[0])))
        assign = tracker.step(i, float(v), orbs, L)
        per_value.append(
            [dict(o.to_dict(), branch=int(b)) for o, b in zip(orbs, assign, strict=True)]
        )
        rng = np.random.default_rng(seed)
        tail, n_esc = _tails(mv, bx, int(n_initial), int(n_transient), int(n_keep), rng)
        esc.append(n_esc)
        att.append(tail.reshape(-1, mv.M))
        lam, hw = np.nan, np.nan
        if tail.shape[1] and n_lyapunov:
            starts = tail[-1, : int(n_lyapunov)]
            try:
                rs = lyapunov_spectrum(
                    mv,
                    starts,
                    n_steps=int(lyapunov_steps),
                    transient=int(lyapunov_steps) // 10,
                    seed=seed,
                )
                best = max(rs, key=lambda r: r.largest)
                lam, hw = best.largest, float(best.half_width[0])
            except PLRNNManifoldsError as exc:
                notes.append(f"{param} = {v:g}: Lyapunov run failed ({exc})")
        lyap.append(lam)
        lhw.append(hw)
        if n_esc == n_initial:
            notes.append(f"{param} = {v:g}: every trajectory escaped (no attractor in the box)")
    return BifurcationResult(
        param=param,
        values=vals,
        attractor_points=att,
        lyapunov=np.array(lyap, dtype=float),
        lyapunov_half_width=np.array(lhw, dtype=float),
        orbits=per_value,
        branches=tracker.finish(),
        n_escaped=np.array(esc, dtype=int),
        M=model.M,
        notes=notes,
        seconds=time.perf_counter() - t0,
    )
