"""Import an example script as a module (``examples/`` is not a package)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example_module(name: str):
    """``examples/<name>.py`` as a module (its helpers, ``SETTINGS``, ...)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))
