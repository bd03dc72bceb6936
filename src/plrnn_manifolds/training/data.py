r"""Time-series utilities for dynamical-systems reconstruction (numpy/scipy only).

Everything here works without PyTorch: loading ``.npy``/``.csv``/``.npz`` files, validating
training data, z-scoring with its inverse, contiguous train/test splits, and delay embedding with
documented rules for choosing the delay and the embedding dimension.

Conventions
-----------
A time series is a float64 array of shape ``(T, N)``: ``T`` samples of ``N`` observed variables
(a 1-D array is read as ``N = 1``). External inputs are an array ``(T, K)`` aligned sample by
sample with the data.

Delay embedding (:func:`delay_embed`) uses *lags into the past*: row ``t`` of the embedding of
a scalar series ``x`` with dimension ``m`` and delay ``tau`` is

.. math::

    y_t = (x_{t + (m-1)\tau},\; x_{t + (m-2)\tau},\; \dots,\; x_t), \qquad
    t = 0, \dots, T - 1 - (m-1)\tau,

so the first coordinate is the most recent sample and an input ``s`` stays aligned with the first
coordinate after dropping its first ``(m-1)\tau`` samples (``Embedding.offset``).

Choice of the delay (:func:`choose_delay`): the first local minimum of the average mutual
information (AMI, Fraser & Swinney 1986, 32 equal-width bins) over lags ``1..max_lag``
(``method="ami"``, the default), ignoring minima inside the estimator's noise floor (AMI below
twice the AMI between the series and a seeded random permutation of itself, i.e. the bias of
the estimator for independent samples, where a decayed curve is flat and noisy); if AMI has
no such minimum in that range, the first lag at which the autocorrelation drops below ``1/e``
is used instead and the returned rule says so.
``method="acf_zero"`` and ``method="acf_1e"`` select the first zero crossing or first ``1/e``
crossing of the autocorrelation directly.

Choice of the dimension (:func:`choose_dimension`): false nearest neighbours (Kennel, Brown &
Abarbanel 1992). For each ``m`` the nearest neighbour ``j`` of every (sub-sampled) point ``i`` in
the ``m``-dimensional embedding is found (excluding temporal neighbours within a Theiler window);
the pair is *false* if adding the ``(m+1)``-th coordinate separates it, i.e. if
``|x_{i+m tau} - x_{j+m tau}| / ||y_i - y_j|| > r_tol`` (default 10) or
``||y^{m+1}_i - y^{m+1}_j|| / std(x) > a_tol`` (default 2). The dimension is the smallest ``m``
whose false-neighbour fraction is below ``threshold`` (default 0.01).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..errors import DataError

__all__ = [
    "Embedding",
    "Prepared",
    "Scaler",
    "Split",
    "TimeSeries",
    "autocorrelation",
    "ami_noise_floor",
    "average_mutual_information",
    "check_timeseries",
    "choose_delay",
    "choose_dimension",
    "delay_embed",
    "embed",
    "false_nearest_neighbours",
    "load_timeseries",
    "prepare",
    "train_test_split",
    "validate_training_data",
    "zscore",
]


# --------------------------------------------------------------------------- validation
def check_timeseries(name: str, x, min_length: int = 1) -> np.ndarray:
    """Convert a time series to a finite float64 array of shape ``(T, N)``.

    Parameters
    ----------
    name : str
        What the array is, for error messages (``"data"``, ``"inputs"``, ...).
    x : array_like, shape (T,) or (T, N)
        The series; a 1-D array becomes one column.
    min_length : int
        Minimum number of samples ``T``.

    Raises
    ------
    DataError
        If ``x`` is not numeric, has more than two dimensions, is shorter than ``min_length``,
        has no columns, or contains NaN or infinite values (the message gives the first bad
        sample and column).
    """
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} is not a rectangular numeric array ({exc}); check that every row has the "
            "same number of numeric entries"
        ) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(
            f"{name} must be a time series of shape (T,) or (T, N), got shape {arr.shape}"
        )
    if arr.shape[1] == 0:
        raise DataError(f"{name} has no columns (shape {arr.shape})")
    if arr.shape[0] < min_length:
        raise DataError(
            f"{name} has {arr.shape[0]} samples but at least {min_length} are needed; "
            "use a longer recording or a shorter sequence length"
        )
    finite = np.isfinite(arr)
    if not finite.all():
        t, j = np.argwhere(~finite)[0]
        n_bad = int(arr.size - np.count_nonzero(finite))
        raise DataError(
            f"{name} contains {n_bad} NaN or infinite value(s), the first at sample {t}, "
            f"column {j}; remove or interpolate them before training"
        )
    return arr


def validate_training_data(data, inputs=None, seq_len: int | None = None):
    """Validate a training series and its optional external input.

    Parameters
    ----------
    data : array_like, shape (T,) or (T, N)
    inputs : array_like, shape (T,) or (T, K), optional
        External input aligned with ``data`` sample by sample.
    seq_len : int, optional
        Training sequence length; a sequence needs ``seq_len + 1`` samples (initial state plus
        ``seq_len`` predicted steps).

    Returns
    -------
    data : ndarray (T, N)
    inputs : ndarray (T, K) or None

    Raises
    ------
    DataError
        On NaN/inf, too few samples for ``seq_len``, or an input whose length differs from the
        data's.
    """
    min_len = 2 if seq_len is None else int(seq_len) + 1
    if seq_len is not None and int(seq_len) < 1:
        raise DataError(f"the sequence length must be at least 1, got {seq_len}")
    data = check_timeseries("data", data)
    if data.shape[0] < min_len:
        raise DataError(
            f"data has {data.shape[0]} samples, too few for sequences of length {seq_len} "
            f"(each needs {min_len} samples); use a shorter sequence length or more data"
        )
    if inputs is not None:
        inputs = check_timeseries("inputs", inputs)
        if inputs.shape[0] != data.shape[0]:
            raise DataError(
                f"the external input has {inputs.shape[0]} samples but the data has "
                f"{data.shape[0]}; inputs must be aligned with the data sample by sample"
            )
    return data, inputs


# --------------------------------------------------------------------------- loading
@dataclass
class TimeSeries:
    """A loaded time series.

    Attributes
    ----------
    data : ndarray (T, N)
        Observed variables.
    inputs : ndarray (T, K) or None
        External input columns, if requested.
    source : str
        The file it came from.
    columns : list of int
        Columns (of the array or table) that became ``data``.
    input_columns : list of int
        Columns that became ``inputs``.
    """

    data: np.ndarray
    inputs: np.ndarray | None
    source: str
    columns: list = field(default_factory=list)
    input_columns: list = field(default_factory=list)


def _read_csv(path: Path) -> np.ndarray:
    with open(path, newline="") as fh:
        lines = [ln for ln in fh.read().splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise DataError(f"{path} is empty")
    sample = lines[min(1, len(lines) - 1)]
    delim = next((d for d in (",", ";", "\t") if d in sample), None)

    def parse(line):
        parts = next(csv.reader([line], delimiter=delim)) if delim else line.split()
        return [float(p) for p in parts]

    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(parse(line))
        except ValueError:
            if i == 0:  # a header row
                continue
            raise DataError(
                f"{path}: line {i + 1} has a non-numeric entry ({line[:60]!r}); only the first "
                "line may be a header"
            ) from None
    if not rows:
        raise DataError(f"{path} has a header but no numeric rows")
    if len({len(r) for r in rows}) != 1:
        raise DataError(f"{path}: rows have different numbers of columns")
    return np.array(rows, dtype=np.float64)


def _select(name: str, arr: np.ndarray, cols, path) -> tuple[np.ndarray, list]:
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2:
        raise DataError(f"{path}: array {name!r} must be 1-D or 2-D (T, N), got {arr.shape}")
    if cols is None:
        return arr, list(range(arr.shape[1]))
    cols = [int(c) for c in cols]
    bad = [c for c in cols if not -arr.shape[1] <= c < arr.shape[1]]
    if bad:
        raise DataError(
            f"{path}: column(s) {bad} do not exist; {name} has {arr.shape[1]} column(s) "
            f"(0..{arr.shape[1] - 1})"
        )
    return arr[:, cols], cols


def load_timeseries(
    path,
    columns=None,
    input_columns=None,
    key: str | None = None,
    input_key: str | None = None,
) -> TimeSeries:
    """Load a time series from ``.npy``, ``.csv`` (or ``.txt``) or ``.npz``.

    Parameters
    ----------
    path : str or Path
        File to read. CSV files may use ``,``, ``;``, tab or whitespace as delimiter, may start
        with one header line, and skip lines starting with ``#``.
    columns : sequence of int, optional
        Columns that form the data (default: all columns not used as inputs).
    input_columns : sequence of int, optional
        Columns (of the same array, or of ``input_key`` for ``.npz``) that form the external
        input.
    key : str, optional
        Array name inside an ``.npz`` file. Default: ``"data"`` if present, else the only array.
    input_key : str, optional
        Array name inside an ``.npz`` file holding the inputs.

    Returns
    -------
    TimeSeries

    Raises
    ------
    DataError
        If the file is missing or unreadable, the format is unknown, a key or column does not
        exist, or the values are not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    input_arr = None
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            arr = _read_csv(path)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                names = list(f.keys())
                if key is None:
                    if "data" in names:
                        key = "data"
                    elif len(names) == 1:
                        key = names[0]
                    else:
                        raise DataError(
                            f"{path} holds several arrays {names}; choose one with key=..."
                        )
                for k in (key, input_key):
                    if k is not None and k not in names:
                        raise DataError(f"{path} has no array {k!r}; it holds {names}")
                arr = f[key]
                input_arr = f[input_key] if input_key is not None else None
        else:
            raise DataError(
                f"unknown data format {suffix!r} for {path}; use .npy, .csv/.txt or .npz"
            )
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not np.issubdtype(np.asarray(arr).dtype, np.number):
        raise DataError(f"{path}: the array is not numeric (dtype {np.asarray(arr).dtype})")
    arr = np.asarray(arr, dtype=np.float64)
    inputs, in_cols = None, []
    if input_arr is not None:
        inputs, in_cols = _select(input_key, np.asarray(input_arr, np.float64), input_columns, path)
    elif input_columns is not None:
        inputs, in_cols = _select("the table", arr, input_columns, path)
    if columns is None and input_arr is None and in_cols:
        ncol = 1 if arr.ndim == 1 else arr.shape[1]
        used = {c % ncol for c in in_cols}
        columns = [c for c in range(ncol) if c not in used]
        if not columns:
            raise DataError(f"{path}: every column is an input column; no data column is left")
    data, cols = _select(key or "the table", arr, columns, path)
    data, inputs = validate_training_data(data, inputs)
    return TimeSeries(data, inputs, str(path), cols, in_cols)


# --------------------------------------------------------------------------- scaling, splits
@dataclass(frozen=True)
class Scaler:
    r"""Per-column z-scoring :math:`z = (x - \mu) / \sigma` and its inverse.

    Columns with zero variance (standard deviation below ``1e-12 max(1, |mean|)``) get
    :math:`\sigma = 1` (they are only centred), so the transform is always invertible.
    """

    mean: np.ndarray
    std: np.ndarray

    def transform(self, x) -> np.ndarray:
        """Map data to z-scores."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, z) -> np.ndarray:
        """Map z-scores back to the original units."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        """Plain-list form for JSON."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


def zscore(x) -> tuple[np.ndarray, Scaler]:
    """Z-score each column of a time series.

    Returns
    -------
    z : ndarray (T, N)
        Zero-mean, unit-variance columns (population standard deviation, ``ddof=0``).
    scaler : Scaler
        ``scaler.inverse_transform(z)`` recovers ``x`` to round-off.

    Raises
    ------
    DataError
        On NaN/inf or non-numeric input.
    """
    x = check_timeseries("data", x)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    # Zero-variance columns (up to round-off of the mean): centring only keeps the transform
    # invertible and avoids dividing round-off noise up to unit variance.
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    scaler = Scaler(mean, std)
    return scaler.transform(x), scaler


@dataclass
class Split:
    """A contiguous train/test split; the test part is the end of the series."""

    train: np.ndarray
    test: np.ndarray
    train_inputs: np.ndarray | None = None
    test_inputs: np.ndarray | None = None


def train_test_split(data, test_fraction: float = 0.2, inputs=None) -> Split:
    """Split a series into a leading training part and a trailing test part.

    Time series are not shuffled: the test part is the last ``round(test_fraction * T)``
    samples, which keeps it a held-out stretch of the dynamics.

    Raises
    ------
    DataError
        If ``test_fraction`` is not in (0, 1), either part would be empty, or the input length
        does not match.
    """
    data, inputs = validate_training_data(data, inputs)
    if not 0.0 < float(test_fraction) < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    T = data.shape[0]
    n_test = int(round(test_fraction * T))
    if n_test < 1 or n_test >= T:
        raise DataError(
            f"a test fraction of {test_fraction} of {T} samples leaves an empty train or test set"
        )
    cut = T - n_test
    if inputs is None:
        return Split(data[:cut], data[cut:])
    return Split(data[:cut], data[cut:], inputs[:cut], inputs[cut:])


# --------------------------------------------------------------------------- delay embedding
def _scalar(name: str, x) -> np.ndarray:
    x = check_timeseries(name, x)
    if x.shape[1] != 1:
        raise DataError(f"{name} must be a single (scalar) series, got {x.shape[1]} columns")
    return x[:, 0]


def delay_embed(x, dim: int, delay: int) -> np.ndarray:
    r"""Delay-embed a series with lags into the past.

    Parameters
    ----------
    x : array_like, shape (T,) or (T, N)
    dim : int
        Embedding dimension ``m >= 1`` (per column).
    delay : int
        Delay ``tau >= 1`` in samples.

    Returns
    -------
    ndarray, shape (T - (m-1) tau, N m)
        Row ``t`` is :math:`(x_{t+(m-1)\tau}, x_{t+(m-2)\tau}, \dots, x_t)` for each column in
        turn (blocks: all lags of column 0, then column 1, ...); column ``j m`` is the most
        recent value of column ``j``, aligned with sample ``t + (m-1) tau`` of the input.
        Cost O(T N m).

    Raises
    ------
    DataError
        If ``dim`` or ``delay`` is not a positive integer or the series is too short.
    """
    x = check_timeseries("data", x)
    dim, delay = _positive_int("dim", dim), _positive_int("delay", delay)
    span = (dim - 1) * delay
    T = x.shape[0]
    if T <= span:
        raise DataError(
            f"a series of {T} samples is too short for dimension {dim} and delay {delay} "
            f"(needs more than {span} samples)"
        )
    n = T - span
    blocks = []
    for j in range(x.shape[1]):
        for k in range(dim):
            start = span - k * delay
            blocks.append(x[start : start + n, j])
    return np.stack(blocks, axis=1)


def _positive_int(name: str, v) -> int:
    try:
        iv = int(v)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a positive integer, got {v!r}") from None
    if iv != v or iv < 1:
        raise DataError(f"{name} must be a positive integer, got {v!r}")
    return iv


def autocorrelation(x, max_lag: int) -> np.ndarray:
    """Sample autocorrelation ``r(0..max_lag)`` of a scalar series (FFT, O(T log T))."""
    x = _scalar("data", x)
    max_lag = min(_positive_int("max_lag", max_lag), x.shape[0] - 1)
    xc = x - x.mean()
    n = 1 << int(math.ceil(math.log2(2 * len(xc))))
    f = np.fft.rfft(xc, n)
    acf = np.fft.irfft(f * np.conj(f), n)[: max_lag + 1]
    if acf[0] <= 0:
        raise DataError("the series is constant; its autocorrelation is undefined")
    return acf / acf[0]


def _binned(x: np.ndarray, n_bins: int) -> np.ndarray:
    lo, hi = x.min(), x.max()
    if hi <= lo:
        raise DataError("the series is constant; its mutual information is undefined")
    return np.minimum(((x - lo) / (hi - lo) * n_bins).astype(int), n_bins - 1)


def _mutual_information(a: np.ndarray, b: np.ndarray, n_bins: int) -> float:
    joint = np.bincount(a * n_bins + b, minlength=n_bins * n_bins).reshape(n_bins, n_bins)
    pj = joint / joint.sum()
    pa, pb = pj.sum(1), pj.sum(0)
    nz = pj > 0
    return float(np.sum(pj[nz] * np.log(pj[nz] / np.outer(pa, pb)[nz])))


def average_mutual_information(x, max_lag: int, n_bins: int = 32) -> np.ndarray:
    r"""Average mutual information :math:`I(\tau)` for lags ``0..max_lag`` (in nats).

    :math:`I(\tau) = \sum_{ij} p_{ij}(\tau) \log \frac{p_{ij}(\tau)}{p_i p_j}` with ``n_bins``
    equal-width bins over the range of ``x``. Cost O(max_lag (T + n_bins^2)).
    """
    x = _scalar("data", x)
    max_lag = min(_positive_int("max_lag", max_lag), x.shape[0] - 2)
    idx = _binned(x, n_bins)
    return np.array(
        [
            _mutual_information(idx[: len(idx) - lag], idx[lag:], n_bins)
            for lag in range(max_lag + 1)
        ]
    )


def ami_noise_floor(x, n_bins: int = 32, seed: int = 0) -> float:
    """Twice the AMI between ``x`` and a (seeded) random permutation of itself.

    The permuted copy is independent of ``x`` but has the same marginal distribution, so its
    AMI is the plug-in estimator's bias for this series length and binning; AMI values below
    twice that are indistinguishable from no dependence.
    """
    x = _scalar("data", x)
    idx = _binned(x, n_bins)
    perm = np.random.default_rng(seed).permutation(len(idx))
    return 2.0 * _mutual_information(idx, idx[perm], n_bins)


def choose_delay(x, method: str = "ami", max_lag: int | None = None) -> tuple[int, str]:
    """Choose an embedding delay for a scalar series (see the module docstring for the rules).

    Parameters
    ----------
    x : array_like, shape (T,) or (T, 1)
    method : {"ami", "acf_zero", "acf_1e"}
    max_lag : int, optional
        Largest lag searched (default ``min(T // 10, 1000)``, at least 2).

    Returns
    -------
    delay : int
    rule : str
        Which rule produced it (e.g. ``"first minimum of AMI"`` or the fallback).

    Raises
    ------
    DataError
        If no lag in range satisfies the rule (the message suggests a larger ``max_lag``).
    """
    x = _scalar("data", x)
    if max_lag is None:
        max_lag = max(2, min(x.shape[0] // 10, 1000))
    max_lag = _positive_int("max_lag", max_lag)
    if method == "ami":
        ami = average_mutual_information(x, max_lag, n_bins=32)
        # Minima inside the estimator's noise floor are artefacts of a flat, decayed curve.
        floor = ami_noise_floor(x, n_bins=32)
        for lag in range(1, len(ami) - 1):
            if ami[lag] < ami[lag - 1] and ami[lag] <= ami[lag + 1] and ami[lag] > floor:
                return lag, "first minimum of AMI"
        lag, _ = choose_delay(x, "acf_1e", max_lag)
        return lag, "first 1/e crossing of the autocorrelation (AMI has no minimum)"
    if method in ("acf_zero", "acf_1e"):
        acf = autocorrelation(x, max_lag)
        level = 0.0 if method == "acf_zero" else math.exp(-1.0)
        below = np.nonzero(acf[1:] <= level)[0]
        if below.size == 0:
            raise DataError(
                f"the autocorrelation stays above {level:.3f} for all lags up to {max_lag}; "
                "raise max_lag or use method='ami'"
            )
        rule = "first zero" if method == "acf_zero" else "first 1/e crossing"
        return int(below[0]) + 1, f"{rule} of the autocorrelation"
    raise DataError(f"unknown delay rule {method!r}; use 'ami', 'acf_zero' or 'acf_1e'")


def false_nearest_neighbours(
    x,
    delay: int,
    max_dim: int = 10,
    r_tol: float = 10.0,
    a_tol: float = 2.0,
    theiler: int | None = None,
    max_points: int = 4000,
) -> np.ndarray:
    """Fraction of false nearest neighbours for dimensions ``1..max_dim``.

    Kennel et al. (1992) criteria (module docstring). Query points are at most ``max_points``,
    evenly spaced (deterministic), and neighbours closer than ``theiler`` samples in time
    (default ``delay``) are excluded. Cost O(max_dim P log T) with a k-d tree.

    Returns
    -------
    ndarray, shape (max_dim,)
        Entry ``m - 1`` is the false-neighbour fraction of dimension ``m``.
    """
    x = _scalar("data", x)
    delay = _positive_int("delay", delay)
    max_dim = _positive_int("max_dim", max_dim)
    theiler = delay if theiler is None else int(theiler)
    sd = x.std()
    if sd == 0:
        raise DataError("the series is constant; false nearest neighbours are undefined")
    fractions = np.empty(max_dim)
    for m in range(1, max_dim + 1):
        n = x.shape[0] - m * delay  # points that also have the (m+1)-th coordinate
        if n < 10:
            raise DataError(
                f"the series is too short for false nearest neighbours up to dimension {max_dim}"
                f" with delay {delay}"
            )
        # Coordinates x_t, x_{t+tau}, ... (forward lags; equivalent up to reordering).
        Y = np.stack([x[k * delay : k * delay + n] for k in range(m)], axis=1)
        extra = x[m * delay : m * delay + n]
        tree = cKDTree(Y)
        q = np.unique(np.linspace(0, n - 1, min(n, max_points)).astype(int))
        k = min(n, 2 * theiler + 2)
        dist, nb = tree.query(Y[q], k=k)
        dist = np.atleast_2d(dist)
        nb = np.atleast_2d(nb)
        ok = np.abs(nb - q[:, None]) > theiler
        first = np.argmax(ok, axis=1)
        has = ok[np.arange(len(q)), first]
        d = dist[np.arange(len(q)), first][has]
        j = nb[np.arange(len(q)), first][has]
        i = q[has]
        sep = np.abs(extra[i] - extra[j])
        # Exact repeats (periodic signals) have d at round-off level; the floor keeps their
        # round-off separations from counting as false neighbours.
        crit1 = sep > r_tol * np.maximum(d, 1e-9 * sd)
        crit2 = np.sqrt(d**2 + sep**2) / sd > a_tol
        fractions[m - 1] = float(np.mean(crit1 | crit2)) if len(i) else 1.0
    return fractions


def choose_dimension(
    x, delay: int, max_dim: int = 10, threshold: float = 0.01, **fnn_kwargs
) -> tuple[int, np.ndarray]:
    """Smallest dimension whose false-nearest-neighbour fraction is below ``threshold``.

    Returns
    -------
    dim : int
    fractions : ndarray (max_dim,)
        The FNN curve, for reporting.

    Raises
    ------
    DataError
        If no dimension up to ``max_dim`` reaches the threshold (noisy data: raise the
        threshold or ``max_dim``).
    """
    fr = false_nearest_neighbours(x, delay, max_dim=max_dim, **fnn_kwargs)
    below = np.nonzero(fr < threshold)[0]
    if below.size == 0:
        raise DataError(
            f"no embedding dimension up to {max_dim} has fewer than {threshold:.1%} false "
            f"nearest neighbours (smallest {fr.min():.1%} at m = {int(fr.argmin()) + 1}); "
            "noisy data usually needs a larger threshold"
        )
    return int(below[0]) + 1, fr


@dataclass
class Embedding:
    """A delay embedding and how it was chosen.

    Attributes
    ----------
    data : ndarray (T - offset, N dim)
    dim, delay : int
    offset : int
        ``(dim - 1) * delay``: drop this many leading samples of aligned inputs.
    rule : str
        How delay and dimension were chosen.
    fnn : ndarray or None
        False-neighbour fractions when the dimension was chosen automatically.
    """

    data: np.ndarray
    dim: int
    delay: int
    offset: int
    rule: str
    fnn: np.ndarray | None = None


def embed(
    x,
    dim: int | None = None,
    delay: int | None = None,
    delay_method: str = "ami",
    max_dim: int = 10,
    threshold: float = 0.01,
) -> Embedding:
    """Delay-embed a scalar series, choosing delay (AMI) and dimension (FNN) when not given."""
    x = _scalar("data", x)
    rules = []
    if delay is None:
        delay, r = choose_delay(x, delay_method)
        rules.append(f"delay {delay}: {r}")
    else:
        rules.append(f"delay {delay}: given")
    fnn = None
    if dim is None:
        dim, fnn = choose_dimension(x, delay, max_dim=max_dim, threshold=threshold)
        rules.append(f"dimension {dim}: false nearest neighbours < {threshold:.1%}")
    else:
        rules.append(f"dimension {dim}: given")
    data = delay_embed(x, dim, delay)
    return Embedding(data, int(dim), int(delay), (int(dim) - 1) * int(delay), "; ".join(rules), fnn)


# --------------------------------------------------------------------------- pipeline
@dataclass
class Prepared:
    """A series prepared for training by :func:`prepare`, with everything needed to undo it.

    Attributes
    ----------
    data : ndarray (T', N m)
        Z-scored (optionally) and delay-embedded observations.
    inputs : ndarray (T', K) or None
        Z-scored (optionally) inputs aligned with ``data``.
    scaler, input_scaler : Scaler or None
        Z-scoring of the raw data columns and inputs (``None`` when not standardised).
    dim, delay, offset : int
        Embedding dimension, delay and dropped leading samples (after downsampling).
    rule : str
        How delay and dimension were chosen.
    start, stop, downsample : int
        The raw sample range ``[start, stop)`` and the downsampling factor applied first.
    """

    data: np.ndarray
    inputs: np.ndarray | None
    scaler: Scaler | None
    input_scaler: Scaler | None
    dim: int
    delay: int
    offset: int
    rule: str
    start: int
    stop: int
    downsample: int

    def to_dict(self) -> dict:
        """JSON-ready description (without the arrays)."""
        return {
            "zscore": None if self.scaler is None else self.scaler.to_dict(),
            "input_zscore": None if self.input_scaler is None else self.input_scaler.to_dict(),
            "embedding": {
                "dim": self.dim,
                "delay": self.delay,
                "offset": self.offset,
                "rule": self.rule,
            },
            "start": self.start,
            "stop": self.stop,
            "downsample": self.downsample,
            "shape": list(self.data.shape),
        }


def prepare(
    data,
    inputs=None,
    start: int = 0,
    stop: int | None = None,
    downsample: int = 1,
    standardize: bool = True,
    embed_dim: int = 1,
    delay: int | None = None,
    delay_method: str = "ami",
) -> Prepared:
    """Cut, downsample, z-score and delay-embed a series (in this order).

    Parameters
    ----------
    data : array_like (T,) or (T, N)
    inputs : array_like (T, K), optional
    start, stop : int
        Raw sample range ``[start, stop)`` kept (e.g. a stimulus step).
    downsample : int
        Keep every ``downsample``-th sample (plain decimation, no filter: spikes keep their
        sampled peak values).
    standardize : bool
        Z-score data and inputs column-wise (see :func:`zscore`).
    embed_dim : int
        Delay-embedding dimension per column (1: no embedding).
    delay : int, optional
        Embedding delay in (downsampled) samples; default chosen from the first column by
        :func:`choose_delay` with ``delay_method``.

    Raises
    ------
    DataError
        On bad data or ranges (see :func:`validate_training_data`, :func:`delay_embed`).
    """
    data, inputs = validate_training_data(data, inputs)
    T = data.shape[0]
    stop = T if stop is None else int(stop)
    start = int(start)
    if not 0 <= start < stop <= T:
        raise DataError(f"the sample range [{start}, {stop}) is not inside 0..{T}")
    ds = _positive_int("downsample", downsample)
    x = data[start:stop:ds]
    s = None if inputs is None else inputs[start:stop:ds]
    if x.shape[0] < 2:
        raise DataError("fewer than 2 samples remain after cutting and downsampling")
    scaler = input_scaler = None
    if standardize:
        x, scaler = zscore(x)
        if s is not None:
            s, input_scaler = zscore(s)
    dim = _positive_int("embed_dim", embed_dim)
    rule = "no embedding"
    if dim > 1:
        if delay is None:
            delay, why = choose_delay(x[:, 0], delay_method)
            rule = f"delay {delay}: {why}; dimension {dim}: given"
        else:
            rule = f"delay {delay}: given; dimension {dim}: given"
        x = delay_embed(x, dim, delay)
    delay = 1 if delay is None else int(delay)
    offset = (dim - 1) * delay
    if s is not None:
        s = s[offset:]
    return Prepared(x, s, scaler, input_scaler, dim, delay, offset, rule, start, stop, ds)
