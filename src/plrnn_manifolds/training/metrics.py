r"""Dynamical-systems-reconstruction metrics (numpy/scipy only).

Three standard measures of how well a generated (free-running) trajectory reproduces data
(Koppe et al. 2019; Mikhaeil et al. 2022; Brenner et al. 2022; Hess et al. 2023). The exact
definitions used here:

**State-space divergence** :math:`D_{stsp} = \mathrm{KL}(p_{data} \,\|\, p_{gen})`, the
Kullback-Leibler divergence of the generated from the true invariant distribution (in nats).

- ``method="binned"`` (default for ``N <= 3``): both sets of points are binned on a common grid
  of ``n_bins`` equal bins per dimension spanning the true data's range ``[min, max]`` widened by
  ``margin`` (5 %) of its width on each side. With counts :math:`c_k` and Laplace smoothing
  :math:`\alpha = 10^{-5}`, :math:`p_k = (c_k + \alpha) / (n + \alpha K)` where ``n`` is the
  *total* number of points, including generated points outside the grid, and ``K`` the number of
  bins; so mass that escapes the data's range is lost and raises the divergence (rather than
  being renormalised away). :math:`D = \sum_k p_k \log(p_k / q_k)`. This is the DurstewitzLab
  estimator except for the grid (they use :math:`\pm 2` standard deviations) and the
  normalisation of escaped mass.
- ``method="gmm"`` (default for ``N > 3``): Gaussian-mixture densities with one isotropic
  component of standard deviation ``sigma`` at each of at most ``n_kernels`` points of each
  trajectory (evenly spaced, so identical inputs give identical mixtures);
  :math:`D \approx \frac{1}{n_{mc}} \sum_i [\log \hat p(x_i) - \log \hat q(x_i)]` with
  :math:`x_i` drawn from :math:`\hat p` (seeded). For two Gaussians the mixtures approximate the
  Gaussians convolved with :math:`N(0, \sigma^2 I)`, so for :math:`N(0, I)` against
  :math:`N(\mu, I)` the estimator targets :math:`|\mu|^2 / (2 (1 + \sigma^2))`.

**Power-spectrum distance** :math:`D_H` (Mikhaeil et al. 2022): for every observed dimension,
each series is standardised, its power spectrum :math:`|\mathrm{rfft}|^2` is smoothed with a
Gaussian kernel of width ``smoothing`` frequency bins and normalised to sum 1; the Hellinger
distance :math:`H(p, q) = \sqrt{1 - \sum_f \sqrt{p_f q_f}}` lies in [0, 1]; :math:`D_H` is its
mean over dimensions. Both series are cut to the same length first. A constant series has no
spectrum and gets the maximal distance 1.

**n-step prediction error** :math:`PE(n)`: the model is started from the data at time ``t``
(observed units from the data, unobserved ones from an initialiser), iterated ``n`` steps, and
compared with the data at ``t + n``:
:math:`PE(n) = \frac{1}{|S| N} \sum_{t \in S} \| \hat x_{t+n} - x_{t+n} \|^2` over at most
``max_starts`` evenly spaced start times ``S``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp

from ..errors import DataError
from .data import check_timeseries

__all__ = [
    "binned_kl",
    "gmm_kl",
    "hellinger_distance",
    "power_spectrum",
    "power_spectrum_distance",
    "prediction_error",
    "prediction_error_curve",
    "state_space_divergence",
    "visited_region_determinants",
]


def _pair(x_true, x_gen) -> tuple[np.ndarray, np.ndarray]:
    x_true = check_timeseries("the true trajectory", x_true, min_length=2)
    try:
        x_gen = np.array(x_gen, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("the generated trajectory is not a numeric array") from None
    if x_gen.ndim == 1:
        x_gen = x_gen[:, None]
    if x_gen.ndim != 2 or x_gen.shape[1] != x_true.shape[1]:
        raise DataError(
            f"the generated trajectory has shape {x_gen.shape} but the data has "
            f"{x_true.shape[1]} column(s); compare the observed units only"
        )
    if x_gen.shape[0] < 2:
        raise DataError("the generated trajectory needs at least 2 samples")
    return x_true, x_gen


# --------------------------------------------------------------------------- D_stsp
def binned_kl(x_true, x_gen, n_bins: int = 30, margin: float = 0.05, alpha: float = 1e-5) -> float:
    """Binned :math:`KL(p_{true} \\| p_{gen})` (module docstring). Cost O(n N + n_bins^N).

    Non-finite generated points (a diverged model) count as escaped mass.
    """
    x_true, x_gen = _pair(x_true, x_gen)
    N = x_true.shape[1]
    K = n_bins**N
    if K > 5_000_000:
        raise DataError(
            f"{n_bins}^{N} bins are too many for the binned estimator; use method='gmm'"
        )
    lo, hi = x_true.min(0), x_true.max(0)
    width = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - margin * width, hi + margin * width

    def hist(x):
        with np.errstate(invalid="ignore"):
            c = np.floor((x - lo) / (hi - lo) * n_bins)
        inside = np.all(np.isfinite(c) & (c >= 0) & (c < n_bins), axis=1)
        flat = np.ravel_multi_index(c[inside].astype(np.int64).T, (n_bins,) * N)
        counts = np.bincount(flat, minlength=K).astype(np.float64)
        return (counts + alpha) / (x.shape[0] + alpha * K)

    p, q = hist(x_true), hist(x_gen)
    return float(np.sum(p * np.log(p / q)))


def _log_mixture(points: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """log of the equal-weight isotropic Gaussian mixture at ``points`` (chunked)."""
    N = points.shape[1]
    out = np.empty(points.shape[0])
    cn = np.sum(centres**2, axis=1)
    const = -np.log(centres.shape[0]) - 0.5 * N * np.log(2 * np.pi * sigma**2)
    for s in range(0, points.shape[0], 512):
        p = points[s : s + 512]
        d2 = np.sum(p**2, axis=1)[:, None] + cn[None, :] - 2 * p @ centres.T
        out[s : s + 512] = logsumexp(-0.5 * np.maximum(d2, 0.0) / sigma**2, axis=1) + const
    return out


def gmm_kl(
    x_true, x_gen, sigma: float = 1.0, n_kernels: int = 2000, n_mc: int = 2000, seed: int = 0
) -> float:
    """Gaussian-mixture Monte-Carlo :math:`KL(p_{true} \\| p_{gen})` (module docstring).

    Cost O(n_mc n_kernels N). A generated trajectory with non-finite values gives ``inf``.
    """
    x_true, x_gen = _pair(x_true, x_gen)
    if not np.all(np.isfinite(x_gen)):
        return float("inf")
    if sigma <= 0:
        raise DataError(f"the kernel width sigma must be positive, got {sigma}")

    def sub(x):
        idx = np.unique(np.linspace(0, x.shape[0] - 1, min(x.shape[0], n_kernels)).astype(int))
        return x[idx]

    ct, cg = sub(x_true), sub(x_gen)
    rng = np.random.default_rng(seed)
    samples = ct[rng.integers(0, ct.shape[0], n_mc)] + sigma * rng.standard_normal(
        (n_mc, ct.shape[1])
    )
    return float(np.mean(_log_mixture(samples, ct, sigma) - _log_mixture(samples, cg, sigma)))


def state_space_divergence(x_true, x_gen, method: str = "auto", **kwargs) -> float:
    r"""State-space divergence :math:`D_{stsp} = KL(p_{true} \| p_{gen})` in nats.

    Parameters
    ----------
    x_true, x_gen : array_like (T, N) and (T', N)
        Data and a free-running generated trajectory (observed units), ideally z-scored so
        that default bin counts and kernel widths are meaningful.
    method : {"auto", "binned", "gmm"}
        ``"auto"`` bins for ``N <= 3`` and uses the Gaussian mixture above.
    **kwargs
        Passed to :func:`binned_kl` (``n_bins``, ``margin``, ``alpha``) or :func:`gmm_kl`
        (``sigma``, ``n_kernels``, ``n_mc``, ``seed``).

    Raises
    ------
    DataError
        On mismatched dimensions, NaN in the true data, or an unknown method.
    """
    x_true, x_gen = _pair(x_true, x_gen)
    if method == "auto":
        method = "binned" if x_true.shape[1] <= 3 else "gmm"
    if method == "binned":
        return binned_kl(x_true, x_gen, **kwargs)
    if method == "gmm":
        return gmm_kl(x_true, x_gen, **kwargs)
    raise DataError(f"unknown D_stsp method {method!r}; use 'auto', 'binned' or 'gmm'")


# --------------------------------------------------------------------------- D_H
def power_spectrum(x, smoothing: float = 20.0) -> np.ndarray | None:
    """Smoothed, normalised power spectrum of a scalar series (``None`` if it is constant)."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    if not np.isfinite(sd) or sd == 0:
        return None
    ps = np.abs(np.fft.rfft((x - x.mean()) / sd)) ** 2
    if smoothing > 0:
        ps = gaussian_filter1d(ps, smoothing)
    return ps / ps.sum()


def hellinger_distance(p, q) -> float:
    r"""Hellinger distance :math:`\sqrt{1 - \sum \sqrt{p q}}` of two discrete distributions."""
    bc = float(np.sum(np.sqrt(np.asarray(p) * np.asarray(q))))
    return float(np.sqrt(max(0.0, 1.0 - bc)))


def power_spectrum_distance(x_true, x_gen, smoothing: float = 20.0) -> float:
    """Mean Hellinger distance :math:`D_H` between smoothed power spectra (module docstring).

    Parameters
    ----------
    smoothing : float
        Standard deviation of the Gaussian smoothing kernel, in frequency bins. Cost
        O(N T log T).
    """
    x_true, x_gen = _pair(x_true, x_gen)
    T = min(x_true.shape[0], x_gen.shape[0])
    vals = []
    for j in range(x_true.shape[1]):
        p = power_spectrum(x_true[:T, j], smoothing)
        if p is None:
            raise DataError(f"column {j} of the true data is constant; D_H is undefined")
        q = power_spectrum(x_gen[:T, j], smoothing)
        vals.append(1.0 if q is None else hellinger_distance(p, q))
    return float(np.mean(vals))


# --------------------------------------------------------------------------- PE(n)
def prediction_error_curve(
    step: Callable,
    x,
    n_max: int,
    init: Callable | None = None,
    inputs=None,
    max_starts: int = 1000,
) -> np.ndarray:
    r"""Prediction errors :math:`PE(1), \dots, PE(n_{max})` (module docstring).

    Parameters
    ----------
    step : callable
        One model step on a batch of latent states, ``step(z) -> z'`` with ``z`` of shape
        ``(B, M)`` (a :class:`~plrnn_manifolds.maps.PLMap` works), or ``step(z, s)`` with the
        input ``s`` (B, K) of the new time step when ``inputs`` is given.
    x : array_like (T, N)
        Data; the first ``N`` latent units are the prediction.
    n_max : int
        Largest horizon.
    init : callable, optional
        Maps observations ``(B, N)`` to initial latent states ``(B, M)``. Default: identity
        when ``step`` is a map with ``M == N``, zero-padding of the unobserved units otherwise.
    inputs : array_like (T, K), optional
        External input aligned with ``x``.
    max_starts : int
        Number of evenly spaced start times used (deterministic).

    Returns
    -------
    ndarray (n_max,)
        Diverged predictions give ``inf``.

    Raises
    ------
    DataError
        On NaN data, a horizon not shorter than the series, or mismatched inputs.
    """
    x = check_timeseries("data", x)
    n_max = int(n_max)
    T, N = x.shape
    if not 1 <= n_max < T:
        raise DataError(f"the horizon n must be in 1..T-1 = 1..{T - 1}, got {n_max}")
    if inputs is not None:
        inputs = check_timeseries("inputs", inputs)
        if inputs.shape[0] != T:
            raise DataError(
                f"the external input has {inputs.shape[0]} samples but the data has {T}"
            )
    starts = np.unique(np.linspace(0, T - 1 - n_max, min(T - n_max, max_starts)).astype(int))
    z = x[starts]
    if init is not None:
        z = np.asarray(init(z), dtype=np.float64)
    else:
        M = getattr(step, "M", N)
        if M > N:
            z = np.hstack([z, np.zeros((z.shape[0], M - N))])
    out = np.empty(n_max)
    with np.errstate(over="ignore", invalid="ignore"):
        for n in range(1, n_max + 1):
            z = step(z) if inputs is None else step(z, inputs[starts + n])
            err = np.mean((z[:, :N] - x[starts + n]) ** 2)
            out[n - 1] = err if np.isfinite(err) else np.inf
    return out


def prediction_error(
    step: Callable, x, n: int, init: Callable | None = None, inputs=None, max_starts: int = 1000
) -> float:
    r""":math:`PE(n)`, the mean squared ``n``-step-ahead prediction error (see
    :func:`prediction_error_curve` for the arguments)."""
    return float(prediction_error_curve(step, x, n, init, inputs, max_starts)[-1])


# --------------------------------------------------------------------------- regions
def visited_region_determinants(plmap, z) -> tuple[np.ndarray, np.ndarray]:
    r"""Distinct regions visited by states ``z`` and their Jacobian determinants.

    Parameters
    ----------
    plmap : PLMap
        Canonical map (e.g. a trained model's export).
    z : array_like (..., M)
        Latent states (a trajectory or a batch).

    Returns
    -------
    patterns : ndarray (k, H) of bool
        The distinct activation patterns, sorted lexicographically.
    dets : ndarray (k,)
        :math:`\det J_d` for each, in float64. A continuous PL map whose region determinants
        share one sign is invertible on its image; negative values flag folds.

    Raises
    ------
    DataError
        If ``z`` contains NaN or infinite values or has the wrong last dimension.
    """
    try:
        z = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("the states are not a numeric array") from None
    if z.ndim == 0 or z.shape[-1] != plmap.M:
        raise DataError(f"states must have last dimension M = {plmap.M}, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise DataError("the states contain NaN or infinite values (a diverged trajectory?)")
    pats = np.unique(plmap.pattern(z.reshape(-1, plmap.M)), axis=0)
    return pats, np.linalg.det(plmap.jacobian(pats))
