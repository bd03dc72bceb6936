"""The ``basins`` and ``bifurcation`` commands (registered on the main group by ``cli.py``).

Both follow the CLI's error policy: bad input (an unknown parameter, a malformed range, slice or
box) ends with one line ``error: ...`` or click's ``Invalid value`` message and exit status 2,
never a traceback. Library errors (:class:`~plrnn_manifolds.errors.PLRNNManifoldsError`) raised
inside a command are turned into that line by the main group.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

import click
import numpy as np

__all__ = ["basins_command", "bifurcation_command"]


# ---------------------------------------------------------------------------------- helpers
def _console(ctx):
    from rich.console import Console

    quiet = bool((ctx.obj or {}).get("quiet", False))
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(stderr=False, quiet=quiet, highlight=False, width=width)


def _load(model_file, P):
    from .models.io import load_model

    return load_model(model_file, P=P)


def _numbers(text: str, option: str) -> list[float]:
    parts = [p.strip() for p in str(text).split(",")]
    if not str(text).strip() or any(p == "" for p in parts):
        raise click.BadParameter(
            f"expected comma-separated numbers, got {text!r}", param_hint=f"'{option}'"
        )
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated numbers, got {text!r}", param_hint=f"'{option}'"
        ) from None
    if not all(np.isfinite(vals)):
        raise click.BadParameter(f"numbers must be finite, got {text!r}", param_hint=f"'{option}'")
    return vals


def _box(text, M: int):
    from .bounds import parse_box
    from .errors import DataError

    if text is None:
        return None
    try:
        return parse_box(_numbers(text, "--box"), M)
    except DataError as exc:
        raise click.BadParameter(str(exc), param_hint="'--box'") from None


def _slice(text: str, M: int) -> tuple[int, int]:
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        i, j = (int(p) for p in parts)
    except ValueError:
        raise click.BadParameter(
            f"expected two coordinate indices i,j such as 0,1, got {text!r}",
            param_hint="'--slice'",
        ) from None
    if not (0 <= i < M and 0 <= j < M):
        raise click.BadParameter(
            f"coordinates must lie in 0..{M - 1} for this M = {M} model, got {text!r}",
            param_hint="'--slice'",
        )
    if i == j:
        raise click.BadParameter(
            f"the two coordinates must differ, got {text!r}", param_hint="'--slice'"
        )
    return i, j


def _save_png(fig, path) -> Path:
    from ._atomic import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    return atomic_write_bytes(path, buf.getvalue())


def _fmt(x, spec=".4g") -> str:
    if x is None:
        return "-"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    return format(xf, spec) if np.isfinite(xf) else "-"


# ---------------------------------------------------------------------------------- basins
@click.command("basins")
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option(
    "--grid", default=200, show_default=True, type=click.IntRange(2), help="Grid points per axis."
)
@click.option(
    "--slice",
    "slice_text",
    default="0,1",
    show_default=True,
    help="The two state coordinates i,j (zero-based) spanning the plane.",
)
@click.option(
    "--box",
    default=None,
    help="Box: 'lo,hi' for every axis or 'lo1,hi1,...,loM,hiM'. The grid covers its i,j "
    "sides and the attractor search starts in it. Default: around long trajectories.",
)
@click.option(
    "--base",
    default=None,
    help="Values of all M coordinates of the plane's base point (comma-separated); the slice "
    "coordinates are ignored. Default: mean of the attractor centroids.",
)
@click.option(
    "--max-period",
    "-k",
    default=4,
    show_default=True,
    type=click.IntRange(1),
    help="Largest period of the stable orbits searched.",
)
@click.option(
    "--n-initial",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Initial conditions of the attractor search.",
)
@click.option(
    "--steps",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Iterations per grid point before it counts as undecided.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write basins.json and basins.png into this directory.",
)
@click.option(
    "--png", default=None, type=click.Path(dir_okay=False), help="Write the figure to this file."
)
@click.option("--P", "P", type=int, default=None, help="ALRNN: number of ReLU units (torch files).")
@click.pass_context
def basins_command(
    ctx,
    model_file,
    grid,
    slice_text,
    box,
    base,
    max_period,
    n_initial,
    steps,
    seed,
    out_dir,
    png,
    P,
):
    """Brute-force basins of attraction on a 2-D slice of state space.

    Finds the attractors (stable orbits up to the period, plus simulated ones), labels every
    point of a GRID x GRID grid on the plane of coordinates i,j by the attractor it converges
    to, prints the attractors with their grid fractions, and writes a JSON/PNG.
    """
    from ._atomic import atomic_write_json
    from .basins import find_attractors, grid_basins
    from .orbits import find_orbits
    from .results import attractor_entry, model_summary

    console = _console(ctx)
    model = _load(model_file, P)
    i, j = _slice(slice_text, model.M)
    bx = _box(box, model.M)
    base_pt = None
    if base is not None:
        vals = _numbers(base, "--base")
        if len(vals) != model.M:
            raise click.BadParameter(
                f"expected M = {model.M} numbers, got {len(vals)}", param_hint="'--base'"
            )
        base_pt = np.array(vals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orb = find_orbits(model, max_period=max_period, seed=seed)
    cat = find_attractors(model, orb.orbits, n_initial=n_initial, box=bx, seed=seed)
    lo, hi = cat.box
    gb = grid_basins(
        model,
        cat,
        slice=(i, j),
        bounds=((lo[i], hi[i]), (lo[j], hi[j])),
        n=grid,
        base_point=base_pt,
        n_steps=steps,
    )
    fr = gb.fractions()
    from rich.table import Table

    name = Path(model_file).name
    t = Table(title=f"Attractors of {name} and their basins on the slice ({i},{j})")
    for col in ("id", "kind", "period", "orbit", "lambda_1", "grid fraction", "point"):
        t.add_column(col, overflow="fold")
    for a in cat:
        pt = np.array2string(np.asarray(a.points)[0], precision=4, max_line_width=50, threshold=6)
        lam = a.lyapunov[0] if a.lyapunov else None
        t.add_row(
            str(a.id),
            a.kind,
            "-" if a.period is None else str(a.period),
            "-" if a.orbit is None else str(a.orbit),
            _fmt(lam),
            _fmt(fr.get(a.id, 0.0), ".3f"),
            pt,
        )
    console.print(t)
    console.print(
        f"escape: {fr.get(-1, 0.0):.3f}, undecided: {fr.get(-2, 0.0):.3f} "
        f"({grid} x {grid} grid, {len(cat)} attractor(s))"
    )
    if out_dir is None and png is None:
        return
    pngs = []
    if png is not None:
        pngs.append(Path(png))
    if out_dir is not None:
        pngs.append(Path(out_dir) / "basins.png")
        doc = {
            "model": model_summary(model, str(model_file)),
            "slice": [i, j],
            "base_point": gb.base_point,
            "xs": gb.xs,
            "ys": gb.ys,
            "labels": gb.labels,
            "fractions": {str(k): v for k, v in fr.items()},
            "box": [lo, hi],
            "seed": seed,
            "attractors": [dict(attractor_entry(a), grid_fraction=fr.get(a.id, 0.0)) for a in cat],
        }
        p = atomic_write_json(Path(out_dir) / "basins.json", doc)
        console.print(f"wrote {p}")
    from .plots import phase_portrait

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = phase_portrait(
            model,
            orbits=orb.orbits,
            basins=gb,
            trajectories=0,
            xlim=(float(gb.xs[0]), float(gb.xs[-1])),
            ylim=(float(gb.ys[0]), float(gb.ys[-1])),
            title=f"basins on the ({i},{j}) slice",
        )
    for p in pngs:
        console.print(f"wrote {_save_png(fig, p)}")


# ---------------------------------------------------------------------------------- bifurcation
@click.command("bifurcation")
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option(
    "--param",
    required=True,
    help="Parameter to vary: a family parameter (h1, tau_l, ...), an element of a family array "
    "(h[0], W[1,2]) or of a canonical array (h1[0], A[0,1]); 'canonical:' forces the canonical "
    "reading.",
)
@click.option(
    "--range",
    "range_text",
    required=True,
    help="Values 'lo,hi,steps' (numpy.linspace, ends included).",
)
@click.option(
    "--max-period", "-k", default=4, show_default=True, type=click.IntRange(1), help="Orbit period."
)
@click.option(
    "--n-initial",
    default=16,
    show_default=True,
    type=click.IntRange(1),
    help="Trajectories per value for the attractor points.",
)
@click.option(
    "--coordinate",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="State coordinate drawn on the vertical axis.",
)
@click.option(
    "--box",
    default=None,
    help="Box of initial conditions ('lo,hi' or 'lo1,hi1,...'); default per value.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write bifurcation.json and bifurcation.png into this directory.",
)
@click.option("--P", "P", type=int, default=None, help="ALRNN: number of ReLU units (torch files).")
@click.pass_context
def bifurcation_command(
    ctx, model_file, param, range_text, max_period, n_initial, coordinate, box, seed, out_dir, P
):
    """Bifurcation diagram along one parameter: tracked orbits, attractors, largest exponent.

    Prints one line per value (orbits by type, largest Lyapunov exponent) and, with --out,
    writes bifurcation.json and bifurcation.png.
    """
    from ._atomic import atomic_write_json
    from .bifurcation import bifurcation_diagram, parse_range, resolve_parameter
    from .errors import DataError

    console = _console(ctx)
    model = _load(model_file, P)
    try:
        values = parse_range(range_text)
    except DataError as exc:
        raise click.BadParameter(str(exc), param_hint="'--range'") from None
    try:
        ref = resolve_parameter(model, param)
    except DataError as exc:
        raise click.BadParameter(str(exc), param_hint="'--param'") from None
    if coordinate >= model.M:
        raise click.BadParameter(
            f"must be below M = {model.M}, got {coordinate}", param_hint="'--coordinate'"
        )
    bx = _box(box, model.M)
    console.print(
        f"{param} = {ref.get(model):g} in the model; sweeping {len(values)} value(s) from "
        f"{values[0]:g} to {values[-1]:g}"
    )
    res = bifurcation_diagram(
        model, param, values, max_period=max_period, n_initial=n_initial, box=bx, seed=seed
    )
    from rich.table import Table

    t = Table(title=f"Bifurcation along {param}")
    for col in ("value", "stable", "saddle", "unstable", "lambda_1", "escaped"):
        t.add_column(col)
    for k, v in enumerate(res.values):
        cls = [o["classification"] for o in res.orbits[k]]
        t.add_row(
            f"{v:.6g}",
            str(cls.count("stable")),
            str(cls.count("saddle")),
            str(cls.count("unstable")),
            _fmt(res.lyapunov[k]),
            str(int(res.n_escaped[k])),
        )
    console.print(t)
    console.print(f"{len(res.branches)} tracked orbit branch(es) in {res.seconds:.1f} s")
    for note in res.notes:
        console.print(f"note: {note}")
    if out_dir is None:
        return
    doc = res.to_dict()
    from .results import model_summary

    doc["model"] = model_summary(model, str(model_file))
    doc["seed"] = seed
    p = atomic_write_json(Path(out_dir) / "bifurcation.json", doc)
    console.print(f"wrote {p}")
    fig = res.plot(coordinate=coordinate, title=f"bifurcation diagram along {param}")
    console.print(f"wrote {_save_png(fig, Path(out_dir) / 'bifurcation.png')}")
