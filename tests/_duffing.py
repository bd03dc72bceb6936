r"""A damped two-well Duffing oscillator and a direct least-squares shPLRNN fit of its time-dt map.

The flow :math:`\ddot x + \delta \dot x - x + x^3 = 0` has stable foci at :math:`(\pm 1, 0)`
and a saddle at the origin; the saddle's stable manifold separates the two wells' basins. Sampled
with a time step ``dt`` it is a 2-D map :math:`(x, v)(t) \mapsto (x, v)(t + dt)`.

:func:`fit_shplrnn` fits :math:`F(z) = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1` (M = 2,
H hidden units) to pairs :math:`(z_t, z_{t+1})` of seeded trajectories: ``W2, h2`` are fixed
first (unit hinge normals along the position ``x`` with small seeded random tilts towards ``v``,
offsets at evenly spaced quantiles of the data projected on them), then ``A, W1, h1`` solve one
linear least-squares problem. The data are augmented with their mirror images ``(-z_t,
-z_{t+1})``, which are trajectories too, since the flow is odd. Deterministic and fast (~1 s).
"""

from __future__ import annotations

import numpy as np

from plrnn_manifolds.models import shplrnn

DELTA = 0.5
DT = 0.1
BOX = 2.0  # trajectories start uniformly in [-BOX, BOX]^2


def duffing_rhs(z: np.ndarray, delta: float = DELTA) -> np.ndarray:
    x, v = z[..., 0], z[..., 1]
    return np.stack([v, x - x**3 - delta * v], axis=-1)


def duffing_step(z: np.ndarray, dt: float = DT, substeps: int = 10, delta: float = DELTA):
    """The time-``dt`` map of the flow by ``substeps`` classical RK4 steps (vectorised)."""
    h = dt / substeps
    for _ in range(substeps):
        k1 = duffing_rhs(z, delta)
        k2 = duffing_rhs(z + 0.5 * h * k1, delta)
        k3 = duffing_rhs(z + 0.5 * h * k2, delta)
        k4 = duffing_rhs(z + h * k3, delta)
        z = z + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def energy(z: np.ndarray) -> np.ndarray:
    """:math:`E = v^2/2 - x^2/2 + x^4/4`; the saddle has E = 0, the wells E = -1/4."""
    x, v = z[..., 0], z[..., 1]
    return 0.5 * v**2 - 0.5 * x**2 + 0.25 * x**4


def flow_basins(points: np.ndarray, max_steps: int = 3000) -> np.ndarray:
    """Basin of the true flow: +1 (well x = +1), -1 (well x = -1), 0 (undecided).

    E decreases along the damped flow, and once :math:`E < 0` the state is trapped in the well
    of its side (the sublevel set {E < 0} has two components, x > 0 and x < 0), so a point is
    labelled by the sign of x when its energy first drops below -1e-3.
    """
    Z = np.array(points, dtype=float)
    lab = np.zeros(len(Z), dtype=int)
    for _ in range(max_steps):
        done = (energy(Z) < -1e-3) & (lab == 0)
        lab[done] = np.where(Z[done, 0] > 0, 1, -1)
        if np.all(lab != 0):
            break
        Z = duffing_step(Z, substeps=1)
    return lab


def duffing_data(n_traj: int = 200, n_steps: int = 150, seed: int = 0, dt: float = DT):
    """Pairs ``(Z, Znext)``, each ``(n_traj * n_steps, 2)``, from seeded trajectories started
    uniformly in ``[-BOX, BOX]^2``."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-BOX, BOX, (n_traj, 2))
    X, Y = [], []
    for _ in range(n_steps):
        zn = duffing_step(z, dt)
        X.append(z)
        Y.append(zn)
        z = zn
    return np.concatenate(X), np.concatenate(Y)


def fit_shplrnn(H: int = 10, seed: int = 0, tilt: float = 0.1, n_traj: int = 200):
    """Least-squares shPLRNN (M = 2, ``H`` hidden units) of the Duffing time-``DT`` map.

    Returns the model (a :class:`~plrnn_manifolds.maps.PLMap`, family ``shplrnn``).
    """
    Z, Zn = duffing_data(n_traj=n_traj, seed=seed)
    Z, Zn = np.vstack([Z, -Z]), np.vstack([Zn, -Zn])  # the flow is odd
    rng = np.random.default_rng(seed)
    W2 = np.zeros((H, 2))
    W2[:, 0] = 1.0
    W2[:, 1] = tilt * rng.standard_normal(H)
    W2 /= np.linalg.norm(W2, axis=1, keepdims=True)
    proj = Z @ W2.T
    q = (np.arange(H) + 0.5) / H
    h2 = -np.array([np.quantile(proj[:, k], q[k]) for k in range(H)])
    Phi = np.hstack([Z, np.maximum(proj + h2, 0.0), np.ones((len(Z), 1))])
    coef, *_ = np.linalg.lstsq(Phi, Zn, rcond=None)
    return shplrnn(coef[:2].T, coef[2 : 2 + H].T, W2, coef[-1], h2)
