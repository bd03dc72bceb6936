"""Command-line interface: ``plrnn-manifolds orbits|analyze|...``.

Every deliberate error (:class:`~plrnn_manifolds.errors.PLRNNManifoldsError`) is printed as one
line ``error: ...`` with exit status 2; no traceback from numpy internals reaches the user.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from . import __version__
from ._atomic import atomic_write_json
from .errors import PLRNNManifoldsError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PLRNNManifoldsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _console(ctx):
    from rich.console import Console

    quiet = ctx.obj.get("quiet", False) if ctx.obj else False
    return Console(stderr=False, quiet=quiet, highlight=False)


def _interactive(ctx) -> bool:
    return sys.stderr.isatty() and not ctx.obj.get("quiet", False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plrnn-manifolds")
@click.option("--verbose", "-v", is_flag=True, help="Print more detail.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def main(ctx, verbose, quiet):
    """Take a trained ReLU-based RNN apart as a dynamical system."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet


def _load(model_file, P):
    from .models.io import load_model

    return load_model(model_file, P=P)


def _orbit_table(console, result, title="Orbits"):
    from rich.table import Table

    t = Table(title=title)
    for col in (
        "id",
        "period",
        "classification",
        "n_unstable",
        "n_stable",
        "|lambda|max",
        "flags",
        "first point",
    ):
        t.add_column(col)
    for i, o in enumerate(result.orbits):
        flags = [n for n in ("flip", "spiral", "near_nonhyperbolic") if getattr(o, n, False)]
        pt = np.array2string(o.points[0], precision=4, max_line_width=60, threshold=6)
        t.add_row(
            str(i),
            str(o.period),
            o.classification,
            str(o.n_unstable),
            str(o.n_stable),
            f"{np.abs(o.eigenvalues).max():.4g}",
            ",".join(flags),
            pt,
        )
    console.print(t)


@main.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option(
    "--max-period",
    "-k",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Largest cycle period searched.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the orbits as JSON to this file.",
)
@click.option("--P", "P", type=int, default=None, help="ALRNN: number of ReLU units (torch files).")
@click.option(
    "--exhaustive/--no-exhaustive",
    default=None,
    help="Force (or forbid) exhaustive enumeration; default: when feasible.",
)
@click.pass_context
def orbits(ctx, model_file, max_period, seed, json_out, P, exhaustive):
    """Find fixed points and cycles up to a period, with their stability."""
    from .orbits import find_orbits
    from .results import model_summary, orbit_entry

    console = _console(ctx)
    model = _load(model_file, P)
    ex = "auto" if exhaustive is None else exhaustive
    res = find_orbits(model, max_period=max_period, seed=seed, exhaustive=ex)
    _orbit_table(
        console,
        res,
        title=f"Orbits of {Path(model_file).name} (M={model.M}, "
        f"H={model.H}) up to period {max_period}",
    )
    console.print(
        f"{len(res.orbits)} orbit(s); search complete: {res.complete} (method {res.method})"
    )
    if json_out:
        doc = {
            "model": model_summary(model, str(model_file)),
            "max_period": max_period,
            "seed": seed,
            "complete": res.complete,
            "method": res.method,
            "orbits": [orbit_entry(o, i) for i, o in enumerate(res.orbits)],
        }
        atomic_write_json(json_out, doc)
        console.print(f"wrote {json_out}")


@main.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory (results.json, report.html).",
)
@click.option("--max-period", "-k", default=1, show_default=True, type=click.IntRange(1))
@click.option(
    "--box",
    default=None,
    help="Output box: 'lo,hi' for every axis or 'lo1,hi1,...,loM,hiM'. "
    "Default: around long trajectories plus a margin.",
)
@click.option(
    "--depth",
    default=None,
    type=click.IntRange(0),
    help="Maximum map steps from the seed (default max(20, 4*period)).",
)
@click.option(
    "--max-pieces",
    default=5000,
    show_default=True,
    type=click.IntRange(1),
    help="Piece budget per manifold.",
)
@click.option(
    "--method", type=click.Choice(["exact", "sampled"]), default="exact", show_default=True
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--P", "P", type=int, default=None, help="ALRNN: number of ReLU units (torch files).")
@click.option("--report/--no-report", default=False, help="Also write report.html.")
@click.pass_context
def analyze(ctx, model_file, out_dir, max_period, box, depth, max_pieces, method, seed, P, report):
    """Find orbits and grow both manifolds of every saddle; write OUT/results.json."""
    from .analysis import run_analysis
    from .bounds import parse_box

    console = _console(ctx)
    model = _load(model_file, P)
    box_arr = None
    if box is not None:
        try:
            vals = [float(v) for v in box.split(",")]
        except ValueError:
            raise click.BadParameter(
                f"--box must be comma-separated numbers, got {box!r}"
            ) from None
        box_arr = parse_box(vals, model.M)
    t0 = time.perf_counter()
    results, path = run_analysis(
        model,
        out_dir,
        source=str(model_file),
        max_period=max_period,
        box=box_arr,
        depth=depth,
        max_pieces=max_pieces,
        method=method,
        seed=seed,
        console=console,
        progress=_interactive(ctx),
    )
    console.print(
        f"wrote {path} in {time.perf_counter() - t0:.1f} s"
        + (" (PARTIAL: interrupted)" if results.get("partial") else "")
    )
    if report:
        from .report import write_report

        rp = write_report(out_dir)
        console.print(f"wrote {rp}")


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--no-figures", is_flag=True, help="Skip the figures (faster).")
@click.pass_context
def report(ctx, out_dir, no_figures):
    """Write DIR/report.html from DIR/results.json (self-contained HTML)."""
    from .report import write_report

    _console(ctx).print(f"wrote {write_report(out_dir, figures=not no_figures)}")


def _register_optional():
    try:
        from .training.cli import train_command
    except Exception:  # training is an optional extra; its command explains itself when absent
        train_command = None
    if train_command is not None:
        main.add_command(train_command, name="train")


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    main()
