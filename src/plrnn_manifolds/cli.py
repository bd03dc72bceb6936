"""Command-line interface: ``plrnn-manifolds orbits|analyze|report|...``.

Error handling (one policy for every command):

- a deliberate error (:class:`~plrnn_manifolds.errors.PLRNNManifoldsError`: a bad model file, a
  malformed parameter, ...) or an operating-system error (a directory that cannot be created, a
  file that cannot be written) is printed as one line ``error: ...`` with exit status 2;
- a malformed option (``--max-period 0``, ``--box=1,x``) is reported by click as
  ``Error: Invalid value for '--option': ...`` with exit status 2;
- Ctrl-C prints ``error: interrupted`` and exits with 130 (``analyze`` first writes its partial
  results, ``"partial": true``);
- anything else is a bug: one line ``error: internal error (...)`` with exit status 1, and the
  traceback only with ``--verbose``.

Warnings (an orbit on a region boundary, ...) are printed as ``warning: ...`` lines on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import click
import numpy as np

from . import __version__
from ._atomic import atomic_write_json
from .errors import PLRNNManifoldsError

#: Exit status of an interrupted command (128 + SIGINT, the shell convention).
EXIT_INTERRUPTED = 130


def _one_line(msg) -> str:
    return " ".join(str(msg).split())


def _fail(ctx, msg: str, code: int):
    click.echo(f"error: {_one_line(msg)}", err=True)
    ctx.exit(code)


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"cannot access '{exc.filename}': {what}"
    return what


@contextlib.contextmanager
def _warnings_to_stderr(ctx):
    """Collect warnings and print each distinct one as a ``warning: ...`` line at the end.

    Warnings of the package (``UserWarning`` subclasses such as ``OrbitWarning``) are always
    shown; numpy's floating-point ``RuntimeWarning`` and deprecation noise only with --verbose.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            verbose = bool((ctx.obj or {}).get("verbose"))
            seen = set()
            for w in caught:
                if not (verbose or issubclass(w.category, UserWarning)):
                    continue
                msg = _one_line(w.message)
                if msg not in seen:
                    seen.add(msg)
                    click.echo(f"warning: {msg}", err=True)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            with _warnings_to_stderr(ctx):
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except PLRNNManifoldsError as exc:
            _fail(ctx, str(exc), 2)
        except OSError as exc:
            _fail(ctx, _os_message(exc), 2)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", EXIT_INTERRUPTED)
        except Exception as exc:  # a bug: say so in one line, traceback only on request
            if (ctx.obj or {}).get("verbose"):
                traceback.print_exc()
            _fail(
                ctx,
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                "plrnn-manifolds, please report it (run with --verbose to see the traceback)",
                1,
            )


def _console(ctx):
    from rich.console import Console

    quiet = ctx.obj.get("quiet", False) if ctx.obj else False
    # Piped output (no terminal): a fixed width wide enough for the orbit table instead of 80.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(stderr=False, quiet=quiet, highlight=False, width=width)


def _interactive(ctx) -> bool:
    return sys.stderr.isatty() and not ctx.obj.get("quiet", False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plrnn-manifolds")
@click.option("--verbose", "-v", is_flag=True, help="Print more detail (and tracebacks of bugs).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and warnings.")
@click.pass_context
def main(ctx, verbose, quiet):
    """Take a trained ReLU-based RNN apart as a dynamical system."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet


def _load(model_file, P):
    from .models.io import load_model

    return load_model(model_file, P=P)


def _orbit_table(console, entries, title="Orbits"):
    """Rich table of orbit entries (the ``orbits[]`` dicts of the JSON outputs)."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("id", "period", "class", "n_unst", "n_stab", "|lambda|max", "flags", "first point"):
        t.add_column(col, overflow="fold")
    for o in entries:
        flags = [n for n in ("flip", "spiral", "near_nonhyperbolic", "on_boundary") if o.get(n)]
        ev = np.array([complex(re, im) for re, im in o["eigenvalues"]])
        pt = np.array2string(
            np.asarray(o["points"][0]), precision=4, max_line_width=50, threshold=6
        )
        t.add_row(
            str(o["id"]),
            str(o["period"]),
            o["classification"],
            str(o["n_unstable"]),
            str(o["n_stable"]),
            f"{np.abs(ev).max():.4g}",
            ",".join(flags),
            pt,
        )
    console.print(t)


def _parse_box_option(text: str, M: int):
    """``--box`` text to ``(lo, hi)``; every problem is a click.BadParameter naming --box."""
    from .bounds import parse_box
    from .errors import DataError

    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(p == "" for p in parts):
        raise click.BadParameter(
            f"expected comma-separated numbers such as -2,2 or -2,2,-1,1, got {text!r}",
            param_hint="'--box'",
        )
    vals = []
    for p in parts:
        try:
            vals.append(float(p))
        except ValueError:
            raise click.BadParameter(
                f"{p!r} is not a number (expected comma-separated numbers such as -2,2)",
                param_hint="'--box'",
            ) from None
    if not np.all(np.isfinite(vals)):
        raise click.BadParameter(
            f"the bounds must be finite numbers, got {text!r}", param_hint="'--box'"
        )
    try:
        return parse_box(vals, M)
    except DataError as exc:
        raise click.BadParameter(str(exc), param_hint="'--box'") from None


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
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Random seed.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the orbits as JSON to this file.",
)
@click.option("--P", "P", type=click.IntRange(1), default=None, help="ALRNN: number of ReLU units.")
@click.option(
    "--exhaustive/--no-exhaustive",
    default=None,
    help="Force (or forbid) exhaustive enumeration; default: when feasible.",
)
@click.pass_context
def orbits(ctx, model_file, max_period, seed, json_out, P, exhaustive):
    """Find fixed points and cycles up to a period, with their stability.

    Prints a table; with --json OUT also writes {model, max_period, seed, complete, method,
    notes, orbits} (orbits[] as in results.json).
    """
    from .orbits import find_orbits
    from .results import model_summary, orbit_entry

    console = _console(ctx)
    model = _load(model_file, P)
    ex = "auto" if exhaustive is None else exhaustive
    res = find_orbits(model, max_period=max_period, seed=seed, exhaustive=ex)
    entries = [orbit_entry(o, i) for i, o in enumerate(res.orbits)]
    _orbit_table(
        console,
        entries,
        title=f"Orbits of {Path(model_file).name} (M={model.M}, "
        f"H={model.H}) up to period {max_period}",
    )
    console.print(
        f"{len(res.orbits)} orbit(s); search complete: {res.complete} (method {res.method})"
    )
    for note in res.notes:
        console.print(f"note: {_one_line(note)}")
    if json_out:
        doc = {
            "model": model_summary(model, str(model_file)),
            "max_period": max_period,
            "seed": seed,
            "complete": res.complete,
            "method": res.method,
            "n_regions": res.n_regions,
            "notes": list(res.notes),
            "orbits": entries,
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
    help="Output box: 'lo,hi' for every axis or 'lo1,hi1,...,loM,hiM'; write it with '=' "
    "(--box=-2,2). Default: around long trajectories plus a margin.",
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
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--P", "P", type=click.IntRange(1), default=None, help="ALRNN: number of ReLU units.")
@click.option("--report/--no-report", default=False, help="Also write report.html.")
@click.option(
    "--attractors/--no-attractors",
    default=True,
    show_default=True,
    help="Attractor catalogue, basin fractions, boundaries and Lyapunov exponents.",
)
@click.option(
    "--intersections/--no-intersections",
    default=True,
    show_default=True,
    help="Homoclinic and heteroclinic points between the grown manifolds.",
)
@click.option(
    "--n-initial",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Seeded initial conditions simulated to find attractors.",
)
@click.option(
    "--basin-samples",
    default=2000,
    show_default=True,
    type=click.IntRange(1),
    help="Monte Carlo samples for the basin fractions.",
)
@click.option(
    "--max-intersections",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Intersection points kept per manifold pair and overall.",
)
@click.pass_context
def analyze(
    ctx,
    model_file,
    out_dir,
    max_period,
    box,
    depth,
    max_pieces,
    method,
    seed,
    P,
    report,
    attractors,
    intersections,
    n_initial,
    basin_samples,
    max_intersections,
):
    """Find orbits and grow both manifolds of every saddle; write OUT/results.json.

    The file is rewritten after every stage; an interrupted run (Ctrl-C) leaves it valid with
    "partial": true and exits with status 130.
    """
    from .analysis import run_analysis

    console = _console(ctx)
    model = _load(model_file, P)
    box_arr = None if box is None else _parse_box_option(box, model.M)
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
        attractors=attractors,
        n_initial=n_initial,
        basin_samples=basin_samples,
        intersections=intersections,
        max_intersections=max_intersections,
    )
    if results.get("orbits"):
        _orbit_table(console, results["orbits"], title=f"Orbits up to period {max_period}")
    for m in results.get("manifolds", []):
        console.print(
            f"orbit {m['orbit']} {m['kind']} manifold: dimension {m['dimension']}, "
            f"{len(m['pieces'])} piece(s), stopped by {', '.join(m['stopped_by'])}, "
            f"complete: {m['complete']}, max residual {m['max_residual']:.2g}"
        )
    for e in results.get("errors", []):
        if "orbit" in e:
            click.echo(
                f"warning: the {e['kind']} manifold of orbit {e['orbit']} was not computed: "
                f"{_one_line(e['error'])}",
                err=True,
            )
    if results.get("partial"):
        _fail(
            ctx,
            f'interrupted; partial results written to {path} ("partial": true)',
            EXIT_INTERRUPTED,
        )
    console.print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")
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
    from .cli_extra import basins_command, bifurcation_command

    main.add_command(basins_command, name="basins")
    main.add_command(bifurcation_command, name="bifurcation")


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    main()
