"""plrnn-manifolds: ReLU-based recurrent networks taken apart as dynamical systems.

Data flow: model -> canonical map (:mod:`.maps`) -> orbits -> manifolds -> basins /
intersections -> results -> plots / report.
"""

from .errors import (
    BudgetExceededError,
    DataError,
    ManifoldError,
    ModelError,
    ModelFileError,
    NonHyperbolicError,
    OrbitError,
    PLRNNManifoldsError,
    ResultsError,
)
from .maps import PLMap

__version__ = "0.1.0"

__all__ = [
    "BudgetExceededError",
    "DataError",
    "ManifoldError",
    "ModelError",
    "ModelFileError",
    "NonHyperbolicError",
    "OrbitError",
    "PLMap",
    "PLRNNManifoldsError",
    "ResultsError",
    "__version__",
]
