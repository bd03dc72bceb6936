r"""Model files: save and load maps as JSON, npz, or PyTorch state_dicts.

File layout (``.json`` and ``.npz``)
-----------------------------------
One key ``family`` (a name from :data:`~plrnn_manifolds.models.families.FAMILIES`) plus exactly
that family's parameter names, e.g. ``{"family": "plrnn", "A": [...], "W": [[...], ...],
"h": [...]}``. Vectors are lists, matrices lists of rows, scalars plain numbers; in ``.npz``
every entry is an array (``family`` a 0-d string array, so no pickles are needed). A map whose
family is unknown, whose ``params`` are empty, or whose ``params`` do not rebuild exactly the
same canonical map (e.g. a constant input ``s`` folded into ``h1``, or a map edited with
:meth:`~plrnn_manifolds.maps.PLMap.with_h1`) is saved as ``family: "canonical"`` with
``A, W1, W2, h1, h2``, so that a file always reproduces the map bit for bit. Floats are written
with Python's shortest round-trip repr, so JSON round trips are exact.

PyTorch files (``.pt`` / ``.pth``)
---------------------------------
``torch.save(model.state_dict(), path)`` files as the DurstewitzLab code writes them are read by
a torch-free, code-free reader (:mod:`._torchzip`); torch need not be installed. Two layouts:

* **ALRNN** (DurstewitzLab/ALRNN-DSR): keys ``A (M,)``, ``W (M, M)``, ``h (M,)``, ``B (N, M)``
  with :math:`z' = A \odot z + W [z_{1..M-P}, \mathrm{relu}(z_{M-P+1..M})] + h`. ``P`` is not
  stored: it comes from the ``P=`` argument or else from a ``_p<P>`` part of the file name
  (``alrnn_lorenz63_m30_p10.pt`` has ``P = 10``). ``B`` only initialises the latent state from
  an observation (:math:`z_0 = x B`, then :math:`z_{0,1..N} = x`) and is not part of the map;
  read it with :func:`read_state_dict` (``read_state_dict(path)["B"]``).
* **dendPLRNN / PLRNN** (DurstewitzLab/dendPLRNN, BPTT_TF): keys ``latent_model.latent_step.AW``
  and ``...h``, plus ``...alphas (B,)`` and ``...thetas (M, B)`` for the dendritic model. The
  diagonal of ``AW`` is :math:`A`, the rest is :math:`W`. That code computes
  :math:`\sum_b \alpha_b \mathrm{relu}(z + \theta_b)`, so the thresholds are negated for
  :func:`~plrnn_manifolds.models.families.dendplrnn`, which uses :math:`\mathrm{relu}(z -
  \theta_b)`. Without alphas/thetas the file is a vanilla PLRNN. Caveats that a state_dict
  cannot reveal: the same code's ``clipped-PLRNN`` stores the same keys as the dendritic model
  (its files would be read as dendritic, which is wrong), and models trained with
  ``mean_centering`` or a ``clip_range`` are not piecewise linear in this sense.

Errors: :class:`~plrnn_manifolds.errors.ModelFileError` when a file is missing, does not parse,
is truncated, misses keys or has an unknown suffix; :class:`~plrnn_manifolds.errors.ModelError`
when the numbers are wrong (shapes, NaN, unknown family). Every message names the file.
"""

from __future__ import annotations

import importlib.resources
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_bytes, atomic_write_text
from .._validate import as_float_array
from ..errors import ModelError, ModelFileError
from ..maps import PLMap
from ._torchzip import ZIP_ERRORS, read_torch_file
from .families import FAMILIES, alrnn, dendplrnn, from_params, plrnn

__all__ = [
    "example_names",
    "example_path",
    "load_model",
    "model_from_dict",
    "model_from_state_dict",
    "model_to_dict",
    "read_state_dict",
    "save_model",
]

_JSON_SUFFIXES = (".json",)
_NPZ_SUFFIXES = (".npz",)
_TORCH_SUFFIXES = (".pt", ".pth")
_SUPPORTED = "'.json', '.npz', '.pt' or '.pth'"


# ------------------------------------------------------------------------------ dict conversion
def _same_map(a: PLMap, b: PLMap) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("A", "W1", "W2", "h1", "h2"))


def _family_and_params(model: PLMap) -> tuple[str, dict]:
    """The family's own parameters if they rebuild exactly this map, else the canonical ones."""
    family = model.family
    if family in FAMILIES and model.params:
        names = FAMILIES[family][1]
        if all(n in model.params for n in names):
            params = {n: model.params[n] for n in names}
            try:
                rebuilt = from_params(family, params)
            except ModelError:
                rebuilt = None
            # Saving the family's parameters is only honest if they give back this very map
            # (a folded-in constant input s or an edited h1 would otherwise be lost silently).
            if rebuilt is not None and _same_map(rebuilt, model):
                return family, params
    return "canonical", model.canonical_params()


def model_to_dict(model: PLMap) -> dict:
    """Plain-Python dict ``{"family": name, <param>: value, ...}`` of a map (JSON-ready).

    Vectors become lists, matrices lists of rows, 0-d arrays plain numbers. The family's own
    parameters are used when they rebuild exactly the same canonical map; otherwise the map is
    described as ``"canonical"`` (see the module docstring).

    Raises
    ------
    ModelError
        If ``model`` is not a :class:`~plrnn_manifolds.maps.PLMap`.
    """
    if not isinstance(model, PLMap):
        raise ModelError(f"expected a PLMap to save, got {type(model).__name__}")
    family, params = _family_and_params(model)
    out: dict = {"family": family}
    for name, value in params.items():
        out[name] = np.asarray(value).tolist()
    return out


def model_from_dict(d: Mapping, *, source: str = "model dict") -> PLMap:
    """Build a map from a dict as written by :func:`model_to_dict` (or read from a file).

    Parameters
    ----------
    d : mapping
        ``family`` plus exactly that family's parameter names (see
        :data:`~plrnn_manifolds.models.families.FAMILIES`).
    source : str
        Where the dict came from, for error messages.

    Raises
    ------
    ModelFileError
        If ``d`` is not a mapping, has no ``family``, misses parameters or has unexpected keys.
    ModelError
        If the family is unknown or a parameter has a wrong shape, is ragged, or is not finite.
    """
    if not isinstance(d, Mapping):
        raise ModelFileError(
            f"{source}: expected an object with a 'family' key and parameters, got "
            f"{type(d).__name__}"
        )
    if "family" not in d:
        raise ModelFileError(
            f"{source}: missing the key 'family'; add one of {', '.join(sorted(FAMILIES))}"
        )
    family = d["family"]
    if isinstance(family, np.ndarray) and family.ndim == 0:
        family = family.item()
    if not isinstance(family, str):
        raise ModelError(f"{source}: 'family' must be a string, got {family!r}")
    if family not in FAMILIES:
        raise ModelError(
            f"{source}: unknown model family {family!r}; known families: "
            f"{', '.join(sorted(FAMILIES))}"
        )
    names = FAMILIES[family][1]
    missing = [n for n in names if n not in d]
    if missing:
        raise ModelFileError(
            f"{source}: family {family!r} needs the key(s) {missing}, which are missing "
            f"(expected keys: 'family', {', '.join(repr(n) for n in names)}); the file is "
            "truncated or was written for another family"
        )
    extra = sorted(set(d) - set(names) - {"family"})
    if extra:
        raise ModelFileError(
            f"{source}: unexpected key(s) {extra} for family {family!r} (expected keys: "
            f"'family', {', '.join(repr(n) for n in names)}); remove them or fix the family"
        )
    params = {n: d[n] for n in names}
    if family == "alrnn" and isinstance(np.asarray(params["P"]).tolist(), bool):
        raise ModelError(f"{source}: 'P' must be an integer number of ReLU units, got a boolean")
    try:
        return from_params(family, params)
    except ModelError as exc:
        raise ModelError(f"{source}: {exc}") from None


# ------------------------------------------------------------------------------------ saving
def _json_text(d: dict) -> str:
    """JSON with one key per line and one matrix row per line (readable and diffable)."""
    lines = []
    for key, value in d.items():
        k = json.dumps(key)
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = ",\n".join("  " + json.dumps(r, allow_nan=False) for r in value)
            lines.append(f" {k}: [\n{rows}\n ]")
        else:
            lines.append(f" {k}: {json.dumps(value, allow_nan=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_model(model: PLMap, path) -> Path:
    """Save a map to ``.json`` or ``.npz`` (chosen by the suffix), atomically.

    The file holds ``family`` and the family's parameters (or the canonical parameters, see
    :func:`model_to_dict`); :func:`load_model` gives back a map with bit-identical canonical
    arrays. The write goes through a temporary file and an atomic rename, so a reader never
    sees a half-written file.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ModelFileError
        If the suffix is not ``.json`` or ``.npz``.
    ModelError
        If ``model`` is not a PLMap.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    d = model_to_dict(model)
    if suffix in _JSON_SUFFIXES:
        return atomic_write_text(path, _json_text(d))
    if suffix in _NPZ_SUFFIXES:
        buf = io.BytesIO()
        arrays = {k: np.asarray(v) for k, v in d.items()}
        np.savez(buf, **arrays)
        return atomic_write_bytes(path, buf.getvalue())
    if suffix in _TORCH_SUFFIXES:
        raise ModelFileError(
            f"cannot save '{path}': writing PyTorch files is not supported; use a '.json' or "
            "'.npz' path"
        )
    raise ModelFileError(
        f"cannot save '{path}': unknown model file suffix {path.suffix!r}; use '.json' or '.npz'"
    )


# ----------------------------------------------------------------------------------- loading
def _read_json(path: Path, where: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{where} is not UTF-8 text; is it really a JSON file?") from None
    except OSError as exc:
        raise ModelFileError(f"{where} cannot be read ({exc})") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"{where} does not parse as JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); the file is truncated or not JSON, re-save it with save_model"
        ) from None
    if not isinstance(d, dict):
        raise ModelFileError(
            f"{where} must hold a JSON object with a 'family' key and parameters, got a "
            f"{type(d).__name__}"
        )
    return d


def _read_npz(path: Path, where: str) -> dict:
    try:
        z = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise ModelFileError(f"{where} cannot be read ({exc})") from None
    except ZIP_ERRORS as exc:
        raise ModelFileError(
            f"{where} is not a readable npz archive ({exc}); the file is truncated or corrupt, "
            "re-save it with save_model"
        ) from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ModelFileError(
            f"{where} holds a single array, not an npz archive of named parameters; save it "
            "with save_model"
        )
    try:
        with z:
            return {k: z[k] for k in z.files}
    except (*ZIP_ERRORS, KeyError) as exc:
        # Object arrays (pickles) are refused by allow_pickle=False and land here too.
        raise ModelFileError(
            f"{where}: an entry of the npz archive cannot be read ({exc}); the file is "
            "truncated or corrupt, re-save it with save_model"
        ) from None


def read_state_dict(path) -> dict:
    """Read a PyTorch ``torch.save`` file into a dict of numpy arrays, without torch.

    Safe on untrusted files: no pickled code is executed (see :mod:`._torchzip`). Tensors keep
    their dtype (bfloat16 becomes float32); strided views are materialised.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, corrupt, refers to Python objects other than tensors,
        or does not hold a dict.
    """
    obj = read_torch_file(path)
    if not isinstance(obj, dict):
        raise ModelFileError(
            f"model file '{path}' holds a {type(obj).__name__}, not a dict of tensors; save "
            "the model with torch.save(model.state_dict(), path)"
        )
    return obj


_P_IN_NAME = re.compile(r"(?:^|[_\-.])p(\d+)(?=$|[_\-.])", re.IGNORECASE)


def _p_from_name(name: str | None) -> int | None:
    if not name:
        return None
    found = {int(m) for m in _P_IN_NAME.findall(Path(name).stem)}
    return found.pop() if len(found) == 1 else None


def model_from_state_dict(state_dict: Mapping, P=None, *, name: str | None = None) -> PLMap:
    r"""Interpret a DurstewitzLab state_dict (arrays) as a map.

    Parameters
    ----------
    state_dict : mapping of str to array_like
        ALRNN keys ``A, W, h`` (``B`` ignored), or dendPLRNN/PLRNN keys ``...latent_step.AW``,
        ``...latent_step.h`` and optionally ``...latent_step.alphas``, ``...latent_step.thetas``
        (see the module docstring for the conventions, including the sign of ``thetas``). A
        checkpoint nesting the state_dict under ``state_dict``, ``model_state_dict`` or
        ``model`` is accepted.
    P : int, optional
        Number of ReLU units of an ALRNN; required for ALRNN unless ``name`` contains
        ``_p<P>``.
    name : str, optional
        File name, used for error messages and to find ``P``.

    Raises
    ------
    ModelFileError
        If the keys match no known layout, a key is missing, or an ALRNN's ``P`` is unknown.
    ModelError
        If shapes or values are invalid, or ``P`` is given for a model that is not an ALRNN.
    """
    where = f"model file '{name}'" if name else "state_dict"
    if not isinstance(state_dict, Mapping):
        raise ModelFileError(f"{where}: expected a dict of tensors, got {type(state_dict)}")
    sd = dict(state_dict)

    def has_layout(d) -> bool:
        return {"A", "W", "h"} <= set(d) or any(
            isinstance(k, str) and k.endswith("latent_step.AW") for k in d
        )

    if not has_layout(sd):
        nested = [
            sd[k]
            for k in ("state_dict", "model_state_dict", "model")
            if isinstance(sd.get(k), Mapping) and has_layout(sd[k])
        ]
        if len(nested) == 1:
            sd = dict(nested[0])

    if {"A", "W", "h"} <= set(sd):
        if P is None:
            P = _p_from_name(name)
            if P is None:
                raise ModelFileError(
                    f"{where} holds an ALRNN (keys A, W, h), which does not store P, the number "
                    "of ReLU units, and the file name has no '_p<P>' part; pass P (P= in the "
                    "API, --P on the command line)"
                )
        try:
            return alrnn(sd["A"], sd["W"], sd["h"], P)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None

    aw_keys = [k for k in sd if isinstance(k, str) and k.endswith("latent_step.AW")]
    if len(aw_keys) > 1:
        raise ModelFileError(f"{where}: several latent models found ({aw_keys}); keep only one")
    if len(aw_keys) == 1:
        prefix = aw_keys[0][: -len("AW")]
        if P is not None:
            raise ModelError(
                f"{where} holds a PLRNN/dendPLRNN, not an ALRNN; P applies only to ALRNN "
                "models, leave it out"
            )
        if prefix + "h" not in sd:
            raise ModelFileError(f"{where}: key {prefix + 'h'!r} is missing; corrupt file")
        has_a, has_t = prefix + "alphas" in sd, prefix + "thetas" in sd
        if has_a != has_t:
            raise ModelFileError(
                f"{where}: a dendPLRNN needs both {prefix + 'alphas'!r} and "
                f"{prefix + 'thetas'!r}; only one is present"
            )
        try:
            AW = as_float_array("AW", sd[aw_keys[0]], ndim=2)
            if AW.shape[0] != AW.shape[1]:
                raise ModelError(f"parameter 'AW' must be square (M x M), got {AW.shape}")
            A = np.diag(AW).copy()
            W = AW - np.diag(A)
            if has_a:
                # DurstewitzLab computes relu(z + theta); families.dendplrnn uses relu(z - theta).
                thetas = -as_float_array("thetas", sd[prefix + "thetas"])
                return dendplrnn(A, W, sd[prefix + "h"], sd[prefix + "alphas"], thetas)
            return plrnn(A, W, sd[prefix + "h"])
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None

    keys = sorted(str(k) for k in sd)
    raise ModelFileError(
        f"{where}: unrecognised state_dict keys {keys[:12]}{' ...' if len(keys) > 12 else ''}; "
        "supported layouts are an ALRNN (A, W, h[, B]) and a PLRNN/dendPLRNN "
        "(latent_model.latent_step.AW, .h[, .alphas, .thetas])"
    )


def load_model(path, P=None) -> PLMap:
    """Load a map from ``.json``, ``.npz``, or a PyTorch state_dict ``.pt`` / ``.pth``.

    Parameters
    ----------
    path : str or Path
        The model file; the format is chosen by the suffix.
    P : int, optional
        Number of ReLU units of an ALRNN. Needed for ALRNN ``.pt`` files (which do not store it)
        unless the file name contains ``_p<P>``; for ``.json``/``.npz`` ALRNN files it must agree
        with the stored value. Giving it for any other model is an error.

    Returns
    -------
    PLMap
        The map, with ``family`` and ``params`` of the stored family.

    Raises
    ------
    ModelFileError
        File missing, unreadable, not parsing, truncated, missing keys, unknown suffix, unsafe
        pickle, or ALRNN without ``P``.
    ModelError
        Wrong shapes, ragged arrays, NaN/inf, unknown family, or a ``P`` that does not fit.
    """
    path = Path(path)
    where = f"model file '{path}'"
    if not path.exists():
        raise ModelFileError(f"{where} does not exist; check the path")
    if path.is_dir():
        raise ModelFileError(f"{where} is a directory, not a model file")
    suffix = path.suffix.lower()
    if suffix in _TORCH_SUFFIXES:
        return model_from_state_dict(read_state_dict(path), P, name=str(path))
    if suffix in _JSON_SUFFIXES:
        d = _read_json(path, where)
    elif suffix in _NPZ_SUFFIXES:
        d = _read_npz(path, where)
    else:
        raise ModelFileError(
            f"{where} has an unknown suffix {path.suffix!r}; model files must end in {_SUPPORTED}"
        )
    model = model_from_dict(d, source=where)
    if P is not None:
        if model.family != "alrnn":
            raise ModelError(
                f"{where} holds a {model.family!r} model; P applies only to ALRNN models, "
                "leave it out"
            )
        if model.params["P"] != P:
            raise ModelError(
                f"{where} stores P = {model.params['P']}, but P = {P!r} was given; leave P out "
                "to use the stored value"
            )
    return model


# ---------------------------------------------------------------------------------- examples
def _examples_dir():
    return importlib.resources.files("plrnn_manifolds") / "data"


def example_names() -> list[str]:
    """Names of the bundled example models (``fig3b_left``, ``lozi``, ...)."""
    d = _examples_dir()
    return sorted(p.name[: -len(".json")] for p in d.iterdir() if p.name.endswith(".json"))


def example_path(name: str) -> Path:
    """Path of a bundled example model, e.g. ``load_model(example_path("fig5"))``.

    ``name`` may be given with or without ``.json``.

    Raises
    ------
    ModelFileError
        If there is no bundled model of that name (the message lists the available ones).
    """
    fname = name if str(name).endswith(".json") else f"{name}.json"
    res = _examples_dir() / fname
    if not res.is_file():
        raise ModelFileError(
            f"no bundled example model {name!r}; available: {', '.join(example_names())}"
        )
    return Path(str(res))
