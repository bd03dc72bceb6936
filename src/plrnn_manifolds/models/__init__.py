"""Model families (thin constructors of the canonical map) and model files."""

from .families import (
    FAMILIES,
    alrnn,
    border_collision,
    canonical,
    clipped_shplrnn,
    dendplrnn,
    from_params,
    lozi,
    pl2d,
    plrnn,
    shplrnn,
)

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
