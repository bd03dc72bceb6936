"""Regenerate the documentation's images from the bundled examples (``make docs-images``).

1. ``plrnn-manifolds analyze`` on the paper's Fig 3B (left) map, with a report;
2. ``docs/img/phase_portrait.png``: its phase portrait over a brute-force escape grid;
3. ``docs/img/report_fig3b.png``: a screenshot of its ``report.html`` taken with headless
   Chromium (skipped, with a message, where Chromium is absent: ``apt-get install -y chromium``);
4. ``docs/img/report.png``: the same for the README's main command (the bundled cortical-neuron
   ALRNN, ``--max-pieces 20``).

Run from the repository root: ``python docs/scripts/make_images.py [OUT_DIR]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from plrnn_manifolds.analysis import run_analysis  # noqa: E402
from plrnn_manifolds.models.io import load_model  # noqa: E402
from plrnn_manifolds.plots import phase_portrait  # noqa: E402
from plrnn_manifolds.report import write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
MODEL = ROOT / "src" / "plrnn_manifolds" / "data" / "fig3b_left.json"
MAIN_MODEL = ROOT / "src" / "plrnn_manifolds" / "data" / "cortical_neuron_alrnn_sweep.json"
BOX = (np.array([-4.0, -4.0]), np.array([4.0, 4.0]))


class EscapeGrid:
    """Brute-force basins on a grid: label 0 = bounded, -1 = escapes (``labels[iy, ix]``)."""

    def __init__(self, model, n=300, n_steps=300, radius=100.0):
        self.xs = np.linspace(BOX[0][0], BOX[1][0], n)
        self.ys = np.linspace(BOX[0][1], BOX[1][1], n)
        X, Y = np.meshgrid(self.xs, self.ys)
        Z = model.trajectory(np.stack([X.ravel(), Y.ravel()], 1), 1, transient=n_steps)[0]
        ok = np.all(np.isfinite(Z), axis=1) & (np.abs(Z).max(axis=1) < radius)
        self.labels = np.where(ok, 0, -1).reshape(n, n)


def main(out_dir: Path) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    model = load_model(MODEL)
    results, _ = run_analysis(model, out_dir, source=MODEL.name, max_period=8, box=BOX)
    fig = phase_portrait(
        results,
        basins=EscapeGrid(model),
        trajectories=30,
        title="Fig 3B (left): manifolds of the saddle 3-cycle",
    )
    fig.savefig(IMG / "phase_portrait.png", dpi=100)
    report = write_report(out_dir)
    print(f"wrote {IMG / 'phase_portrait.png'} and {report}")
    screenshot(report, IMG / "report_fig3b.png", height=2000)
    # the README's main command
    main_dir = out_dir.parent / (out_dir.name + "-cortical")
    src = str(MAIN_MODEL.relative_to(ROOT))
    run_analysis(load_model(MAIN_MODEL), main_dir, source=src, max_pieces=20)
    screenshot(write_report(main_dir), IMG / "report.png", height=2600)


def screenshot(report: Path, png: Path, height: int) -> None:
    """Screenshot of ``report`` in headless Chromium, 1200 px wide."""
    chromium = shutil.which("chromium")
    if chromium is None:
        print(f"chromium not found: {png} not regenerated (apt-get install -y chromium)")
        return
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={prof}",
                f"--screenshot={png}",
                f"--window-size=1200,{height}",
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {png}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "docs-fig3b")
