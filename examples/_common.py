"""Helpers shared by the example scripts (not an example itself; ``make examples`` skips it)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "plrnn_manifolds" / "data"
DEFAULT_OUT = ROOT / "docs" / "img" / "examples"


def parser(doc: str) -> argparse.ArgumentParser:
    """Argument parser with the options every example has: ``--out`` and ``--seed``."""
    ap = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory for the PNG (default: {DEFAULT_OUT.relative_to(ROOT)})",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    return ap


def headless() -> None:
    """Use the Agg backend (no display needed) and keep numeric libraries to one thread."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")


class Timer:
    """Prints ``[  1.2 s] message`` lines, so every step's cost is visible in the output."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f} s] {msg}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def save(fig, out: Path, name: str) -> Path:
    """Write ``fig`` to ``out/name`` (creating ``out``) and print the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")
    return path


def boundary_cells(labels: np.ndarray) -> np.ndarray:
    """Cells of a label grid with a 4-neighbour of a different label."""
    b = np.zeros(labels.shape, dtype=bool)
    dx = labels[:, 1:] != labels[:, :-1]
    dy = labels[1:, :] != labels[:-1, :]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:, :] |= dy
    b[:-1, :] |= dy
    return b


def fraction_near(manifolds, xs, ys, mask, cells: float = 2.0) -> float:
    """Fraction of the grid cells in ``mask`` within ``cells`` grid spacings of the manifolds.

    The distances are the manifolds' exact Euclidean distances (``Manifold.distance``).
    """
    if not mask.any():
        return float("nan")
    dx = max(xs[1] - xs[0], ys[1] - ys[0])
    iy, ix = np.nonzero(mask)
    P = np.stack([xs[ix], ys[iy]], axis=1)
    d = np.min([m.distance(P) for m in manifolds], axis=0)
    return float(np.mean(d <= cells * dx))


def segments(manifold) -> list:
    """Vertex arrays of the pieces of a 1-D or 2-D manifold in the plane (``M = 2``)."""
    out = []
    for p in manifold.pieces:
        v = p.vertices()
        if v is not None and len(v) >= 2:
            out.append(np.asarray(v)[:, :2])
    return out
