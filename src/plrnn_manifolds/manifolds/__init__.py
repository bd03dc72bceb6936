"""Stable and unstable manifolds of saddle orbits: exact pieces, seeds, growth, verification."""

from .growth import Manifold, RegionInfo, grow_manifold
from .pieces import Piece
from .subspaces import InvariantSubspace, invariant_subspace

__all__ = [
    "InvariantSubspace",
    "Manifold",
    "Piece",
    "RegionInfo",
    "grow_manifold",
    "invariant_subspace",
]
