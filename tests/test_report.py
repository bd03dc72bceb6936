"""The HTML report: bad results directories, sections, escaping, and a real browser."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from plrnn_manifolds._atomic import to_json  # noqa: E402
from plrnn_manifolds.errors import ResultsError  # noqa: E402
from plrnn_manifolds.models import border_collision  # noqa: E402
from plrnn_manifolds.orbits import find_orbits  # noqa: E402
from plrnn_manifolds.report import render_report, write_report  # noqa: E402
from plrnn_manifolds.results import new_results, orbit_entry, write_results  # noqa: E402

EVIL = "<script>alert('x')</script> & \"quotes\""


def local_segment(p, v, eps):
    """A 1-D piece p + s v, |s| <= eps (an exact local manifold piece of a saddle: the orbit
    points are interior to their regions and v is an eigenvector of the monodromy)."""
    return {
        "region": "0",
        "depth": 0,
        "origin": list(map(float, p)),
        "basis": [[float(v[0])], [float(v[1])]],
        "G": [[1.0], [-1.0]],
        "g": [eps, eps],
        "vertices": [list(map(float, p - eps * v)), list(map(float, p + eps * v))],
    }


def fig3b_results(full: bool = True) -> dict:
    """Results for the paper's Fig 3B (left) map: real orbits, local manifold pieces, and (when
    ``full``) attractor, intersection and chaos fields as the later pipeline writes them."""
    F = border_collision(tau_l=-0.3, delta_l=0.9, tau_r=-1.85, delta_r=0.9, c=1, d=0, h1=-1, h2=0)
    orb = find_orbits(F, max_period=3)
    res = new_results(F, f"models/{EVIL}.json", {"max_period": 3, "seed": 7, "depth": 20})
    res["orbits"] = [orbit_entry(o, i) for i, o in enumerate(orb.orbits)]
    res["box"] = [[-4.0, -4.0], [4.0, 4.0]]
    for i, o in enumerate(orb.orbits):
        if o.classification != "saddle":
            continue
        for kind in ("stable", "unstable"):
            pieces = []
            for j in range(o.period):
                ev, V = np.linalg.eig(o.monodromy_at(j))
                k = np.argmin(np.abs(ev)) if kind == "stable" else np.argmax(np.abs(ev))
                v = np.real(V[:, k]) / np.linalg.norm(np.real(V[:, k]))
                pieces.append(local_segment(o.points[j], v, 0.3))
            res["manifolds"].append(
                {
                    "orbit": i,
                    "kind": kind,
                    "dimension": 1,
                    "method": "exact",
                    "stopped_by": ["depth"],
                    "complete": True,
                    "max_residual": 2e-16,
                    "pieces": pieces,
                    "events": [],
                }
            )
    if full:
        stable = [i for i, o in enumerate(orb.orbits) if o.classification == "stable"]
        res["attractors"] = [
            {
                "id": 0,
                "kind": "fixed_point",
                "period": 1,
                "orbit": stable[0],
                "points": [orb.orbits[stable[0]].points[0].tolist()],
                "lyapunov": [-0.0527, -0.0527],
                "basin_fraction": 0.3137,
                "distance_to_boundary": 0.6178,
            }
        ]
        res["intersections"] = [
            {
                "kind": "homoclinic",
                "unstable_orbit": 1,
                "stable_orbit": 1,
                "point": [0.1, 0.2],
                "transversal": True,
                "verified": False,
            }
        ]
        res["chaos"] = {
            "verdict": "inconclusive",
            "reasons": ["The largest Lyapunov exponent is negative.", EVIL],
        }
    res["partial"] = False
    return res


# ---------------------------------------------------------------------------------- bad input


def test_missing_results_json_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsError, match=r"no results\.json in .*run `plrnn-manifolds analyze"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_corrupt_results_json_is_a_clear_error(tmp_path):
    good = to_json(fig3b_results(full=False))
    (tmp_path / "results.json").write_text(good[: len(good) // 2])  # truncated
    with pytest.raises(ResultsError, match="not valid JSON.*corrupt or truncated"):
        write_report(tmp_path)
    (tmp_path / "results.json").write_text('{"something": "else"}')
    with pytest.raises(ResultsError, match="not a plrnn-manifolds results file"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_corrupt_canonical_model_is_reported_not_crashing(tmp_path):
    res = fig3b_results(full=False)
    res["model"]["canonical"]["W1"] = [[1.0, 2.0, 3.0]]  # wrong shape
    html = render_report(res)
    assert "does not describe a canonical map" in html
    assert 'id="orbit-table"' in html  # the rest of the report is still there


# ---------------------------------------------------------------------------------- content


def sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', html)


def test_report_has_every_section_and_is_self_contained(tmp_path):
    res = fig3b_results(full=True)
    write_results(tmp_path, res)
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    html = path.read_text(encoding="utf-8")
    assert sections(html) == [
        "model",
        "orbits",
        "manifolds",
        "figures",
        "attractors",
        "intersections",
        "chaos",
        "run",
    ]
    # orbit table: one row per orbit, with its classification
    table = re.search(r'<table id="orbit-table".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == len(res["orbits"])
    for row, o in zip(rows, res["orbits"], strict=True):
        assert f">{o['classification']}<" in row
    # attractors: basin fraction and distance to the boundary
    att = re.search(r'<section id="attractors">.*?</section>', html, re.S).group(0)
    assert "0.3137" in att and "0.6178" in att
    assert 'class="verdict verdict-inconclusive"' in html
    # run metadata: version, seed, start time, parameters
    run = re.search(r'<section id="run">.*?</section>', html, re.S).group(0)
    assert res["run"]["version"] in run and res["run"]["started"] in run
    assert re.search(r"<td>seed</td><td[^>]*>7</td>", run)
    assert "max_period" in run
    # figures are embedded PNGs that decode
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) >= 2  # phase portrait and the attractor's Lyapunov spectrum
    png = imread(io.BytesIO(base64.b64decode(imgs[0])), format="png")
    assert png.ndim == 3 and png.shape[0] > 100 and png.std() > 0.05
    # self-contained: nothing is fetched from anywhere
    assert "http://" not in html and "https://" not in html
    assert not re.search(r'\b(?:src|href)="(?!data:|#)', html)
    # all text from the results is escaped
    assert "<script" not in html
    assert html.count(EVIL) == 0 and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_minimal_and_partial_results(tmp_path):
    res = fig3b_results(full=False)
    res["partial"] = True
    res["errors"] = [{"orbit": 1, "kind": "stable", "error": "budget <exhausted>"}]
    html = render_report(res, figures=False)
    assert sections(html) == ["model", "orbits", "manifolds", "errors", "run"]
    assert 'id="partial-banner"' in html
    assert "budget &lt;exhausted&gt;" in html


def test_report_of_a_3d_model_has_a_3d_view_and_a_projection(tmp_path):
    import warnings

    from plrnn_manifolds.maps import PLMap

    # a linear saddle at the origin (stable plane z3 = 0, unstable axis z3) with one ReLU unit
    F = PLMap(
        np.diag([0.5, 0.6, 1.8]), [[0.0], [0.0], [-0.5]], [[0.0, 0.0, 1.0]], [0, 0, 0], [-1.0]
    )
    res = new_results(F, "saddle3d.json", {"seed": 1})
    res["box"] = [[-2.0] * 3, [2.0] * 3]
    res["orbits"] = [
        {
            "id": 0,
            "period": 1,
            "points": [[0.0, 0.0, 0.0]],
            "eigenvalues": [[1.8, 0], [0.6, 0], [0.5, 0]],
            "classification": "saddle",
            "n_unstable": 1,
            "n_stable": 2,
        }
    ]
    res["manifolds"] = [
        {
            "orbit": 0,
            "kind": "stable",
            "dimension": 2,
            "stopped_by": ["box"],
            "complete": True,
            "max_residual": 0.0,
            "pieces": [
                {
                    "region": "0",
                    "depth": 0,
                    "origin": [0, 0, 0],
                    "basis": [[1, 0], [0, 1], [0, 0]],
                    "G": [[1, 0], [-1, 0], [0, 1], [0, -1]],
                    "g": [2, 2, 2, 2],
                }
            ],
        }
    ]
    res["partial"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the PCA fallback warning goes into the caption
        html = render_report(res)
    assert 'id="fig-3d"' in html and 'id="fig-phase"' in html
    assert "principal components" in html


# ---------------------------------------------------------------------------------- browser

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--window-size=1200,2000",
]

# Appended to a copy of the report: records where the orbit table and the header are drawn.
PROBE = """<script>
const r = document.getElementById('orbit-table').getBoundingClientRect();
const h = document.querySelector('header').getBoundingClientRect();
document.body.setAttribute('data-probe', JSON.stringify({orbits: [r.left, r.top, r.right,
  r.bottom], header: [h.left, h.top, h.right, h.bottom]}));
</script></body>"""


def chromium(args, tmp_path, timeout=90):
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (CI: apt-get update && apt-get install -y chromium)",
)
def test_report_renders_in_headless_chromium(tmp_path):
    out = tmp_path / "run"
    write_results(out, fig3b_results(full=True))
    report = write_report(out)
    # 1. the DOM the browser builds has every section
    dom = chromium(["--dump-dom", report.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid in (
        "model",
        "orbits",
        "manifolds",
        "figures",
        "attractors",
        "intersections",
        "chaos",
        "run",
        "orbit-table",
        "fig-phase",
    ):
        assert f'id="{sid}"' in dom.stdout
    # 2. layout of the orbit table and header, measured by the browser in a probed copy
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE))
    dom = chromium(["--dump-dom", probed.as_uri()], tmp_path)
    m = re.search(r'data-probe="([^"]+)"', dom.stdout)
    assert m, "the probe script did not run"
    probe = json.loads(m.group(1).replace("&quot;", '"'))
    # 3. screenshot of the real report at the same window size
    shot = tmp_path / "shot.png"
    res = chromium([f"--screenshot={shot}", report.as_uri()], tmp_path)
    assert shot.exists(), res.stderr[-2000:]
    img = imread(shot)[..., :3]
    assert img.shape[:2] == (2000, 1200)
    assert img.std() > 0.1  # not blank
    # the header is drawn in the report's dark blue (#1f3b57)
    x0, y0, x1, y1 = (int(round(v)) for v in probe["header"])
    assert y1 > y0 + 20
    header = img[y0 + 5 : y0 + 12, x0 + 400 : x1 - 10].reshape(-1, 3)
    assert np.median(np.abs(header - np.array([0x1F, 0x3B, 0x57]) / 255), axis=0).max() < 0.03
    # the orbit table is on screen and not white: shaded header row, text and borders
    x0, y0, x1, y1 = (int(round(v)) for v in probe["orbits"])
    assert 0 <= y0 < y1 <= 2000 and x1 - x0 > 200 and y1 - y0 > 30
    region = img[y0:y1, x0:x1]
    nonwhite = np.mean(np.any(region < 0.9, axis=-1))
    assert nonwhite > 0.3, f"orbit table region is {nonwhite:.0%} non-white"
    # and the rest of the page below it is not empty either (the figures)
    assert img[y1 + 200 :].std() > 0.1


def test_boundary_table_names_the_separated_attractors(tmp_path):
    """The ``boundaries`` field, in the format BoundaryAnalysis.to_dict writes, becomes a table
    with one row per probed manifold and the escape label spelled out."""
    from plrnn_manifolds.basins import find_attractors
    from plrnn_manifolds.boundaries import basin_boundaries
    from plrnn_manifolds.manifolds import grow_manifold
    from plrnn_manifolds.models import bistable_alrnn
    from plrnn_manifolds.orbits import find_orbits

    model = bistable_alrnn(5, 3)
    orb = find_orbits(model, max_period=1, seed=0)
    (sid,) = [i for i, o in enumerate(orb.orbits) if o.classification == "saddle"]
    lo = np.array([-1.0, -1.0, -7.6, -7.6, -1.0])
    ws = grow_manifold(model, orb.orbits[sid], "stable", box=(lo, -lo), orbit_id=sid)
    cat = find_attractors(model, orb.orbits, n_initial=50, box=(lo, -lo), seed=0)
    ba = basin_boundaries(model, cat, [ws], n_probes=8, seed=0)
    res = fig3b_results(full=True)
    res["boundaries"] = ba.to_dict()
    res["boundaries"]["boundaries"].append(
        dict(res["boundaries"]["boundaries"][0], orbit=9, separates=[-1, 0], pairs={"-1|0": 3})
    )
    html = render_report(res, figures=False)
    table = re.search(r'<table id="boundary-table".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    assert f">{sid}<" in rows[0] and "attractor 0 | attractor 1" in rows[0]
    assert "escape | attractor 0" in rows[1]
