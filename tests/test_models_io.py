"""Model files: JSON/npz round trips, bundled examples, the torch-free state_dict reader.

The torch reader is tested three ways: on hand-made ``.pt`` archives built here byte by byte
(no torch needed), on the two real ALRNN files in ``../shared/models`` (skipped when absent),
and, when torch is installed, against ``torch.load(weights_only=True)`` on files torch writes.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from plrnn_manifolds.errors import ModelError, ModelFileError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import families as fam
from plrnn_manifolds.models.io import (
    example_names,
    example_path,
    load_model,
    model_from_dict,
    model_from_state_dict,
    model_to_dict,
    read_state_dict,
    save_model,
)

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_FILES = {"alrnn_lorenz63_m20_p2.pt": (20, 2), "alrnn_lorenz63_m30_p10.pt": (30, 10)}


def relu(x):
    return np.maximum(x, 0.0)


def _same_canonical(a: PLMap, b: PLMap):
    for k in ("A", "W1", "W2", "h1", "h2"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)


def _random_models(seed=0):
    rng = np.random.default_rng(seed)
    M = 4
    Al = rng.normal(size=(2, 2))
    n = rng.normal(size=2)
    return {
        "plrnn": fam.plrnn(rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M)),
        "plrnn_matrixA": fam.plrnn(
            rng.normal(size=(M, M)), rng.normal(size=(M, M)), rng.normal(size=M)
        ),
        "alrnn": fam.alrnn(rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M), 2),
        "shplrnn": fam.shplrnn(
            rng.normal(size=M),
            rng.normal(size=(M, 6)),
            rng.normal(size=(6, M)),
            rng.normal(size=M),
            rng.normal(size=6),
        ),
        "clipped_shplrnn": fam.clipped_shplrnn(
            rng.normal(size=(M, M)),
            rng.normal(size=(M, 3)),
            rng.normal(size=(3, M)),
            rng.normal(size=M),
            rng.normal(size=3),
        ),
        "dendplrnn": fam.dendplrnn(
            rng.normal(size=M),
            rng.normal(size=(M, M)),
            rng.normal(size=M),
            rng.normal(size=3),
            rng.normal(size=(M, 3)),
        ),
        "canonical": fam.canonical(
            rng.normal(size=(3, 3)),
            rng.normal(size=(3, 5)),
            rng.normal(size=(5, 3)),
            rng.normal(size=3),
            rng.normal(size=5),
        ),
        "pl2d": fam.pl2d(
            Al, Al + np.outer(rng.normal(size=2), n), rng.normal(size=2), normal=n, offset=0.3
        ),
        "border_collision": fam.border_collision(*rng.normal(size=8)),
        "lozi": fam.lozi(1.4, 0.3),
    }


MODELS = _random_models()


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_is_exact(tmp_path, name, suffix):
    model = MODELS[name]
    path = save_model(model, tmp_path / f"m{suffix}")
    assert path == tmp_path / f"m{suffix}"
    back = load_model(path)
    assert back.family == model.family
    _same_canonical(back, model)
    names = fam.FAMILIES[model.family][1]
    for k in names:
        np.testing.assert_array_equal(np.asarray(back.params[k]), np.asarray(model.params[k]))
    # Nothing but the file itself is left in the folder (no temporary debris).
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{suffix}"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_json_layout_is_family_plus_parameter_names(tmp_path, name):
    model = MODELS[name]
    path = save_model(model, tmp_path / "m.json")
    d = json.loads(path.read_text())
    names = fam.FAMILIES[model.family][1]
    assert list(d) == ["family", *names]
    assert d["family"] == model.family
    for k in names:
        want = np.asarray(model.params[k])
        got = d[k]
        # Vectors are lists, matrices lists of rows, scalars plain numbers.
        if want.ndim == 0:
            assert isinstance(got, (int, float))
        elif want.ndim == 1:
            assert isinstance(got, list) and all(isinstance(x, (int, float)) for x in got)
        else:
            assert len(got) == want.shape[0] and all(len(r) == want.shape[1] for r in got)
        np.testing.assert_array_equal(np.array(got, dtype=float), want)


def test_model_to_dict_and_back():
    model = MODELS["dendplrnn"]
    d = model_to_dict(model)
    json.dumps(d)  # plain Python only
    assert d["family"] == "dendplrnn" and np.shape(d["thetas"]) == (4, 3)
    _same_canonical(model_from_dict(d), model)


def test_alrnn_P_is_an_integer_in_files(tmp_path):
    path = save_model(MODELS["alrnn"], tmp_path / "a.json")
    assert json.loads(path.read_text())["P"] == 2
    assert load_model(path).params["P"] == 2
    assert load_model(path, P=2).params["P"] == 2
    with pytest.raises(ModelError, match="stores P = 2"):
        load_model(path, P=3)
    with pytest.raises(ModelError, match="only to ALRNN"):
        load_model(save_model(MODELS["plrnn"], tmp_path / "p.json"), P=2)


@pytest.mark.parametrize(
    "model",
    [
        fam.plrnn(np.ones(2) * 0.5, np.eye(2), np.zeros(2), s=[1.0, -2.0]),  # folded input
        fam.lozi().with_h1([0.5, 0.1]),  # edited map, family "canonical" without params
        PLMap(
            np.eye(2),
            np.ones((2, 1)),
            np.ones((1, 2)),
            np.zeros(2),
            np.zeros(1),
            family="my_own_rnn",
            params={"x": 1},
        ),  # unknown family
        PLMap(
            np.eye(2), np.ones((2, 1)), np.ones((1, 2)), np.zeros(2), np.zeros(1), family="plrnn"
        ),  # known family, empty params
    ],
    ids=["plrnn_with_input", "with_h1", "unknown_family", "empty_params"],
)
def test_maps_not_described_by_their_params_are_saved_as_canonical(tmp_path, model):
    for suffix in (".json", ".npz"):
        back = load_model(save_model(model, tmp_path / f"m{suffix}"))
        assert back.family == "canonical"
        _same_canonical(back, model)


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = save_model(MODELS["lozi"], tmp_path / "m.json")
    before = path.read_bytes()
    import plrnn_manifolds._atomic as atomic

    def broken_fsync(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_model(MODELS["plrnn"], path)
    assert path.read_bytes() == before  # old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left


def test_save_bad_suffix_and_bad_object(tmp_path):
    with pytest.raises(ModelFileError, match="'.json' or '.npz'"):
        save_model(MODELS["lozi"], tmp_path / "m.txt")
    with pytest.raises(ModelFileError, match="PyTorch"):
        save_model(MODELS["lozi"], tmp_path / "m.pt")
    with pytest.raises(ModelError, match="PLMap"):
        save_model({"family": "lozi"}, tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- examples
BRIEF_EXAMPLES = {
    "fig3b_left": dict(tau_l=-0.3, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0),
    "fig3b_right": dict(tau_l=0.9, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0),
    "fig5": dict(
        tau_r=1.5, delta_r=0.75, tau_l=-1.77, delta_l=0.9, c=0.6, d=0.15, h1=-0.7, h2=-0.4
    ),
}


@pytest.mark.parametrize("name", sorted(BRIEF_EXAMPLES))
def test_bundled_border_collision_examples(name):
    p = BRIEF_EXAMPLES[name]
    m = load_model(example_path(name))
    assert m.family == "border_collision"
    rng = np.random.default_rng(3)
    for X in rng.normal(scale=2, size=(50, 2)):
        x, y = X
        tau, delta = (p["tau_l"], p["delta_l"]) if x <= 0 else (p["tau_r"], p["delta_r"])
        want = [tau * x + p["c"] * y + p["h1"], -delta * x + p["d"] * y + p["h2"]]
        np.testing.assert_allclose(m(X), want, atol=1e-13)


def test_bundled_lozi_and_listing():
    m = load_model(example_path("lozi.json"))
    assert m.family == "lozi"
    for X in np.random.default_rng(4).normal(size=(50, 2)):
        np.testing.assert_allclose(m(X), [1 - 1.7 * abs(X[0]) + X[1], 0.5 * X[0]], atol=1e-13)
    assert set(example_names()) >= {"fig3b_left", "fig3b_right", "fig5", "lozi"}
    with pytest.raises(ModelFileError, match="available: .*fig5"):
        example_path("fig99")


# ------------------------------------------------------------------------- bad JSON and npz
def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


GOOD = {"family": "plrnn", "A": [0.5, 0.5], "W": [[1.0, 0.0], [0.0, 1.0]], "h": [0.0, 1.0]}

BAD_JSON = {
    "ragged": (dict(GOOD, W=[[1.0, 0.0], [1.0]]), ModelError, "rectangular"),
    "nan": (
        '{"family": "plrnn", "A": [NaN, 0.5], "W": [[1,0],[0,1]], "h": [0,1]}',
        ModelError,
        "NaN",
    ),
    "unknown_family": (dict(GOOD, family="lstm"), ModelError, "unknown model family 'lstm'"),
    "family_not_string": (dict(GOOD, family=3), ModelError, "string"),
    "no_family": ({k: v for k, v in GOOD.items() if k != "family"}, ModelFileError, "'family'"),
    "missing_key": ({k: v for k, v in GOOD.items() if k != "h"}, ModelFileError, r"\['h'\]"),
    "extra_key": (dict(GOOD, B=[1]), ModelFileError, "unexpected key"),
    "wrong_shape": (dict(GOOD, h=[0.0, 1.0, 2.0]), ModelError, "'h'"),
    "not_object": ("[1, 2, 3]", ModelFileError, "JSON object"),
    "truncated": (json.dumps(GOOD)[:-9], ModelFileError, "does not parse"),
    "empty": ("", ModelFileError, "does not parse"),
    "alrnn_P_float": (dict(GOOD, family="alrnn", P=1.5), ModelError, "integer"),
    "alrnn_P_bool": (dict(GOOD, family="alrnn", P=True), ModelError, "boolean"),
    "alrnn_P_string": (dict(GOOD, family="alrnn", P="1"), ModelError, "integer"),
    "pl2d_discontinuous": (
        {
            "family": "pl2d",
            "A_left": [[1, 0], [0, 1]],
            "A_right": [[2, 1], [0, 1]],
            "B": [0, 0],
            "normal": [1, 0],
            "offset": 0,
        },
        ModelError,
        "discontinuous",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_files(tmp_path, case):
    content, exc, pattern = BAD_JSON[case]
    text = content if isinstance(content, str) else json.dumps(content)
    path = _write(tmp_path, f"{case}.json", text)
    with pytest.raises(exc, match=pattern) as info:
        load_model(path)
    assert f"{case}.json" in str(info.value)  # the message names the file


def test_non_utf8_json(tmp_path):
    with pytest.raises(ModelFileError, match="UTF-8"):
        load_model(_write(tmp_path, "m.json", b"\xff\xfe\x00garbage"))


def test_missing_file_directory_and_suffix(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.json")
    (tmp_path / "d.json").mkdir()
    with pytest.raises(ModelFileError, match="directory"):
        load_model(tmp_path / "d.json")
    with pytest.raises(ModelFileError, match="unknown suffix '.yaml'"):
        load_model(_write(tmp_path, "m.yaml", "family: plrnn"))


def test_suffix_is_case_insensitive(tmp_path):
    path = tmp_path / "M.JSON"
    save_model(MODELS["lozi"], path)
    _same_canonical(load_model(path), MODELS["lozi"])


def test_bad_npz_files(tmp_path):
    good = save_model(MODELS["plrnn"], tmp_path / "good.npz").read_bytes()
    for cut in (len(good) // 2, len(good) - 10, 30):
        with pytest.raises(ModelFileError, match="truncated"):
            load_model(_write(tmp_path, f"cut{cut}.npz", good[:cut]))
    # Missing key.
    buf = io.BytesIO()
    np.savez(buf, family=np.array("plrnn"), A=np.ones(2), W=np.eye(2))
    with pytest.raises(ModelFileError, match=r"\['h'\]"):
        load_model(_write(tmp_path, "missing.npz", buf.getvalue()))
    # NaN.
    buf = io.BytesIO()
    np.savez(buf, family=np.array("plrnn"), A=np.ones(2), W=np.eye(2), h=[np.nan, 0.0])
    with pytest.raises(ModelError, match="NaN"):
        load_model(_write(tmp_path, "nan.npz", buf.getvalue()))
    # Pickled object arrays are refused, not unpickled.
    buf = io.BytesIO()
    np.savez(buf, family=np.array("plrnn"), A=np.array([object()], dtype=object))
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_model(_write(tmp_path, "obj.npz", buf.getvalue()))
    # A bare .npy saved under an .npz name.
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    with pytest.raises(ModelFileError, match="single array"):
        load_model(_write(tmp_path, "bare.npz", buf.getvalue()))


# ------------------------------------------------------------- hand-made torch files (no torch)
# A minimal protocol-2 pickle writer: exactly the opcodes torch.save emits for a state_dict.
def G(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def S(text):
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def I(n):  # noqa: E743 - opcode-style helper name
    return b"J" + struct.pack("<i", n)


def T(*items):
    return b"(" + b"".join(items) + b"t"


def tensor(key, numel, offset, size, stride, stype="DoubleStorage", builder="_rebuild_tensor_v2"):
    pid = T(S("storage"), G("torch", stype), S(key), S("cpu"), I(numel)) + b"Q"
    hooks = G("collections", "OrderedDict") + b")R"
    args = T(pid, I(offset), T(*map(I, size)), T(*map(I, stride)), b"\x89", hooks)
    return G("torch._utils", builder) + args + b"R"


def state_dict_pickle(entries, ordered=True):
    head = G("collections", "OrderedDict") + b")R" if ordered else b"}"
    body = b"".join(S(k) + v for k, v in entries.items())
    return b"\x80\x02" + head + b"(" + body + b"u."


def torch_zip(path, pickle_bytes, storages, byteorder="little", prefix="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/data.pkl", pickle_bytes)
        if byteorder is not None:
            zf.writestr(f"{prefix}/byteorder", byteorder)
        for key, arr in storages.items():
            zf.writestr(f"{prefix}/data/{key}", arr.tobytes())
        zf.writestr(f"{prefix}/version", "3\n")
    return path


def test_hand_made_strided_tensor(tmp_path):
    storage = np.arange(12, dtype="<f8") * 1.5
    pk = state_dict_pickle(
        {"t": tensor("0", 12, 1, (3, 2), (1, 4)), "s": tensor("0", 12, 11, (), ())}
    )
    sd = read_state_dict(torch_zip(tmp_path / "t.pt", pk, {"0": storage}))
    want = np.array([[storage[1 + i + 4 * j] for j in range(2)] for i in range(3)])
    np.testing.assert_array_equal(sd["t"], want)
    assert sd["t"].flags.c_contiguous and sd["t"].flags.owndata
    assert sd["s"].shape == () and sd["s"] == storage[11]


def test_hand_made_dtypes_and_byte_orders(tmp_path):
    vals = np.array([1.0, -2.5, 3.25, 1024.0])
    cases = {
        "FloatStorage": vals.astype("<f4"),
        "HalfStorage": vals.astype("<f2"),
        "LongStorage": np.array([1, -2, 3, 1 << 40], dtype="<i8"),
        "IntStorage": np.array([1, -2, 3, 4], dtype="<i4"),
        "BoolStorage": np.array([True, False, True, True]),
        "ByteStorage": np.array([1, 2, 3, 255], dtype="u1"),
        # bfloat16 is the top half of a float32; these values are exact in 8 mantissa bits.
        "BFloat16Storage": (vals.astype("<f4").view("<u4") >> 16).astype("<u2"),
    }
    for order, conv in (("little", "<"), ("big", ">")):
        entries, storages = {}, {}
        for i, (stype, arr) in enumerate(cases.items()):
            entries[stype] = tensor(str(i), 4, 0, (4,), (1,), stype=stype)
            storages[str(i)] = arr.astype(arr.dtype.newbyteorder(conv)) if arr.itemsize > 1 else arr
        sd = read_state_dict(
            torch_zip(
                tmp_path / f"{order}.pt", state_dict_pickle(entries), storages, byteorder=order
            )
        )
        for stype, arr in cases.items():
            got = sd[stype]
            want = vals if stype in ("BFloat16Storage", "FloatStorage", "HalfStorage") else arr
            np.testing.assert_array_equal(got, want, err_msg=f"{stype} {order}")
        assert sd["BFloat16Storage"].dtype == np.float32 and sd["LongStorage"].dtype == np.int64


def _alrnn_by_hand(tmp_path, name, M=5, P=2, seed=0):
    rng = np.random.default_rng(seed)
    Afull = rng.uniform(-1, 1, size=(M, M)).astype("<f4")  # A is the diagonal view of this
    W = (rng.normal(size=(M, M)) / 3).astype("<f4")
    h = rng.normal(size=M).astype("<f4")
    B = rng.normal(size=(3, M)).astype("<f4")
    pk = state_dict_pickle(
        {
            "A": tensor("0", M * M, 0, (M,), (M + 1,), "FloatStorage"),
            "W": tensor("1", M * M, 0, (M, M), (M, 1), "FloatStorage"),
            "h": tensor("2", M, 0, (M,), (1,), "FloatStorage"),
            "B": tensor("3", 3 * M, 0, (3, M), (M, 1), "FloatStorage"),
        }
    )
    path = torch_zip(tmp_path / name, pk, {"0": Afull, "1": W, "2": h, "3": B})
    return path, np.diag(Afull).astype(float), W.astype(float), h.astype(float), B


def test_hand_made_alrnn_file(tmp_path):
    M, P = 5, 2
    path, A, W, h, B = _alrnn_by_hand(tmp_path, "toy_m5_p2.pt", M, P)
    m = load_model(path)  # P from the file name
    assert m.family == "alrnn" and m.params["P"] == P and m.M == M and m.H == P
    for z in np.random.default_rng(1).normal(size=(20, M)):
        phi = np.concatenate([z[: M - P], relu(z[M - P :])])
        np.testing.assert_allclose(m(z), A * z + W @ phi + h, atol=1e-12)
    np.testing.assert_array_equal(read_state_dict(path)["B"], B)
    assert load_model(path, P=4).H == 4  # explicit P wins over the name


def test_alrnn_file_without_P(tmp_path):
    path, *_ = _alrnn_by_hand(tmp_path, "toy.pt")
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    msg = str(info.value)
    assert "toy.pt" in msg and "P=" in msg and "--P" in msg
    with pytest.raises(ModelError, match="1..5"):
        load_model(path, P=6)
    ambiguous, *_ = _alrnn_by_hand(tmp_path, "toy_p2_p3.pt")
    with pytest.raises(ModelFileError, match="pass P"):
        load_model(ambiguous)


def test_hand_made_dendplrnn_file(tmp_path):
    rng = np.random.default_rng(2)
    M, nb = 3, 2
    AW = rng.normal(size=(M, M))
    h, alphas, thetas = rng.normal(size=M), rng.normal(size=nb), rng.normal(size=(M, nb))
    pre = "latent_model.latent_step."
    pk = state_dict_pickle(
        {
            pre + "AW": tensor("0", M * M, 0, (M, M), (M, 1)),
            pre + "h": tensor("1", M, 0, (M,), (1,)),
            pre + "alphas": tensor("2", nb, 0, (nb,), (1,)),
            pre + "thetas": tensor("3", M * nb, 0, (M, nb), (nb, 1)),
            "output_layer.weight": tensor("4", M, 0, (1, M), (M, 1)),
        }
    )
    path = torch_zip(
        tmp_path / "dend.pt", pk, {"0": AW, "1": h, "2": alphas, "3": thetas, "4": np.ones(M)}
    )
    m = load_model(path)
    assert m.family == "dendplrnn"
    A, W = np.diag(AW), AW - np.diag(np.diag(AW))
    for z in rng.normal(size=(20, M)):
        # The DurstewitzLab BPTT_TF formula: sum_b alpha_b relu(z + theta_b).
        be = (alphas * relu(z[:, None] + thetas)).sum(axis=1)
        np.testing.assert_allclose(m(z), A * z + W @ be + h, atol=1e-12)
    with pytest.raises(ModelError, match="only to ALRNN"):
        load_model(path, P=1)


def test_state_dict_layouts_and_errors():
    M = 3
    rng = np.random.default_rng(4)
    AW, h = rng.normal(size=(M, M)), rng.normal(size=M)
    m = model_from_state_dict({"latent_model.latent_step.AW": AW, "latent_model.latent_step.h": h})
    assert m.family == "plrnn"
    for z in rng.normal(size=(10, M)):
        want = np.diag(AW) * z + (AW - np.diag(np.diag(AW))) @ relu(z) + h
        np.testing.assert_allclose(m(z), want, atol=1e-12)
    nested = model_from_state_dict(
        {"epoch": 3, "model_state_dict": {"A": np.ones(M) * 0.5, "W": AW, "h": h}}, P=1
    )
    assert nested.family == "alrnn"
    with pytest.raises(ModelFileError, match="unrecognised state_dict keys"):
        model_from_state_dict({"rnn.weight_hh_l0": AW}, name="lstm.pt")
    with pytest.raises(ModelFileError, match="both"):
        model_from_state_dict({"latent_step.AW": AW, "latent_step.h": h, "latent_step.alphas": h})
    with pytest.raises(ModelFileError, match="missing"):
        model_from_state_dict({"latent_step.AW": AW})
    with pytest.raises(ModelError, match="square"):
        model_from_state_dict({"latent_step.AW": np.ones((2, 3)), "latent_step.h": h})
    with pytest.raises(ModelError, match="NaN"):
        model_from_state_dict({"A": [np.nan, 1, 1], "W": AW, "h": h}, P=1)


def test_malicious_pickle_globals_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = {
        "os.system": G("os", "system") + T(S(f"touch {marker}")) + b"R",
        "builtins.eval": G("builtins", "eval") + T(S(f"open({str(marker)!r}, 'w')")) + b"R",
        "posix.system": G("posix", "system") + T(S(f"touch {marker}")) + b"R",
    }
    for name, payload in evil.items():
        pk = state_dict_pickle({"x": payload})
        path = torch_zip(tmp_path / "evil.pt", pk, {})
        with pytest.raises(ModelFileError, match=f"refusing.*'{name}'"):
            load_model(path, P=1)
        assert not marker.exists()


def test_pickle_cannot_tamper_with_allowed_objects(tmp_path):
    # BUILD would write attributes of the (shared) storage-type stand-in.
    payload = G("torch", "FloatStorage") + b"}(" + S("name") + S("DoubleStorage") + b"ub"
    path = torch_zip(tmp_path / "b.pt", state_dict_pickle({"x": payload}), {})
    with pytest.raises(ModelFileError, match="refusing"):
        read_state_dict(path)
    # The reader still works afterwards and still reads float32 as float32.
    pk = state_dict_pickle({"y": tensor("0", 2, 0, (2,), (1,), "FloatStorage")})
    sd = read_state_dict(torch_zip(tmp_path / "ok.pt", pk, {"0": np.array([1, 2], "<f4")}))
    assert sd["y"].dtype == np.float32


def test_corrupt_torch_files(tmp_path):
    good = torch_zip(
        tmp_path / "g.pt",
        state_dict_pickle({"y": tensor("0", 4, 0, (4,), (1,))}),
        {"0": np.arange(4.0)},
    ).read_bytes()
    for cut in (len(good) // 2, len(good) - 5, 10):
        with pytest.raises(ModelFileError, match="truncated or corrupt"):
            read_state_dict(_write(tmp_path, f"cut{cut}.pt", good[:cut]))
    cases = {
        "short_storage": (
            state_dict_pickle({"y": tensor("0", 4, 0, (4,), (1,))}),
            {"0": np.arange(3.0)},
            "truncated",
        ),
        "out_of_bounds": (
            state_dict_pickle({"y": tensor("0", 4, 2, (3,), (1,))}),
            {"0": np.arange(4.0)},
            "reaches element",
        ),
        "missing_entry": (
            state_dict_pickle({"y": tensor("7", 4, 0, (4,), (1,))}),
            {"0": np.arange(4.0)},
            "missing",
        ),
        "bad_storage_type": (
            state_dict_pickle({"y": tensor("0", 4, 0, (4,), (1,), stype="ComplexDoubleStorage")}),
            {"0": np.arange(4.0)},
            "refusing",
        ),
        "truncated_pickle": (
            state_dict_pickle({"y": tensor("0", 4, 0, (4,), (1,))})[:-2],
            {"0": np.arange(4.0)},
            "truncated or corrupt",
        ),
        "not_a_dict": (
            b"\x80\x02" + tensor("0", 4, 0, (4,), (1,)) + b".",
            {"0": np.arange(4.0)},
            "not a dict",
        ),
        "negative_stride": (
            state_dict_pickle({"y": tensor("0", 4, 3, (4,), (-1,))}),
            {"0": np.arange(4.0)},
            "negative",
        ),
    }
    for name, (pk, storages, pattern) in cases.items():
        path = torch_zip(tmp_path / f"{name}.pt", pk, storages)
        with pytest.raises(ModelFileError, match=pattern):
            read_state_dict(path)
    with pytest.raises(ModelFileError, match="not a PyTorch file"):
        read_state_dict(_write(tmp_path, "text.pt", "hello, I am not a model"))
    with pytest.raises(ModelFileError, match="does not exist"):
        read_state_dict(tmp_path / "absent.pt")
    with pytest.raises(ModelFileError, match="data.pkl"):
        with zipfile.ZipFile(tmp_path / "nopkl.pt", "w") as zf:
            zf.writestr("x/other", b"")
        read_state_dict(tmp_path / "nopkl.pt")


# ------------------------------------------------------------------- the real ALRNN files
def _real(name):
    path = SHARED_MODELS / name
    if not path.exists():
        pytest.skip(f"real model {path} not present (shared/ is not beside the repository)")
    return path


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_alrnn_files_load_without_torch(name):
    M, P = REAL_FILES[name]
    path = _real(name)
    m = load_model(path)
    assert (m.family, m.M, m.H, m.params["P"]) == ("alrnn", M, P, P)
    sd = read_state_dict(path)
    assert sd["A"].shape == (M,) and sd["W"].shape == (M, M) and sd["B"].shape == (3, M)
    assert sd["A"].dtype == np.float32
    # The README's equation, evaluated on the raw arrays.
    A, W, h = (sd[k].astype(float) for k in "AWh")
    for z in np.random.default_rng(0).normal(size=(10, M)):
        phi = np.concatenate([z[: M - P], relu(z[M - P :])])
        np.testing.assert_allclose(m(z), A * z + W @ phi + h, atol=1e-12 * m.scale * 10)


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_alrnn_reproduces_lorenz63(name):
    """The loaded model must behave like the Lorenz-63 surrogate it was trained to be."""
    path = _real(name)
    data_file = SHARED_DATA / "lorenz63_test.npy"
    if not data_file.exists():
        pytest.skip(f"{data_file} not present")
    X = np.load(data_file)
    m = load_model(path)
    B = read_state_dict(path)["B"].astype(float)
    # One-step prediction with the observed units forced to the data (the README's recipe).
    z = X[500] @ B
    errs = []
    for t in range(500, 700):
        z[:3] = X[t]
        z = m(z)
        errs.append(np.linalg.norm(z[:3] - X[t + 1]))
    step = np.linalg.norm(np.diff(X[500:701], axis=0), axis=1).mean()
    assert np.mean(errs) < 0.5 * step
    # Free run: the attractor has the data's spread.
    z0 = X[500] @ B
    z0[:3] = X[500]
    traj = m.trajectory(z0, 5000, transient=500)[:, :3]
    assert np.all(np.isfinite(traj))
    ratio = traj.std(axis=0) / X.std(axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio


# --------------------------------------------------------------------- against torch itself
def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_match_torch_load(name):
    torch = _torch()
    path = _real(name)
    ref = torch.load(path, weights_only=True)
    ours = read_state_dict(path)
    assert list(ours) == list(ref)
    for k, v in ref.items():
        np.testing.assert_array_equal(ours[k], v.numpy(), err_msg=k)
    # The m20 file stores A as a strided diagonal view: make sure that case was exercised.
    if "m20" in name:
        assert ref["A"].stride() == (21,)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_written_files(tmp_path, legacy):
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 8, generator=g, dtype=torch.float64)
    sd = {
        "transposed_slice": base.t()[1:, ::3],  # non-contiguous, offset
        "diag": torch.randn(5, 5, generator=g).diagonal(),
        "expanded": torch.randn(3, 1, generator=g).expand(3, 4),  # stride 0
        "half": torch.randn(4, generator=g).half(),
        "bf16": torch.randn(4, generator=g).bfloat16(),
        "long": torch.arange(-3, 5),
        "bool": torch.tensor([True, False]),
        "param": torch.nn.Parameter(torch.randn(2, 2, generator=g)),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(2.5),
        "number": 7,
        "nested": {"inner": torch.ones(2)},
    }
    path = tmp_path / "t.pt"
    torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
    ours = read_state_dict(path)
    ref = torch.load(path, weights_only=True)
    for k, v in ref.items():
        if isinstance(v, torch.Tensor):
            v = v.detach()
            want = v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy()
            np.testing.assert_array_equal(ours[k], want, err_msg=k)
            assert ours[k].shape == tuple(v.shape)
    assert ours["number"] == 7
    np.testing.assert_array_equal(ours["nested"]["inner"], np.ones(2))
    raw = path.read_bytes()
    for cut in (len(raw) // 3, len(raw) - 4):
        with pytest.raises(ModelFileError, match="truncated|corrupt"):
            read_state_dict(_write(tmp_path, f"cut{cut}.pt", raw[:cut]))


def test_torch_alrnn_and_dendplrnn_modules(tmp_path):
    torch = _torch()
    nn = torch.nn
    g = torch.Generator().manual_seed(1)
    M, P, nb = 6, 3, 4

    class ALRNN(nn.Module):  # as in the ALRNN-DSR tutorial
        def __init__(self):
            super().__init__()
            K = torch.randn(M, M, generator=g)
            self.A = nn.Parameter(torch.diagonal(K, 0))
            self.W = nn.Parameter(torch.randn(M, M, generator=g) * 0.3)
            self.h = nn.Parameter(torch.randn(M, generator=g))
            self.B = nn.Parameter(torch.randn(3, M, generator=g))

        def forward(self, z):
            zu = z.clone()
            z = z.clone()
            z[:, -P:] = torch.relu(z[:, -P:])
            return self.A * zu + z @ self.W.t() + self.h

    class Step(nn.Module):  # as in dendPLRNN BPTT_TF PLRNN_Basis_Step
        def __init__(self):
            super().__init__()
            self.AW = nn.Parameter(torch.randn(M, M, generator=g) * 0.3)
            self.h = nn.Parameter(torch.randn(M, generator=g))
            self.thetas = nn.Parameter(torch.randn(M, nb, generator=g))
            self.alphas = nn.Parameter(torch.randn(nb, generator=g))

        def forward(self, z):
            A = torch.diag(self.AW)
            W = self.AW - torch.diag(A)
            be = torch.sum(self.alphas * torch.relu(z.unsqueeze(-1) + self.thetas), dim=-1)
            return A * z + be @ W.t() + self.h

    class Latent(nn.Module):
        def __init__(self):
            super().__init__()
            self.latent_step = Step()

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.latent_model = Latent()
            self.output_layer = nn.Linear(M, 3, bias=False)

        def forward(self, z):
            return self.latent_model.latent_step(z)

    z = torch.randn(50, M, generator=g, dtype=torch.float64)
    for module, fname, kwargs in ((ALRNN(), "alrnn.pt", {"P": P}), (Model(), "dend.pth", {})):
        torch.save(module.state_dict(), tmp_path / fname)
        m = load_model(tmp_path / fname, **kwargs)
        with torch.no_grad():
            want = module.double()(z).numpy()
        np.testing.assert_allclose(m(z.numpy()), want, atol=1e-12 * m.scale * 10)
    # A whole pickled module is refused, never executed.
    torch.save(nn.Linear(2, 2), tmp_path / "whole.pt")
    with pytest.raises(ModelFileError, match="refusing.*torch.nn.modules"):
        load_model(tmp_path / "whole.pt", P=1)


def test_corrupted_files_raise_only_project_errors(tmp_path):
    """Random byte damage must end in a ModelFileError/ModelError (or a valid map), never in a
    raw zipfile/pickle/numpy exception."""
    from plrnn_manifolds.errors import PLRNNManifoldsError

    rng = np.random.default_rng(2024)
    sources = {
        "m.json": save_model(MODELS["dendplrnn"], tmp_path / "src.json").read_bytes(),
        "m.npz": save_model(MODELS["alrnn"], tmp_path / "src.npz").read_bytes(),
        "m_p2.pt": _alrnn_by_hand(tmp_path, "src_p2.pt")[0].read_bytes(),
    }
    for name, data in sources.items():
        for trial in range(60):
            b = bytearray(data)
            for _ in range(rng.integers(1, 4)):
                b[rng.integers(len(b))] = rng.integers(256)
            if trial % 5 == 0:
                b = b[: rng.integers(len(b))]
            path = _write(tmp_path, name, bytes(b))
            try:
                load_model(path)
            except PLRNNManifoldsError:
                pass
