"""Figures: every function renders to PNG and draws what it should (artists, colours, limits)."""

from __future__ import annotations

import re
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plrnn_manifolds import plots  # noqa: E402
from plrnn_manifolds.errors import DataError  # noqa: E402
from plrnn_manifolds.maps import PLMap  # noqa: E402
from plrnn_manifolds.models import border_collision, plrnn  # noqa: E402

# ---------------------------------------------------------------------------------- helpers


def fig3b_left():
    return border_collision(
        tau_l=-0.3, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0
    )


def seg_piece(a, b, region="0"):
    """A 1-D piece from a to b (origin a, unit basis, s in [0, |b - a|]) without vertices."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    L = float(np.linalg.norm(b - a))
    u = (b - a) / L
    return {
        "region": region,
        "depth": 0,
        "origin": a.tolist(),
        "basis": u[:, None].tolist(),
        "G": [[1.0], [-1.0]],
        "g": [L, 0.0],
    }


def square_piece(origin, u1, u2, half=1.0):
    """A 2-D piece: origin + s1 u1 + s2 u2 with |s_i| <= half (u1, u2 orthonormal)."""
    return {
        "region": "0",
        "depth": 0,
        "origin": list(map(float, origin)),
        "basis": np.column_stack([u1, u2]).tolist(),
        "G": [[1, 0], [-1, 0], [0, 1], [0, -1]],
        "g": [half] * 4,
    }


def results_for(model: PLMap, orbits, manifolds, box, **extra):
    """A results.json document built by hand (the contract fields the figures read)."""
    canon = {k: np.asarray(v).tolist() for k, v in model.canonical_params().items()}
    doc = {
        "model": {
            "family": model.family,
            "M": model.M,
            "H": model.H,
            "scale": model.scale,
            "canonical": canon,
            "source": "test",
        },
        "run": {"version": "0", "started": "2026-01-01T00:00:00+00:00", "parameters": {"seed": 0}},
        "partial": False,
        "box": [list(map(float, box[0])), list(map(float, box[1]))],
        "orbits": orbits,
        "manifolds": manifolds,
    }
    doc.update(extra)
    return doc


def orbit(oid, points, cls):
    pts = np.atleast_2d(np.asarray(points, float))
    return {
        "id": oid,
        "period": len(pts),
        "points": pts.tolist(),
        "eigenvalues": [[0.5, 0.0], [2.0, 0.0]],
        "classification": cls,
        "n_unstable": {"stable": 0, "saddle": 1, "unstable": 2}[cls],
        "n_stable": {"stable": 2, "saddle": 1, "unstable": 0}[cls],
        "flip": False,
        "spiral": False,
        "near_nonhyperbolic": False,
        "patterns": ["0"] * len(pts),
    }


def by_gid(ax, gid):
    arts = list(ax.lines) + list(ax.collections)
    return [a for a in arts if a.get_gid() == gid]


def render(fig, tmp_path, name="fig.png"):
    p = tmp_path / name
    fig.savefig(p, dpi=60)
    assert p.stat().st_size > 1000
    return p


def same_colour(a, b):
    return np.allclose(to_rgba(a), to_rgba(b))


@pytest.fixture
def results2d():
    F = fig3b_left()
    orbits = [
        orbit(0, [-0.4545, 0.4091], "stable"),
        orbit(1, [[-2.1163, -1.2504], [0.5, 0.3], [1.0, -1.0]], "saddle"),
        orbit(2, [2.5, 2.0], "unstable"),
    ]
    stable = {
        "orbit": 1,
        "kind": "stable",
        "dimension": 1,
        "stopped_by": ["depth"],
        "complete": True,
        "max_residual": 1e-15,
        "pieces": [
            seg_piece([-3, -3], [-1, -1]),
            seg_piece([-1, -1], [0, 0.5]),
            seg_piece([0, 0.5], [2, 2.5]),
        ],
    }
    unstable = {
        "orbit": 1,
        "kind": "unstable",
        "dimension": 1,
        "stopped_by": ["box"],
        "complete": True,
        "max_residual": 1e-15,
        "pieces": [seg_piece([-2, 1], [1, 1]), seg_piece([1, 1], [2, -1])],
    }
    return results_for(F, orbits, [stable, unstable], ([-3.5, -3.5], [3.5, 3.5]))


# ---------------------------------------------------------------------------------- 2-D


def test_phase_portrait_2d_artists_colours_and_limits(results2d, tmp_path):
    fig = plots.phase_portrait(results2d, trajectories=5, n_steps=50)
    assert isinstance(fig, Figure)
    render(fig, tmp_path)
    ax = fig.axes[0]
    # one LineCollection per manifold, one segment per piece
    (ws,) = by_gid(ax, "manifold-stable")
    (wu,) = by_gid(ax, "manifold-unstable")
    assert len(ws.get_segments()) == 3 and len(wu.get_segments()) == 2
    assert same_colour(ws.get_colors()[0], plots.MANIFOLD_COLOURS["stable"])
    assert same_colour(wu.get_colors()[0], plots.MANIFOLD_COLOURS["unstable"])
    # the segments are the pieces' exact endpoints (computed from G, g: no vertices given)
    seg = np.asarray(ws.get_segments()[1])
    assert np.allclose(sorted(map(tuple, seg)), [(-1, -1), (0, 0.5)], atol=1e-12)
    # orbits by type: distinct colours and markers, fixed palette
    (sad,) = by_gid(ax, "orbit-saddle")
    (sta,) = by_gid(ax, "orbit-stable")
    (uns,) = by_gid(ax, "orbit-unstable")
    assert same_colour(sad.get_color(), plots.ORBIT_STYLES["saddle"]["color"])
    assert same_colour(sta.get_color(), plots.ORBIT_STYLES["stable"]["color"])
    assert not same_colour(sad.get_color(), sta.get_color())
    assert {sad.get_marker(), sta.get_marker(), uns.get_marker()} == {"D", "o", "^"}
    assert len(sad.get_xdata()) == 3  # all three cycle points
    # limits contain every orbit point
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    for o in results2d["orbits"]:
        for x, y in o["points"]:
            assert x0 < x < x1 and y0 < y < y1
    # trajectories: one line each, in the trajectory colour
    tr = by_gid(ax, "trajectory")
    assert len(tr) == 5 and all(same_colour(t.get_color(), plots.TRAJECTORY_COLOUR) for t in tr)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("stable manifold" in t for t in labels)
    assert any("unstable manifold" in t for t in labels)


def test_phase_portrait_limits_grow_to_contain_orbits_outside_the_box(results2d, tmp_path):
    results2d["orbits"].append(orbit(3, [6.0, -5.0], "unstable"))
    fig = plots.phase_portrait(results2d, trajectories=0)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] > 6.0 and ax.get_ylim()[0] < -5.0


def test_region_lines_are_the_switching_lines(tmp_path):
    # two hidden units: x = 0.5 and x + y = 1
    F = PLMap(np.eye(2) * 0.5, np.ones((2, 2)) * 0.1, [[1.0, 0.0], [1.0, 1.0]], [0, 0], [-0.5, -1])
    fig = plots.phase_portrait(F, trajectories=3, n_steps=10)
    render(fig, tmp_path)
    lines = by_gid(fig.axes[0], "region")
    assert len(lines) == 2
    for ln, (w, h) in zip(lines, [([1, 0], -0.5), ([1, 1], -1.0)], strict=True):
        p1, p2 = np.asarray(ln._xy1), np.asarray(ln._xy2)
        # both defining points lie on W2_i z + h2_i = 0
        assert abs(np.dot(w, p1) + h) < 1e-12 and abs(np.dot(w, p2) + h) < 1e-12
        assert np.linalg.norm(p2 - p1) > 0
    # no regions when asked
    fig = plots.phase_portrait(F, trajectories=0, show_regions=False)
    assert by_gid(fig.axes[0], "region") == []


def test_basins_drawn_underneath_with_the_palette(results2d, tmp_path):
    xs = np.linspace(-3, 3, 30)
    ys = np.linspace(-2, 2, 20)
    X, Y = np.meshgrid(xs, ys)
    labels = np.where(X < 0, 0, 1)
    labels[Y > 1.5] = -1  # escape
    labels[Y < -1.8] = -2  # undecided

    class GridBasins:  # the attributes basins.py provides
        pass

    b = GridBasins()
    b.labels, b.xs, b.ys = labels, xs, ys
    fig = plots.phase_portrait(results2d, trajectories=0, basins=b)
    render(fig, tmp_path)
    ax = fig.axes[0]
    (mesh,) = by_gid(ax, "basins")
    assert mesh.get_zorder() < min(a.get_zorder() for a in by_gid(ax, "manifold-stable"))
    rgba = mesh.to_rgba(mesh.get_array()).reshape(len(ys), len(xs), 4)
    mid = int(np.argmin(np.abs(ys)))  # the row y = 0 (labels 0 and 1)
    assert same_colour(rgba[mid, 0], plots.BASIN_COLOURS[0])  # x < 0
    assert same_colour(rgba[mid, -1], plots.BASIN_COLOURS[1])  # x > 0
    assert same_colour(rgba[-1, 0], plots.ESCAPE_COLOUR)  # y > 1.5
    assert same_colour(rgba[0, 0], plots.UNDECIDED_COLOUR)  # y < -1.8
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"basin 0", "basin 1", "escape", "undecided"} <= set(legend)
    # labels stored [ix, iy] are accepted too; a wrong shape is refused
    b.labels = labels.T
    fig2 = plots.phase_portrait(results2d, trajectories=0, basins=b)
    (mesh2,) = by_gid(fig2.axes[0], "basins")
    assert np.array_equal(np.asarray(mesh2.get_array()), np.asarray(mesh.get_array()))
    b.labels = labels[:, :5]
    with pytest.raises(DataError, match="basin labels"):
        plots.phase_portrait(results2d, trajectories=0, basins=b)


def test_intersections_and_attractors_are_marked(results2d, tmp_path):
    results2d["attractors"] = [
        {
            "id": 0,
            "kind": "fixed_point",
            "period": 1,
            "orbit": 0,
            "points": [[-0.4545, 0.4091]],
            "lyapunov": [-0.1, -0.2],
            "basin_fraction": 0.4,
            "distance_to_boundary": 1.2,
        },
    ]
    results2d["intersections"] = [
        {
            "kind": "homoclinic",
            "unstable_orbit": 1,
            "stable_orbit": 1,
            "point": [0.1, 0.2],
            "transversal": True,
            "verified": True,
        },
        {
            "kind": "homoclinic",
            "unstable_orbit": 1,
            "stable_orbit": 1,
            "point": [0.3, -0.2],
            "transversal": True,
            "verified": True,
        },
    ]
    fig = plots.phase_portrait(results2d, trajectories=0)
    render(fig, tmp_path)
    (pts,) = by_gid(fig.axes[0], "intersection")
    assert np.allclose(
        np.column_stack([pts.get_xdata(), pts.get_ydata()]), [[0.1, 0.2], [0.3, -0.2]]
    )
    assert same_colour(pts.get_color(), plots.INTERSECTION_COLOUR)
    assert len(by_gid(fig.axes[0], "attractor")) == 1


def test_phase_portrait_draws_on_a_given_axes_and_accepts_objects(tmp_path):
    from plrnn_manifolds.orbits import find_orbits

    F = fig3b_left()
    res = find_orbits(F, max_period=3)
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = plots.phase_portrait(F, orbits=res, ax=ax2, trajectories=4, n_steps=40)
    assert out is fig and len(ax1.lines) == 0 and len(ax2.lines) > 0
    render(fig, tmp_path)
    (sad,) = by_gid(ax2, "orbit-saddle")
    assert len(sad.get_xdata()) == 3  # the saddle 3-cycle of Fig 3B (left)


def test_bad_input_is_refused(results2d):
    with pytest.raises(DataError, match="results dict or a PLMap"):
        plots.phase_portrait([1, 2, 3])
    with pytest.raises(DataError, match="two different indices"):
        plots.phase_portrait(results2d, projection=(0, 0), trajectories=0)
    bad = dict(results2d)
    bad["manifolds"] = [{"kind": "stable", "dimension": 1, "pieces": [{"origin": [0, 0]}]}]
    with pytest.raises(DataError, match="lacks the field"):
        plots.phase_portrait(bad, trajectories=0)
    with pytest.raises(DataError, match="last dimension"):
        plots.phase_portrait(results2d, trajectories=np.zeros((3, 10, 5)))


# ---------------------------------------------------------------------------------- M > 2


def model4():
    rng = np.random.default_rng(1)
    W = 0.2 * rng.standard_normal((4, 4))
    return plrnn(A=[0.5, 0.6, 0.7, 0.8], W=W, h=0.1 * rng.standard_normal(4))


def test_pca_fallback_warns_and_finds_the_data_plane(tmp_path):
    F = model4()
    # trajectories that lie in the plane spanned by d1 and d2 (plus a fixed offset)
    d1 = np.array([1.0, 1.0, 0.0, 0.0]) / np.sqrt(2)
    d2 = np.array([0.0, 0.0, 1.0, -1.0]) / np.sqrt(2)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 40))
    traj = np.array([0.3, -0.2, 0.1, 0.5]) + 3 * a[..., None] * d1 + b[..., None] * d2
    with pytest.warns(UserWarning, match="principal components"):
        fig = plots.phase_portrait(F, trajectories=traj)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC1") and ax.get_ylabel().startswith("PC2")
    proj = plots.make_projection(4, "pca", points=traj)
    # the principal plane is span(d1, d2): projecting d1, d2 onto it loses nothing
    for d in (d1, d2):
        assert np.linalg.norm(proj.V @ (proj.V.T @ d) - d) < 1e-10
    # an explicit projection does not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.phase_portrait(F, trajectories=traj, projection=(0, 2))
    assert fig.axes[0].get_xlabel() == "$z_{1}$"


def test_piece_trace_equals_the_analytic_line():
    # piece: part of the plane x + y + z = 1; display plane: z = 0.25 (base (0, 0, 0.25))
    o = np.ones(3) / 3
    u1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    u2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    p = square_piece(o, u1, u2)
    V = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    T = plots.piece_trace(p["origin"], p["basis"], p["G"], p["g"], [0, 0, 0.25], V)
    assert T.shape == (2, 3)
    assert np.allclose(T[:, 2], 0.25, atol=1e-13)
    assert np.allclose(T.sum(axis=1), 1.0, atol=1e-13)  # x + y = 0.75 on z = 0.25
    # analytic endpoints: s2 fixed by z = 0.25, s1 = -1 and +1 (the polytope's edges)
    s2 = (1 / 3 - 0.25) * np.sqrt(6) / 2
    ends = [o + s1 * u1 + s2 * u2 for s1 in (-1.0, 1.0)]
    got = sorted(map(tuple, T))
    assert np.allclose(got, sorted(map(tuple, ends)), atol=1e-12)
    # a plane that misses the piece has no trace; a parallel plane neither
    assert len(plots.piece_trace(o, p["basis"], p["G"], p["g"], [0, 0, 5.0], V)) == 0
    Vpar = np.column_stack([u1, u2])
    assert len(plots.piece_trace(o, p["basis"], p["G"], p["g"], [0, 0, 0], Vpar)) == 0
    # the plane lies inside the piece's hull: the trace is the whole square (a polygon)
    sq = square_piece([0, 0, 0], [1, 0, 0], [0, 1, 0], half=0.5)
    P = plots.piece_trace(sq["origin"], sq["basis"], sq["G"], sq["g"], [0, 0, 0], V)
    assert len(P) == 4 and np.allclose(np.abs(P[:, :2]), 0.5) and np.allclose(P[:, 2], 0)


def test_codimension_one_manifold_drawn_as_trace_with_legend(tmp_path):
    F = PLMap(np.diag([0.5, 0.5, 2.0]), np.zeros((3, 1)), [[1.0, 0, 0]], np.zeros(3), [-10.0])
    o = np.ones(3) / 3
    u1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    u2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    man = {
        "orbit": 0,
        "kind": "stable",
        "dimension": 2,
        "pieces": [square_piece(o, u1, u2), square_piece(o + 3 * u1, u1, u2)],
    }
    res = results_for(F, [orbit(0, [0, 0, 0.25], "saddle")], [man], ([-3] * 3, [3] * 3))
    fig = plots.phase_portrait(res, projection=(0, 1), trajectories=0)
    render(fig, tmp_path)
    ax = fig.axes[0]
    (tr,) = by_gid(ax, "trace-stable")
    segs = tr.get_segments()
    assert len(segs) == 2  # both pieces meet the plane z = 0.25 through the saddle
    for s in segs:
        assert np.allclose(np.asarray(s).sum(axis=1), 0.75, atol=1e-12)  # x + y = 0.75
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("trace on the plane" in t for t in labels)
    # the region hyperplane x = 10 is traced as the vertical line x = 10
    (reg,) = by_gid(ax, "region")
    assert np.isclose(reg._xy1[0], 10) and np.isclose(reg._xy2[0], 10)


def test_basin_slice_sets_the_projection_and_the_trace_plane(tmp_path):
    # M = 3; a stable manifold piece in the plane x + y + z = 1; a basin grid over (z1, z3) at
    # z2 = 0.5: the portrait shows that slice and traces the manifold on it (x + z = 0.5)
    F = PLMap(np.diag([0.5, 0.5, 2.0]), np.zeros((3, 1)), [[1.0, 0, 0]], np.zeros(3), [-10.0])
    o = np.ones(3) / 3
    u1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    u2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    man = {"orbit": 0, "kind": "stable", "dimension": 2, "pieces": [square_piece(o, u1, u2)]}
    res = results_for(F, [orbit(0, [0.2, 0.5, 0.3], "saddle")], [man], ([-3] * 3, [3] * 3))
    xs = np.linspace(-3, 3, 12)
    basins = {
        "labels": np.zeros((12, 12), int),
        "xs": xs,
        "ys": xs,
        "slice": (0, 2),
        "base_point": np.array([0.0, 0.5, 0.0]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PCA fallback: the slice decides
        fig = plots.phase_portrait(res, basins=basins, trajectories=0)
    render(fig, tmp_path)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$z_{1}$", "$z_{3}$")
    (tr,) = by_gid(ax, "trace-stable")
    (seg,) = tr.get_segments()
    assert np.allclose(np.asarray(seg).sum(axis=1), 0.5, atol=1e-12)  # x + z = 1 - 0.5
    with pytest.raises(DataError, match="slice over coordinates"):
        plots.phase_portrait(res, basins=basins, trajectories=0, projection=(0, 1))


# ---------------------------------------------------------------------------------- 3-D


@pytest.fixture
def results3d():
    F = PLMap(np.diag([0.5, 0.5, 2.0]), np.zeros((3, 1)), [[1.0, 0, 0]], np.zeros(3), [-10.0])
    e = np.eye(3)
    stable = {
        "orbit": 0,
        "kind": "stable",
        "dimension": 2,
        "pieces": [
            square_piece([sx, sy, 0], e[0], e[1], 0.5) for sx in (-0.5, 0.5) for sy in (-0.5, 0.5)
        ],
    }
    unstable = {
        "orbit": 0,
        "kind": "unstable",
        "dimension": 1,
        "pieces": [
            seg_piece([0, 0, -1.5], [0, 0, -0.5]),
            seg_piece([0, 0, -0.5], [0, 0, 0]),
            seg_piece([0, 0, 0], [0, 0, 1.5]),
        ],
    }
    return results_for(F, [orbit(0, [0, 0, 0], "saddle")], [stable, unstable], ([-2] * 3, [2] * 3))


def test_manifold_3d_polygons_and_lines(results3d, tmp_path):
    fig = plots.manifold_3d(results3d)
    render(fig, tmp_path)
    ax = fig.axes[0]
    (polys,) = [c for c in ax.collections if c.get_gid() == "manifold-stable"]
    (lines,) = [c for c in ax.collections if c.get_gid() == "manifold-unstable"]
    assert len(polys.get_paths()) == 4  # one polygon per piece
    assert len(lines.get_segments()) == 3  # one segment per piece
    fc = polys.get_facecolor()[0]
    assert np.allclose(fc[:3], to_rgba(plots.MANIFOLD_COLOURS["stable"])[:3])
    assert same_colour(lines.get_color()[0], plots.MANIFOLD_COLOURS["unstable"])
    assert ax.get_xlim() == (-2, 2) and ax.get_zlim() == (-2, 2)
    (sad,) = [ln for ln in ax.lines if ln.get_gid() == "orbit-saddle"]
    assert same_colour(sad.get_color(), plots.ORBIT_STYLES["saddle"]["color"])


def test_manifold_3d_refuses_2d_models(results2d):
    with pytest.raises(DataError, match="M >= 3"):
        plots.manifold_3d(results2d)


def test_manifold_3d_plotly_and_html(results3d, tmp_path):
    pytest.importorskip("plotly")
    fig = plots.manifold_3d_plotly(results3d)
    mesh = [t for t in fig.data if t.type == "mesh3d"]
    assert len(mesh) == 1 and len(mesh[0].i) == 4 * 2  # 4 squares, 2 triangles each
    assert mesh[0].color == plots.MANIFOLD_COLOURS["stable"]
    line = [t for t in fig.data if t.type == "scatter3d" and t.mode == "lines"]
    assert len(line) == 1 and sum(v is None for v in line[0].x) == 3
    path = plots.manifold_3d_html(results3d, tmp_path / "m.html")
    text = path.read_text()
    # self-contained: plotly.js is embedded, no script is loaded from elsewhere
    assert "mesh3d" in text
    assert not re.search(r"<script[^>]*\bsrc=", text)


def test_manifold_3d_html_without_plotly_says_how_to_install(results3d, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError, match=r"plrnn-manifolds\[plots\]"):
        plots.manifold_3d_html(results3d, tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


# ---------------------------------------------------------------------------------- diagrams


def test_bifurcation_diagram_of_the_tent_map(tmp_path):
    # tent map x' = r min(x, 1 - x): the Lyapunov exponent is log r exactly
    rs = np.linspace(0.6, 1.9, 27)
    pts, lyap = [], []
    for r in rs:
        x = 0.2345
        xs = []
        for t in range(300):
            x = r * min(x, 1 - x)
            if t >= 200:
                xs.append(x)
        pts.append(np.array(xs))
        lyap.append(np.log(r))
    branch = {"param": rs, "points": np.where(rs < 1, 0.0, np.nan), "classification": "stable"}
    fig = plots.bifurcation_diagram(rs, pts, lyap, orbits=[branch], param_name="r")
    render(fig, tmp_path)
    top, bottom = fig.axes
    (att,) = by_gid(top, "attractor")
    assert len(att.get_xdata()) == sum(len(p) for p in pts)
    (ly,) = by_gid(bottom, "lyapunov")
    assert np.allclose(ly.get_ydata(), np.log(rs))
    (pos,) = by_gid(bottom, "lyapunov-positive")
    assert np.allclose(pos.get_xdata(), rs[rs > 1])  # chaos exactly where r > 1
    assert top.get_xlim() == (rs.min(), rs.max()) and bottom.get_xlim() == top.get_xlim()
    (br,) = by_gid(top, "branch-stable")
    assert same_colour(br.get_color(), plots.ORBIT_STYLES["stable"]["color"])
    with pytest.raises(DataError, match="expected 27"):
        plots.bifurcation_diagram(rs, pts[:-1], lyap)


def test_lyapunov_spectrum_plot_with_band_and_minus_infinity(tmp_path):
    try:
        from plrnn_manifolds.chaos import lyapunov_spectrum
        from plrnn_manifolds.models import lozi
    except ImportError:  # pragma: no cover
        pytest.skip("chaos module not available")
    res = lyapunov_spectrum(lozi(), [0.1, 0.1], n_steps=1500, transient=200)
    fig = plots.lyapunov_spectrum_plot(res)
    render(fig, tmp_path)
    ax = fig.axes[0]
    (sc,) = [c for c in ax.collections if c.get_gid() == "exponents"]
    off = sc.get_offsets()
    assert np.allclose(off[:, 1], res.exponents)
    cols = sc.get_facecolors()
    assert same_colour(cols[0], plots.GENERATED_COLOUR)  # positive exponent (Lozi: ~0.47)
    assert same_colour(cols[1], "#1f77b4")
    (band,) = by_gid(ax, "band")
    segs = [np.asarray(s) for s in band.get_segments()]
    assert np.allclose([s[:, 1].min() for s in segs], res.ci_low)
    assert np.allclose([s[:, 1].max() for s in segs], res.ci_high)
    # -inf from a singular Jacobian: drawn inside the axes, below the finite exponents
    fig = plots.lyapunov_spectrum_plot([0.2, -0.5, -np.inf], band=[0.01, 0.02, 0.0])
    render(fig, tmp_path, "inf.png")
    ax = fig.axes[0]
    (mi,) = by_gid(ax, "minus-inf")
    y = mi.get_ydata()[0]
    assert y < -0.5 and ax.get_ylim()[0] < y
    with pytest.raises(DataError, match="NaN"):
        plots.lyapunov_spectrum_plot([0.1, np.nan])


def test_time_series_plot(tmp_path):
    t = np.arange(200) * 0.1
    data = np.column_stack([np.sin(t), np.cos(t), t])
    gen = data[:150] + 0.1
    gen[100:, 2] = np.nan  # a diverged run leaves a gap, not an error
    fig = plots.time_series_plot(data, gen, dt=0.1, dims=[0, 2])
    render(fig, tmp_path)
    assert len(fig.axes) == 2
    for ax, k in zip(fig.axes, [0, 2], strict=True):
        (d,) = by_gid(ax, "data")
        (g,) = by_gid(ax, "generated")
        assert np.allclose(d.get_xdata(), t) and np.allclose(d.get_ydata(), data[:, k])
        assert len(g.get_xdata()) == 150
        assert same_colour(d.get_color(), plots.DATA_COLOUR)
        assert same_colour(g.get_color(), plots.GENERATED_COLOUR)
    with pytest.raises(DataError, match="dimension"):
        plots.time_series_plot(data, gen[:, :2])
    with pytest.raises(DataError, match="axes given"):
        plots.time_series_plot(data, gen, ax=[Figure().add_subplot()])


def test_power_spectrum_peaks_at_the_known_frequencies(tmp_path):
    dt = 0.5
    t = np.arange(2048) * dt
    f_data, f_gen = 0.05, 0.125  # cycles per unit time
    data = np.sin(2 * np.pi * f_data * t)[:, None]
    gen = np.sin(2 * np.pi * f_gen * t[:1024])[:, None]
    fig = plots.power_spectrum_plot(data, gen, dt=dt)
    render(fig, tmp_path)
    ax = fig.axes[0]
    (d,) = by_gid(ax, "data")
    (g,) = by_gid(ax, "generated")
    df_d = 1 / (len(data) * dt)
    df_g = 1 / (len(gen) * dt)
    assert abs(d.get_xdata()[np.argmax(d.get_ydata())] - f_data) <= df_d
    assert abs(g.get_xdata()[np.argmax(g.get_ydata())] - f_gen) <= df_g
    assert ax.get_yscale() == "log"
    with pytest.raises(DataError, match="dt"):
        plots.power_spectrum_plot(data, gen, dt=0)
