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

    ``n_initial`` seeded initial conditions uniform in :math:`[-r_0, r_0]^M`, with
    :math:`r_0 = \max(1, \|h_1\|, \max_i |h_{2,i}| / \|W_{2,i}\|)` (so that the region
    hyperplanes are reached), are iterated for ``n_steps`` steps; the second half of every
    trajectory that stays finite and below :math:`10^4 \max(r_0, \text{scale})` is kept. The
    box is the coordinate-wise extent of those tails together with ``points`` (e.g. orbit
    points), padded on each side by ``margin`` times the largest width
    (at least :math:`10^{-3} r_0`).
    If every trajectory escapes and no points are given, the box is :math:`[-r_0, r_0]^M`.

    Returns
    -------
    (lo, hi) : tuple of (M,) ndarrays

    Notes
    -----
    Cost :math:`O(n_\text{steps}\, n_\text{initial} (M + H) M)`. Attractors whose basins miss
    :math:`[-r_0, r_0]^M` entirely are not seen.
    """
    rng = np.random.default_rng(seed)
    norms = np.linalg.norm(model.W2, axis=1)
    dist = np.abs(model.h2) / np.where(norms > 0, norms, np.inf)
    r0 = float(max(1.0, np.linalg.norm(model.h1), dist.max(initial=0.0)))
    z0 = rng.uniform(-r0, r0, size=(n_initial, model.M))
    traj = model.trajectory(z0, n_steps // 2, transient=n_steps - n_steps // 2)
    R = 1e4 * max(r0, model.scale)
    ok = np.all(np.isfinite(traj) & (np.abs(traj) < R), axis=(0, 2))
    clouds = [traj[:, ok, :].reshape(-1, model.M)]
    if points is not None:
        clouds.append(as_float_array("points", points, error=DataError).reshape(-1, model.M))
    cloud = np.vstack(clouds)
    if cloud.size == 0:
        return -np.full(model.M, r0), np.full(model.M, r0)
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    # Isotropic padding: thin directions of the attractor still get room for the manifolds.
    pad = margin * max(float(np.max(hi - lo)), 1e-3 * r0)
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
            f"the box is empty along axis/axes {bad.tolist()} (lo >= hi); "
            "give lo < hi for every axis"
        )
    return lo, hi
