"""The extended ``analyze`` pipeline (attractors, boundaries, intersections, chaos verdict) and
the ``basins`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from plrnn_manifolds import intersections
from plrnn_manifolds._atomic import to_json
from plrnn_manifolds.analysis import run_analysis
from plrnn_manifolds.cli import main
from plrnn_manifolds.models import example_path, load_model
from plrnn_manifolds.results import read_results

CONTRACT_TOP = {"schema_version", "partial", "model", "run", "box", "orbits", "manifolds"}
ATTRACTOR_FIELDS = {
    "id",
    "kind",
    "period",
    "orbit",
    "points",
    "lyapunov",
    "basin_fraction",
    "distance_to_boundary",
}
INTERSECTION_FIELDS = {"kind", "unstable_orbit", "stable_orbit", "point", "transversal", "verified"}


def _strict_json(path):
    """Parse refusing NaN / Infinity (the contract says they are never written)."""

    def bad(x):
        raise AssertionError(f"non-finite number {x} in results.json")

    return json.loads(path.read_text(), parse_constant=bad)


@pytest.fixture(scope="module")
def fig3b(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig3b")
    model = load_model(example_path("fig3b_left"))
    box = (np.array([-4.0, -4.0]), np.array([4.0, 4.0]))
    res, path = run_analysis(model, out, max_period=3, box=box, depth=12, basin_samples=2000)
    return model, res, path


def test_fig3b_results_contract(fig3b):
    model, res, path = fig3b
    doc = _strict_json(path)
    assert doc == json.loads(to_json(res))
    assert CONTRACT_TOP <= set(doc) and doc["partial"] is False
    assert {"attractors", "intersections", "chaos"} <= set(doc)
    assert "errors" not in doc
    # the existing parameters are unchanged; new ones are additions
    params = doc["run"]["parameters"]
    assert {"max_period", "box", "depth", "max_pieces", "method", "seed"} <= set(params)
    for a in doc["attractors"]:
        assert ATTRACTOR_FIELDS <= set(a)
    assert read_results(path.parent)["chaos"]["verdict"] == doc["chaos"]["verdict"]


def test_fig3b_attractor_basin_and_boundary(fig3b):
    model, res, path = fig3b
    orbits = res["orbits"]
    atts = res["attractors"]
    assert len(atts) == 1
    a = atts[0]
    assert a["kind"] == "fixed_point" and a["period"] == 1
    assert orbits[a["orbit"]]["classification"] == "stable"
    # a saddle is never labelled an attractor
    saddles = [o for o in orbits if o["classification"] == "saddle"]
    assert saddles and all(o["id"] != a["orbit"] for o in saddles)
    # the basin fraction agrees with the Monte Carlo fractions stored next to it
    assert a["basin_fraction"] == pytest.approx(res["basins"]["fractions"]["0"])
    assert 0.05 < a["basin_fraction"] < 0.6  # most of [-4, 4]^2 escapes
    # the period-3 saddle's stable manifold separates the fixed point from escape
    bnd = res["boundaries"]["boundaries"]
    assert len(bnd) == 1 and bnd[0]["separates"] == [-1, 0]
    # the exact distance is attained at a point on that stable manifold
    d = a["distance_to_boundary"]
    near = res["boundaries"]["nearest"]["0"]
    assert np.linalg.norm(np.subtract(near["boundary_point"], a["points"][0])) == pytest.approx(d)
    # brute force: walking from the fixed point to that boundary point, the orbit stops
    # converging exactly at the boundary
    x0 = np.array(a["points"][0])
    y = np.array(near["boundary_point"])
    inside = _converges(model, x0 + (1 - 1e-4) * (y - x0), x0)
    outside = _converges(model, x0 + (1 + 1e-4) * (y - x0), x0)
    assert inside and not outside


def _converges(model, z, target, n=3000):
    for _ in range(n):
        z = model(z)
        if not np.all(np.isfinite(z)) or np.linalg.norm(z) > 1e6:
            return False
    return bool(np.linalg.norm(z - target) < 1e-6)


def test_fig3b_no_chaos(fig3b):
    model, res, path = fig3b
    assert res["intersections"] == []
    assert res["chaos"]["verdict"] == "none"
    assert all("proof" not in r.lower() for r in res["chaos"]["reasons"])


def test_fig5_evidence_of_chaos(tmp_path):
    model = load_model(example_path("fig5"))
    box = (np.array([-3.0, -4.0]), np.array([4.0, 2.5]))
    res, path = run_analysis(
        model, tmp_path, max_period=1, box=box, depth=8, n_initial=30, basin_samples=200
    )
    doc = _strict_json(path)
    assert doc["partial"] is False
    assert doc["chaos"]["verdict"] == "evidence"
    xs = doc["intersections"]
    assert 0 < len(xs) <= 200
    assert doc["intersection_search"]["n_found"] >= len(xs)
    for x in xs:
        assert INTERSECTION_FIELDS <= set(x)
        assert x["kind"] == "homoclinic" and x["transversal"] and x["verified"]
    (a,) = doc["attractors"]
    assert a["kind"] == "chaotic" and a["orbit"] is None and a["period"] is None
    assert a["lyapunov"][0] > 0.4
    assert a["basin_fraction"] == pytest.approx(1.0)
    # the flip saddle's stable manifold bounds no basin
    assert a["distance_to_boundary"] is None
    assert len(a["points"]) <= 500


def test_interrupted_intersection_stage_leaves_partial_results(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(intersections, "find_intersections", boom)
    model = load_model(example_path("fig3b_left"))
    box = (np.array([-4.0, -4.0]), np.array([4.0, 4.0]))
    res, path = run_analysis(model, tmp_path, max_period=3, box=box, depth=6, basin_samples=100)
    doc = _strict_json(path)
    assert doc["partial"] is True
    assert {"error": "interrupted by the user"} in doc["errors"]
    assert doc["attractors"] and "boundaries" in doc  # earlier stages were written
    assert "chaos" not in doc


def test_stages_can_be_switched_off(tmp_path):
    model = load_model(example_path("fig3b_left"))
    res, path = run_analysis(
        model, tmp_path, max_period=1, attractors=False, intersections=False, depth=4
    )
    assert res["partial"] is False
    # the contract fields stay, empty, and the verdict cannot claim anything
    assert res["attractors"] == [] and res["intersections"] == []
    assert res["chaos"]["verdict"] == "inconclusive"
    assert any("skipped" in r for r in res["chaos"]["reasons"])


def test_failing_stage_is_recorded(tmp_path, monkeypatch):
    from plrnn_manifolds.errors import DataError

    def fail(*args, **kwargs):
        raise DataError("synthetic failure")

    monkeypatch.setattr(intersections, "find_intersections", fail)
    model = load_model(example_path("fig3b_left"))
    res, _ = run_analysis(model, tmp_path, max_period=1, depth=4, basin_samples=100)
    assert res["partial"] is False
    assert {"stage": "intersections", "error": "synthetic failure"} in res["errors"]


def test_cli_basins(tmp_path):
    runner = CliRunner()
    f = str(example_path("fig3b_left"))
    out = tmp_path / "b"
    r = runner.invoke(
        main, ["basins", f, "--grid", "40", "--box", "-4,4", "--out", str(out), "--seed", "1"]
    )
    assert r.exit_code == 0, r.output
    assert "fixed_point" in r.output and "escape" in r.output
    doc = json.loads((out / "basins.json").read_text())
    labels = np.array(doc["labels"])
    assert labels.shape == (40, 40)
    assert set(np.unique(labels)) <= {-2, -1, 0}
    assert doc["fractions"]["0"] == pytest.approx(np.mean(labels == 0))
    # the grid point nearest the stable fixed point is in its basin, a far corner escapes
    fp = np.array(doc["attractors"][0]["points"][0])
    ix = int(np.argmin(np.abs(np.array(doc["xs"]) - fp[0])))
    iy = int(np.argmin(np.abs(np.array(doc["ys"]) - fp[1])))
    assert labels[iy, ix] == 0 and labels[-1, 0] == -1
    assert (out / "basins.png").read_bytes()[:4] == b"\x89PNG"
    png = tmp_path / "only.png"
    r = runner.invoke(main, ["basins", f, "--grid", "10", "--png", str(png)])
    assert r.exit_code == 0 and png.exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--slice", "0,2"], "--slice"),
        (["--slice", "1,1"], "must differ"),
        (["--slice", "x"], "two coordinate indices"),
        (["--box", "1,y"], "--box"),
        (["--box", "1,0"], "empty"),
        (["--base", "1,2,3"], "M = 2"),
        (["--grid", "1"], "--grid"),
    ],
)
def test_cli_basins_bad_input(args, match):
    r = CliRunner().invoke(main, ["basins", str(example_path("fig3b_left")), *args])
    assert r.exit_code == 2
    assert match in r.output
    assert "Traceback" not in r.output
