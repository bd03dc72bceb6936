r"""The canonical piecewise-linear map, the only module that knows its formula.

Every supported model reduces to

.. math::

    F(z) = A z + W_1 \,\mathrm{relu}(W_2 z + h_2) + h_1, \qquad z \in \mathbb{R}^M,

with :math:`H` hidden units and :math:`A` any :math:`M \times M` matrix.

A state's *activation pattern* is :math:`d \in \{0,1\}^H` with :math:`d_i = 1` iff
:math:`(W_2 z + h_2)_i > 0`; ties (exactly zero pre-activation) go to 0. The closed region of
pattern :math:`d` is

.. math::

    P_d = \{ z : s_i (W_{2,i} z + h_{2,i}) \ge 0 \}, \qquad s_i = 2 d_i - 1,

on which the map is affine, :math:`F_d(z) = J_d z + c_d` with :math:`J_d = A + W_1 D_d W_2` and
:math:`c_d = h_1 + W_1 D_d h_2`. Because ReLU is continuous, neighbouring affine pieces agree on
their shared facet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array, as_state
from .errors import ModelError, OrbitError

__all__ = [
    "PLMap",
    "pattern_from_str",
    "pattern_to_str",
]


def pattern_to_str(d) -> str:
    """Encode an activation pattern as a string of ``0`` and ``1`` (unit 0 first)."""
    return "".join("1" if x else "0" for x in np.asarray(d, dtype=bool).ravel())


def pattern_from_str(s: str) -> np.ndarray:
    """Decode a ``0``/``1`` string into a boolean activation pattern."""
    if not isinstance(s, str) or any(ch not in "01" for ch in s):
        raise ModelError(f"a region pattern must be a string of 0 and 1, got {s!r}")
    return np.array([ch == "1" for ch in s], dtype=bool)


@dataclass(frozen=True, eq=False)
class PLMap:
    r"""Canonical piecewise-linear map :math:`F(z) = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1`.

    Parameters
    ----------
    A : (M, M) array_like
        Linear part. A vector of length M is read as a diagonal.
    W1 : (M, H) array_like
        Output weights of the hidden ReLU units.
    W2 : (H, M) array_like
        Input weights of the hidden units.
    h1 : (M,) array_like
        Output bias (constant external input is folded in here).
    h2 : (H,) array_like
        Hidden bias.
    family : str
        Name of the model family this map was built from (``"canonical"`` by default).
    params : dict
        The family's own parameters, kept for display and saving.

    Raises
    ------
    ModelError
        If a parameter has the wrong shape or is not finite.
    """

    A: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    family: str = "canonical"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        A = as_float_array("A", self.A)
        if A.ndim == 1:
            A = np.diag(A)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ModelError(f"parameter 'A' must be a non-empty square matrix, got {A.shape}")
        M = A.shape[0]
        W1 = as_float_array("W1", self.W1, ndim=2)
        if W1.shape[0] != M:
            raise ModelError(f"parameter 'W1' must have shape (M, H) = ({M}, H), got {W1.shape}")
        H = W1.shape[1]
        if H == 0:
            raise ModelError("the map needs at least one hidden unit (H >= 1)")
        W2 = as_float_array("W2", self.W2, shape=(H, M))
        h1 = as_float_array("h1", self.h1, shape=(M,))
        h2 = as_float_array("h2", self.h2, shape=(H,))
        for name, arr in (("A", A), ("W1", W1), ("W2", W2), ("h1", h1), ("h2", h2)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "params", dict(self.params))

    # ------------------------------------------------------------------ sizes and scale
    @property
    def M(self) -> int:
        """State dimension."""
        return self.A.shape[0]

    @property
    def H(self) -> int:
        """Number of hidden ReLU units (region hyperplanes)."""
        return self.W1.shape[1]

    @property
    def scale(self) -> float:
        r"""Scale of the model, for relative tolerances.

        :math:`\max(1, \|A\|_2, \|W_1\|_2 \|W_2\|_2, \|h_1\|, \|W_1\|_2 \|h_2\|)`: an upper bound on
        how much one step magnifies states and offsets.
        """
        n1 = np.linalg.norm(self.W1, 2)
        return float(
            max(
                1.0,
                np.linalg.norm(self.A, 2),
                n1 * np.linalg.norm(self.W2, 2),
                np.linalg.norm(self.h1),
                n1 * np.linalg.norm(self.h2),
            )
        )

    # ------------------------------------------------------------------ evaluation
    def preactivation(self, z) -> np.ndarray:
        """Hidden pre-activations :math:`W_2 z + h_2` for a state ``(M,)`` or batch ``(..., M)``."""
        z = as_state("z", z, self.M)
        return z @ self.W2.T + self.h2

    def pattern(self, z) -> np.ndarray:
        """Activation pattern(s): boolean ``(..., H)``, ``True`` iff pre-activation ``> 0``."""
        return self.preactivation(z) > 0

    def __call__(self, z) -> np.ndarray:
        """Apply the map to one state ``(M,)`` or a batch ``(..., M)``."""
        z = as_state("z", z, self.M)
        return z @ self.A.T + np.maximum(z @ self.W2.T + self.h2, 0.0) @ self.W1.T + self.h1

    step = __call__

    def trajectory(self, z0, n_steps: int, transient: int = 0) -> np.ndarray:
        """Iterate the map.

        Parameters
        ----------
        z0 : (M,) or (B, M) array_like
            Initial state(s).
        n_steps : int
            Number of states returned after the transient.
        transient : int
            Steps discarded first.

        Returns
        -------
        ndarray, shape (n_steps, M) or (n_steps, B, M)
            States :math:`F^{t}(z_0)` for ``t = transient, ..., transient + n_steps - 1``.
            Diverging trajectories become ``inf``/``nan`` without warnings.
        """
        z = np.array(as_state("z0", z0, self.M), dtype=np.float64)
        n_steps, transient = int(n_steps), int(transient)
        if n_steps < 0 or transient < 0:
            raise ModelError("n_steps and transient must be non-negative")
        out = np.empty((n_steps,) + z.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(transient):
                z = self(z)
            for t in range(n_steps):
                out[t] = z
                z = self(z)
        return out

    # ------------------------------------------------------------------ regions
    def _check_pattern(self, d) -> np.ndarray:
        if isinstance(d, str):
            d = pattern_from_str(d)
        d = np.asarray(d)
        if d.shape[-1:] != (self.H,):
            raise ModelError(f"a pattern must have length H = {self.H}, got shape {d.shape}")
        return d.astype(bool)

    def jacobian(self, d) -> np.ndarray:
        r"""Jacobian :math:`J_d = A + W_1 D_d W_2` of region ``d`` (batched over leading axes)."""
        d = self._check_pattern(d)
        return self.A + np.einsum("mh,...h,hk->...mk", self.W1, d.astype(float), self.W2)

    def affine(self, d) -> tuple[np.ndarray, np.ndarray]:
        r"""Local affine map :math:`(J_d, c_d)` of region ``d``: :math:`F_d(z) = J_d z + c_d`."""
        d = self._check_pattern(d)
        c = self.h1 + (d.astype(float) * self.h2) @ self.W1.T
        return self.jacobian(d), c

    def region(self, d) -> tuple[np.ndarray, np.ndarray]:
        r"""Half-space description :math:`\{z : G z \le g\}` of the closed region :math:`P_d`.

        Row ``i`` is :math:`-s_i W_{2,i} z \le s_i h_{2,i}` with :math:`s_i = 2 d_i - 1`.
        """
        d = self._check_pattern(d)
        s = 2.0 * d - 1.0
        return -s[:, None] * self.W2, s * self.h2

    def boundary_margin(self, z) -> np.ndarray:
        r"""Distance of ``z`` to the nearest region hyperplane, :math:`\min_i |W_{2,i} z +
        h_{2,i}| / \|W_{2,i}\|` (``inf`` for units with zero input weights)."""
        pre = np.abs(self.preactivation(z))
        norms = np.linalg.norm(self.W2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(norms > 0, pre / np.where(norms > 0, norms, 1.0), np.inf)
        return dist.min(axis=-1)

    # ------------------------------------------------------------------ cycles
    def compose(self, patterns: Sequence) -> tuple[np.ndarray, np.ndarray]:
        r"""Affine map of a pattern sequence, :math:`F_{d_k} \circ \dots \circ F_{d_1}`.

        Returns ``(J, c)`` with :math:`J = J_{d_k} \cdots J_{d_1}`.
        """
        J = np.eye(self.M)
        c = np.zeros(self.M)
        for d in patterns:
            Jd, cd = self.affine(d)
            J = Jd @ J
            c = Jd @ c + cd
        return J, c

    def solve_cycle(self, patterns: Sequence) -> np.ndarray:
        r"""Solve the linear cycle equation :math:`z = F_{d_k} \circ \dots \circ F_{d_1}(z)`.

        Returns the candidate point :math:`z_1` (not checked against the regions).

        Raises
        ------
        OrbitError
            If :math:`I - J_{d_k}\cdots J_{d_1}` is singular (relative to the model scale),
            in which case the cycle equation has no unique solution.
        """
        J, c = self.compose(patterns)
        Iminus = np.eye(self.M) - J
        # Relative conditioning: a candidate from a near-singular system is meaningless.
        sv = np.linalg.svd(Iminus, compute_uv=False)
        if sv[-1] <= 1e-12 * max(1.0, sv[0]):
            raise OrbitError(
                f"the cycle equation for a period-{len(patterns)} pattern sequence is singular "
                f"(smallest singular value of I - J is {sv[-1]:.2e}); the orbit is "
                "non-hyperbolic with an eigenvalue 1 or a continuum of solutions"
            )
        return np.linalg.solve(Iminus, c)

    def orbit_points(self, z1, patterns: Sequence) -> np.ndarray:
        """Points :math:`z_1, z_2 = F_{d_1}(z_1), \\ldots` of the orbit of a pattern sequence."""
        pts = [np.asarray(z1, dtype=float)]
        for d in list(patterns)[:-1]:
            J, c = self.affine(d)
            pts.append(J @ pts[-1] + c)
        return np.array(pts)

    # ------------------------------------------------------------------ misc
    def with_h1(self, h1) -> PLMap:
        """Copy of this map with a different output bias (used for parameter sweeps)."""
        return PLMap(self.A, self.W1, self.W2, h1, self.h2, family="canonical")

    def canonical_params(self) -> dict[str, np.ndarray]:
        """The canonical parameters as a dict ``{A, W1, W2, h1, h2}``."""
        return {"A": self.A, "W1": self.W1, "W2": self.W2, "h1": self.h1, "h2": self.h2}

    def __repr__(self) -> str:
        return f"PLMap(family={self.family!r}, M={self.M}, H={self.H})"


def stack_patterns(patterns: Iterable) -> np.ndarray:
    """Stack patterns into a boolean array ``(k, H)``."""
    return np.array([np.asarray(p, dtype=bool) for p in patterns])
