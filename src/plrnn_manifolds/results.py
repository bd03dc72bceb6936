"""The ``results.json`` document: building, writing (atomically) and reading it.

The field names are a public contract, documented in ``docs/results.md``; extend, never rename.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path

from . import __version__
from ._atomic import atomic_write_json
from .errors import ResultsError
from .maps import PLMap

RESULTS_NAME = "results.json"
SCHEMA_VERSION = 1


def model_summary(model: PLMap, source: str | None = None) -> dict:
    """The ``model`` field: family, sizes, scale, source file and the canonical parameters."""
    return {
        "family": model.family,
        "source": source,
        "M": model.M,
        "H": model.H,
        "scale": model.scale,
        "canonical": {k: v for k, v in model.canonical_params().items()},
    }


def orbit_entry(orbit, oid: int) -> dict:
    """One entry of ``orbits``: the contract fields plus the orbit's own extra fields."""
    d = orbit.to_dict()
    d["id"] = oid
    return d


def attractor_entry(attractor, max_points: int = 500) -> dict:
    """One entry of ``attractors``: the contract fields (``id, kind, period, orbit, points,
    lyapunov, basin_fraction, distance_to_boundary``) plus ``lyapunov_half_width``,
    ``capture_radius`` and ``n_hits``. Point clouds are thinned evenly to ``max_points``."""
    import numpy as np

    d = attractor.to_dict()
    pts = d["points"]
    if len(pts) > max_points:
        idx = np.linspace(0, len(pts) - 1, max_points).astype(int)
        d["points"] = [pts[i] for i in idx]
    hw = getattr(attractor, "lyapunov_half_width", None) or []
    d["lyapunov_half_width"] = [float(x) if np.isfinite(x) else None for x in hw]
    d["capture_radius"] = float(getattr(attractor, "capture_radius", 0.0))
    d["n_hits"] = int(getattr(attractor, "n_hits", 0))
    return d


def intersection_entry(point) -> dict:
    """One entry of ``intersections``: the contract fields (``kind, unstable_orbit,
    stable_orbit, point, transversal, verified``) plus the diagnostics of
    :class:`~plrnn_manifolds.intersections.Intersection`."""
    return point.to_dict()


def new_results(model: PLMap, source: str | None, params: dict) -> dict:
    """Skeleton of a results document with run metadata."""
    return {
        "schema_version": SCHEMA_VERSION,
        "partial": True,
        "model": model_summary(model, source),
        "run": {
            "version": __version__,
            "python": platform.python_version(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": params,
        },
        "box": None,
        "orbits": [],
        "manifolds": [],
    }


def write_results(out_dir, results: dict) -> Path:
    """Write ``out_dir/results.json`` atomically and return its path."""
    return atomic_write_json(Path(out_dir) / RESULTS_NAME, results)


def read_results(out_dir) -> dict:
    """Read ``results.json`` from a directory (or the file itself).

    Raises
    ------
    ResultsError
        If the file is missing or is not valid JSON with the expected top-level fields.
    """
    p = Path(out_dir)
    f = p / RESULTS_NAME if p.is_dir() else p
    if not f.exists():
        raise ResultsError(
            f"no {RESULTS_NAME} in {p}; run `plrnn-manifolds analyze MODEL --out {p}` first"
        )
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(
            f"{f} is not valid JSON ({exc}); it is corrupt or truncated, re-run analyze"
        ) from None
    if not isinstance(data, dict) or "orbits" not in data or "model" not in data:
        raise ResultsError(f"{f} is not a plrnn-manifolds results file (missing 'orbits'/'model')")
    return data
