r"""Lyapunov spectra of piecewise-linear maps by the QR (Benettin) method.

For an orbit :math:`z_{t+1} = F(z_t)` the tangent dynamics is the product of the *exact* region
Jacobians :math:`J_t = J_{d(z_t)} = A + W_1 D_{d(z_t)} W_2` (:meth:`PLMap.jacobian`); no finite
differences are involved. The Lyapunov exponents are

.. math::

    \lambda_i = \lim_{n\to\infty} \frac1n \log \sigma_i(J_{n-1} \cdots J_0),

computed by re-orthonormalising a frame at every step (Benettin et al. 1980; Eckmann & Ruelle
1985): :math:`J_t Q_t = Q_{t+1} R_t` (QR decomposition) and

.. math::

    \lambda_i \approx \frac1n \sum_{t} \log |(R_t)_{ii}|.

Because :math:`\prod_i |(R_t)_{ii}| = |\det J_t|`, the sum of the exponents equals the orbit mean
of :math:`\log|\det J_t|` up to round-off, which the tests use as an independent check.

Singular Jacobians
------------------
A region whose Jacobian is singular (numerical rank ``r < M``, singular values below
``10 M eps sigma_max``) annihilates a direction exactly, so the corresponding exponent is
:math:`-\infty`, not a large negative number and never NaN. When the tracked frame loses rank at
such a step, the annihilated directions are moved to the end of the frame (the rest of the
frame is kept as nested as possible) and their slots report ``-inf`` from then on. Rank lost
during the transient is forgotten when measurement starts, since the exponents describe the
product *after* the transient.

Divergence
----------
Lyapunov exponents describe bounded (attracting or invariant) sets. A trajectory that leaves the
ball of radius ``escape_radius`` or becomes non-finite raises
:class:`~plrnn_manifolds.errors.DataError` naming the step and the initial condition; no partial
result is returned, because the exponents of an escaping orbit are those of the affine region it
escapes through, not of an attractor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validate import as_state
from .errors import DataError

__all__ = ["LyapunovResult", "largest_lyapunov", "lyapunov_spectrum"]

#: Relative singular-value threshold (times ``M * eps``) below which a Jacobian is singular.
_RANK_FACTOR = 10.0
#: Most steps simulated at once, and the bound on ``steps * B * (H + M + M^2)`` per chunk.
_CHUNK = 2048
_CHUNK_ELEMENTS = 20_000_000
#: Longest QR block, and log of the target condition number of a block product.
_MAX_BLOCK = 64
_LOG_COND = float(np.log(1e6))
#: Keep block products far below overflow (exp(300) ~ 1e130).
_LOG_OVERFLOW = 300.0


@dataclass
class LyapunovResult:
    """Lyapunov spectrum of one orbit.

    Attributes
    ----------
    exponents : ndarray, shape (M,)
        Exponents sorted descending (natural log per iteration). ``-inf`` for directions
        annihilated exactly by a singular Jacobian.
    stderr : ndarray, shape (M,)
        Standard error of the mean of the per-segment estimates, ``sd / sqrt(n_segments)``.
        ``0`` for ``-inf`` exponents (an exact rank loss, not a statistical estimate).
    ci_low, ci_high : ndarray, shape (M,)
        95 % confidence band, ``mean -/+ t_{0.975, n_segments-1} * stderr`` (Student t over the
        segment estimates; segments are treated as independent, which holds approximately for
        segments much longer than the correlation time).
    segments : ndarray, shape (n_segments, M)
        Per-segment estimates, columns in the same order as ``exponents``.
    n_steps, transient, n_segments : int
        Measured steps, discarded steps, number of segments.
    z0, z_final : ndarray, shape (M,)
        Initial state and the state after the last step.
    """

    exponents: np.ndarray
    stderr: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    segments: np.ndarray
    n_steps: int
    transient: int
    n_segments: int
    z0: np.ndarray
    z_final: np.ndarray

    @property
    def largest(self) -> float:
        """The largest exponent."""
        return float(self.exponents[0])

    @property
    def half_width(self) -> np.ndarray:
        """Half-width of the 95 % band per exponent (``0`` for ``-inf`` exponents)."""
        with np.errstate(invalid="ignore"):
            hw = 0.5 * (self.ci_high - self.ci_low)
        return np.where(np.isfinite(hw), hw, 0.0)

    def kaplan_yorke_dimension(self) -> float:
        r"""Kaplan–Yorke dimension :math:`k + \sum_{i\le k}\lambda_i / |\lambda_{k+1}|`.

        ``k`` is the largest index with a non-negative partial sum; ``0`` if
        :math:`\lambda_1 < 0`, ``M`` if all partial sums are non-negative.
        """
        lam = self.exponents
        csum = np.cumsum(lam)
        if lam[0] < 0:
            return 0.0
        k = int(np.max(np.nonzero(csum >= 0)[0])) + 1
        if k == lam.size:
            return float(k)
        return float(k + csum[k - 1] / abs(lam[k]))

    def to_dict(self) -> dict:
        """JSON-ready dict; ``-inf`` (exact rank loss) is written as ``None`` (JSON ``null``)."""
        return {
            "exponents": _json_floats(self.exponents),
            "stderr": _json_floats(self.stderr),
            "ci_low": _json_floats(self.ci_low),
            "ci_high": _json_floats(self.ci_high),
            "segments": [_json_floats(s) for s in self.segments],
            "n_steps": self.n_steps,
            "transient": self.transient,
            "n_segments": self.n_segments,
            "z0": _json_floats(self.z0),
            "z_final": _json_floats(self.z_final),
        }


def _json_floats(x) -> list:
    """Floats for JSON, which has no infinities: ``-inf`` (the only non-finite value a result
    can hold) becomes ``None``."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(x, dtype=float).ravel()]


def _check_int(name: str, value, minimum: int) -> int:
    try:
        iv = int(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be an integer, got {value!r}") from None
    if iv != value or iv < minimum:
        raise DataError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return iv


def _region_jacobians(model, d: np.ndarray, eps: float):
    """Jacobians of the distinct patterns in ``d`` (``(..., H)``).

    Returns ``(J, singular, norm, inverse)``: ``J`` ``(u, M, M)`` for the ``u`` distinct
    patterns, a ``(u,)`` flag for numerically singular ones (smallest singular value
    ``<= eps * largest``), their spectral norms (``tiny`` for zero matrices), and ``inverse``
    with shape ``d.shape[:-1]`` indexing into them.
    """
    H = d.shape[-1]
    packed = np.packbits(d.reshape(-1, H), axis=-1)  # 8 units per byte: cheap to sort
    uniq, inverse = np.unique(packed, axis=0, return_inverse=True)
    J = model.jacobian(np.unpackbits(uniq, axis=-1, count=H).astype(bool))
    sv = np.linalg.svd(J, compute_uv=False)
    norm = np.maximum(sv[:, 0], np.finfo(float).tiny)
    singular = sv[:, -1] <= eps * norm
    return J, singular, norm, inverse.reshape(d.shape[:-1])


def _deflate(Jb: np.ndarray, Qb: np.ndarray, p: int, eps: float) -> int:
    """Move directions of the live frame ``Qb[:, :p]`` that ``Jb`` annihilates to its end.

    Returns the new number of live directions. ``Qb`` is modified in place and stays orthogonal.
    The surviving frame is the QR of the first ``r`` frame vectors projected off the null
    space, so the nested (flag) structure the QR method relies on is disturbed as little as
    possible.
    """
    X = Jb @ Qb[:, :p]
    _, S, Vt = np.linalg.svd(X)
    tol = eps * max(np.linalg.norm(Jb, 2), np.finfo(float).tiny)
    r = int(np.count_nonzero(S > tol))
    if r == p:
        return p
    N = Vt[r:].T  # (p, p - r): null space of J Q_p in frame coordinates
    P = np.eye(p) - N @ N.T
    C, Rc = np.linalg.qr(P[:, :r])
    if r and np.min(np.abs(np.diag(Rc))) <= 1e-8:
        # The leading frame vectors are (nearly) inside the null space: fall back to the
        # orthonormal complement from the SVD.
        C = Vt[:r].T
    Qb[:, :p] = Qb[:, :p] @ np.hstack([C, N])
    return r


def _check_escape(traj: np.ndarray, t0: int, R: float) -> None:
    """Raise DataError if any state of ``traj`` (``(n, B, M)``) is non-finite or beyond ``R``."""
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(traj, axis=-1)
    bad = ~(norms <= R)  # also catches NaN
    if bad.any():
        steps, idx = np.nonzero(bad)
        first = int(steps.min())
        which = sorted(set(idx[steps == first].tolist()))
        raise DataError(
            f"the trajectory from initial condition(s) {which[:10]} diverged at step "
            f"{t0 + first} (|z| > {R:.3g} or non-finite); Lyapunov exponents describe bounded "
            "orbits, so start on (or in the basin of) a bounded attractor"
        )


def _escape_radius(model, z0: np.ndarray, escape_radius) -> float:
    if escape_radius is not None:
        R = float(escape_radius)
        if not np.isfinite(R) or R <= 0:
            raise DataError(
                f"escape_radius must be a positive finite number, got {escape_radius!r}"
            )
        return R
    # Far beyond any bounded attractor of a map of this scale, far below overflow.
    return 1e8 * max(model.scale, float(np.max(np.linalg.norm(z0, axis=-1))), 1.0)


def lyapunov_spectrum(
    model,
    z0,
    n_steps: int = 10000,
    transient: int = 1000,
    n_segments: int = 5,
    seed: int = 0,
    escape_radius: float | None = None,
):
    r"""Full Lyapunov spectrum of the orbit of ``z0`` by the QR (Benettin) method.

    The orbit is iterated ``transient`` steps (the tangent frame is orthonormalised during the
    transient too, so that it is aligned with the Oseledets directions when measurement starts),
    then ``n_steps`` steps are measured, split into ``n_segments`` consecutive segments of
    (almost) equal length. Each step uses the exact region Jacobian
    :math:`J_{d(z_t)}` from ``model.jacobian(model.pattern(z_t))``; states on a region boundary
    take the pattern with ties to 0, which is immaterial for the exponents because the map is
    continuous and boundaries are visited with probability zero.

    Parameters
    ----------
    model : PLMap
        The map.
    z0 : (M,) or (B, M) array_like
        Initial condition(s). A batch is iterated in a vectorised way.
    n_steps : int
        Measured steps (``>= n_segments``).
    transient : int
        Steps discarded first (``>= 0``).
    n_segments : int
        Number of segments for the error estimate (``>= 2``).
    seed : int
        Seed of the random orthogonal initial frame.
    escape_radius : float, optional
        Norm beyond which a trajectory counts as diverged; default
        ``1e8 * max(model.scale, |z0|, 1)``.

    Returns
    -------
    LyapunovResult or list of LyapunovResult
        One result for a single ``(M,)`` initial condition, a list for a batch.

    Raises
    ------
    DataError
        On bad arguments, or if a trajectory diverges (non-finite or beyond ``escape_radius``).

    Notes
    -----
    Cost: ``O((transient + n_steps) * B * M^3)`` for the Jacobian products, with one QR
    factorisation per block of up to 64 regular steps (the block is shortened so that the
    accumulated product stays well conditioned, condition number about 1e6), one SVD per
    distinct region per chunk of up to 2048 steps, and one SVD per step spent in a singular
    region. Memory is bounded by chunking (about ``2e7`` numbers). The estimate converges like
    ``O(1/n)`` for hyperbolic orbits (``O(log n / n)`` with Jordan blocks); the band is a
    batch-means estimate.
    """
    z = as_state("z0", z0, model.M, error=DataError)
    if not np.all(np.isfinite(z)):
        raise DataError("z0 contains NaN or infinite values; give finite initial conditions")
    single = z.ndim == 1
    if z.ndim > 2:
        raise DataError(f"z0 must have shape (M,) or (B, M), got {z.shape}")
    z = np.array(z.reshape(-1, model.M), dtype=np.float64)
    n_steps = _check_int("n_steps", n_steps, 1)
    transient = _check_int("transient", transient, 0)
    n_segments = _check_int("n_segments", n_segments, 2)
    if n_steps < n_segments:
        raise DataError(
            f"n_steps ({n_steps}) must be at least n_segments ({n_segments}); "
            "increase n_steps or decrease n_segments"
        )
    R_esc = _escape_radius(model, z, escape_radius)

    B, M = z.shape
    z_init = z.copy()
    rng = np.random.default_rng(seed)
    Q0, _ = np.linalg.qr(rng.standard_normal((M, M)))
    Q = np.repeat(Q0[None], B, axis=0)
    active = np.full(B, M)
    eps = _RANK_FACTOR * M * np.finfo(float).eps
    seg_len = np.array([len(s) for s in np.array_split(np.arange(n_steps), n_segments)])
    # Boundaries that no QR block may straddle: end of transient and of every segment.
    bounds = transient + np.concatenate([[0], np.cumsum(seg_len)])
    sums = np.zeros((n_segments, B, M))
    slot = np.arange(M)
    total_steps = transient + n_steps
    spread = np.inf  # running estimate of the per-step spread of log growth rates
    single_until = 0  # steps before this index are processed one at a time
    # Steps simulated at once: bounded so that states, patterns and the distinct Jacobians of
    # a chunk stay below ~_CHUNK_ELEMENTS numbers.
    chunk = int(max(16, min(_CHUNK, _CHUNK_ELEMENTS // (B * (model.H + M + M * M)))))

    t0 = 0
    while t0 < total_steps:
        n_chunk = min(chunk, total_steps - t0)
        traj = model.trajectory(z, n_chunk + 1)  # states t0 .. t0 + n_chunk
        _check_escape(traj, t0, R_esc)
        J_u, sing_u, norm_u, idx = _region_jacobians(model, model.pattern(traj[:-1]), eps)
        sing_step = sing_u[idx]  # (n_chunk, B)
        t = t0
        while t < t0 + n_chunk:
            if t == transient:
                # Rank lost in the transient belongs to the transient's product only.
                active[:] = M
            # Block of steps, re-orthonormalised once: the block length keeps the condition
            # number of the accumulated product near 1e6 (far from the 1e16 at which QR would
            # lose the smallest direction) and its growth far from overflow.
            k_max = 1 if t < single_until else int(min(_MAX_BLOCK, max(1.0, _LOG_COND / spread)))
            nxt = bounds[bounds > t]
            stop = min(t + k_max, t0 + n_chunk, int(nxt[0]) if nxt.size else total_steps)
            k = stop - t
            P = Q
            for s in range(t - t0, stop - t0):
                P = J_u[idx[s]] @ P
            Qn, Rt = np.linalg.qr(P)
            sing_b = sing_step[t - t0 : stop - t0].any(axis=0)
            if sing_b.any():
                # A singular region was visited. The live frame Q_p keeps full rank exactly
                # when sigma_min(P Q_p) > tol. As prod_i |R_ii| = prod_i sigma_i and every
                # sigma_i <= prod_s |J_s|, sigma_min >= prod_i |R_ii| / (prod_s |J_s|)^(p-1):
                # a free lower bound. Only where it fails is the frame deflated (one SVD), one
                # step at a time.
                lognorm = np.log(norm_u[idx[t - t0 : stop - t0]]).sum(axis=0)
                failed = []
                for b in np.nonzero(sing_b)[0]:
                    p = int(active[b])
                    if p == 0:
                        continue
                    with np.errstate(divide="ignore"):
                        log_lb = np.log(np.abs(np.diagonal(Rt[b]))[:p]).sum()
                    log_lb -= (p - 1) * lognorm[b]
                    if not log_lb > np.log(eps * k) + lognorm[b]:
                        failed.append(b)
                if failed and k > 1:
                    single_until = stop  # redo this block step by step
                    continue
                J = J_u[idx[t - t0]]
                for b in failed:
                    active[b] = _deflate(J[b], Q[b], int(active[b]), eps)
                    Qn[b], Rt[b] = np.linalg.qr(J[b] @ Q[b])
            Q = Qn
            with np.errstate(divide="ignore"):
                logs = np.log(np.abs(np.diagonal(Rt, axis1=1, axis2=2)))
            logs[slot[None, :] >= active[:, None]] = -np.inf
            fin = np.where(np.isfinite(logs), logs, np.nan) / k
            if np.isfinite(fin).sum(axis=1).max() >= 1:
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    gap = np.nanmax(fin) - np.nanmin(fin)
                    amp = np.nanmax(np.abs(fin)) * _LOG_COND / _LOG_OVERFLOW
                spread = max(gap, amp, 1e-3) if np.isfinite(gap) else spread
            if t >= transient:
                seg = int(np.searchsorted(bounds, t, side="right")) - 1
                sums[seg] += logs
            t += k
        z = traj[-1]
        t0 += n_chunk

    results = []
    tq = float(stats.t.ppf(0.975, n_segments - 1))
    for b in range(B):
        per_seg = sums[:, b, :] / seg_len[:, None]
        total = sums[:, b, :].sum(axis=0) / n_steps
        order = np.argsort(-total, kind="stable")
        total = total[order]
        per_seg = per_seg[:, order]
        finite = np.all(np.isfinite(per_seg), axis=0)
        stderr = np.zeros(M)
        lo = np.full(M, -np.inf)
        hi = np.full(M, -np.inf)
        if finite.any():
            v = per_seg[:, finite]
            se = v.std(axis=0, ddof=1) / np.sqrt(n_segments)
            mu = v.mean(axis=0)
            stderr[finite] = se
            lo[finite] = mu - tq * se
            hi[finite] = mu + tq * se
        # A slot that lost rank in a later segment is -inf overall, while earlier segments
        # are finite; its band is the exact value -inf.
        results.append(
            LyapunovResult(
                exponents=total,
                stderr=stderr,
                ci_low=lo,
                ci_high=hi,
                segments=per_seg,
                n_steps=n_steps,
                transient=transient,
                n_segments=n_segments,
                z0=z_init[b],
                z_final=z[b].copy(),
            )
        )
    return results[0] if single else results


def largest_lyapunov(
    model,
    z0,
    n_steps: int = 10000,
    transient: int = 1000,
    n_segments: int = 5,
    seed: int = 0,
    escape_radius: float | None = None,
) -> float:
    """Largest Lyapunov exponent of the orbit of ``z0`` (see :func:`lyapunov_spectrum`).

    Returns a float for a single initial condition and an ndarray ``(B,)`` for a batch.
    """
    res = lyapunov_spectrum(model, z0, n_steps, transient, n_segments, seed, escape_radius)
    if isinstance(res, list):
        return np.array([r.largest for r in res])
    return res.largest
