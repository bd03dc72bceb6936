"""Issue 4 bad input not covered elsewhere: slice and grid indices out of range (CLI and API),
diverging trajectories labelled as escaping (never NaN) in every basin/attractor/bifurcation
output, and zero-length parameter ranges (CLI and API).

Already covered in other files: ``grid_basins`` with ``n = 1``, equal, out-of-range, negative
and non-integer slices (test_basins.py); CLI ``--slice 0,2``, ``--slice 1,1``, ``--grid 1``
(test_analysis_extended.py); ``parse_range`` with ``"1,1,4"`` and ``"0,1,0"``
(test_bifurcation.py); far points of the Lozi map labelled ``-1`` (test_basins.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from plrnn_manifolds._atomic import to_json
from plrnn_manifolds.basins import basin_fractions, basin_of, find_attractors, grid_basins
from plrnn_manifolds.bifurcation import bifurcation_diagram
from plrnn_manifolds.chaos import lyapunov_spectrum
from plrnn_manifolds.cli import main
from plrnn_manifolds.errors import DataError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import example_path, save_model

FIG3B = str(example_path("fig3b_left"))
FIG5 = str(example_path("fig5"))


def expanding() -> PLMap:
    """F(z) = 2 z + relu(z_0) e_0 + (3, 3): its only fixed point, (-3, -3), is repelling and
    lies outside the boxes used here, so every trajectory from them diverges."""
    return PLMap(2.0 * np.eye(2), [[1.0], [0.0]], [[1.0, 0.0]], [3.0, 3.0], [0.0])


def _no_nan(obj) -> None:
    """The JSON text has no NaN / Infinity tokens (strict JSON parses it)."""
    text = to_json(obj)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


# ---------------------------------------------------------------------- indices out of range
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--slice", "2,0"], "0..1"),
        (["--slice", "-1,0"], "0..1"),
        (["--slice", "0,1,2"], "two coordinate indices"),
        (["--grid", "0"], "--grid"),
        (["--grid", "-5"], "--grid"),
        (["--grid", "x"], "--grid"),
    ],
)
def test_cli_basins_indices_out_of_range(args, match):
    r = CliRunner().invoke(main, ["basins", FIG3B, *args])
    assert r.exit_code == 2, r.output
    assert match in r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"slice": (2, 0)}, "0..1"),
        ({"slice": (0, -2)}, "0..1"),
        ({"n": 0}, "n \\(grid points"),
        ({"n": -3}, "n \\(grid points"),
        ({"n": 2.5}, "n \\(grid points"),
    ],
)
def test_grid_basins_indices_out_of_range(kwargs, match):
    m = expanding()
    cat = find_attractors(m, n_initial=5, n_transient=10, n_keep=30, box=([-1, -1], [1, 1]))
    args = {"slice": (0, 1), "n": 4}
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        grid_basins(m, cat, **args)


def test_cli_bifurcation_coordinate_out_of_range():
    r = CliRunner().invoke(
        main, ["bifurcation", FIG5, "--param", "h1", "--range", "0,1,2", "--coordinate", "2"]
    )
    assert r.exit_code == 2 and "--coordinate" in r.output and "Traceback" not in r.output


# ---------------------------------------------------------------------- divergence
def test_diverging_trajectories_are_escaping_never_nan():
    m = expanding()
    box = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    cat = find_attractors(m, n_initial=50, n_transient=100, n_keep=100, box=box)
    assert len(cat) == 0 and cat.n_escaped == cat.n_initial == 50
    _no_nan(cat.to_dict())
    # basin_of: -1 for every point, integer labels, also for points that overflow to inf
    lab = basin_of(m, cat, [[0.5, 0.5], [-0.9, 0.3], [1e300, -1e300]], n_steps=2000)
    assert lab.dtype.kind == "i" and lab.tolist() == [-1, -1, -1]
    g = grid_basins(m, cat, n=20)
    assert np.all(g.labels == -1) and g.fractions() == {-1: 1.0}
    assert np.all(g.boundary_cells() == 0)
    fr = basin_fractions(m, cat, n_samples=500)
    assert fr.fractions == {-1: 1.0, -2: 0.0}
    assert all(np.isfinite(v) for v in fr.stderr.values())
    _no_nan(fr.to_dict())
    # the Lyapunov spectrum of a diverging trajectory is refused, not NaN
    with pytest.raises(DataError, match="diverge"):
        lyapunov_spectrum(m, [0.5, 0.5], n_steps=2000, transient=0)


def test_escape_next_to_an_attractor_on_a_grid():
    """Fig 3B-left: a stable focus whose basin is bounded; the rest of the box escapes."""
    from plrnn_manifolds.models import load_model

    m = load_model(FIG3B)
    box = (np.array([-4.0, -4.0]), np.array([4.0, 4.0]))
    cat = find_attractors(m, n_initial=100, box=box, seed=0)
    assert [a.kind for a in cat] == ["fixed_point"]
    g = grid_basins(m, cat, n=40)
    assert set(np.unique(g.labels)) <= {-2, -1, 0}
    assert g.labels[0, 0] == -1 and g.labels[-1, -1] == -1
    assert 0.02 < np.mean(g.labels == 0) < 0.9 and np.mean(g.labels == -1) > 0.1


def test_bifurcation_values_where_everything_escapes():
    """z' = s z - 2 relu(z) + 0.3: for s = 0.5 a stable 2-cycle (slopes 0.5 and -1.5); for
    s = 4 slopes 4 (z < 0) and 2 (z > 0), one repelling fixed point -0.1, all else escapes."""
    model = PLMap([[0.5]], [[-2.0]], [[1.0]], [0.3], [0.0])
    res = bifurcation_diagram(
        model,
        "A[0,0]",
        [0.5, 4.0],
        max_period=1,
        n_initial=8,
        n_transient=200,
        n_keep=50,
        lyapunov_steps=200,
        box=([-1.0], [1.0]),
    )
    assert res.n_escaped.tolist()[1] == 8
    assert res.attractor_points[1].shape == (0, 1)
    assert np.all(np.isfinite(res.attractor_points[0]))
    assert np.isnan(res.lyapunov[1])  # no exponent where nothing stayed bounded ...
    doc = res.to_dict()
    assert doc["lyapunov"][1] is None  # ... and null, not NaN, in JSON
    _no_nan(doc)
    assert any("every trajectory escaped" in n for n in res.notes)


def test_cli_basins_of_a_diverging_model(tmp_path):
    f = tmp_path / "expanding.json"
    save_model(expanding(), f)
    out = tmp_path / "b"
    r = CliRunner().invoke(
        main, ["basins", str(f), "--grid", "8", "--box", "-1,1", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "escape: 1.000" in r.output
    text = (out / "basins.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert np.all(np.array(doc["labels"]) == -1) and doc["attractors"] == []


# ---------------------------------------------------------------------- zero-length range
@pytest.mark.parametrize(
    ("rng", "match"),
    [("1,1,5", "empty"), ("0,1,0", "integer >= 1"), ("0,1,-2", "integer >= 1")],
)
def test_cli_bifurcation_zero_length_range(rng, match):
    r = CliRunner().invoke(main, ["bifurcation", FIG5, "--param", "h1", "--range", rng])
    assert r.exit_code == 2, r.output
    assert "--range" in r.output and match in r.output
    assert "Traceback" not in r.output


def test_api_bifurcation_zero_length_range():
    from plrnn_manifolds.models import load_model

    m = load_model(FIG5)
    with pytest.raises(DataError, match="empty"):
        bifurcation_diagram(m, "h1", "1,1,5")
    with pytest.raises(DataError, match="integer >= 1"):
        bifurcation_diagram(m, "h1", "0,1,0")
    with pytest.raises(DataError, match="non-empty"):
        bifurcation_diagram(m, "h1", [])
    with pytest.raises(DataError, match="non-empty"):
        bifurcation_diagram(m, "h1", np.array([[0.1, 0.2]]))
    # a single value is a valid (one-point) range
    res = bifurcation_diagram(
        m, "h1", "-0.7,-0.7,1", max_period=1, n_initial=4, n_transient=100, lyapunov_steps=200
    )
    assert res.values.tolist() == [-0.7] and len(res.lyapunov) == 1
