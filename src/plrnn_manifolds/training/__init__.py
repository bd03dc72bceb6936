"""Dynamical-systems reconstruction: data utilities, metrics, and PyTorch training.

The data utilities (:mod:`.data`) and metrics (:mod:`.metrics`) need only numpy and scipy and are
imported eagerly. The models (:mod:`.models`) and the training loop (:mod:`.train`) need PyTorch,
an optional extra (``pip install "plrnn-manifolds[train]"``); their names are resolved lazily, so
``import plrnn_manifolds.training`` works without torch and using a torch-needing name raises an
:class:`ImportError` that says what to install.

``training.train`` is the submodule :mod:`.train`; it is callable and forwards to its function
:func:`.train.train`, so ``from plrnn_manifolds.training import train; train(data, config)``
works.
"""

from __future__ import annotations

import importlib

from .data import (
    Embedding,
    Prepared,
    Scaler,
    Split,
    TimeSeries,
    check_timeseries,
    choose_delay,
    choose_dimension,
    delay_embed,
    embed,
    false_nearest_neighbours,
    load_timeseries,
    prepare,
    train_test_split,
    validate_training_data,
    zscore,
)
from .metrics import (
    power_spectrum_distance,
    prediction_error,
    prediction_error_curve,
    state_space_divergence,
    visited_region_determinants,
)

_LAZY = {
    "ALRNN": "models",
    "PLRNN": "models",
    "ShallowPLRNN": "models",
    "ClippedShallowPLRNN": "models",
    "DSRModel": "models",
    "build_model": "models",
    "TrainConfig": "train",
    "TrainResult": "train",
    "train": "train",
    "evaluate": "train",
    "load_checkpoint": "train",
}

__all__ = [
    "Embedding",
    "Prepared",
    "Scaler",
    "Split",
    "TimeSeries",
    "check_timeseries",
    "choose_delay",
    "choose_dimension",
    "delay_embed",
    "embed",
    "false_nearest_neighbours",
    "load_timeseries",
    "prepare",
    "power_spectrum_distance",
    "prediction_error",
    "prediction_error_curve",
    "state_space_divergence",
    "train_test_split",
    "validate_training_data",
    "visited_region_determinants",
    "zscore",
    *sorted(_LAZY),
]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        # ``train`` is both the submodule and its main function. Python's import system binds
        # the package attribute ``train`` to the submodule, so we return the module, which is
        # callable and forwards to the function: ``training.train(data, config)`` and
        # ``training.train.TrainConfig`` both work.
        return module if name == "train" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
