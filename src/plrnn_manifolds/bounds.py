"""Default bounding boxes derived from the model's own dynamics."""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array
from .errors import DataError
from .maps import PLMap


def default_box(
    model: PLMap,
    points=None,
    n_initial: int = 64,
    n_steps: int = 2000,
    margin: float = 0.25,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""A box around the model's bounded long-term dynamics, plus a margin.

    Simulates ``n_initial`` seeded initial conditions drawn uniformly from
    :math:`[-\text{scale}, \text{scale}]^M` for ``n_steps`` steps, keeps the second half of each
    trajectory that stays finite and within :math:`10^6 \cdot` scale, and takes the coordinate-wise
    extent of those tails together with ``points`` (e.g. orbit points). Each side is padded by
    ``margin`` times the width (at least :math:`10^{-3}\cdot` scale).

    Returns
    -------
    (lo, hi) : tuple of (M,) ndarrays
    """
    rng = np.random.default_rng(seed)
    s = model.scale
    z0 = rng.uniform(-s, s, size=(n_initial, model.M))
    traj = model.trajectory(z0, n_steps // 2, transient=n_steps - n_steps // 2)
    ok = np.all(np.isfinite(traj) & (np.abs(traj) < 1e6 * s), axis=(0, 2))
    clouds = [traj[:, ok, :].reshape(-1, model.M)]
    if points is not None:
        clouds.append(as_float_array("points", points, error=DataError).reshape(-1, model.M))
    cloud = np.vstack(clouds)
    if cloud.size == 0:
        lo, hi = -s * np.ones(model.M), s * np.ones(model.M)
    else:
        lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    pad = np.maximum(margin * (hi - lo), 1e-3 * s)
    return lo - pad, hi + pad


def parse_box(box, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalise a box given as ``(lo, hi)`` arrays, a flat ``[lo, hi]`` (same for every axis) or a
    flat ``[lo1, hi1, ..., loM, hiM]`` list.

    Raises
    ------
    DataError
        If the numbers don't fit M, are not finite, or a side is empty (``lo >= hi``).
    """
    if isinstance(box, tuple) and len(box) == 2 and np.ndim(box[0]) == 1:
        lo = as_float_array("box lo", box[0], shape=(M,), error=DataError)
        hi = as_float_array("box hi", box[1], shape=(M,), error=DataError)
    else:
        flat = as_float_array("box", box, ndim=1, error=DataError)
        if flat.size == 2:
            lo, hi = np.full(M, flat[0]), np.full(M, flat[1])
        elif flat.size == 2 * M:
            lo, hi = flat[0::2].copy(), flat[1::2].copy()
        else:
            raise DataError(
                f"a box needs 2 numbers (lo,hi for every axis) or 2*M = {2 * M} numbers "
                f"(lo1,hi1,...,loM,hiM); got {flat.size}"
            )
    if np.any(lo >= hi):
        bad = np.flatnonzero(lo >= hi)
        raise DataError(
            f"the box is empty along axis/axes {bad.tolist()} (lo >= hi); give lo < hi for every axis"
        )
    return lo, hi
