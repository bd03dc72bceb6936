"""The ``train`` command: fit a PLRNN-family model to a recorded time series.

Importing this module does not import PyTorch; the command imports it when it runs and, if it
is missing, exits with a message naming the extra to install. Exposed as :data:`train_command`
(a :class:`click.Command`) for registration in the main CLI.

Outputs in ``--out DIR``:

- ``model.json``: the trained map, ``{"family": ..., <family parameters>}`` in the key
  convention of :mod:`plrnn_manifolds.models.io` (vectors as lists, matrices as lists of rows;
  models with external input are exported for the constant input ``--export-input``);
- ``checkpoint.pt``: the training checkpoint (resume with ``--resume``);
- ``metrics.json``: final metrics (D_stsp, D_H, PE), the configuration, the preprocessing
  (z-scoring, embedding, range, downsampling), the per-epoch history and ``init``: the
  checkpoint a fine-tuning run (``--init``) started from, else ``null``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from .._atomic import atomic_write_json, atomic_write_text
from ..errors import PLRNNManifoldsError

__all__ = ["train_command", "write_model_json"]


def write_model_json(path, family: str, params: dict) -> Path:
    """Write ``{"family": family, **params}`` as JSON (atomically), lists for arrays.

    Floats use Python's shortest round-trip representation, so loading gives bit-identical
    parameters.
    """
    out = {"family": family}
    for k, v in params.items():
        out[k] = np.asarray(v).tolist()
    return atomic_write_text(path, json.dumps(out, indent=1, allow_nan=False) + "\n")


class _Command(click.Command):
    """Prints deliberate errors as one line and exits with status 2 (also when standalone)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PLRNNManifoldsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except ImportError as exc:
            if "plrnn-manifolds[train]" in str(exc):
                click.echo(f"error: {exc}", err=True)
                ctx.exit(2)
            raise


def _init_provenance(init_checkpoint, out_dir, resume):
    """The warm-start checkpoint of this run (kept from ``metrics.json`` when resuming)."""
    if init_checkpoint is not None:
        return str(init_checkpoint)
    prev = Path(out_dir) / "metrics.json"
    if resume and prev.is_file():
        try:
            return json.loads(prev.read_text()).get("init")
        except (OSError, ValueError):
            return None
    return None


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    "family",
    type=click.Choice(["alrnn", "plrnn", "shplrnn", "clipped_shplrnn"]),
    default="alrnn",
    show_default=True,
    help="Model family.",
)
@click.option("--M", "M", type=int, default=25, show_default=True, help="Latent dimension.")
@click.option(
    "--P", "P", type=int, default=6, show_default=True, help="ALRNN: number of ReLU units."
)
@click.option(
    "--hidden", type=int, default=50, show_default=True, help="shPLRNN: number of hidden units."
)
@click.option("--epochs", type=int, default=100, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory.",
)
@click.option(
    "--tau", type=int, default=10, show_default=True, help="Sparse teacher-forcing interval."
)
@click.option("--gtf", is_flag=True, help="Generalised teacher forcing with adaptive alpha.")
@click.option(
    "--gtf-alpha-max",
    type=float,
    default=1.0,
    show_default=True,
    help="Upper bound of the adaptive GTF alpha.",
)
@click.option(
    "--lambda-reg",
    type=float,
    default=0.0,
    show_default=True,
    help="Weight of the invertibility regulariser.",
)
@click.option(
    "--bound-weight",
    type=float,
    default=0.0,
    show_default=True,
    help="Weight of the free-run bound: log(1 + mean squared excess of free runs over the "
    "data range); 0 disables.",
)
@click.option(
    "--bound-steps",
    type=int,
    default=100,
    show_default=True,
    help="Length of the free runs of the bound.",
)
@click.option(
    "--mmd-weight",
    type=float,
    default=0.0,
    show_default=True,
    help="Weight of the free-run distribution matching (squared MMD between free runs and "
    "the data windows they start from); 0 disables.",
)
@click.option(
    "--mmd-steps",
    type=int,
    default=200,
    show_default=True,
    help="Length of the free runs compared with the data.",
)
@click.option(
    "--mmd-bandwidth",
    type=float,
    default=0.1,
    show_default=True,
    help="Smallest kernel width of the MMD (data units; kernels at 1, 3, 10 times it).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option(
    "--init",
    "init_checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Warm start (fine-tuning) from the parameters in this checkpoint.pt of an earlier run "
    "with the same architecture; fresh optimiser and schedule. Not with --resume.",
)
@click.option(
    "--column",
    "columns",
    type=int,
    multiple=True,
    help="Data column(s) to model (repeatable; default: all but input columns).",
)
@click.option(
    "--input-column",
    "input_columns",
    type=int,
    multiple=True,
    help="Column(s) used as external input (repeatable).",
)
@click.option("--key", default=None, help=".npz: name of the data array.")
@click.option("--input-key", default=None, help=".npz: name of the input array.")
@click.option("--start", type=int, default=0, show_default=True, help="First raw sample used.")
@click.option("--stop", type=int, default=None, help="End (exclusive) of the raw samples used.")
@click.option(
    "--downsample", type=int, default=1, show_default=True, help="Keep every k-th sample."
)
@click.option(
    "--embed-dim",
    type=int,
    default=1,
    show_default=True,
    help="Delay-embedding dimension per column (1: none).",
)
@click.option(
    "--delay",
    type=int,
    default=None,
    help="Embedding delay in samples (default: first minimum of the AMI).",
)
@click.option("--no-zscore", is_flag=True, help="Do not z-score data and inputs.")
@click.option("--seq-len", type=int, default=50, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--batches-per-epoch", type=int, default=50, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option(
    "--lr-gamma", type=float, default=0.98, show_default=True, help="Learning-rate decay per epoch."
)
@click.option(
    "--noise",
    type=float,
    default=0.0,
    show_default=True,
    help="Gaussian noise std on the forcing signal (z-score units).",
)
@click.option("--test-fraction", type=float, default=0.2, show_default=True)
@click.option("--eval-every", type=int, default=10, show_default=True)
@click.option("--checkpoint-every", type=int, default=10, show_default=True)
@click.option(
    "--diverge-patience",
    type=int,
    default=10,
    show_default=True,
    help="Stop after this many exploded epochs in a row (MSE > 1e8 x that of predicting "
    "zero); 0 never stops.",
)
@click.option(
    "--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True
)
@click.option(
    "--export-input",
    type=float,
    multiple=True,
    help="Constant input (raw units) for model.json when inputs are used "
    "(default: the mean input).",
)
@click.pass_context
def train_command(
    ctx,
    data_file,
    family,
    M,
    P,
    hidden,
    epochs,
    out_dir,
    tau,
    gtf,
    gtf_alpha_max,
    lambda_reg,
    bound_weight,
    bound_steps,
    mmd_weight,
    mmd_steps,
    mmd_bandwidth,
    seed,
    resume,
    init_checkpoint,
    columns,
    input_columns,
    key,
    input_key,
    start,
    stop,
    downsample,
    embed_dim,
    delay,
    no_zscore,
    seq_len,
    batch_size,
    batches_per_epoch,
    lr,
    lr_gamma,
    noise,
    test_fraction,
    eval_every,
    checkpoint_every,
    diverge_patience,
    dtype,
    export_input,
):
    """Train a PLRNN / shPLRNN / ALRNN on DATA_FILE (.npy, .csv or .npz).

    Writes OUT/model.json (loadable by `plrnn-manifolds analyze`), OUT/checkpoint.pt and
    OUT/metrics.json.
    """
    from .data import load_timeseries, prepare
    from .train import TrainConfig, train  # imports torch (clear error if missing)

    quiet = bool(ctx.obj.get("quiet", False)) if ctx.obj else False
    ts = load_timeseries(
        data_file,
        columns=list(columns) or None,
        input_columns=list(input_columns) or None,
        key=key,
        input_key=input_key,
    )
    prep = prepare(
        ts.data,
        ts.inputs,
        start=start,
        stop=stop,
        downsample=downsample,
        standardize=not no_zscore,
        embed_dim=embed_dim,
        delay=delay,
    )
    config = TrainConfig(
        model=family,
        M=M,
        P=P,
        hidden=hidden,
        epochs=epochs,
        batches_per_epoch=batches_per_epoch,
        batch_size=batch_size,
        seq_len=seq_len,
        tau=tau,
        gtf=gtf,
        gtf_alpha_max=gtf_alpha_max,
        noise=noise,
        lr=lr,
        lr_gamma=lr_gamma,
        lambda_reg=lambda_reg,
        bound_weight=bound_weight,
        bound_steps=bound_steps,
        mmd_weight=mmd_weight,
        mmd_steps=mmd_steps,
        mmd_bandwidth=mmd_bandwidth,
        test_fraction=test_fraction,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        diverge_patience=diverge_patience,
        seed=seed,
        dtype=dtype,
        progress=None if not quiet else False,
    )
    t0 = time.perf_counter()
    result = train(
        prep.data,
        config,
        inputs=prep.inputs,
        out_dir=out_dir,
        resume=resume,
        init=init_checkpoint,
    )
    elapsed = time.perf_counter() - t0

    s_raw = s_model = None
    if prep.inputs is not None:
        K = prep.inputs.shape[1]
        if export_input:
            s_raw = np.asarray(export_input, dtype=np.float64)
            if s_raw.shape != (K,):
                raise click.BadParameter(
                    f"give {K} value(s) for --export-input", param_hint="--export-input"
                )
        else:
            s_raw = ts.inputs[prep.start : prep.stop : prep.downsample].mean(axis=0)
        s_model = s_raw if prep.input_scaler is None else prep.input_scaler.transform(s_raw)
    params = result.model.export_params(s_model)
    model_path = write_model_json(out_dir / "model.json", result.model.family, params)

    import torch

    metrics = {
        "metrics": result.metrics,
        "config": config.to_dict(),
        "data": {
            "file": str(data_file),
            "columns": ts.columns,
            "input_columns": ts.input_columns,
            "key": key,
            "input_key": input_key,
            **prep.to_dict(),
        },
        "export_input": None
        if s_raw is None
        else {"raw": s_raw.tolist(), "model_units": np.asarray(s_model).tolist()},
        "epochs_run": result.epochs_run,
        "init": _init_provenance(init_checkpoint, out_dir, resume),
        "seconds": elapsed,
        "torch_version": torch.__version__,
        "history": result.history,
    }
    atomic_write_json(out_dir / "metrics.json", _finite(metrics))
    if not quiet:
        m = result.metrics
        click.echo(
            f"wrote {model_path}, {out_dir / 'checkpoint.pt'}, {out_dir / 'metrics.json'}\n"
            f"{result.model.family} M={M}: D_stsp {m['D_stsp']:.4g}  D_H {m['D_H']:.4g}  "
            f"PE({m['pe_steps']}) {m['PE']:.4g}  on the {m['on']} part ({m['n']} samples), "
            f"{elapsed:.1f} s",
            file=sys.stdout,
        )


def _finite(obj):
    """Replace non-finite floats by strings so the JSON stays strict (a diverged model)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj
