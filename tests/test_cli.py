"""The command line: ``orbits`` and ``analyze`` outputs, and bad input that must end in one clear
line (never a traceback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plrnn_manifolds import cli as cli_mod
from plrnn_manifolds.cli import main
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import example_path, load_model, lozi, plrnn, save_model

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_clean_failure(res, *keywords, code=2):
    """Nonzero exit through the CLI's handlers, one error line naming the problem, no
    traceback."""
    out = res.output
    assert res.exit_code == code, out
    # a handled exit (click turns its own SystemExit into exit_code; anything else would be an
    # escaped exception)
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if ln.lower().startswith("error:")]
    assert len(lines) == 1, out
    for kw in keywords:
        assert kw.lower() in lines[0].lower(), (kw, lines[0])
    return lines[0]


def _cycle_residual(model: PLMap, points) -> float:
    p = np.asarray(points, dtype=float)
    img = model(p)
    return float(np.max(np.linalg.norm(img - np.roll(p, -1, axis=0), axis=1)))


def _map_from_echo(echo: dict) -> PLMap:
    return PLMap(**{k: np.array(v, dtype=float) for k, v in echo["canonical"].items()})


# --------------------------------------------------------------------------------- orbits
@pytest.mark.parametrize("name", ["lozi", "fig3b_left", "fig5"])
def test_orbits_table_and_json(tmp_path, name):
    path = example_path(name)
    out = tmp_path / "orbits.json"
    res = _run("orbits", path, "--max-period", 3, "--json", out)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "period" in res.output and "|lambda|max" in res.output
    doc = json.loads(out.read_text())
    assert doc["max_period"] == 3 and doc["complete"] is True and doc["method"] == "exhaustive"
    assert doc["model"]["family"] == load_model(path).family
    assert doc["orbits"], "the example models all have orbits up to period 3"
    assert f"{len(doc['orbits'])} orbit(s)" in res.output
    model = load_model(path)
    echo = _map_from_echo(doc["model"])
    for k in ("A", "W1", "W2", "h1", "h2"):
        np.testing.assert_array_equal(getattr(echo, k), getattr(model, k))
    for i, o in enumerate(doc["orbits"]):
        assert o["id"] == i
        assert isinstance(o["period"], int) and len(o["points"]) == o["period"]
        assert o["classification"] in ("stable", "unstable", "saddle")
        assert len(o["eigenvalues"]) == model.M
        # F(p_j) = p_{j+1}, F(p_{k-1}) = p_0
        assert _cycle_residual(model, o["points"]) < 1e-12 * model.scale
        # one table row per orbit: the classification printed next to its period
        assert o["classification"] in res.output


def test_orbits_scyfi_mode():
    res = _run("orbits", example_path("lozi"), "-k", 2, "--no-exhaustive", "--seed", 3)
    assert res.exit_code == 0, res.output
    assert "complete: False (method scyfi)" in res.output


def test_orbits_output_dir_unwritable(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = _run("orbits", example_path("lozi"), "--json", blocker / "sub" / "o.json")
    _assert_clean_failure(res, "cannot access")


def test_boundary_orbit_warning_is_one_line(tmp_path):
    # fixed point (0, 1) exactly on the hyperplane of unit 0 (see test_orbits)
    A = np.array([0.5, 0.5])
    W = np.array([[0.3, 0.1], [0.2, -0.4]])
    z = np.array([0.0, 1.0])
    f = save_model(plrnn(A, W, z - A * z - W @ np.maximum(z, 0)), tmp_path / "b.json")
    res = _run("orbits", f)
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert warn and "boundary" in warn[0]
    assert "OrbitWarning" not in res.output  # not Python's file:line warning format


# ------------------------------------------------------------------------------ bad input
def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _truncated_pt(tmp_path) -> Path:
    """A torch.save file cut in half (a real model when ../shared is there, else one written by
    torch, else a zip archive of the same kind)."""
    src = SHARED_MODELS / "alrnn_lorenz63_m20_p2.pt"
    full = tmp_path / "full_p2.pt"
    if src.is_file():
        shutil.copy(src, full)
    else:
        try:
            import torch

            torch.save({"A": torch.ones(3), "W": torch.zeros(3, 3), "h": torch.zeros(3)}, full)
        except ImportError:
            np.savez(full.with_suffix(".npz"), A=np.ones(3))
            full.with_suffix(".npz").rename(full)
    data = full.read_bytes()
    out = tmp_path / "model_p2.pt"
    out.write_bytes(data[: len(data) // 2])
    return out


def _truncated_npz(tmp_path) -> Path:
    full = save_model(lozi(), tmp_path / "full.npz")
    data = full.read_bytes()
    out = tmp_path / "model.npz"
    out.write_bytes(data[: len(data) // 2])
    return out


BAD_FILES = {
    "ragged": (
        lambda t: _write(
            t, "rag.json", '{"family": "plrnn", "A": [0.5, 0.5], "W": [[0, 1], [1]], "h": [0, 0]}'
        ),
        ["rectangular", "'W'"],
    ),
    "nan": (
        lambda t: _write(
            t,
            "nan.json",
            '{"family": "plrnn", "A": [0.5, NaN], "W": [[0, 1], [1, 0]], "h": [0, 0]}',
        ),
        ["NaN", "'A'"],
    ),
    "unknown family": (
        lambda t: _write(t, "fam.json", '{"family": "lstm", "a": 1.7, "b": 0.5}'),
        ["unknown model family", "lstm"],
    ),
    "missing key": (
        lambda t: _write(t, "nokey.json", '{"family": "plrnn", "A": [0.5], "W": [[0.1]]}'),
        ["missing", "'h'"],
    ),
    "truncated json": (
        lambda t: _write(t, "trunc.json", '{"family": "lozi", "a": 1.7, "b'),
        ["trunc.json", "truncated"],
    ),
    "empty json": (lambda t: _write(t, "empty.json", ""), ["empty.json", "parse"]),
    "truncated pt": (_truncated_pt, ["model_p2.pt", "truncated"]),
    "truncated npz": (_truncated_npz, ["model.npz", "truncated"]),
    "nonexistent": (lambda t: t / "nope.json", ["nope.json", "does not exist"]),
    "unknown suffix": (lambda t: _write(t, "model.txt", "1 2 3"), ["suffix", ".txt"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["orbits", "analyze"])
def test_bad_model_file(tmp_path, case, command):
    make, keywords = BAD_FILES[case]
    path = make(tmp_path)
    args = [command, path] + (["--out", tmp_path / "out"] if command == "analyze" else [])
    _assert_clean_failure(_run(*args), *keywords)
    assert not (tmp_path / "out" / "results.json").exists()


def test_alrnn_pt_without_p(tmp_path):
    src = SHARED_MODELS / "alrnn_lorenz63_m20_p2.pt"
    if not src.is_file():
        pytest.skip(f"{src} is absent (real models are not committed)")
    dst = tmp_path / "alrnn.pt"
    shutil.copy(src, dst)
    _assert_clean_failure(_run("orbits", dst), "--P")
    res = _run("orbits", dst, "--P", 2)
    assert res.exit_code == 0, res.output
    assert "4 orbit(s)" in res.output


@pytest.mark.parametrize(
    "args, keyword",
    [
        (["--max-period", "0"], "--max-period"),
        (["-k", "-3"], "--max-period"),
        (["--max-period", "two"], "--max-period"),
        (["--seed", "-1"], "--seed"),
        (["--P", "2"], "P applies only to ALRNN"),
    ],
)
def test_bad_orbits_options(args, keyword):
    _assert_clean_failure(_run("orbits", example_path("lozi"), *args), keyword)


# ------------------------------------------------------------------------- real subprocess
def _console_script() -> list[str]:
    exe = Path(sys.executable).parent / "plrnn-manifolds"
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "plrnn_manifolds.cli"]


def test_console_script_errors_are_one_line(tmp_path):
    cmd = _console_script()
    ok = subprocess.run(
        cmd + ["orbits", str(example_path("lozi")), "-k", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "3 orbit(s)" in ok.stdout
    trunc = _write(tmp_path, "t.json", '{"family": "lozi", "a": 1.')
    for args in (
        ["orbits", str(trunc)],
        ["orbits", str(tmp_path / "missing.json")],
        ["analyze", str(example_path("lozi")), "--out", str(tmp_path / "o"), "--box=1,x"],
    ):
        r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        err = [ln for ln in r.stderr.splitlines() if ln.lower().startswith("error")]
        assert len(err) == 1, r.stderr


# -------------------------------------------------------------------------------- analyze
ORBIT_FIELDS = {
    "id": int,
    "period": int,
    "points": list,
    "eigenvalues": list,
    "classification": str,
    "n_unstable": int,
    "n_stable": int,
}
MANIFOLD_FIELDS = {
    "orbit": int,
    "kind": str,
    "dimension": int,
    "stopped_by": list,
    "complete": bool,
    "max_residual": float,
    "pieces": list,
}
PIECE_FIELDS = {
    "region": str,
    "depth": int,
    "origin": list,
    "basis": list,
    "G": list,
    "g": list,
}


def _check_types(d: dict, fields: dict, what: str) -> None:
    for k, t in fields.items():
        assert k in d, f"{what}: missing {k!r}"
        ok = isinstance(d[k], t) and not (t is int and isinstance(d[k], bool))
        assert ok, f"{what}: {k!r} is {type(d[k]).__name__}, expected {t.__name__}"


def _analyze(tmp_path, box, *extra):
    out = tmp_path / "out"
    res = _run("analyze", example_path("fig3b_left"), "--out", out, "-k", 3, f"--box={box}", *extra)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    return res, json.loads((out / "results.json").read_text())


def _check_results(doc, lo, hi):
    model = load_model(example_path("fig3b_left"))
    assert doc["partial"] is False
    assert doc["schema_version"] == 1
    echo = doc["model"]
    assert echo["family"] == "border_collision" and (echo["M"], echo["H"]) == (2, 1)
    assert echo["source"].endswith("fig3b_left.json")
    echo_map = _map_from_echo(echo)
    for k in ("A", "W1", "W2", "h1", "h2"):
        np.testing.assert_array_equal(getattr(echo_map, k), getattr(model, k))
    np.testing.assert_array_equal(doc["box"], [lo, hi])
    ids = []
    for o in doc["orbits"]:
        _check_types(o, ORBIT_FIELDS, "orbit")
        ids.append(o["id"])
        assert all(len(e) == 2 for e in o["eigenvalues"])
        assert _cycle_residual(model, o["points"]) < 1e-12 * model.scale
    assert ids == list(range(len(doc["orbits"])))
    assert [o["period"] for o in doc["orbits"]] == [1, 3]
    for m in doc["manifolds"]:
        _check_types(m, MANIFOLD_FIELDS, "manifold")
        orb = doc["orbits"][m["orbit"]]
        assert orb["classification"] == "saddle"
        assert m["kind"] in ("stable", "unstable")
        assert m["dimension"] == orb["n_stable" if m["kind"] == "stable" else "n_unstable"]
        assert set(m["stopped_by"]) <= {"depth", "box", "budget", "complete"}
        assert m["max_residual"] < 1e-10
        assert m["pieces"], "a manifold through an orbit inside the box has pieces"
        for p in m["pieces"]:
            _check_piece(model, p, m["dimension"], lo, hi)
        if m["kind"] == "stable":
            _check_stable_convergence(model, m, orb)


def _check_piece(model, p, n, lo, hi):
    _check_types(p, PIECE_FIELDS, "piece")
    M = model.M
    o = np.array(p["origin"])
    U = np.array(p["basis"])
    G, g = np.array(p["G"]), np.array(p["g"])
    assert o.shape == (M,) and U.shape == (M, n) and G.shape == (len(g), n)
    np.testing.assert_allclose(U.T @ U, np.eye(n), atol=1e-10)
    assert set(p["region"]) <= {"0", "1"} and len(p["region"]) == model.H
    V = np.array(p["vertices"])  # 1-D pieces: both ends of the interval
    assert V.ndim == 2 and V.shape[1] == M and len(V) >= n + 1
    tol = 1e-9 * (1 + np.abs(V).max())
    # every vertex is a point of the piece: o + U s with G s <= g ...
    s = (V - o) @ U
    np.testing.assert_allclose(o + s @ U.T, V, atol=tol)
    assert np.all(s @ G.T <= g + tol)
    # ... inside the output box ...
    assert np.all(V >= lo - tol) and np.all(V <= hi + tol)
    # ... and in the piece's region (closed: a vertex may lie on a region boundary)
    d = np.array([c == "1" for c in p["region"]])
    pre = model.preactivation(np.vstack([V, V.mean(axis=0)]))
    sign = np.where(d, 1.0, -1.0)
    assert np.all(sign * pre >= -tol)


def _check_stable_convergence(model, m, orb):
    """Points of the stable manifold go to the orbit when iterated forward."""
    pts = np.vstack([np.array(p["vertices"]).mean(axis=0) for p in m["pieces"]])
    orbit_pts = np.array(orb["points"])
    dist0 = np.linalg.norm(pts[:, None] - orbit_pts[None], axis=2).min(axis=1)
    z = model.trajectory(pts, 1, transient=max(p["depth"] for p in m["pieces"]) + 60)[0]
    dist = np.linalg.norm(z[:, None] - orbit_pts[None], axis=2).min(axis=1)
    assert np.all(dist < 1e-3 * (1 + dist0.max())), dist.max()


def test_analyze_box_two_numbers(tmp_path):
    res, doc = _analyze(tmp_path, "-3,3")
    _check_results(doc, [-3.0, -3.0], [3.0, 3.0])
    assert {(m["orbit"], m["kind"]) for m in doc["manifolds"]} == {(1, "stable"), (1, "unstable")}
    assert doc["run"]["parameters"]["box"] == [[-3.0, -3.0], [3.0, 3.0]]
    assert "stable manifold" in res.output and "wrote" in res.output


def test_analyze_box_per_axis(tmp_path):
    _, doc = _analyze(tmp_path, "-2.5,2.5,-2,2.5")
    _check_results(doc, [-2.5, -2.0], [2.5, 2.5])
    assert len(doc["manifolds"]) == 2


def test_analyze_box_without_the_saddle(tmp_path):
    """--box=-2,2,-1,1 (per axis) does not contain the period-3 saddle: the orbits are still
    reported, the manifolds are skipped with a one-line warning each and recorded in errors."""
    res, doc = _analyze(tmp_path, "-2,2,-1,1")
    _check_results(doc, [-2.0, -1.0], [2.0, 1.0])
    assert doc["manifolds"] == []
    assert {(e["orbit"], e["kind"]) for e in doc["errors"]} == {(1, "stable"), (1, "unstable")}
    warn = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 2 and all("box does not contain" in w for w in warn)
    # the verdict says which manifolds it could not search
    missing = [r for r in doc["chaos"]["reasons"] if "could not be computed" in r]
    assert len(missing) == 2 and all("orbit 1" in r for r in missing)


@pytest.mark.parametrize(
    "box, keyword",
    [
        ("-1,0,1", "2*M = 4"),
        ("1,-1", "empty"),
        ("0,0", "empty"),
        ("-1,1,2,1", "empty"),
        ("a,b", "not a number"),
        ("1,nan", "finite"),
        ("-inf,1", "finite"),
        ("", "comma-separated"),
        ("1,,2", "comma-separated"),
    ],
)
def test_analyze_bad_box(tmp_path, box, keyword):
    res = _run("analyze", example_path("fig3b_left"), "--out", tmp_path / "o", f"--box={box}")
    line = _assert_clean_failure(res, "--box", keyword)
    assert line.startswith("Error: Invalid value for '--box'")
    assert not (tmp_path / "o").exists()


def test_analyze_box_with_space_separated_value(tmp_path):
    out = tmp_path / "o"
    res = _run("analyze", example_path("fig3b_left"), "--out", out, "-k", 3, "--box", "-3,3")
    assert res.exit_code == 0, res.output
    assert json.loads((out / "results.json").read_text())["box"] == [[-3, -3], [3, 3]]


def test_analyze_out_is_a_file(tmp_path):
    f = _write(tmp_path, "f", "")
    res = _run("analyze", example_path("fig3b_left"), "--out", f)
    _assert_clean_failure(res, "--out")


# ------------------------------------------------------------------ interrupts and bugs
def _raise(exc):
    def f(*args, **kwargs):
        raise exc

    return f


def test_analyze_interrupted_while_growing_leaves_partial_results(tmp_path, monkeypatch):
    import plrnn_manifolds.manifolds as manifolds_pkg

    monkeypatch.setattr(manifolds_pkg, "grow_manifold", _raise(KeyboardInterrupt()))
    out = tmp_path / "out"
    res = _run("analyze", example_path("fig3b_left"), "--out", out, "-k", 3, "--box=-3,3")
    line = _assert_clean_failure(res, "interrupted", "partial", code=cli_mod.EXIT_INTERRUPTED)
    assert str(out / "results.json") in line
    doc = json.loads((out / "results.json").read_text())  # valid JSON
    assert doc["partial"] is True
    assert [o["period"] for o in doc["orbits"]] == [1, 3]  # the orbit stage was done
    assert doc["box"] == [[-3, -3], [3, 3]]
    assert doc["manifolds"] == []
    assert {"error": "interrupted by the user"} in doc["errors"]
    assert list(out.iterdir()) == [out / "results.json"]  # no temporary debris


def test_analyze_interrupted_during_orbit_search(tmp_path, monkeypatch):
    import plrnn_manifolds.orbits as orbits_mod

    monkeypatch.setattr(orbits_mod, "find_orbits", _raise(KeyboardInterrupt()))
    out = tmp_path / "out"
    res = _run("analyze", example_path("lozi"), "--out", out)
    _assert_clean_failure(res, "interrupted", code=cli_mod.EXIT_INTERRUPTED)
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is True and doc["orbits"] == [] and doc["model"]["family"] == "lozi"


def test_orbits_interrupted(monkeypatch):
    import plrnn_manifolds.orbits as orbits_mod

    monkeypatch.setattr(orbits_mod, "find_orbits", _raise(KeyboardInterrupt()))
    _assert_clean_failure(
        _run("orbits", example_path("lozi")), "interrupted", code=cli_mod.EXIT_INTERRUPTED
    )


def test_internal_error_is_one_line_unless_verbose(monkeypatch):
    import plrnn_manifolds.orbits as orbits_mod

    monkeypatch.setattr(orbits_mod, "find_orbits", _raise(ZeroDivisionError("boom")))
    line = _assert_clean_failure(_run("orbits", example_path("lozi")), "internal error", code=1)
    assert "ZeroDivisionError: boom" in line and "--verbose" in line
    res = _run("--verbose", "orbits", example_path("lozi"))
    assert res.exit_code == 1 and "Traceback" in res.output  # asked for


def test_analyze_stage_options(tmp_path):
    """--no-attractors/--no-intersections skip those stages; the sample counts reach the run:
    Monte Carlo fractions of 300 samples are multiples of 1/300."""
    _, doc = _analyze(tmp_path / "a", "-3,3", "--no-attractors", "--no-intersections")
    assert doc["attractors"] == [] and doc["intersections"] == []
    assert doc["chaos"]["verdict"] == "inconclusive"
    assert doc["run"]["parameters"]["attractors"] is False
    assert doc["run"]["parameters"]["intersections"] is False
    _, doc = _analyze(tmp_path / "b", "-3,3", "--n-initial", 40, "--basin-samples", 300)
    p = doc["run"]["parameters"]
    assert (p["n_initial"], p["basin_samples"]) == (40, 300)
    fr = np.array([a["basin_fraction"] for a in doc["attractors"]], dtype=float)
    assert fr.size >= 1
    assert np.allclose(fr * 300, np.round(fr * 300), atol=1e-9), fr
