"""Exception types raised by plrnn-manifolds.

Every error the library raises on bad input derives from :class:`PLRNNManifoldsError`, so a
caller (and the CLI) can catch one type and print its message, which always names what was
wrong and what to do about it.
"""

from __future__ import annotations


class PLRNNManifoldsError(Exception):
    """Base class of all errors raised deliberately by plrnn-manifolds."""


class ModelError(PLRNNManifoldsError, ValueError):
    """Model parameters have the wrong shape, are not finite, or are inconsistent."""


class ModelFileError(PLRNNManifoldsError, ValueError):
    """A model file cannot be read: it does not parse, is truncated, or misses keys."""


class OrbitError(PLRNNManifoldsError, ValueError):
    """An orbit computation failed: singular cycle equation, orbit on a region boundary, ..."""


class NonHyperbolicError(OrbitError):
    """An orbit has an eigenvalue on (or numerically at) the unit circle."""


class ManifoldError(PLRNNManifoldsError, ValueError):
    """A manifold cannot be computed for this orbit or these bounds."""


class BudgetExceededError(PLRNNManifoldsError, RuntimeError):
    """A computation would exceed its budget (pieces, regions, enumeration size)."""


class DataError(PLRNNManifoldsError, ValueError):
    """Input data (time series, grids, ranges) are malformed."""


class ResultsError(PLRNNManifoldsError, ValueError):
    """A results directory or results.json is missing or corrupt."""
