r"""PyTorch versions of the PLRNN family for training, with lossless export to the canonical map.

All models share the same structure:

- latent state :math:`z_t \in \mathbb{R}^M`, of which the first ``N`` units are the observations
  (identity observation model, :math:`\hat x_t = z_{t,1..N}`);
- the remaining :math:`M - N` units of an initial state are inferred from the first observation
  by a learned linear map, :math:`z_0 = (x_0,\; B x_0)` with :math:`B \in \mathbb{R}^{(M-N)
  \times N}` (:meth:`DSRModel.init_state`);
- the update :math:`z_t = F(z_{t-1}) + C s_t` with the family's map :math:`F` and an optional
  external input :math:`s_t \in \mathbb{R}^K` entering through a learned :math:`C \in
  \mathbb{R}^{M \times K}`.

Families (``A`` is always a diagonal, stored as a vector):

=====================  ========================================================================
``plrnn``              :math:`F(z) = A \odot z + W \mathrm{relu}(z) + h`, ``W`` with zero diagonal
``alrnn``              :math:`F(z) = A \odot z + W [z_{1..M-P}, \mathrm{relu}(z_{M-P+1..M})] + h`,
                       ``W`` with zero diagonal (Brenner et al. 2024)
``shplrnn``            :math:`F(z) = A \odot z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1`
``clipped_shplrnn``    :math:`F(z) = A \odot z + W_1 [\mathrm{relu}(W_2 z + h_2) -
                       \mathrm{relu}(W_2 z)] + h_1`
=====================  ========================================================================

Export. :meth:`DSRModel.to_plmap` builds the canonical :class:`~plrnn_manifolds.maps.PLMap`
through the constructors in :mod:`plrnn_manifolds.models.families` from the float64 copies of
the trained parameters, so nothing is lost (the torch step and the exported map agree to
round-off in float64). A *constant* input ``s`` is folded into the bias, :math:`h \leftarrow h +
C s`. A time-varying input makes the system non-autonomous, which no single map describes:
export it for one given constant input value (e.g. the current during a stimulus step).

Zero diagonal of ``W`` (plrnn, alrnn): self-coupling is carried by ``A`` alone, as in the
original PLRNN; the diagonal is masked in the forward pass and exported as zeros.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from ..maps import PLMap
from ..models import families
from ._torch import require_torch

torch = require_torch()
nn = torch.nn

__all__ = [
    "ALRNN",
    "FAMILY_CLASSES",
    "ClippedShallowPLRNN",
    "DSRModel",
    "PLRNN",
    "ShallowPLRNN",
    "build_model",
]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _dtype(name) -> torch.dtype:
    if isinstance(name, torch.dtype):
        return name
    if name not in _DTYPES:
        raise ModelError(f"dtype must be 'float32' or 'float64', got {name!r}")
    return _DTYPES[name]


def _uniform(gen, shape, lo, hi, dtype):
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=dtype)


def _normal(gen, shape, std, dtype):
    return std * torch.randn(shape, generator=gen, dtype=dtype)


class DSRModel(nn.Module):
    """Base class: latent initialisation, external input, generation and export.

    Parameters
    ----------
    M : int
        Latent dimension.
    N : int
        Number of observed units (the first ``N`` latent units), ``1 <= N <= M``.
    K : int
        External input dimension (0 for autonomous models).
    seed : int
        Seed of the parameter initialisation (a private ``torch.Generator``).
    dtype : {"float32", "float64"}
        Parameter precision. Export is always float64.
    """

    family = "base"

    def __init__(self, M: int, N: int, K: int = 0, seed: int = 0, dtype="float32"):
        super().__init__()
        M, N, K = int(M), int(N), int(K)
        if M < 1 or not 1 <= N <= M:
            raise ModelError(
                f"need 1 <= N <= M for the identity observation model (the first N latent "
                f"units are the N observed variables), got M = {M}, N = {N}; increase M"
            )
        if K < 0:
            raise ModelError(f"the input dimension K must be >= 0, got {K}")
        self.M, self.N, self.K = M, N, K
        self.dtype_ = _dtype(dtype)
        self._gen = torch.Generator().manual_seed(int(seed))
        dt = self.dtype_
        self.B = nn.Parameter(_normal(self._gen, (M - N, N), 0.1, dt))
        self.C = nn.Parameter(_normal(self._gen, (M, K), 0.1, dt)) if K > 0 else None
        # A ~ U(0.5, 0.95): stable, slowly decaying linear part at initialisation.
        self.A = nn.Parameter(_uniform(self._gen, (M,), 0.5, 0.95, dt))

    # ------------------------------------------------------------------ spec
    def spec(self) -> dict:
        """Hyperparameters that rebuild this architecture (see :func:`build_model`)."""
        return {
            "family": self.family,
            "M": self.M,
            "N": self.N,
            "K": self.K,
            "dtype": "float64" if self.dtype_ == torch.float64 else "float32",
        }

    # ------------------------------------------------------------------ dynamics
    def F(self, z):  # pragma: no cover - abstract
        """The family's autonomous map on a batch ``(B, M)``."""
        raise NotImplementedError

    def init_state(self, x0):
        r"""Initial latent state :math:`z_0 = (x_0, B x_0)` from observations ``(B, N)``."""
        return torch.cat([x0, x0 @ self.B.T], dim=-1)

    def step(self, z, s=None):
        r"""One step :math:`z' = F(z) + C s` on a batch ``(B, M)`` (``s``: ``(B, K)``)."""
        out = self.F(z)
        if self.C is not None:
            if s is None:
                raise ModelError("this model was built with an external input; pass s")
            out = out + s @ self.C.T
        return out

    def generate(self, x0, n_steps: int, inputs=None):
        """Free-running trajectory of the latent state (no gradient tracking).

        Parameters
        ----------
        x0 : tensor or array (N,) or (B, N)
            Initial observation(s); the latent state is inferred with :meth:`init_state`.
        n_steps : int
            Number of states returned, including the initial one.
        inputs : tensor or array (n_steps, K) or (n_steps, B, K), optional
            Input at each time; ``inputs[t]`` enters the update that produces state ``t``
            (``inputs[0]`` is unused).

        Returns
        -------
        tensor (n_steps, M) or (n_steps, B, M)
        """
        x0 = torch.as_tensor(np.asarray(x0), dtype=self.dtype_)
        single = x0.ndim == 1
        x0 = x0[None] if single else x0
        if inputs is not None:
            inputs = torch.as_tensor(np.asarray(inputs), dtype=self.dtype_)
            if inputs.ndim == 2:
                inputs = inputs[:, None, :].expand(-1, x0.shape[0], -1)
        with torch.no_grad():
            z = self.init_state(x0)
            out = [z]
            for t in range(1, int(n_steps)):
                z = self.step(z, None if inputs is None else inputs[t])
                out.append(z)
            traj = torch.stack(out)
        return traj[:, 0] if single else traj

    # ------------------------------------------------------------------ canonical form
    def canonical(self):
        r"""Canonical parameters :math:`(A_c, W_1, W_2, h_1, h_2)` as (differentiable) tensors."""
        raise NotImplementedError  # pragma: no cover

    def preactivation(self, z):
        """Canonical hidden pre-activations :math:`W_2 z + h_2`."""
        _, _, W2, _, h2 = self.canonical()
        return z @ W2.T + h2

    def pattern(self, z):
        """Canonical activation pattern(s) (bool, ties go to 0 as in :class:`PLMap`)."""
        return self.preactivation(z) > 0

    def region_jacobians(self, patterns):
        r"""Jacobians :math:`J_d = A_c + W_1 D_d W_2` for patterns ``(k, H)`` -> ``(k, M, M)``.

        Differentiable in the parameters (used by the invertibility regulariser).
        """
        Ac, W1, W2, _, _ = self.canonical()
        d = patterns.to(Ac.dtype)
        return Ac + torch.einsum("mh,kh,hn->kmn", W1, d, W2)

    # ------------------------------------------------------------------ export
    def _np(self, t) -> np.ndarray:
        return t.detach().cpu().to(torch.float64).numpy().copy()

    def _folded_bias(self, h: np.ndarray, s) -> np.ndarray:
        if s is None:
            if self.K > 0:
                raise ModelError(
                    "a model with external input has no autonomous map; export it for a "
                    "constant input with to_plmap(s=...) (time-varying input cannot be exported)"
                )
            return h
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        if self.K == 0:
            raise ModelError("this model has no external input; call to_plmap() without s")
        if s.shape != (self.K,) or not np.all(np.isfinite(s)):
            raise ModelError(f"the constant input s must be {self.K} finite number(s), got {s}")
        return h + self._np(self.C) @ s

    def export_params(self, s=None) -> dict:
        """Family parameters as float64 numpy arrays (constant input folded into the bias).

        The keys follow :data:`plrnn_manifolds.models.families.FAMILIES`.
        """
        raise NotImplementedError  # pragma: no cover

    def to_plmap(self, s=None) -> PLMap:
        """Export to the canonical map (float64, lossless) via the family constructor.

        Parameters
        ----------
        s : array_like (K,), optional
            Constant external input, folded into the bias; required iff the model has inputs.
        """
        return families.from_params(self.family, self.export_params(s))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.spec().items() if k != "family")


def _offdiag(M, dtype):
    return 1.0 - torch.eye(M, dtype=dtype)


class PLRNN(DSRModel):
    r"""PLRNN :math:`z' = A \odot z + W \mathrm{relu}(z) + h` (``W`` with zero diagonal)."""

    family = "plrnn"

    def __init__(self, M, N, K=0, seed=0, dtype="float32"):
        super().__init__(M, N, K, seed, dtype)
        dt = self.dtype_
        self.W = nn.Parameter(_normal(self._gen, (self.M, self.M), 0.5 / math.sqrt(self.M), dt))
        self.h = nn.Parameter(torch.zeros(self.M, dtype=dt))
        self.register_buffer("mask", _offdiag(self.M, dt))

    def F(self, z):
        return self.A * z + torch.relu(z) @ (self.W * self.mask).T + self.h

    def canonical(self):
        M = self.M
        eye = torch.eye(M, dtype=self.dtype_)
        return (
            torch.diag(self.A),
            self.W * self.mask,
            eye,
            self.h,
            torch.zeros(M, dtype=self.dtype_),
        )

    def export_params(self, s=None):
        W = self._np(self.W * self.mask)
        return {"A": self._np(self.A), "W": W, "h": self._folded_bias(self._np(self.h), s)}


class ALRNN(PLRNN):
    r"""Almost-linear RNN :math:`z' = A \odot z + W \phi(z) + h` with
    :math:`\phi(z) = (z_{1..M-P}, \mathrm{relu}(z_{M-P+1..M}))` (``W`` with zero diagonal)."""

    family = "alrnn"

    def __init__(self, M, N, K=0, P=2, seed=0, dtype="float32"):
        P = int(P)
        if not 1 <= P <= int(M):
            raise ModelError(f"the number of ReLU units P must be in 1..M = 1..{M}, got {P}")
        super().__init__(M, N, K, seed, dtype)
        self.P = P

    def spec(self):
        return {**super().spec(), "P": self.P}

    def F(self, z):
        L = self.M - self.P
        phi = torch.cat([z[..., :L], torch.relu(z[..., L:])], dim=-1)
        return self.A * z + phi @ (self.W * self.mask).T + self.h

    def canonical(self):
        M, P = self.M, self.P
        L = M - P
        W = self.W * self.mask
        Ac = torch.diag(self.A) + torch.cat([W[:, :L], torch.zeros(M, P, dtype=self.dtype_)], dim=1)
        W2 = torch.cat(
            [torch.zeros(P, L, dtype=self.dtype_), torch.eye(P, dtype=self.dtype_)], dim=1
        )
        return Ac, W[:, L:], W2, self.h, torch.zeros(P, dtype=self.dtype_)

    def export_params(self, s=None):
        return {**super().export_params(s), "P": self.P}


class ShallowPLRNN(DSRModel):
    r"""Shallow PLRNN :math:`z' = A \odot z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1`
    (Hess et al. 2023), ``H`` hidden units."""

    family = "shplrnn"

    def __init__(self, M, N, K=0, H=50, seed=0, dtype="float32"):
        H = int(H)
        if H < 1:
            raise ModelError(f"the number of hidden units H must be >= 1, got {H}")
        super().__init__(M, N, K, seed, dtype)
        self.H = H
        dt, g = self.dtype_, self._gen
        self.W1 = nn.Parameter(_uniform(g, (self.M, H), -1, 1, dt) / math.sqrt(H))
        self.W2 = nn.Parameter(_uniform(g, (H, self.M), -1, 1, dt) / math.sqrt(self.M))
        self.h1 = nn.Parameter(torch.zeros(self.M, dtype=dt))
        self.h2 = nn.Parameter(_uniform(g, (H,), -1, 1, dt))

    def spec(self):
        return {**super().spec(), "H": self.H}

    def F(self, z):
        return self.A * z + torch.relu(z @ self.W2.T + self.h2) @ self.W1.T + self.h1

    def canonical(self):
        return torch.diag(self.A), self.W1, self.W2, self.h1, self.h2

    def export_params(self, s=None):
        return {
            "A": self._np(self.A),
            "W1": self._np(self.W1),
            "W2": self._np(self.W2),
            "h1": self._folded_bias(self._np(self.h1), s),
            "h2": self._np(self.h2),
        }


class ClippedShallowPLRNN(ShallowPLRNN):
    r"""Clipped shallow PLRNN :math:`z' = A \odot z + W_1 [\mathrm{relu}(W_2 z + h_2) -
    \mathrm{relu}(W_2 z)] + h_1`, bounded for :math:`|A_i| < 1` (canonical form with ``2H``
    hidden units)."""

    family = "clipped_shplrnn"

    def F(self, z):
        pre = z @ self.W2.T
        return self.A * z + (torch.relu(pre + self.h2) - torch.relu(pre)) @ self.W1.T + self.h1

    def canonical(self):
        return (
            torch.diag(self.A),
            torch.cat([self.W1, -self.W1], dim=1),
            torch.cat([self.W2, self.W2], dim=0),
            self.h1,
            torch.cat([self.h2, torch.zeros_like(self.h2)]),
        )


#: Family name -> torch model class.
FAMILY_CLASSES = {
    "plrnn": PLRNN,
    "alrnn": ALRNN,
    "shplrnn": ShallowPLRNN,
    "clipped_shplrnn": ClippedShallowPLRNN,
}


def build_model(
    family: str, M: int, N: int, K: int = 0, P: int = 2, H: int = 50, seed: int = 0, dtype="float32"
) -> DSRModel:
    """Construct a model by family name (``P`` is used by ALRNN, ``H`` by the shPLRNNs).

    Raises
    ------
    ModelError
        For an unknown family or inconsistent sizes.
    """
    if family not in FAMILY_CLASSES:
        raise ModelError(
            f"unknown trainable model family {family!r}; choose one of {', '.join(FAMILY_CLASSES)}"
        )
    cls = FAMILY_CLASSES[family]
    if cls is ALRNN:
        return ALRNN(M, N, K, P=P, seed=seed, dtype=dtype)
    if issubclass(cls, ShallowPLRNN):
        return cls(M, N, K, H=H, seed=seed, dtype=dtype)
    return cls(M, N, K, seed=seed, dtype=dtype)


def model_from_spec(spec: dict, seed: int = 0) -> DSRModel:
    """Rebuild an (untrained) model from :meth:`DSRModel.spec` output."""
    return build_model(
        spec["family"],
        spec["M"],
        spec["N"],
        spec.get("K", 0),
        P=spec.get("P", 2),
        H=spec.get("H", 50),
        seed=seed,
        dtype=spec.get("dtype", "float32"),
    )
