"""A safe, torch-free reader for PyTorch ``torch.save`` files holding tensors (state_dicts).

Torch is an optional extra, and :func:`torch.load` on an untrusted file executes arbitrary
pickled code unless ``weights_only=True``. This module reads the two on-disk formats of
``torch.save`` itself and returns numpy arrays, executing nothing:

* **zip format** (torch >= 1.6, the default): a zip archive with one top-level folder
  ``<name>/`` holding ``data.pkl`` (the pickled object tree), ``data/<key>`` (the raw bytes of
  each storage, in the byte order named by ``byteorder``, little-endian when absent) and some
  bookkeeping files (``version``, ``.format_version``, ...). Tensors inside ``data.pkl`` are
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` calls whose storage
  is a *persistent id* ``("storage", <StorageType>, key, location, numel)``.
* **legacy format** (``_use_new_zipfile_serialization=False``): a sequence of pickles (magic
  number, protocol version, system info, the object tree, the list of storage keys) followed by
  each storage's bytes behind an 8-byte element count.

The object tree is unpickled by :class:`_RestrictedUnpickler`, whose ``find_class`` maps the
handful of globals that a tensor dict needs to local functions building numpy arrays and
refuses every other global with :class:`~plrnn_manifolds.errors.ModelFileError`. Tensors are
rebuilt from their storage honouring the storage offset, size and strides (a tensor may be a
strided view into a larger storage: the ALRNN ``A`` vectors are diagonals of an ``M x M``
storage), then copied, so every returned array is contiguous and owns its memory.

Complexity: linear in the file size. Failure modes: every malformed, truncated or unsafe file
raises :class:`~plrnn_manifolds.errors.ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

__all__ = ["read_torch_file"]

#: Zip entries larger than this are refused (a model file has kilobytes to megabytes); guards
#: against zip bombs declaring huge entries.
_MAX_ENTRY_BYTES = 4 * 1024**3

#: Magic number that opens a legacy (non-zip) torch file.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_ZIP_MAGIC = b"PK\x03\x04"

#: What :mod:`zipfile` raises on damaged archives: bad or truncated structures, unsupported
#: versions or compression methods (NotImplementedError) and "encrypted" flags (RuntimeError).
ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for ``torch.<Name>Storage``: the element type of a storage."""

    name: str
    dtype: np.dtype  # on-disk element type (little-endian); bfloat16 is read as uint16

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize


_STORAGE_TYPES = {
    name: _StorageType(name, np.dtype(dt))
    for name, dt in (
        ("DoubleStorage", "<f8"),
        ("FloatStorage", "<f4"),
        ("HalfStorage", "<f2"),
        ("BFloat16Storage", "<u2"),
        ("LongStorage", "<i8"),
        ("IntStorage", "<i4"),
        ("ShortStorage", "<i2"),
        ("CharStorage", "i1"),
        ("ByteStorage", "u1"),
        ("BoolStorage", "?"),
    )
}


@dataclass(frozen=True, slots=True)
class _Storage:
    """A decoded storage: a 1-D numpy array of native byte order (read-only)."""

    data: np.ndarray


def _decode_storage(stype: _StorageType, raw: bytes, numel: int, big_endian: bool, where: str):
    """Turn the raw bytes of a storage into a native 1-D array of ``numel`` elements."""
    need = numel * stype.itemsize
    if len(raw) < need:
        raise ModelFileError(
            f"{where}: storage holds {len(raw)} bytes but {numel} elements of "
            f"{stype.name} need {need}; the file is truncated or corrupt"
        )
    dt = stype.dtype.newbyteorder(">") if big_endian else stype.dtype
    arr = np.frombuffer(raw, dtype=dt, count=numel)
    if stype.name == "BFloat16Storage":
        # bfloat16 is the upper half of a float32: shift the 16 bits into place.
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    else:
        arr = arr.astype(stype.dtype.newbyteorder("="), copy=False)
    arr = np.array(arr)  # own the memory, native order
    arr.setflags(write=False)
    return _Storage(arr)


def _as_int(x, what: str) -> int:
    # bool is an int subclass but never a valid size; numpy ints do not occur in torch pickles.
    if type(x) is not int:
        raise ModelFileError(f"{what} must be an integer, got {type(x).__name__}")
    return x


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Build the numpy array of a tensor view ``storage[offset + sum_k i_k stride_k]``.

    Stands in for ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
    requires_grad, backward_hooks, metadata=None)`` (and the older ``_rebuild_tensor`` without
    the last three). Requires-grad flags, hooks and metadata are irrelevant for numbers and are
    ignored.

    Raises
    ------
    ModelFileError
        If the arguments are not a storage and integer tuples, or the view reaches outside the
        storage.
    """
    if not isinstance(storage, _Storage):
        raise ModelFileError(f"a tensor refers to {type(storage).__name__}, not to a storage")
    offset = _as_int(storage_offset, "a tensor's storage offset")
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        raise ModelFileError("a tensor's size and stride must be tuples of equal length")
    size = tuple(_as_int(s, "a tensor size") for s in size)
    stride = tuple(_as_int(s, "a tensor stride") for s in stride)
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ModelFileError("a tensor has a negative size, stride or storage offset")
    data = storage.data
    if any(s == 0 for s in size):
        return np.zeros(size, dtype=data.dtype)
    last = offset + sum((n - 1) * st for n, st in zip(size, stride, strict=True))
    if last >= data.shape[0]:
        raise ModelFileError(
            f"a tensor view (offset {offset}, size {size}, stride {stride}) reaches element "
            f"{last} of a storage with {data.shape[0]} elements; the file is corrupt"
        )
    base = data[offset:]
    view = np.lib.stride_tricks.as_strided(
        base,
        shape=size,
        strides=tuple(st * data.itemsize for st in stride),
        writeable=False,
    )
    return np.array(view, order="C")  # contiguous copy that owns its memory


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, state=None):
    """Stand-in for ``torch._utils._rebuild_parameter[_with_state]``: a Parameter is its data."""
    if not isinstance(data, (np.ndarray, _Deferred)):
        raise ModelFileError("a Parameter in the file does not wrap a tensor")
    return data


def _torch_size(*args):
    """Stand-in for ``torch.Size`` (a tuple subclass)."""
    return tuple(*args)


#: (module, name) -> local object. Everything else is refused.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _torch_size,
    **{("torch", name): st for name, st in _STORAGE_TYPES.items()},
}


class _RestrictedUnpickler(pickle._Unpickler):
    """Unpickler that only resolves the globals in ``_ALLOWED_GLOBALS``.

    Every opcode that calls something (REDUCE, NEWOBJ, INST, OBJ, EXT*) obtains its callable
    through :meth:`find_class`, so refusing unknown globals there means no code outside this
    module can run. BUILD, which would write attributes into an object's ``__dict__``, is only
    accepted for the ``_metadata`` that ``state_dict()`` attaches to its ``OrderedDict`` and is
    otherwise refused, so a file cannot tamper with the allowed objects either. The pure-Python
    unpickler is used because its opcode table can be overridden; model files are small.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, where: str, persistent_load):
        super().__init__(file)
        self._where = where
        self._persistent_load = persistent_load

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ModelFileError(
                f"{self._where}: refusing to load the Python object '{module}.{name}' from the "
                "pickle inside this file; only tensors, dicts and plain numbers are read (this "
                "reader never executes pickled code). Save a plain tensor dict instead, e.g. "
                "torch.save(model.state_dict(), path)"
            ) from None

    def persistent_load(self, pid):
        return self._persistent_load(pid)

    def _load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if (
            isinstance(inst, collections.OrderedDict)
            and isinstance(state, dict)
            and set(state) <= {"_metadata"}
        ):
            return  # module version metadata of a state_dict: not needed for the numbers
        raise ModelFileError(
            f"{self._where}: the pickle sets the state of a {type(inst).__name__} object, which "
            "a tensor dict never does; refusing to load it"
        )

    def _load_global(self):
        # The stock GLOBAL handler chops the last byte of each line without checking it is a
        # newline, so a file cut inside a name would be reported as an unknown global.
        module, name = self.readline(), self.readline()
        if not (module.endswith(b"\n") and name.endswith(b"\n")):
            raise EOFError("pickle data was truncated")
        self.append(self.find_class(module[:-1].decode("utf-8"), name[:-1].decode("utf-8")))

    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.GLOBAL[0]] = _load_global


def _unpickle(data, where: str, persistent_load, cls=None):
    """Run the restricted unpickler on a file object and turn every failure into an error."""
    cls = _RestrictedUnpickler if cls is None else cls
    try:
        return cls(data, where, persistent_load).load()
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt pickle
        raise ModelFileError(
            f"{where}: the pickled object tree cannot be read ({type(exc).__name__}: {exc}); "
            "the file is truncated or corrupt"
        ) from None


def _check_pid(pid, where: str, n_fields: int):
    if not (isinstance(pid, tuple) and len(pid) == n_fields and pid[0] == "storage"):
        raise ModelFileError(f"{where}: unexpected persistent id {pid!r}; not a torch tensor file")
    stype = pid[1]
    if not isinstance(stype, _StorageType):
        raise ModelFileError(
            f"{where}: unsupported storage type {stype!r}; supported: "
            f"{', '.join(sorted(_STORAGE_TYPES))}"
        )
    return stype


# ---------------------------------------------------------------------------------- zip format
def _read_zip(path: Path, where: str):
    try:
        zf = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise ModelFileError(
            f"{where}: not a readable zip archive ({exc}); the file is truncated or corrupt, "
            "re-save it with torch.save(model.state_dict(), path)"
        ) from None
    with zf:
        names = zf.namelist()
        pkl = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise ModelFileError(
                f"{where}: expected exactly one '<name>/data.pkl' entry in the archive, found "
                f"{len(pkl)}; this is not a file written by torch.save"
            )
        prefix = pkl[0][: -len("data.pkl")]

        def read(name: str) -> bytes:
            try:
                info = zf.getinfo(name)
            except KeyError:
                raise ModelFileError(
                    f"{where}: archive entry {name!r} is missing; the file is truncated or corrupt"
                ) from None
            if info.file_size > _MAX_ENTRY_BYTES:
                raise ModelFileError(f"{where}: archive entry {name!r} is implausibly large")
            try:
                return zf.read(info)
            except ZIP_ERRORS as exc:
                raise ModelFileError(
                    f"{where}: archive entry {name!r} cannot be read ({exc}); the file is "
                    "truncated or corrupt"
                ) from None

        big_endian = False
        if prefix + "byteorder" in names:
            order = read(prefix + "byteorder").decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise ModelFileError(f"{where}: unknown byte order {order!r}")
            big_endian = order == "big"

        storages: dict[str, _Storage] = {}

        def persistent_load(pid):
            stype = _check_pid(pid, where, 5)
            _, _, key, _location, numel = pid
            if not isinstance(key, str) or "/" in key or key in ("", ".", ".."):
                raise ModelFileError(f"{where}: invalid storage key {key!r}")
            numel = _as_int(numel, "a storage size")
            if key not in storages:
                raw = read(f"{prefix}data/{key}")
                storages[key] = _decode_storage(stype, raw, numel, big_endian, where)
            return storages[key]

        return _unpickle(io.BytesIO(read(pkl[0])), where, persistent_load)


# ------------------------------------------------------------------------------- legacy format
def _read_legacy(path: Path, where: str):
    def no_pid(pid):
        raise ModelFileError(f"{where}: unexpected persistent id in the file header")

    with open(path, "rb") as fh:
        magic = _unpickle(fh, where, no_pid)
        if magic != _LEGACY_MAGIC:
            raise ModelFileError(f"{where}: not a PyTorch file (wrong magic number)")
        protocol = _unpickle(fh, where, no_pid)
        if protocol != 1001:
            raise ModelFileError(f"{where}: unsupported legacy torch protocol {protocol!r}")
        sys_info = _unpickle(fh, where, no_pid)
        big_endian = isinstance(sys_info, dict) and sys_info.get("little_endian") is False

        # Storage bytes follow the pickle, so the persistent ids only record which storage (or
        # view of one) each tensor needs; tensors are built once the bytes have been read.
        roots: dict[str, tuple[_StorageType, int]] = {}
        views: dict[str, tuple[str, int, int]] = {}
        placeholders: dict[str, _Placeholder] = {}

        def persistent_load(pid):
            stype = _check_pid(pid, where, 6)
            _, _, key, _location, numel, view = pid
            if not isinstance(key, str):
                raise ModelFileError(f"{where}: invalid storage key {key!r}")
            roots.setdefault(key, (stype, _as_int(numel, "a storage size")))
            if view is None:
                name = key
            else:
                if not (isinstance(view, tuple) and len(view) == 3):
                    raise ModelFileError(f"{where}: malformed storage view {view!r}")
                name, voff, vsize = view
                views[name] = (key, _as_int(voff, "a view offset"), _as_int(vsize, "a view size"))
            placeholders.setdefault(name, _Placeholder(name))
            return placeholders[name]

        tree = _unpickle(fh, where, persistent_load, _LegacyUnpickler)
        keys = _unpickle(fh, where, no_pid)
        if not isinstance(keys, list):
            raise ModelFileError(f"{where}: malformed storage key list")
        decoded: dict[str, _Storage] = {}
        for key in keys:
            if key not in roots:
                raise ModelFileError(f"{where}: storage {key!r} is not referenced")
            stype, numel = roots[key]
            head = fh.read(8)
            if len(head) != 8:
                raise ModelFileError(f"{where}: the file is truncated (storage {key!r})")
            (n_file,) = struct.unpack(">q" if big_endian else "<q", head)
            if n_file != numel:
                raise ModelFileError(f"{where}: storage {key!r} size mismatch; corrupt file")
            raw = fh.read(numel * stype.itemsize)
            decoded[key] = _decode_storage(stype, raw, numel, big_endian, where)
    missing = set(roots) - set(decoded)
    if missing:
        raise ModelFileError(f"{where}: storages {sorted(missing)} are missing; corrupt file")
    for name, (key, voff, vsize) in views.items():
        base = decoded[key].data
        if voff < 0 or vsize < 0 or voff + vsize > base.shape[0]:
            raise ModelFileError(f"{where}: storage view {name!r} is out of bounds")
        decoded[name] = _Storage(base[voff : voff + vsize])
    return _resolve(tree, decoded, where)


class _Placeholder:
    """A storage whose bytes follow the pickle in a legacy file."""

    def __init__(self, name: str):
        self.name = name


class _Deferred:
    """A tensor of a legacy file whose storage bytes have not been read yet."""

    def __init__(self, args: tuple):
        self.args = args


def _deferred_rebuild(storage, *args):
    if not isinstance(storage, _Placeholder):
        raise ModelFileError(f"a tensor refers to {type(storage).__name__}, not to a storage")
    return _Deferred((storage, *args))


class _LegacyUnpickler(_RestrictedUnpickler):
    """Restricted unpickler for legacy files: tensor rebuilds are deferred until the storage
    bytes (which follow the pickle) have been read."""

    def find_class(self, module, name):
        obj = super().find_class(module, name)
        return _deferred_rebuild if obj is _rebuild_tensor else obj


def _resolve(obj, decoded, where):
    """Replace deferred tensors of a legacy file by arrays (dicts, lists and tuples recursed)."""
    if isinstance(obj, _Deferred):
        storage, *rest = obj.args
        return _rebuild_tensor(decoded[storage.name], *rest)
    if isinstance(obj, dict):
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _resolve(v, decoded, where)
        return out
    if isinstance(obj, list):
        return [_resolve(v, decoded, where) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v, decoded, where) for v in obj)
    return obj


# ------------------------------------------------------------------------------------- public
def read_torch_file(path) -> object:
    """Read a ``torch.save`` file of tensors without importing torch and without running code.

    Parameters
    ----------
    path : str or Path
        A file written by ``torch.save`` (zip format, or the legacy format of torch < 1.6 /
        ``_use_new_zipfile_serialization=False``).

    Returns
    -------
    object
        The saved object with every tensor (or Parameter) replaced by a contiguous numpy array
        of the same dtype and shape (bfloat16 becomes float32). For a state_dict this is a dict
        ``{name: ndarray}``.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated or corrupt, or if its pickle refers to any Python
        object other than tensors, storages, ``OrderedDict`` and ``torch.Size`` (e.g. a pickled
        ``nn.Module``): such files are refused rather than executed.
    """
    path = Path(path)
    where = f"model file '{path}'"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise ModelFileError(f"{where} does not exist; check the path") from None
    except OSError as exc:
        raise ModelFileError(f"{where} cannot be opened ({exc})") from None
    if head == _ZIP_MAGIC:
        return _read_zip(path, where)
    if head[:1] == b"\x80":
        return _read_legacy(path, where)
    raise ModelFileError(
        f"{where} is not a PyTorch file (neither a zip archive nor a legacy torch pickle); "
        "save the model with torch.save(model.state_dict(), path)"
    )
