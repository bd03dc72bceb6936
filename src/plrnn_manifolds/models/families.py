r"""Model families as thin constructors of the canonical map.

Each constructor validates its own parameters (shapes and finiteness), builds the canonical
:class:`~plrnn_manifolds.maps.PLMap` following DESIGN.md section 2, and keeps the family's own
parameter names in ``PLMap.params`` for display and saving.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array
from ..errors import ModelError
from ..maps import PLMap

__all__ = [
    "FAMILIES",
    "alrnn",
    "border_collision",
    "canonical",
    "clipped_shplrnn",
    "dendplrnn",
    "from_params",
    "lozi",
    "pl2d",
    "plrnn",
    "shplrnn",
]


def _linear_part(A, M: int) -> np.ndarray:
    """``A`` as a vector (diagonal) or an M x M matrix; returns the matrix."""
    A = as_float_array("A", A)
    if A.ndim == 1 and A.shape == (M,):
        return np.diag(A)
    if A.ndim == 2 and A.shape == (M, M):
        return A
    raise ModelError(
        f"parameter 'A' must be a vector of length M = {M} or an {M} x {M} matrix, "
        f"got shape {A.shape}"
    )


def _input(s, M: int) -> np.ndarray:
    if s is None:
        return np.zeros(M)
    return as_float_array("s (constant external input)", s, shape=(M,))


def canonical(A, W1, W2, h1, h2) -> PLMap:
    r"""The canonical map :math:`F(z) = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1` itself."""
    W1 = as_float_array("W1", W1, ndim=2)
    M = W1.shape[0]
    A = _linear_part(A, M)
    m = PLMap(A, W1, W2, h1, h2, family="canonical")
    return PLMap(m.A, m.W1, m.W2, m.h1, m.h2, family="canonical", params=m.canonical_params())


def plrnn(A, W, h, s=None) -> PLMap:
    r"""PLRNN :math:`z' = A z + W \mathrm{relu}(z) + h (+ s)`.

    ``A`` is a vector (diagonal) or a full matrix. Canonical form: :math:`W_2 = I`, :math:`h_2 = 0`,
    :math:`W_1 = W`, :math:`h_1 = h + s`.
    """
    W = as_float_array("W", W, ndim=2)
    M = W.shape[0]
    if W.shape != (M, M):
        raise ModelError(f"parameter 'W' must be square (M x M), got {W.shape}")
    Am = _linear_part(A, M)
    h = as_float_array("h", h, shape=(M,))
    params = {"A": as_float_array("A", A), "W": W, "h": h}
    return PLMap(Am, W, np.eye(M), h + _input(s, M), np.zeros(M), family="plrnn", params=params)


def alrnn(A, W, h, P: int, s=None) -> PLMap:
    r"""Almost-linear RNN: :math:`z' = A \odot z + W [z_{1..M-P}, \mathrm{relu}(z_{M-P+1..M})] + h`.

    Only the last ``P`` units are rectified. Canonical form:
    :math:`A_c = \mathrm{diag}(A) + W_{:, :M-P}` (padded), :math:`W_1 = W_{:, M-P:}`,
    :math:`W_2 = [0\; I_P]`, :math:`h_2 = 0`.
    """
    W = as_float_array("W", W, ndim=2)
    M = W.shape[0]
    if W.shape != (M, M):
        raise ModelError(f"parameter 'W' must be square (M x M), got {W.shape}")
    A = as_float_array("A", A)
    Am = _linear_part(A, M)
    h = as_float_array("h", h, shape=(M,))
    if isinstance(P, bool | np.bool_):
        raise ModelError(f"P (number of ReLU units) must be an integer, got {P!r}")
    try:
        P_int = int(P)
    except (TypeError, ValueError):
        raise ModelError(f"P (number of ReLU units) must be an integer, got {P!r}") from None
    if P_int != P or not 1 <= P_int <= M:
        raise ModelError(f"P (number of ReLU units) must be an integer in 1..M = 1..{M}, got {P!r}")
    P = P_int
    L = M - P
    Ac = Am.copy()
    Ac[:, :L] += W[:, :L]
    W2 = np.zeros((P, M))
    W2[:, L:] = np.eye(P)
    params = {"A": A, "W": W, "h": h, "P": P}
    return PLMap(Ac, W[:, L:], W2, h + _input(s, M), np.zeros(P), family="alrnn", params=params)


def _shallow(A, W1, W2, h1, h2):
    W1 = as_float_array("W1", W1, ndim=2)
    M, H = W1.shape
    Am = _linear_part(A, M)
    W2 = as_float_array("W2", W2, shape=(H, M))
    h1 = as_float_array("h1", h1, shape=(M,))
    h2 = as_float_array("h2", h2, shape=(H,))
    params = {"A": as_float_array("A", A), "W1": W1, "W2": W2, "h1": h1, "h2": h2}
    return Am, W1, W2, h1, h2, params


def shplrnn(A, W1, W2, h1, h2, s=None) -> PLMap:
    r"""Shallow PLRNN :math:`z' = A z + W_1 \mathrm{relu}(W_2 z + h_2) + h_1 (+ s)`."""
    Am, W1, W2, h1, h2, params = _shallow(A, W1, W2, h1, h2)
    return PLMap(Am, W1, W2, h1 + _input(s, Am.shape[0]), h2, family="shplrnn", params=params)


def clipped_shplrnn(A, W1, W2, h1, h2, s=None) -> PLMap:
    r"""Clipped shallow PLRNN :math:`z' = A z + W_1[\mathrm{relu}(W_2 z + h_2) -
    \mathrm{relu}(W_2 z)] + h_1`.

    Canonical form: :math:`W_{2c} = [W_2; W_2]`, :math:`h_{2c} = [h_2; 0]`,
    :math:`W_{1c} = [W_1, -W_1]`; the map is bounded whenever :math:`\|A\| < 1`.
    """
    Am, W1, W2, h1, h2, params = _shallow(A, W1, W2, h1, h2)
    return PLMap(
        Am,
        np.hstack([W1, -W1]),
        np.vstack([W2, W2]),
        h1 + _input(s, Am.shape[0]),
        np.concatenate([h2, np.zeros_like(h2)]),
        family="clipped_shplrnn",
        params=params,
    )


def dendplrnn(A, W, h, alphas, thetas, s=None) -> PLMap:
    r"""Dendritic PLRNN :math:`z' = A z + W \sum_b \alpha_b \mathrm{relu}(z - \theta_b) + h`.

    ``alphas`` has shape ``(B,)`` and ``thetas`` shape ``(M, B)`` (column ``b`` is the threshold
    vector :math:`\theta_b`), the shape used by the DurstewitzLab code (whose own formula is
    :math:`\mathrm{relu}(z + \theta_b)`: the torch loader negates ``thetas``).
    Canonical form: :math:`W_2` stacks
    ``B`` identities, :math:`h_2 = -\theta_b` stacked, :math:`W_1 = [\alpha_1 W, \dots,
    \alpha_B W]`.
    """
    W = as_float_array("W", W, ndim=2)
    M = W.shape[0]
    if W.shape != (M, M):
        raise ModelError(f"parameter 'W' must be square (M x M), got {W.shape}")
    Am = _linear_part(A, M)
    h = as_float_array("h", h, shape=(M,))
    alphas = as_float_array("alphas", alphas, ndim=1)
    B = alphas.shape[0]
    if B == 0:
        raise ModelError("parameter 'alphas' must have at least one basis function")
    thetas = as_float_array("thetas", thetas, shape=(M, B))
    W1 = np.hstack([a * W for a in alphas])
    W2 = np.vstack([np.eye(M)] * B)
    h2 = -thetas.T.reshape(-1)
    params = {"A": as_float_array("A", A), "W": W, "h": h, "alphas": alphas, "thetas": thetas}
    return PLMap(Am, W1, W2, h + _input(s, M), h2, family="dendplrnn", params=params)


def pl2d(A_left, A_right, B, normal=(1.0, 0.0), offset: float = 0.0) -> PLMap:
    r"""Generic continuous 2-D piecewise-linear map with one switching line.

    :math:`F(X) = A_l X + B` where :math:`n \cdot X \le \text{offset}` and :math:`A_r X + B` where
    :math:`n \cdot X \ge \text{offset}`. Continuity requires :math:`A_r - A_l = v n^T` (rank one,
    along the normal). Canonical form: :math:`A = A_l`, :math:`W_1 = v`, :math:`W_2 = n^T`,
    :math:`h_2 = -\text{offset}`, :math:`h_1 = B - A`-independent offset correction.
    """
    Al = as_float_array("A_left", A_left, shape=(2, 2))
    Ar = as_float_array("A_right", A_right, shape=(2, 2))
    Bv = as_float_array("B", B, shape=(2,))
    n = as_float_array("normal", normal, shape=(2,))
    offset = float(as_float_array("offset", offset, ndim=0))
    nn = float(n @ n)
    if nn == 0:
        raise ModelError("the switching-line normal must be non-zero")
    D = Ar - Al
    v = D @ n / nn
    tol = 1e-12 * max(1.0, np.abs(D).max())
    if not np.allclose(D, np.outer(v, n), rtol=0.0, atol=tol):
        raise ModelError(
            "A_right - A_left must be a rank-one matrix v n^T along the switching-line normal n; "
            "otherwise the map is discontinuous on the switching line"
        )
    # relu(n.X - offset) contributes v (n.X - offset) on the right: the left branch's bias is B,
    # and the right branch then reads A_r X + B - v*offset, the continuous extension.
    params = {"A_left": Al, "A_right": Ar, "B": Bv, "normal": n, "offset": np.array(offset)}
    return PLMap(Al, v[:, None], n[None, :], Bv, np.array([-offset]), family="pl2d", params=params)


def border_collision(tau_l, delta_l, tau_r, delta_r, c, d, h1, h2) -> PLMap:
    r"""The 2-D border-collision normal form used in the paper's Figs 3 and 5.

    :math:`F(X) = A_l X + B` for :math:`x \le 0` and :math:`A_r X + B` for :math:`x \ge 0`, with
    :math:`A_\ast = \begin{pmatrix}\tau_\ast & c\\ -\delta_\ast & d\end{pmatrix}`, :math:`B = (h_1,
    h_2)`.
    """
    vals = {
        "tau_l": tau_l,
        "delta_l": delta_l,
        "tau_r": tau_r,
        "delta_r": delta_r,
        "c": c,
        "d": d,
        "h1": h1,
        "h2": h2,
    }
    v = {k: float(as_float_array(k, x, ndim=0)) for k, x in vals.items()}
    Al = [[v["tau_l"], v["c"]], [-v["delta_l"], v["d"]]]
    Ar = [[v["tau_r"], v["c"]], [-v["delta_r"], v["d"]]]
    m = pl2d(Al, Ar, [v["h1"], v["h2"]])
    return PLMap(
        m.A,
        m.W1,
        m.W2,
        m.h1,
        m.h2,
        family="border_collision",
        params={k: np.array(x) for k, x in v.items()},
    )


def lozi(a: float = 1.7, b: float = 0.5) -> PLMap:
    r"""The Lozi map :math:`x' = 1 - a|x| + y,\ y' = b x`.

    Left branch :math:`A_l = \begin{pmatrix} a & 1\\ b & 0\end{pmatrix}`, right branch
    :math:`A_r = \begin{pmatrix} -a & 1\\ b & 0\end{pmatrix}`, :math:`B = (1, 0)`.
    """
    a = float(as_float_array("a", a, ndim=0))
    b = float(as_float_array("b", b, ndim=0))
    m = pl2d([[a, 1.0], [b, 0.0]], [[-a, 1.0], [b, 0.0]], [1.0, 0.0])
    return PLMap(
        m.A, m.W1, m.W2, m.h1, m.h2, family="lozi", params={"a": np.array(a), "b": np.array(b)}
    )


#: Family name -> (constructor, ordered parameter names) used by the model files.
FAMILIES = {
    "canonical": (canonical, ("A", "W1", "W2", "h1", "h2")),
    "plrnn": (plrnn, ("A", "W", "h")),
    "alrnn": (alrnn, ("A", "W", "h", "P")),
    "shplrnn": (shplrnn, ("A", "W1", "W2", "h1", "h2")),
    "clipped_shplrnn": (clipped_shplrnn, ("A", "W1", "W2", "h1", "h2")),
    "dendplrnn": (dendplrnn, ("A", "W", "h", "alphas", "thetas")),
    "pl2d": (pl2d, ("A_left", "A_right", "B", "normal", "offset")),
    "border_collision": (
        border_collision,
        ("tau_l", "delta_l", "tau_r", "delta_r", "c", "d", "h1", "h2"),
    ),
    "lozi": (lozi, ("a", "b")),
}


def from_params(family: str, params: dict) -> PLMap:
    """Build a map from a family name and its parameter dict (as stored in model files).

    Raises
    ------
    ModelError
        If the family is unknown or a parameter is missing.
    """
    if family not in FAMILIES:
        raise ModelError(
            f"unknown model family {family!r}; known families: {', '.join(sorted(FAMILIES))}"
        )
    ctor, names = FAMILIES[family]
    missing = [n for n in names if n not in params]
    if missing:
        raise ModelError(f"family {family!r} needs parameter(s) {missing}; got {sorted(params)}")
    kwargs = {n: params[n] for n in names}
    if family == "alrnn":
        P = np.asarray(kwargs["P"])
        if P.ndim != 0:
            raise ModelError(f"parameter 'P' must be a single integer, got shape {P.shape}")
        kwargs["P"] = P.item()
    return ctor(**kwargs)
