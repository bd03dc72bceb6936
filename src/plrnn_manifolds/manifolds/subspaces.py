r"""Invariant subspaces of a hyperbolic orbit from an ordered real Schur form.

For a k-cycle :math:`p_0, \dots, p_{k-1}` with region Jacobians :math:`J_0, \dots, J_{k-1}`
the monodromy based at :math:`p_0` is :math:`M_0 = J_{k-1} \cdots J_0`. Its real Schur form
:math:`M_0 = Q T Q^T`, reordered so that the eigenvalues inside (stable) or outside (unstable)
the unit circle come first, gives an orthonormal basis :math:`Q_{:, :n}` of the invariant
subspace. The ordered Schur form is backward stable and handles complex pairs (2 x 2 blocks),
negative eigenvalues (flips) and defective (non-diagonalisable) eigenvalues alike, where an
eigenvector basis would be ill-conditioned or incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import schur

from ..errors import ManifoldError, NonHyperbolicError


@dataclass(frozen=True)
class InvariantSubspace:
    """An invariant subspace of the monodromy at one orbit point.

    Attributes
    ----------
    basis : (M, n) ndarray
        Orthonormal basis :math:`U` with :math:`M_0 U = U T_{11}`.
    restricted : (n, n) ndarray
        :math:`T_{11} = U^T M_0 U`, the monodromy restricted to the subspace.
    eigenvalues : (n,) complex ndarray
        Eigenvalues of the restriction.
    """

    basis: np.ndarray
    restricted: np.ndarray
    eigenvalues: np.ndarray


def invariant_subspace(
    monodromy: np.ndarray, kind: str, hyperbolic_tol: float = 1e-6
) -> InvariantSubspace:
    r"""Stable (``|lambda| < 1``) or unstable (``|lambda| > 1``) subspace of ``monodromy``.

    Parameters
    ----------
    monodromy : (M, M) ndarray
        The monodromy matrix at the orbit point.
    kind : {"stable", "unstable"}
        Which subspace.
    hyperbolic_tol : float
        Eigenvalues with :math:`||\lambda| - 1| <` ``hyperbolic_tol`` make the orbit
        non-hyperbolic: its manifolds are not determined by the linearisation.

    Raises
    ------
    NonHyperbolicError
        If an eigenvalue lies (numerically) on the unit circle.
    ManifoldError
        If the requested subspace is trivial (dimension 0) or the whole space.

    Notes
    -----
    Cost :math:`O(M^3)` for the Schur decomposition.
    """
    if kind not in ("stable", "unstable"):
        raise ManifoldError(f"kind must be 'stable' or 'unstable', got {kind!r}")
    Mo = np.asarray(monodromy, dtype=np.float64)
    mods = np.abs(np.linalg.eigvals(Mo))
    near = np.abs(mods - 1.0) < hyperbolic_tol
    if np.any(near):
        raise NonHyperbolicError(
            f"the orbit is not hyperbolic: monodromy eigenvalue(s) with modulus "
            f"{', '.join(f'{m:.8g}' for m in mods[near])} lie on the unit circle (within "
            f"{hyperbolic_tol:g}); stable and unstable manifolds are not defined by the "
            "linearisation. Perturb the parameters or choose another orbit."
        )
    n_s = int(np.sum(mods < 1.0))
    n = n_s if kind == "stable" else Mo.shape[0] - n_s
    if n == 0 or n == Mo.shape[0]:
        what = "stable" if n_s == Mo.shape[0] else "unstable"
        raise ManifoldError(
            f"the orbit is not a saddle (it is {what}: {n_s} of {Mo.shape[0]} eigenvalues "
            "inside the unit circle); it has no proper stable or unstable manifold to grow"
        )
    if kind == "stable":
        T, Q, sdim = schur(Mo, output="real", sort=lambda re, im: re * re + im * im < 1.0)
    else:
        T, Q, sdim = schur(Mo, output="real", sort=lambda re, im: re * re + im * im > 1.0)
    if sdim != n:
        # Reordering can misclassify eigenvalues extremely close to the circle; those were
        # rejected above, so this signals a genuinely ill-conditioned problem.
        raise ManifoldError(
            f"ordered Schur form put {sdim} eigenvalues first, expected {n}; the monodromy is "
            "too ill-conditioned to separate stable and unstable subspaces"
        )
    U = Q[:, :n]
    T11 = T[:n, :n]
    return InvariantSubspace(U, T11, np.linalg.eigvals(T11))
