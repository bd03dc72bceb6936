"""Lazy access to PyTorch, the one optional dependency of the training package.

The analysis core and the numpy parts of :mod:`plrnn_manifolds.training` (data utilities and
metrics) must import without torch, so torch is only imported by the modules that need it, through
:func:`require_torch`, which turns a missing install into an actionable message.
"""

from __future__ import annotations

INSTALL_HINT = (
    "this function needs PyTorch, which is an optional extra of plrnn-manifolds; "
    'install it with: pip install "plrnn-manifolds[train]"'
)


def require_torch():
    """Import and return the :mod:`torch` module.

    Raises
    ------
    ImportError
        If PyTorch is not installed; the message says which extra to install.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(INSTALL_HINT) from exc
    return torch


def torch_available() -> bool:
    """Whether PyTorch can be imported (without importing it twice)."""
    try:
        require_torch()
    except ImportError:  # pragma: no cover
        return False
    return True
