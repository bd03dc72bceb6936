r"""Verification of computed manifolds with the true map.

- :func:`invariance_residual`: :math:`\max_x \operatorname{dist}(F(x), W) / \text{scale}` for
  points ``x`` sampled on the manifold ``W`` whose image stays inside the box; zero up to
  round-off for an exact manifold (:math:`F(W^s) \subseteq W^s`, :math:`F(W^u) \subseteq W^u`).
- :func:`delta_sigma`: the paper's metric :math:`\delta_\sigma(x) = \min_k \|F^{\sigma k}(x) -
  p\|^2 / \|x - p\|^2` with :math:`\sigma = +1` for stable manifolds (forward iterates approach
  the orbit). :math:`\Delta_\sigma` is its median over sample points.
"""

from __future__ import annotations

import numpy as np


def invariance_residual(model, manifold, n: int = 200, seed: int = 0) -> float:
    """Largest distance of ``F(x)`` to the manifold, over sampled ``x`` with ``F(x)`` in the box,
    relative to ``model.scale``. ``nan`` when no sample maps back into the box."""
    X = manifold.sample(n, seed=seed)
    Y = model(X)
    lo, hi = manifold.box
    inside = np.all((Y >= lo) & (Y <= hi), axis=1)
    if not inside.any():
        return float("nan")
    return float(np.max(manifold.distance(Y[inside]))) / model.scale


def delta_sigma(model, manifold, n: int = 200, n_steps: int | None = None, seed: int = 0):
    r"""The paper's quality metric on ``n`` sampled points of a stable manifold.

    Returns ``(values, Delta)`` with per-point :math:`\delta_\sigma` and their median. For an
    unstable manifold the backward iterates would be needed; there the forward-orbit distance to
    the saddle is not a useful metric, and ``(None, nan)`` is returned.
    """
    if manifold.kind != "stable":
        return None, float("nan")
    X = manifold.sample(n, seed=seed)
    pts = manifold.orbit.points
    d0 = _orbit_dist(X, pts)
    n_steps = n_steps or max(4 * manifold.depth, 50)
    best = d0.copy()
    Z = X.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            Z = model(Z)
            d = _orbit_dist(Z, pts)
            best = np.fmin(best, d)
    vals = (best / np.where(d0 > 0, d0, np.inf)) ** 2
    return vals, float(np.median(vals))


def _orbit_dist(Z, pts):
    return np.min(np.linalg.norm(Z[:, None, :] - pts[None, :, :], axis=2), axis=1)


def forward_convergence(
    model, manifold, n: int = 100, n_steps: int | None = None, seed: int = 0
) -> np.ndarray:
    """Closest approach of the forward orbit of ``n`` sampled points to the orbit, relative to
    ``model.scale`` (small for points on a stable manifold)."""
    X = manifold.sample(n, seed=seed)
    n_steps = n_steps or max(4 * manifold.depth, 50)
    best = np.full(len(X), np.inf)
    Z = X.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps + 1):
            best = np.fmin(best, _orbit_dist(Z, manifold.orbit.points))
            Z = model(Z)
    return best / model.scale
