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
from .io import (
    example_names,
    example_path,
    load_model,
    model_from_dict,
    model_from_state_dict,
    model_to_dict,
    read_state_dict,
    save_model,
)
from .synthetic import bistable_alrnn, bistable_shplrnn

__all__ = [
    "bistable_alrnn",
    "bistable_shplrnn",
    "example_names",
    "example_path",
    "load_model",
    "model_from_dict",
    "model_from_state_dict",
    "model_to_dict",
    "read_state_dict",
    "save_model",
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
