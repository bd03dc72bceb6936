"""Bifurcation diagrams against analytic answers, parameter naming, and the CLI command.

1-D test map (canonical form, M = H = 1): :math:`F(z) = a z + w\\,\\mathrm{relu}(z) + \\mu` with
:math:`a = 1/2`, :math:`a + w = -3/2`, parameter :math:`\\mu` = ``h1[0]``. For :math:`\\mu < 0`
the only fixed point is :math:`z = 2\\mu` (left branch, multiplier 1/2, stable). For
:math:`\\mu > 0` the fixed point is :math:`z = \\mu / 2.5` (right branch, multiplier -3/2,
unstable) and the LR 2-cycle :math:`\\{6\\mu/7, -2\\mu/7\\}` (multiplier -3/4) is the attractor,
so the largest Lyapunov exponent is :math:`\\log(1/2)` for :math:`\\mu < 0` and
:math:`\\tfrac12 \\log(3/4)` for :math:`\\mu > 0` (a border-collision bifurcation at 0).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from plrnn_manifolds.bifurcation import bifurcation_diagram, parse_range, resolve_parameter
from plrnn_manifolds.cli import main
from plrnn_manifolds.errors import DataError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models import alrnn, border_collision, example_path, plrnn, save_model

FIG5 = dict(tau_r=1.5, delta_r=0.75, tau_l=-1.77, delta_l=0.9, c=0.6, d=0.15, h1=-0.7, h2=-0.4)


@pytest.fixture(scope="module")
def tent():
    model = PLMap([[0.5]], [[-2.0]], [[1.0]], [0.3], [0.0])
    values = np.linspace(-1.0, 1.0, 14)  # never exactly 0
    res = bifurcation_diagram(
        model, "h1[0]", values, max_period=2, n_initial=8, n_transient=300, lyapunov_steps=400
    )
    return model, values, res


def test_tracked_orbits_match_the_formulas(tent):
    model, values, res = tent
    fps = [b for b in res.branches if b["period"] == 1]
    two = [b for b in res.branches if b["period"] == 2]
    # the fixed point is one branch through the border collision at mu = 0
    assert len(fps) == 1 and len(two) == 1
    b = fps[0]
    np.testing.assert_array_equal(b["param"], values)
    mu = b["param"]
    expect = np.where(mu < 0, 2 * mu, mu / 2.5)
    np.testing.assert_allclose(b["points"][:, 0, 0], expect, rtol=0, atol=1e-12)
    assert b["classification"] == ["stable" if m < 0 else "unstable" for m in mu]
    assert b["patterns"] == [["0"] if m < 0 else ["1"] for m in mu]
    # the 2-cycle exists exactly for mu > 0 and is stable
    c = two[0]
    np.testing.assert_array_equal(c["param"], values[values > 0])
    for m, pts in zip(c["param"], c["points"], strict=True):
        np.testing.assert_allclose(np.sort(pts[:, 0]), [-2 * m / 7, 6 * m / 7], atol=1e-12)
    assert set(c["classification"]) == {"stable"}
    # the aligned points follow continuously: same ordering along the branch
    assert np.all(np.diff(np.sign(c["points"][:, 0, 0])) == 0)


def test_attractor_points_and_exponents_match_the_formulas(tent):
    model, values, res = tent
    for m, pts, lam in zip(values, res.attractor_points, res.lyapunov, strict=True):
        target = np.array([2 * m]) if m < 0 else np.array([6 * m / 7, -2 * m / 7])
        assert pts.shape[1] == 1 and len(pts) > 0
        d = np.min(np.abs(pts[:, 0][:, None] - target[None]), axis=1)
        assert d.max() < 1e-9
        expect = np.log(0.5) if m < 0 else 0.5 * np.log(0.75)
        assert lam == pytest.approx(expect, abs=2e-3)
    assert np.all(res.n_escaped == 0)


def test_result_feeds_the_plot_and_json(tent):
    model, values, res = tent
    kw = res.to_plot()
    assert set(kw) >= {"param_values", "attractor_points", "lyapunov", "orbits", "param_name"}
    fig = res.plot()
    top = fig.axes[0]
    gids = {ln.get_gid() for ln in top.get_lines()}
    assert {"attractor", "branch-stable", "branch-unstable"} <= gids
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["param"] == "h1[0]" and len(doc["values"]) == len(values)
    assert len(doc["branches"]) == 2
    assert all(o["branch"] in (0, 1) for row in doc["orbits"] for o in row)


def test_border_collision_family_parameter_fixed_point_formula():
    """Fig 5 map along h1: the left fixed point is (I - A_l)^{-1} (h1, h2), a flip saddle for
    every h1 (its eigenvalues are those of A_l, independent of h1)."""
    model = border_collision(**FIG5)
    values = np.linspace(-0.9, -0.5, 5)
    res = bifurcation_diagram(
        model, "h1", values, max_period=1, n_initial=4, n_transient=200, lyapunov_steps=2000
    )
    Al = np.array([[FIG5["tau_l"], FIG5["c"]], [-FIG5["delta_l"], FIG5["d"]]])
    ev = np.linalg.eigvals(Al)
    assert np.abs(ev).max() > 1 > np.abs(ev).min()
    left = [b for b in res.branches if b["patterns"][0] == ["0"]]
    assert len(left) == 1 and len(left[0]["param"]) == len(values)
    for h1, pts, cls in zip(
        left[0]["param"], left[0]["points"], left[0]["classification"], strict=True
    ):
        z = np.linalg.solve(np.eye(2) - Al, [h1, FIG5["h2"]])
        np.testing.assert_allclose(pts[0], z, atol=1e-12)
        assert cls == "saddle"
    assert np.all(res.lyapunov > 0.3)  # the chaotic attractor persists on this interval
    # the family name and the canonical element are the same number here
    a = resolve_parameter(model, "h1").set(model, -0.55)
    b = resolve_parameter(model, "h1[0]").set(model, -0.55)
    np.testing.assert_array_equal(a.h1, b.h1)
    assert a.family == "border_collision" and b.family == "canonical"


def test_parameter_naming_rule():
    m = plrnn(np.array([0.5, 0.4]), np.array([[0.0, 0.2], [0.1, 0.0]]), np.array([0.1, -0.2]))
    r = resolve_parameter(m, "h[1]")
    assert (r.source, r.key, r.index) == ("family", "h", (1,))
    assert r.get(m) == pytest.approx(-0.2)
    m2 = r.set(m, 0.7)
    assert m2.family == "plrnn" and m2.h1[1] == 0.7 and m2.h1[0] == pytest.approx(0.1)
    # A is a diagonal vector in the family: A[0] is the family element, A[0,1] the canonical one
    assert resolve_parameter(m, "A[0]").source == "family"
    assert resolve_parameter(m, "A[0,1]").source == "canonical"
    assert resolve_parameter(m, "W[0,1]").set(m, 0.9).W1[0, 1] == 0.9
    r = resolve_parameter(m, "canonical:h1[0]")
    assert r.source == "canonical" and r.set(m, 3.0).h1[0] == 3.0
    assert resolve_parameter(m, " h1 [ 0 ] ").key == "h1"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("nope", "unknown parameter 'nope'"),
        ("h", "give 1 index"),
        ("h[5]", "out of range"),
        ("h[a]", "bad index"),
        ("h1", "give 1 index"),  # canonical arrays need an index
        ("A[0,0,0]", "give 2 index"),
        ("1abc", "cannot read"),
        ("", "non-empty"),
    ],
)
def test_parameter_name_errors(name, match):
    m = plrnn(np.array([0.5, 0.4]), np.zeros((2, 2)), np.array([0.1, -0.2]))
    with pytest.raises(DataError, match=match):
        resolve_parameter(m, name)


def test_structure_and_unrebuildable_parameters_are_refused():
    m = alrnn(np.array([0.5, 0.4, 0.3]), np.zeros((3, 3)), np.zeros(3), 2)
    with pytest.raises(DataError, match="structure parameter"):
        resolve_parameter(m, "P")
    # an external input folded into h1 is not stored in the family parameters
    ms = plrnn(np.array([0.5, 0.4]), np.zeros((2, 2)), np.zeros(2), s=np.array([1.0, 0.0]))
    with pytest.raises(DataError, match="canonical name"):
        resolve_parameter(ms, "h[0]")
    assert resolve_parameter(ms, "h1[0]").get(ms) == 1.0


def test_parse_range():
    np.testing.assert_array_equal(parse_range("0,1,3"), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(parse_range("2,2,1"), [2.0])
    for bad, match in [
        ("0,1", "three"),
        ("a,1,3", "numbers"),
        ("0,1,2.5", "integer"),
        ("0,1,0", "integer >= 1"),
        ("1,1,4", "empty"),
        ("0,inf,3", "finite"),
    ]:
        with pytest.raises(DataError, match=match):
            parse_range(bad)


def test_cli_bifurcation(tmp_path):
    runner = CliRunner()
    fig5 = str(example_path("fig5"))
    r = runner.invoke(main, ["bifurcation", fig5, "--param", "tau_x", "--range", "0,1,3"])
    assert r.exit_code == 2 and "unknown parameter 'tau_x'" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(main, ["bifurcation", fig5, "--param", "h1", "--range", "0,1"])
    assert r.exit_code == 2 and "lo,hi,steps" in r.output
    r = runner.invoke(main, ["bifurcation", fig5, "--param", "h1[7]", "--range", "0,1,2"])
    assert r.exit_code == 2 and "out of range" in r.output
    model = PLMap([[0.5]], [[-2.0]], [[1.0]], [0.3], [0.0])
    mf = tmp_path / "tent.json"
    save_model(model, mf)
    out = tmp_path / "bif"
    r = runner.invoke(
        main,
        [
            "bifurcation",
            str(mf),
            "--param",
            "h1[0]",
            "--range",
            "-1,1,4",
            "-k",
            "2",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "bifurcation.json").read_text())
    assert doc["values"] == pytest.approx([-1, -1 / 3, 1 / 3, 1])
    assert doc["lyapunov"][0] == pytest.approx(np.log(0.5), abs=2e-3)
    assert (out / "bifurcation.png").read_bytes()[:4] == b"\x89PNG"
