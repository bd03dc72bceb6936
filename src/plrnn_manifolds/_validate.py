"""Input validation shared by constructors and algorithms.

Numpy's own errors on ragged or wrong-shaped input are cryptic and come from deep inside the
library, so every public entry point converts its arrays here first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ModelError


def as_float_array(
    name: str,
    value,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    error: type[Exception] = ModelError,
) -> np.ndarray:
    """Convert ``value`` to a finite float64 array, checking its rank and shape.

    Parameters
    ----------
    name : str
        Name of the parameter, used in error messages.
    value : array_like
        The input.
    ndim : int, optional
        Required number of dimensions.
    shape : sequence of int or None, optional
        Required shape; ``None`` entries are free.
    error : exception type
        Exception class raised on failure.

    Raises
    ------
    error
        If the value is ragged, not numeric, has the wrong shape, or contains NaN or inf.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise error(
            f"parameter {name!r} is not a rectangular numeric array ({exc}); "
            "check that every row has the same length and that all entries are numbers"
        ) from None
    if ndim is not None and arr.ndim != ndim:
        kind = {0: "a scalar", 1: "a vector", 2: "a matrix"}.get(ndim, f"{ndim}-D")
        raise error(f"parameter {name!r} must be {kind}, got an array of shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=False)
        ):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise error(f"parameter {name!r} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise error(
            f"parameter {name!r} contains {bad} NaN or infinite value(s); "
            "all model parameters must be finite"
        )
    return arr


def as_state(name: str, value, M: int, error: type[Exception] = ModelError) -> np.ndarray:
    """Convert a state or batch of states to float64 with last axis of length ``M``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise error(f"{name} is not a numeric array ({exc})") from None
    if arr.ndim == 0 or arr.shape[-1] != M:
        raise error(f"{name} must have last dimension M = {M}, got shape {arr.shape}")
    return arr
