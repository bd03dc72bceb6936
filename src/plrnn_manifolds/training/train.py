r"""Dynamical-systems-reconstruction training with sparse or generalised teacher forcing.

One training step
-----------------
A batch of ``batch_size`` windows of ``seq_len + 1`` consecutive samples is drawn uniformly from
the training part of the series. Gaussian noise of standard deviation ``noise`` (in data units;
z-score the data first) is added to the *forcing signal* (the data used to initialise and force
the model), never to the targets. The latent state starts at :math:`z_0 = (\tilde x_0, B \tilde
x_0)` and is iterated :math:`z_t = F(z_{t-1}) + C s_t` for ``t = 1..seq_len``; the prediction of
:math:`x_t` is :math:`z_{t,1..N}` *before* forcing at step ``t``. The loss is

.. math::

    \mathcal{L} = \frac{1}{B T N} \sum_{b,t} \| z_{t,1..N} - x_t \|^2
      + \lambda \, \frac{1}{|S|} \sum_{d \in S} \max(0, -\det J_d).

Forcing (after the prediction, on the observed units only):

- **sparse teacher forcing** (``gtf=False``): every ``tau`` steps (``t % tau == 0``) the observed
  units are replaced by the data, :math:`z_{t,1..N} \leftarrow \tilde x_t` (Mikhaeil et al.
  2022; Brenner et al. 2022). ``tau = seq_len + 1`` or larger means no forcing (plain BPTT).
- **generalised teacher forcing** (``gtf=True``, Hess et al. 2023): at every step
  :math:`z_{t,1..N} \leftarrow (1 - \alpha) z_{t,1..N} + \alpha \tilde x_t`. The forced
  Jacobian product grows like :math:`(1-\alpha)^T \prod_t \|J_t\|`, so exploding gradients are
  avoided when :math:`(1-\alpha) G \le 1` with :math:`G` the geometric mean of the Jacobians'
  spectral norms. Our exact rule: every ``gtf_update_every`` batches, with the region Jacobians
  :math:`J_t` of the batch's (forced) latent states,
  :math:`G = \frac{1}{B} \sum_b \exp(\frac{1}{T} \sum_t \log \|J_{b,t}\|_2)`,
  :math:`\alpha^* = \min(\alpha_{max}, \max(0, 1 - 1/G))`, and :math:`\alpha \leftarrow
  \gamma \alpha + (1 - \gamma) \alpha^*` (``gtf_gamma``), starting from ``gtf_alpha0``. The new
  alpha applies from the next batch on. With ``M > N`` only the observed directions are forced,
  so the bound controls gradient growth exactly only when ``M = N``; this is the usual
  identity-teacher-forcing compromise and is documented rather than hidden.

Free-run bound (``bound_weight > 0``; off by default): ``batch_size`` more windows of
``bound_steps`` steps start at random training states and run *freely* (no forcing, inputs as in
the data); with :math:`[\ell_i, u_i]` the range of observed variable :math:`i` over the training
part, widened by ``bound_margin`` times its width on both sides, the term

.. math::

    w \, \log\Bigl(1 + \frac{1}{B T N} \sum_{b,t,i}
      \bigl(\max(0, z_{t,i} - u_i)^2 + \max(0, \ell_i - z_{t,i})^2\bigr)\Bigr)

is added to the loss. It is zero while free runs stay where the data are, and asks nothing of
their timing, so it does not pull a model towards the conditional mean the way a
long-horizon mean-squared error does; the logarithm keeps an exploding run's gradient bounded.
It counters models whose teacher-forced fit is good but whose free runs diverge (short ``tau``
on spiking data: on the cortical-neuron sweep, forcing every 3 steps, the free runs of 36 of
55 snapshots overflowed without it and 0 of 60 with it, docs/figures.md). It acts on its own
horizon only: free runs much longer than ``bound_steps`` can still leave the range. Cost:
``bound_steps`` extra model steps per window.

Free-run distribution matching (``mmd_weight > 0``; off by default): the free runs are
compared with the data windows they start from *as point clouds*. When both terms are on, they
share one set of free runs of ``max(bound_steps, mmd_steps)`` steps, and the bound covers all
of it. With :math:`X` the observed parts of every 4th free-run state of the first
``mmd_steps`` steps of all windows, and :math:`Y` the data at the same steps, the squared
maximum mean discrepancy

.. math::

    \mathrm{MMD}^2 = \overline{k(X, X)} + \overline{k(Y, Y)} - 2\,\overline{k(X, Y)},
    \qquad k(a, b) = \frac{1}{3} \sum_{c \in \{1, 3, 10\}}
      \exp\Bigl(-\frac{\|a - b\|^2}{2 (c\,\sigma)^2}\Bigr)

(biased estimator, :math:`\sigma` = ``mmd_bandwidth`` in data units; free-run points beyond
one range width outside the data range are clipped there, which the bound handles) is added
with weight ``mmd_weight``. It compares where the free runs spend their time with where the
data do, regardless of *when*, so it constrains the long-term behaviour (the share of time in
a spike against the ramp between spikes, rest against firing) without the phase penalty of a
long-horizon mean-squared error, whose optimum for data that do not fix spike times a few
steps ahead is a smeared spike (docs/figures.md, Fig 4D). Cost: :math:`O(n^2)` kernel
evaluations per batch with :math:`n = B \lceil` ``mmd_steps`` :math:`/ 4 \rceil` points per
cloud (800 for 16 windows of 200 steps).

Invertibility regulariser (Eisenmann et al., the seed paper): the distinct activation patterns
of all latent states of the batch are the *visited regions*; a random ``reg_fraction`` (1 %) of
them, at least one, is drawn with the training generator, and :math:`\lambda` times the mean of
:math:`\max(0, -\det J_d)` over them is added to the loss. A continuous piecewise-linear map whose
region determinants all share one sign is a homeomorphism onto its image, which the manifold
algorithms need.

Optimiser: RAdam with learning rate ``lr``, exponential decay ``lr_gamma`` per epoch, gradient
norm clipping at ``grad_clip``. An epoch is ``batches_per_epoch`` batches.

Reproducibility: every random draw (parameter initialisation, windows, noise, regulariser
subsets) comes from private ``torch.Generator`` objects seeded from ``seed``; on CPU a run with
the same seed, data and thread count is bit-identical. Checkpoints hold the model, optimiser,
scheduler, the generator state, the global torch, numpy and python RNG states, alpha, the
history and the epoch; resuming restores all of them, so an interrupted and resumed run ends
bit-identical to an uninterrupted one.

Precision: ``dtype="float32"`` (default, faster) or ``"float64"``; exports are float64.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import sys
import types
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_bytes
from ..errors import DataError, ModelError, ModelFileError
from ..maps import PLMap
from . import metrics as _metrics
from ._torch import require_torch
from .data import train_test_split, validate_training_data
from .models import DSRModel, build_model, model_from_spec

torch = require_torch()

__all__ = [
    "CHECKPOINT_NAME",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "load_checkpoint",
    "train",
]

CHECKPOINT_NAME = "checkpoint.pt"
_FORMAT = "plrnn-manifolds-checkpoint"


@dataclass
class TrainConfig:
    """Training hyperparameters (all fields are plain values, saved in checkpoints).

    Attributes
    ----------
    model : {"alrnn", "plrnn", "shplrnn", "clipped_shplrnn"}
    M : int
        Latent dimension (``>=`` number of observed variables).
    P : int
        ALRNN: number of ReLU units.
    hidden : int
        shPLRNN: number of hidden units ``H``.
    epochs, batches_per_epoch, batch_size, seq_len : int
    tau : int
        Sparse-teacher-forcing interval (ignored with ``gtf``).
    gtf : bool
        Use generalised teacher forcing with the adaptive alpha rule (module docstring).
    gtf_alpha0, gtf_alpha_max, gtf_gamma : float
    gtf_update_every : int
        Batches between alpha updates.
    noise : float
        Std of the Gaussian noise on the forcing signal (data units).
    lr, lr_gamma : float
        RAdam learning rate and its exponential decay factor per epoch.
    grad_clip : float
        Gradient-norm clipping threshold (0 disables).
    lambda_reg : float
        Weight of the invertibility regulariser (0 disables).
    reg_fraction : float
        Fraction of visited regions sampled per batch (at least one).
    bound_weight : float
        Weight of the free-run bound (module docstring; 0 disables).
    bound_steps : int
        Length of the free runs of the bound.
    bound_margin : float
        Widening of the data range on each side, as a fraction of its width.
    mmd_weight : float
        Weight of the free-run distribution matching (module docstring; 0 disables).
    mmd_steps : int
        Length of the free runs compared with the data.
    mmd_bandwidth : float
        Smallest kernel width sigma (data units; kernels at 1, 3 and 10 times it).
    test_fraction : float
        Trailing fraction of the series held out for the metrics (0 = evaluate on the
        training data).
    eval_every : int
        Epochs between metric evaluations (0: only at the end).
    checkpoint_every : int
        Epochs between checkpoints when an output directory is given (the last epoch is
        always saved).
    diverge_patience : int
        Consecutive *exploded* epochs (mean MSE above ``1e8`` times the MSE of predicting
        zero) after which training stops with :class:`~plrnn_manifolds.errors.ModelError`;
        0 never stops (a NaN or inf loss always stops). Early explosions can recover: of our
        cortical-neuron runs, two recovered after 3 and 8 exploded epochs, two never did in
        110.
    pe_steps : int
        Horizon ``n`` of the reported prediction error PE(n).
    dstsp_bins : int
        Bins per dimension of the binned D_stsp (``N <= 3``).
    dstsp_sigma : float
        Kernel width of the Gaussian-mixture D_stsp (``N > 3``).
    dh_smoothing : float
        Spectrum smoothing (frequency bins) of D_H.
    seed : int
    dtype : {"float32", "float64"}
    progress : bool or None
        Show a progress bar; ``None`` shows it only when stderr is a terminal.
    """

    model: str = "alrnn"
    M: int = 25
    P: int = 6
    hidden: int = 50
    epochs: int = 100
    batches_per_epoch: int = 50
    batch_size: int = 16
    seq_len: int = 50
    tau: int = 10
    gtf: bool = False
    gtf_alpha0: float = 0.2
    gtf_alpha_max: float = 1.0
    gtf_gamma: float = 0.9
    gtf_update_every: int = 5
    noise: float = 0.0
    lr: float = 1e-3
    lr_gamma: float = 0.98
    grad_clip: float = 10.0
    lambda_reg: float = 0.0
    reg_fraction: float = 0.01
    bound_weight: float = 0.0
    bound_steps: int = 100
    bound_margin: float = 0.05
    mmd_weight: float = 0.0
    mmd_steps: int = 200
    mmd_bandwidth: float = 0.1
    test_fraction: float = 0.2
    eval_every: int = 10
    checkpoint_every: int = 10
    diverge_patience: int = 10
    pe_steps: int = 10
    dstsp_bins: int = 30
    dstsp_sigma: float = 1.0
    dh_smoothing: float = 20.0
    seed: int = 0
    dtype: str = "float32"
    progress: bool | None = None

    def validate(self) -> TrainConfig:
        """Check ranges; return ``self``.

        Raises
        ------
        ModelError
            Naming the offending field and its allowed range.
        """
        pos = (
            "M",
            "P",
            "hidden",
            "epochs",
            "batches_per_epoch",
            "batch_size",
            "seq_len",
            "tau",
            "gtf_update_every",
            "bound_steps",
            "mmd_steps",
            "pe_steps",
            "dstsp_bins",
        )
        for name in pos:
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ModelError(f"TrainConfig.{name} must be a positive integer, got {v!r}")
        for name in ("eval_every", "checkpoint_every", "diverge_patience"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ModelError(f"TrainConfig.{name} must be an integer >= 0, got {v!r}")
        checks = [
            ("lr", self.lr > 0, "> 0"),
            ("lr_gamma", 0 < self.lr_gamma <= 1, "in (0, 1]"),
            ("noise", self.noise >= 0, ">= 0"),
            ("grad_clip", self.grad_clip >= 0, ">= 0"),
            ("lambda_reg", self.lambda_reg >= 0, ">= 0"),
            ("reg_fraction", 0 < self.reg_fraction <= 1, "in (0, 1]"),
            ("bound_weight", self.bound_weight >= 0, ">= 0"),
            ("bound_margin", self.bound_margin >= 0, ">= 0"),
            ("mmd_weight", self.mmd_weight >= 0, ">= 0"),
            ("mmd_bandwidth", self.mmd_bandwidth > 0, "> 0"),
            ("test_fraction", 0 <= self.test_fraction < 1, "in [0, 1)"),
            ("gtf_alpha0", 0 <= self.gtf_alpha0 <= 1, "in [0, 1]"),
            ("gtf_alpha_max", 0 <= self.gtf_alpha_max <= 1, "in [0, 1]"),
            ("gtf_gamma", 0 <= self.gtf_gamma < 1, "in [0, 1)"),
            ("dstsp_sigma", self.dstsp_sigma > 0, "> 0"),
            ("dh_smoothing", self.dh_smoothing >= 0, ">= 0"),
        ]
        for name, ok, rng in checks:
            if not ok:
                raise ModelError(f"TrainConfig.{name} must be {rng}, got {getattr(self, name)!r}")
        if self.dtype not in ("float32", "float64"):
            raise ModelError(
                f"TrainConfig.dtype must be 'float32' or 'float64', got {self.dtype!r}"
            )
        if self.model == "alrnn" and self.P > self.M:
            raise ModelError(f"ALRNN needs P <= M, got P = {self.P} > M = {self.M}")
        return self

    def to_dict(self) -> dict:
        """Plain dict (for JSON and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ModelFileError(f"unknown TrainConfig field(s) {sorted(unknown)}")
        return cls(**d)


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    model : DSRModel
        The trained torch model.
    config : TrainConfig
    history : list of dict
        One entry per epoch: ``epoch, loss, mse, reg, bound, mmd, lr, alpha`` (``bound``: the
        mean squared excess of the free-run bound, ``mmd``: the MMD^2 of the free-run
        distribution matching, 0 when off) and, on evaluation epochs,
        ``D_stsp, D_H, PE``.
    metrics : dict
        Final metrics on the held-out part (``D_stsp``, ``D_H``, ``PE``, ``pe_steps``,
        ``n_test``, ``on``: ``"test"`` or ``"train"``).
    epochs_run : int
        Epochs completed in total (including those before a resume).
    checkpoint : Path or None
        Last checkpoint written.
    """

    model: DSRModel
    config: TrainConfig
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    epochs_run: int = 0
    checkpoint: Path | None = None

    def to_plmap(self, s=None) -> PLMap:
        """Export the trained model to the canonical float64 map (constant input ``s``)."""
        return self.model.to_plmap(s)


# --------------------------------------------------------------------------- helpers
def _fingerprint(data: np.ndarray, inputs: np.ndarray | None) -> str:
    h = hashlib.sha256(np.ascontiguousarray(data).tobytes())
    h.update(str(data.shape).encode())
    if inputs is not None:
        h.update(np.ascontiguousarray(inputs).tobytes())
        h.update(str(inputs.shape).encode())
    return h.hexdigest()


def _rng_states(gen) -> dict:
    # The global numpy/python states are saved (and restored on resume) so that user code
    # drawing from them around training also resumes identically; training itself uses only
    # the private torch generator.
    np_state = np.random.get_state()  # noqa: NPY002
    return {
        "generator": gen.get_state(),
        "torch": torch.get_rng_state(),
        # numpy's state holds an ndarray; tensors keep the checkpoint loadable with
        # weights_only=True.
        "numpy": {
            "name": np_state[0],
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "python": random.getstate(),
    }


def _restore_rng(states: dict, gen) -> None:
    gen.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state(  # noqa: NPY002
        (n["name"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    py = states["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def load_checkpoint(path) -> dict:
    """Read a training checkpoint (``weights_only``, no arbitrary code execution).

    Raises
    ------
    ModelFileError
        If the file is missing, unreadable, or not a plrnn-manifolds checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"checkpoint {str(path)!r} does not exist")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ModelFileError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(ck, dict) or ck.get("format") != _FORMAT:
        raise ModelFileError(f"{path} is not a plrnn-manifolds training checkpoint")
    missing = {"config", "spec", "model", "optimizer", "scheduler", "rng", "epoch"} - set(ck)
    if missing:
        raise ModelFileError(f"checkpoint {path} misses {sorted(missing)}; it is truncated")
    return ck


def _to_tensor(x, dtype):
    return None if x is None else torch.as_tensor(x, dtype=dtype)


def _numpy_step(model: DSRModel):
    def step(z, s=None):
        zt = torch.as_tensor(z, dtype=model.dtype_)
        st = None if s is None else torch.as_tensor(s, dtype=model.dtype_)
        with torch.no_grad():
            return model.step(zt, st).to(torch.float64).numpy()

    def init(x):
        with torch.no_grad():
            return model.init_state(torch.as_tensor(x, dtype=model.dtype_)).double().numpy()

    return step, init


def evaluate(
    model: DSRModel,
    data,
    inputs=None,
    pe_steps: int = 10,
    dstsp_bins: int = 30,
    dstsp_sigma: float = 1.0,
    dh_smoothing: float = 20.0,
) -> dict:
    """Metrics of a model on a data stretch: D_stsp, D_H and PE(pe_steps).

    The model is started from ``data[0]`` (latent units inferred by the learned initialiser)
    and run freely for ``len(data)`` steps with the given inputs; D_stsp and D_H compare this
    trajectory's observed units with ``data`` (see :mod:`.metrics`). PE uses start points
    evenly spread over ``data``.

    Returns
    -------
    dict
        ``D_stsp``, ``D_H``, ``PE``, ``pe_steps``, ``n``; a diverged model gets ``inf`` for
        D_stsp and PE and 1 for D_H.
    """
    data, inputs = validate_training_data(data, inputs, seq_len=1)
    T, N = data.shape
    traj = model.generate(data[0], T, inputs).to(torch.float64).numpy()[:, :N]
    out = {"n": int(T), "pe_steps": int(min(pe_steps, T - 1))}
    if not np.all(np.isfinite(traj)):
        out.update(D_stsp=float("inf"), D_H=1.0, PE=float("inf"))
        return out
    out["D_stsp"] = _metrics.state_space_divergence(
        data, traj, **({"n_bins": dstsp_bins} if N <= 3 else {"sigma": dstsp_sigma})
    )
    out["D_H"] = _metrics.power_spectrum_distance(data, traj, smoothing=dh_smoothing)
    step, init = _numpy_step(model)
    out["PE"] = _metrics.prediction_error(step, data, out["pe_steps"], init=init, inputs=inputs)
    return out


MMD_SCALES = (1.0, 3.0, 10.0)  # kernel widths of the MMD, in units of ``mmd_bandwidth``


def _mmd2(x: torch.Tensor, y: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    r"""Biased squared MMD of point clouds ``x`` ``(n, N)`` and ``y`` ``(m, N)``:
    :math:`\overline{k(x, x)} + \overline{k(y, y)} - 2\,\overline{k(x, y)}` with the mean of
    Gaussian kernels :math:`\exp(-\|a - b\|^2 / 2\sigma^2)` over ``sigmas``. Zero for equal
    clouds, positive otherwise; :math:`O((n + m)^2 N)`."""

    def kernel_mean(a, b):
        d2 = torch.cdist(a, b) ** 2
        return torch.stack([torch.exp(-d2 / (2 * sg * sg)).mean() for sg in sigmas]).mean()

    return kernel_mean(x, x) + kernel_mean(y, y) - 2 * kernel_mean(x, y)


def _gtf_alpha_star(model: DSRModel, states, alpha_max: float) -> float:
    """alpha* = clip(1 - 1/G) from the geometric mean G of region-Jacobian spectral norms."""
    with torch.no_grad():
        Bsz, T, M = states.shape
        Ac, W1, W2, _, h2 = model.canonical()
        d = (states.reshape(-1, M) @ W2.T + h2 > 0).to(Ac.dtype)
        J = Ac + torch.einsum("mh,kh,hn->kmn", W1, d, W2)
        norms = torch.linalg.matrix_norm(J, ord=2).reshape(Bsz, T)
        G = torch.exp(torch.log(norms.clamp_min(1e-300)).mean(dim=1)).mean().item()
    return float(min(alpha_max, max(0.0, 1.0 - 1.0 / G))) if G > 0 else 0.0


class _Progress:
    """A rich progress bar that is silent when disabled (not a TTY)."""

    def __init__(self, enabled: bool, total: int, completed: int):
        self.enabled = enabled
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, completed=completed, info="")

    def update(self, info: str):
        if self.enabled:
            self.bar.update(self.task, advance=1, info=info)

    def close(self):
        if self.enabled:
            self.bar.stop()


def _info(entry: dict) -> str:
    parts = [f"loss {entry['loss']:.4g}"]
    if entry.get("reg"):
        parts.append(f"reg {entry['reg']:.3g}")
    for k in ("D_stsp", "D_H", "PE"):
        if k in entry:
            parts.append(f"{k} {entry[k]:.3g}")
    return "  ".join(parts)


# --------------------------------------------------------------------------- train
def _warm_start(model: DSRModel, init, resume: bool) -> None:
    """Copy the parameters of ``init`` (TrainResult, DSRModel or checkpoint path) into ``model``."""
    if resume:
        raise ModelFileError(
            "init and resume=True cannot be combined: a resumed run continues from its "
            "checkpoint; pass init only to the first call of a fine-tuning run"
        )
    if isinstance(init, (str, Path)):
        ck = load_checkpoint(init)
        src = model_from_spec(ck["spec"])
        src.load_state_dict(ck["model"])
    else:
        src = getattr(init, "model", init)
    if not isinstance(src, DSRModel):
        raise ModelFileError(
            f"init must be a TrainResult, a DSRModel or the path of a checkpoint.pt, got "
            f"{type(init).__name__}"
        )
    if src.spec() != model.spec():
        raise ModelFileError(
            f"cannot warm-start: init has architecture {src.spec()} but this configuration "
            f"and data need {model.spec()}; use the same model, M, P/hidden, dtype and data "
            "columns"
        )
    with torch.no_grad():
        model.load_state_dict(src.state_dict())


def train(
    data,
    config: TrainConfig | None = None,
    inputs=None,
    out_dir=None,
    resume: bool = False,
    init=None,
) -> TrainResult:
    """Train a PLRNN-family model on a time series (see the module docstring for the method).

    Parameters
    ----------
    data : array_like (T,) or (T, N)
        Observed series, ideally z-scored (:func:`~.data.zscore`); its first ``N`` latent units
        are the model's observations.
    config : TrainConfig, optional
    inputs : array_like (T, K), optional
        Time-varying external input aligned with ``data``.
    out_dir : str or Path, optional
        Where ``checkpoint.pt`` is written (atomically) every ``checkpoint_every`` epochs and
        at the end.
    resume : bool
        Continue from ``out_dir/checkpoint.pt``. The checkpoint's configuration must equal
        ``config`` except for ``epochs``, ``eval_every``, ``checkpoint_every`` and
        ``progress``, and the data must be the same (SHA-256 fingerprint).
    init : TrainResult, DSRModel or path, optional
        Warm start (fine-tuning): start from these parameters (or those of a
        ``checkpoint.pt`` written by an earlier run) instead of the seeded random
        initialisation, with a fresh optimiser and learning-rate schedule. The architecture
        (family, ``M``, ``P``/``hidden``, ``N``, ``K``, dtype) must match ``config`` and the
        data. This is how a curriculum is built, e.g. sparse teacher forcing with a short
        ``tau`` first, then a longer ``tau`` at a lower ``lr``. Not combinable with ``resume``
        (a resumed run continues from its checkpoint); to resume a fine-tuning run, pass
        ``resume=True`` without ``init``.

    Returns
    -------
    TrainResult

    Raises
    ------
    DataError
        NaN/inf in data or inputs, mismatched input length, too few training samples for
        ``seq_len``.
    ModelError
        Invalid configuration.
    ModelFileError
        ``resume`` without a usable checkpoint, or a checkpoint from another configuration
        or data set; ``init`` with a different architecture, or together with ``resume``.

    Notes
    -----
    Cost per epoch: O(batches_per_epoch * batch_size * seq_len * cost of one step), one step
    being O(M^2) (PLRNN/ALRNN) or O(M H) (shPLRNN); the regulariser adds
    O(k M^3) for ``k`` sampled regions, the GTF rule O(B T M^3) every ``gtf_update_every``
    batches.
    """
    config = (config or TrainConfig()).validate()
    data, inputs = validate_training_data(data, inputs)
    if config.test_fraction > 0:
        split = train_test_split(data, config.test_fraction, inputs)
        tr, te, tr_in, te_in = split.train, split.test, split.train_inputs, split.test_inputs
        on = "test"
    else:
        tr, te, tr_in, te_in = data, data, inputs, inputs
        on = "train"
    if tr.shape[0] < config.seq_len + 1:
        raise DataError(
            f"the training part has {tr.shape[0]} samples, too few for sequences of length "
            f"{config.seq_len} (each needs {config.seq_len + 1}); shorten seq_len, lower "
            "test_fraction or provide more data"
        )
    for enabled, name in ((config.bound_weight > 0, "bound"), (config.mmd_weight > 0, "mmd")):
        n = getattr(config, f"{name}_steps")
        if enabled and tr.shape[0] < n + 1:
            what = "free-run bounds" if name == "bound" else "free-run distribution matching"
            raise DataError(
                f"the training part has {tr.shape[0]} samples, too few for {what} of {n} "
                f"steps (each needs {n + 1}); lower {name}_steps or provide more data"
            )
    N = data.shape[1]
    K = 0 if inputs is None else inputs.shape[1]
    if config.M < N:
        raise ModelError(
            f"M = {config.M} latent units cannot hold N = {N} observed variables; use M >= {N}"
        )
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    model = build_model(
        config.model,
        config.M,
        N,
        K,
        P=config.P,
        H=config.hidden,
        seed=config.seed,
        dtype=config.dtype,
    )
    if init is not None:
        _warm_start(model, init, resume)
    opt = torch.optim.RAdam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_gamma)
    gen = torch.Generator().manual_seed(int(config.seed) + 1)
    fp = _fingerprint(data, inputs)
    alpha = float(config.gtf_alpha0)
    history: list[dict] = []
    start_epoch = 0
    ck_path = None if out_dir is None else Path(out_dir) / CHECKPOINT_NAME

    if resume:
        if ck_path is None:
            raise ModelFileError("resume=True needs out_dir (where checkpoint.pt was written)")
        ck = load_checkpoint(ck_path)
        saved = dict(ck["config"])
        now = config.to_dict()
        # Settings that do not change the trajectory of the parameters (patience only decides
        # where an exploded run stops).
        free = {"epochs", "eval_every", "checkpoint_every", "diverge_patience", "progress"}
        # A key missing from an older checkpoint had its (then only) default value.
        defaults = TrainConfig().to_dict()
        diff = sorted(k for k in now if k not in free and saved.get(k, defaults[k]) != now[k])
        if diff:
            raise ModelFileError(
                f"cannot resume: the checkpoint was trained with different settings for "
                f"{diff}; use the original configuration or start a new run"
            )
        if ck.get("data_fingerprint") != fp:
            raise ModelFileError(
                "cannot resume: the checkpoint was trained on different data (fingerprint mismatch)"
            )
        model = model_from_spec(ck["spec"], seed=config.seed)
        model.load_state_dict(ck["model"])
        opt = torch.optim.RAdam(model.parameters(), lr=config.lr)
        opt.load_state_dict(ck["optimizer"])
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_gamma)
        sched.load_state_dict(ck["scheduler"])
        _restore_rng(ck["rng"], gen)
        alpha = float(ck.get("alpha", alpha))
        history = list(ck.get("history", []))
        start_epoch = int(ck["epoch"])

    X = torch.as_tensor(tr, dtype=dtype)
    data_power = max(float(np.mean(np.asarray(tr, dtype=np.float64) ** 2)), 1e-300)
    explode_mse = 1e8 * data_power
    # Consecutive exploded epochs up to now: restored from the history on resume, so that a
    # resumed run stops where an uninterrupted one would.
    exploded = 0
    for past in reversed(history):
        if not past["mse"] > explode_mse:
            break
        exploded += 1
    S = _to_tensor(tr_in, dtype)
    L, Bsz = config.seq_len, config.batch_size
    offsets = torch.arange(L + 1)
    lo, hi = X.min(dim=0).values, X.max(dim=0).values
    pad = config.bound_margin * (hi - lo)
    lo, hi = lo - pad, hi + pad

    use_bound, use_mmd = config.bound_weight > 0, config.mmd_weight > 0
    free_steps = max(config.bound_steps if use_bound else 0, config.mmd_steps if use_mmd else 0)
    sigmas = config.mmd_bandwidth * torch.tensor(MMD_SCALES, dtype=dtype)

    def free_run_terms() -> tuple[torch.Tensor, torch.Tensor]:
        """The bound's mean squared excess and the MMD^2 of ``Bsz`` free runs from random
        training states (module docstring); each is 0 when its term is off."""
        n = free_steps
        starts = torch.randint(0, X.shape[0] - n, (Bsz,), generator=gen)
        idx = starts[:, None] + torch.arange(n + 1)
        z = model.init_state(X[starts])
        runs = []
        for t in range(1, n + 1):
            z = model.step(z, None if S is None else S[idx[:, t]])
            runs.append(z[:, :N])
        run = torch.stack(runs, dim=1)  # (B, n, N)
        zero = torch.zeros((), dtype=dtype)
        excess = zero
        if use_bound:  # over the whole run: a shared run longer than bound_steps is bounded too
            excess = torch.mean(torch.relu(run - hi) ** 2 + torch.relu(lo - run) ** 2)
        mmd = zero
        if use_mmd:
            width = hi - lo
            cloud = run[:, : config.mmd_steps : 4].reshape(-1, N)
            cloud = torch.maximum(torch.minimum(cloud, hi + width), lo - width)
            data_cloud = X[idx[:, 1 : config.mmd_steps + 1 : 4]].reshape(-1, N)
            mmd = _mmd2(cloud, data_cloud, sigmas)
        return excess, mmd

    def save(epoch: int) -> Path:
        buf = io.BytesIO()
        torch.save(
            {
                "format": _FORMAT,
                "version": 1,
                "config": config.to_dict(),
                "spec": model.spec(),
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "rng": _rng_states(gen),
                "epoch": epoch,
                "alpha": alpha,
                "history": history,
                "data_fingerprint": fp,
            },
            buf,
        )
        return atomic_write_bytes(ck_path, buf.getvalue())

    def held_out_metrics() -> dict:
        model.eval()
        return evaluate(
            model,
            te,
            te_in,
            config.pe_steps,
            config.dstsp_bins,
            config.dstsp_sigma,
            config.dh_smoothing,
        )

    show = config.progress if config.progress is not None else sys.stderr.isatty()
    bar = _Progress(bool(show), config.epochs, min(start_epoch, config.epochs))
    last_ck = ck_path if resume else None
    try:
        for epoch in range(start_epoch, config.epochs):
            model.train()
            sums = {"loss": 0.0, "mse": 0.0, "reg": 0.0, "bound": 0.0, "mmd": 0.0}
            for b in range(config.batches_per_epoch):
                starts = torch.randint(0, X.shape[0] - L, (Bsz,), generator=gen)
                idx = starts[:, None] + offsets
                xb = X[idx]  # (B, L+1, N)
                sb = None if S is None else S[idx]
                xf = xb
                if config.noise > 0:
                    xf = xb + config.noise * torch.randn(xb.shape, generator=gen, dtype=dtype)
                z = model.init_state(xf[:, 0])
                preds, states = [], []
                for t in range(1, L + 1):
                    z = model.step(z, None if sb is None else sb[:, t])
                    preds.append(z[:, :N])
                    states.append(z)
                    if config.gtf:
                        z = torch.cat([(1 - alpha) * z[:, :N] + alpha * xf[:, t], z[:, N:]], 1)
                    elif t % config.tau == 0:
                        z = torch.cat([xf[:, t], z[:, N:]], dim=1)
                pred = torch.stack(preds, dim=1)
                mse = torch.mean((pred - xb[:, 1:]) ** 2)
                loss = mse
                reg_val = 0.0
                zs = torch.stack(states, dim=1)  # (B, L, M)
                if config.lambda_reg > 0:
                    with torch.no_grad():
                        pats = model.pattern(zs.reshape(-1, model.M)).to(torch.uint8)
                        uniq = torch.unique(pats, dim=0)
                    k = max(1, math.ceil(config.reg_fraction * uniq.shape[0]))
                    sel = uniq[torch.randperm(uniq.shape[0], generator=gen)[:k]]
                    dets = torch.linalg.det(model.region_jacobians(sel.bool()))
                    reg = torch.relu(-dets).mean()
                    loss = loss + config.lambda_reg * reg
                    reg_val = float(reg.detach())
                if free_steps:
                    excess, mmd = free_run_terms()
                    loss = loss + config.bound_weight * torch.log1p(excess)
                    loss = loss + config.mmd_weight * mmd
                    sums["bound"] += float(excess.detach())
                    sums["mmd"] += float(mmd.detach())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                opt.step()
                if config.gtf and (b + 1) % config.gtf_update_every == 0:
                    a_star = _gtf_alpha_star(model, zs.detach(), config.gtf_alpha_max)
                    alpha = config.gtf_gamma * alpha + (1 - config.gtf_gamma) * a_star
                sums["loss"] += float(loss.detach())
                sums["mse"] += float(mse.detach())
                sums["reg"] += reg_val
            lr_now = opt.param_groups[0]["lr"]
            sched.step()
            nb = config.batches_per_epoch
            entry = {
                "epoch": epoch + 1,
                "loss": sums["loss"] / nb,
                "mse": sums["mse"] / nb,
                "reg": sums["reg"] / nb,
                "bound": sums["bound"] / nb,
                "mmd": sums["mmd"] / nb,
                "lr": lr_now,
                "alpha": alpha if config.gtf else 0.0,
            }
            # An MSE 1e8 times that of predicting zero means the free-running stretches between
            # forcings explode (the linear part of the model is unstable over seq_len steps).
            # Such epochs can recover (an ECG run fell from 1e6 to 0.9 after one epoch;
            # cortical-neuron runs after 3 and 8), so stop only after diverge_patience of them.
            exploded = exploded + 1 if entry["mse"] > explode_mse else 0
            patience = config.diverge_patience
            if not math.isfinite(entry["mse"]) or (patience and exploded >= patience):
                streak = (
                    f", {exploded} exploded epochs in a row (diverge_patience = {patience}, "
                    "raise it to give the run longer to recover)"
                    if math.isfinite(entry["mse"])
                    else ""
                )
                raise ModelError(
                    f"training diverged: epoch {epoch + 1} has MSE {entry['mse']:.3g} ("
                    f"{data_power:.3g} for predicting zero){streak}; lower lr, shorten "
                    "seq_len, force more often (smaller tau, or gtf) or use fewer latent/ReLU "
                    "units (M, P)"
                )
            if config.eval_every and (epoch + 1) % config.eval_every == 0:
                m = held_out_metrics()
                entry.update(D_stsp=m["D_stsp"], D_H=m["D_H"], PE=m["PE"])
            history.append(entry)
            bar.update(_info(entry))
            last = epoch + 1 == config.epochs
            if ck_path is not None and (
                last or (config.checkpoint_every and (epoch + 1) % config.checkpoint_every == 0)
            ):
                last_ck = save(epoch + 1)
    finally:
        bar.close()

    final = held_out_metrics()
    final["on"] = on
    return TrainResult(model, config, history, final, max(start_epoch, config.epochs), last_ck)


class _CallableModule(types.ModuleType):
    """Module type whose instances forward calls to :func:`train`.

    The package attribute ``plrnn_manifolds.training.train`` is this module (Python binds
    submodules to package attributes), so making it callable keeps
    ``from plrnn_manifolds.training import train; train(data, config)`` working.
    """

    def __call__(self, *args, **kwargs):
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
