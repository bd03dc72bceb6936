r"""Synthetic models with known structure, for tests, benchmarks and demonstrations.

:func:`bistable_alrnn` builds an ALRNN whose two ReLU units ``a`` and ``b`` inhibit each other,

.. math::

    a' = \alpha a - w\,\mathrm{relu}(b) + h, \qquad b' = \alpha b - w\,\mathrm{relu}(a) + h,

with :math:`\alpha = 0.8`, :math:`w = 0.4`, :math:`h = 1`: two stable fixed points (``a`` high,
``b`` low and vice versa) and a saddle at :math:`a = b = h / (1 - \alpha + w)` with one unstable
direction (eigenvalue :math:`\alpha + w = 1.2`), so the basin boundary is the saddle's
codimension-1 stable manifold. Because :math:`w < \alpha`, every region Jacobian of the pair has
positive determinant :math:`\alpha^2 - w^2` or :math:`\alpha^2`, which keeps the map invertible
for small couplings. The remaining units are contracting and weakly coupled (strength
``coupling``) to and
from the pair, which bends the boundary away from the symmetric hyperplane.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..maps import PLMap
from .families import alrnn, shplrnn


def bistable_alrnn(M: int = 25, P: int = 6, coupling: float = 0.05, seed: int = 0) -> PLMap:
    """A bistable ALRNN with one codimension-1 saddle (see module docstring).

    Parameters
    ----------
    M : int
        State dimension (>= 3).
    P : int
        Number of ReLU units (2 <= P <= M).
    coupling : float
        Strength of the random couplings between the bistable pair and the other units.
    seed : int
        Seed of the random couplings.
    """
    if not (M >= 3 and 2 <= P <= M):
        raise ModelError(f"bistable_alrnn needs M >= 3 and 2 <= P <= M, got M={M}, P={P}")
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.2, 0.6, M)
    W = coupling * rng.normal(size=(M, M)) / np.sqrt(M)
    np.fill_diagonal(W, 0.0)
    h = 0.1 * rng.normal(size=M)
    a, b = M - P, M - P + 1  # the first two ReLU units
    A[a] = A[b] = 0.8
    W[a, :] *= 0.2
    W[b, :] *= 0.2
    W[a, b] = W[b, a] = -0.4
    W[a, a] = W[b, b] = 0.0
    h[a] = h[b] = 1.0
    return alrnn(A, W, h, P)


def bistable_shplrnn(M: int = 3, H: int = 20, coupling: float = 0.1, seed: int = 0) -> PLMap:
    r"""A bistable shallow PLRNN with one codimension-1 saddle.

    The first coordinate follows the S-shaped map
    :math:`x' = 0.5 x + 1.5 (\mathrm{relu}(x + 1) - \mathrm{relu}(x - 1)) - 1.5` (two hidden
    units): stable fixed points near :math:`x = \pm 3` and a saddle near :math:`x = 0` with
    eigenvalue 2. The other coordinates contract (factors 0.3 to 0.5). The remaining ``H - 2``
    hidden units have random unit input weights and offsets and output weights of size
    ``coupling``, so they cut the state space into many regions and bend the saddle's
    codimension-1 stable manifold (the basin boundary). With the default ``coupling`` every
    region Jacobian keeps a positive determinant near the attractors.

    Parameters
    ----------
    M : int
        State dimension (>= 2).
    H : int
        Number of hidden units (>= 2).
    coupling : float
        Size of the output weights of the random hidden units.
    seed : int
        Seed of the random hidden units.
    """
    if not (M >= 2 and H >= 2):
        raise ModelError(f"bistable_shplrnn needs M >= 2 and H >= 2, got M={M}, H={H}")
    rng = np.random.default_rng(seed)
    A = np.concatenate([[0.5], np.linspace(0.5, 0.3, M - 1)]) if M > 1 else np.array([0.5])
    W2 = np.zeros((H, M))
    h2 = np.zeros(H)
    W1 = np.zeros((M, H))
    W2[0, 0] = W2[1, 0] = 1.0
    h2[0], h2[1] = 1.0, -1.0
    W1[0, 0], W1[0, 1] = 1.5, -1.5
    R = rng.normal(size=(H - 2, M))
    W2[2:] = R / np.linalg.norm(R, axis=1, keepdims=True)
    h2[2:] = rng.uniform(-2.0, 2.0, H - 2)
    W1[:, 2:] = coupling * rng.normal(size=(M, H - 2)) / np.sqrt(H)
    h1 = np.zeros(M)
    h1[0] = -1.5
    return shplrnn(A, W1, W2, h1, h2)
