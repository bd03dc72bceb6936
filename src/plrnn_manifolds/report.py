"""A self-contained HTML report of a results directory.

:func:`write_report` reads ``DIR/results.json`` and writes ``DIR/report.html``: one file, with its
figures embedded as base64 PNG and its style inline, so it opens offline in any browser and can
be mailed or archived as is. It never loads anything from the network.

Sections (each an HTML ``<section>`` with a stable ``id``, so the report can be checked
programmatically): ``model`` (summary), ``orbits`` (table), ``manifolds`` (table), ``figures``,
``attractors`` (if present: kinds, basin fractions, distances to the basin boundary),
``intersections`` (if present), ``chaos`` (if present: the verdict and its reasons), ``errors``
(if the run recorded any) and ``run`` (version, parameters, seed, time). Every piece of text
from the results file is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._atomic import atomic_write_text
from .errors import PLRNNManifoldsError, ResultsError
from .results import RESULTS_NAME, read_results

__all__ = ["REPORT_NAME", "render_report", "write_report"]

REPORT_NAME = "report.html"
#: Tables longer than this are cut (with a note saying how many rows were left out).
MAX_ROWS = 200

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
 color:#1d1d1f;background:#fff;line-height:1.45}
header{background:#1f3b57;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.5em}
header p{margin:4px 0 0;opacity:.85}
nav{padding:8px 32px;background:#eef2f6;border-bottom:1px solid #d5dde6}
nav a{margin-right:14px;color:#1f3b57;text-decoration:none;font-weight:600}
main{padding:8px 32px 32px;max-width:1200px}
section{margin:22px 0}
h2{border-bottom:2px solid #1f3b57;padding-bottom:3px;font-size:1.25em}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}
th,td{border:1px solid #c9d2dc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#dfe7ef}
tr:nth-child(even) td{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f6f8fa;padding:8px;overflow-x:auto}
.banner{padding:10px 14px;margin:12px 0;border-radius:4px;font-weight:600}
.partial{background:#fff3cd;border:1px solid #e0b400}
.verdict{display:inline-block;padding:4px 12px;border-radius:12px;font-weight:700;color:#fff}
.verdict-evidence{background:#b02a37}.verdict-none{background:#2d7a3a}
.verdict-inconclusive{background:#7a6a2d}
.cls-stable{color:#2ca02c;font-weight:600}.cls-saddle{color:#d46a00;font-weight:600}
.cls-unstable{color:#9467bd;font-weight:600}
figure{margin:12px 0;display:inline-block;vertical-align:top}
figure img{max-width:100%;border:1px solid #d5dde6}
figcaption{font-size:.85em;color:#555;max-width:640px}
.note{color:#555;font-size:.9em}
footer{padding:12px 32px;color:#777;font-size:.8em;border-top:1px solid #d5dde6}
"""


# ====================================================================== formatting
def _e(x) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(x), quote=True)


def _num(x, digits: int = 4) -> str:
    if x is None:
        return "&mdash;"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return _e(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _e(x)
    if np.isnan(v):
        return "n/a"
    return _e(f"{v:.{digits}g}")


def _vec(x, digits: int = 4, maxn: int = 6) -> str:
    try:
        a = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        return _e(x)
    parts = [f"{v:.{digits}g}" for v in a[:maxn]]
    if a.size > maxn:
        parts.append(f"... ({a.size} values)")
    return _e("(" + ", ".join(parts) + ")")


def _table(header, rows, cls: str = "", tid: str | None = None, num_cols=()) -> str:
    """An HTML table; ``header`` is escaped, cells are already-escaped HTML."""
    out = [f"<table{f' id={_q(tid)}' if tid else ''}{f' class={_q(cls)}' if cls else ''}>"]
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows[:MAX_ROWS]:
        out.append(
            "<tr>"
            + "".join(
                f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>"
                for i, c in enumerate(r)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    if len(rows) > MAX_ROWS:
        out.append(
            f'<p class="note">{len(rows) - MAX_ROWS} more rows not shown (see '
            f"{_e(RESULTS_NAME)}).</p>"
        )
    return "\n".join(out)


def _q(s) -> str:
    return '"' + _e(s) + '"'


def _kv(pairs) -> str:
    return _table(["field", "value"], [[_e(k), v] for k, v in pairs], cls="kv")


def _eigs(eigs) -> tuple[str, str]:
    """(max modulus, short list) of ``[[re, im], ...]``."""
    try:
        a = np.asarray(eigs, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        return "&mdash;", _e(eigs)
    if a.size == 0:
        return "&mdash;", ""
    z = a[:, 0] + 1j * a[:, 1]
    parts = []
    for v in z[:4]:
        parts.append(f"{v.real:.4g}" if v.imag == 0 else f"{v.real:.4g}{v.imag:+.4g}i")
    if z.size > 4:
        parts.append(f"... ({z.size})")
    return _num(np.abs(z).max()), _e(", ".join(parts))


# ====================================================================== sections
def _model_section(res: dict) -> str:
    m = res.get("model") or {}
    pairs = [
        ("family", _e(m.get("family", "?"))),
        ("source", _e(m["source"]) if m.get("source") else "&mdash;"),
        ("state dimension M", _num(m.get("M"))),
        ("hidden units H", _num(m.get("H"))),
        ("scale", _num(m.get("scale"))),
        ("map", "F(z) = A z + W1 relu(W2 z + h2) + h1"),
    ]
    if res.get("box") is not None:
        lo, hi = res["box"]
        pairs.append(("box (lo)", _vec(lo)))
        pairs.append(("box (hi)", _vec(hi)))
    body = _kv(pairs)
    canon = m.get("canonical") or {}
    try:
        small = canon and np.asarray(canon["W1"]).size <= 64
    except (KeyError, TypeError, ValueError):
        small = False
    if small:
        txt = []
        for k in ("A", "W1", "W2", "h1", "h2"):
            arr = np.asarray(canon.get(k), dtype=float)
            txt.append(f"{k} =\n{np.array2string(arr, precision=4, suppress_small=True)}")
        body += (
            "\n<details><summary>canonical parameters</summary><pre>"
            + _e("\n".join(txt))
            + "</pre></details>"
        )
    return _section("model", "Model", body)


def _orbits_section(res: dict) -> str:
    orbits = res.get("orbits") or []
    counts = {}
    for o in orbits:
        counts[o.get("classification", "?")] = counts.get(o.get("classification", "?"), 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"
    search = res.get("orbit_search") or {}
    note = f"<p>{len(orbits)} orbit(s): {_e(summary)}."
    if search:
        note += (
            f" Search method {_e(search.get('method', '?'))}; complete: "
            f"{_num(bool(search.get('complete')))}."
        )
    note += "</p>"
    rows = []
    for o in orbits:
        cls = str(o.get("classification", "?"))
        flags = [f for f in ("flip", "spiral", "near_nonhyperbolic", "on_boundary") if o.get(f)]
        mx, ev = _eigs(o.get("eigenvalues", []))
        pts = o.get("points") or [[]]
        rows.append(
            [
                _num(o.get("id")),
                _num(o.get("period")),
                f'<span class="cls-{_e(cls)}">{_e(cls)}</span>',
                _num(o.get("n_unstable")),
                _num(o.get("n_stable")),
                mx,
                ev,
                _e(", ".join(flags)),
                _vec(pts[0]),
            ]
        )
    table = (
        _table(
            [
                "id",
                "period",
                "type",
                "n_unstable",
                "n_stable",
                "max |λ|",
                "eigenvalues",
                "flags",
                "first point",
            ],
            rows,
            cls="orbit-table",
            tid="orbit-table",
            num_cols=(0, 1, 3, 4, 5),
        )
        if rows
        else '<p class="note">No orbits were found.</p>'
    )
    return _section("orbits", "Orbits", note + table)


def _manifolds_section(res: dict) -> str:
    mans = res.get("manifolds") or []
    if not mans:
        saddles = sum(1 for o in res.get("orbits") or [] if o.get("classification") == "saddle")
        msg = (
            "No saddle orbits, so no manifolds."
            if saddles == 0
            else f"{saddles} saddle(s) but no manifold in the results (the run is partial "
            "or recorded errors)."
        )
        return _section("manifolds", "Manifolds", f'<p class="note">{_e(msg)}</p>')
    rows = []
    for m in mans:
        rows.append(
            [
                _num(m.get("orbit")),
                _e(m.get("kind", "?")),
                _num(m.get("dimension")),
                _e(m.get("method", "exact")),
                _num(m.get("n_pieces", len(m.get("pieces") or []))),
                _e(", ".join(map(str, m.get("stopped_by") or []))),
                _num(m.get("complete")),
                _num(m.get("max_residual"), 3),
                _e("; ".join(map(str, m.get("events") or []))),
            ]
        )
    body = (
        "<p>A manifold is a list of pieces, each a polytope in an affine subspace: a point z is on "
        "a piece iff z = origin + basis s with G s &le; g. Pieces of the exact method lie on "
        "the manifold up to round-off; those of the sampled method are fitted. <em>max "
        "residual</em> is the largest one-step residual relative to the model scale.</p>"
        + _table(
            [
                "orbit",
                "kind",
                "dimension",
                "method",
                "pieces",
                "stopped by",
                "complete",
                "max residual",
                "events",
            ],
            rows,
            tid="manifold-table",
            num_cols=(0, 2, 4, 7),
        )
    )
    return _section("manifolds", "Manifolds", body)


def _attractors_section(res: dict) -> str:
    atts = res.get("attractors")
    if atts is None:
        return ""
    if not atts:
        return _section(
            "attractors", "Attractors", '<p class="note">No bounded attractor was found.</p>'
        )
    rows = []
    for a in atts:
        ly = a.get("lyapunov") or []
        rows.append(
            [
                _num(a.get("id")),
                _e(a.get("kind", "?")),
                _num(a.get("period")),
                _num(a.get("orbit")),
                _num(a.get("basin_fraction")),
                _num(a.get("distance_to_boundary")),
                _vec(ly, 3) if len(ly) else "&mdash;",
            ]
        )
    body = (
        "<p>Basin fractions are Monte-Carlo estimates over the box; the distance to the basin "
        "boundary is the exact Euclidean distance from the attractor to the stable manifolds "
        "bounding its basin (larger means more robust).</p>"
        + _table(
            [
                "id",
                "kind",
                "period",
                "orbit",
                "basin fraction",
                "distance to boundary",
                "Lyapunov exponents",
            ],
            rows,
            tid="attractor-table",
            num_cols=(0, 2, 3, 4, 5),
        )
    )
    return _section("attractors", "Attractors", body + _boundaries_table(res))


def _boundaries_table(res: dict) -> str:
    """Which attractors each codimension-1 stable manifold separates (``boundaries`` field)."""
    bnds = (res.get("boundaries") or {}).get("boundaries") or []
    if not bnds:
        return ""

    def name(v):
        return {-1: "escape", -2: "undecided"}.get(int(v), f"attractor {int(v)}")

    rows = []
    for b in bnds:
        sep = b.get("separates") or []
        pairs = b.get("pairs") or {}
        rows.append(
            [
                _num(b.get("orbit")),
                _e(" | ".join(name(v) for v in sep)) if sep else "nothing (no probe split)",
                _e(", ".join(f"{k}: {v}" for k, v in pairs.items())) or "&mdash;",
                _num(b.get("n_probes")),
                _e(", ".join(b.get("stopped_by") or [])),
            ]
        )
    notes = "".join(
        f'<p class="note">{_e(n)}</p>' for n in (res.get("boundaries") or {}).get("notes", [])
    )
    return (
        "<h3>Basin boundaries</h3><p>Each codimension-1 stable manifold was probed by pushing "
        "points on it a small step to either side and following both; <em>pairs</em> counts "
        "the attractor labels reached on the two sides (-1 = escape).</p>"
        + _table(
            ["saddle orbit", "separates", "pairs (probes)", "probes", "stopped by"],
            rows,
            tid="boundary-table",
            num_cols=(0, 3),
        )
        + notes
    )


def _intersections_section(res: dict) -> str:
    xs = res.get("intersections")
    if xs is None:
        return ""
    if not xs:
        body = (
            '<p class="note">No homoclinic or heteroclinic point was found within the '
            "computed manifolds.</p>"
        )
        return _section("intersections", "Intersections", body)
    rows = [
        [
            _e(x.get("kind", "?")),
            _num(x.get("unstable_orbit")),
            _num(x.get("stable_orbit")),
            _vec(x.get("point", [])),
            _num(x.get("transversal")),
            _num(x.get("verified")),
        ]
        for x in xs
    ]
    body = _table(
        [
            "kind",
            "from (unstable manifold of orbit)",
            "to (stable manifold of orbit)",
            "point",
            "transversal",
            "verified",
        ],
        rows,
        tid="intersection-table",
        num_cols=(1, 2),
    )
    return _section("intersections", "Intersections", body)


def _chaos_section(res: dict) -> str:
    ch = res.get("chaos")
    if ch is None:
        return ""
    verdict = str(ch.get("verdict", "inconclusive"))
    reasons = ch.get("reasons") or []
    meaning = {
        "evidence": "a verified transversal homoclinic point and a positive largest Lyapunov "
        "exponent: evidence of chaos (a horseshoe, Smale-Birkhoff).",
        "none": "no homoclinic point within the computed manifolds and no positive exponent.",
        "inconclusive": "the criteria for neither verdict are met.",
    }.get(verdict, "")
    body = (
        f'<p><span class="verdict verdict-{_e(verdict)}" id="chaos-verdict">{_e(verdict)}</span> '
        f"{_e(meaning)}</p>"
        + ("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul>" if reasons else "")
    )
    return _section("chaos", "Chaos verdict", body)


def _errors_section(res: dict) -> str:
    errs = res.get("errors") or []
    if not errs:
        return ""
    rows = [[_num(e.get("orbit")), _e(e.get("kind", "")), _e(e.get("error", e))] for e in errs]
    return _section("errors", "Errors and warnings", _table(["orbit", "kind", "message"], rows))


def _run_section(res: dict) -> str:
    run = res.get("run") or {}
    params = run.get("parameters") or {}
    pairs = [
        ("plrnn-manifolds version", _e(run.get("version", "?"))),
        ("python", _e(run.get("python", "?"))),
        ("started", _e(run.get("started", "?"))),
    ]
    for k in ("finished", "seconds"):
        if k in run:
            pairs.append((k, _num(run[k]) if k == "seconds" else _e(run[k])))
    pairs.append(("seed", _num(params.get("seed"))))
    pairs.append(("partial", _num(bool(res.get("partial")))))
    if "schema_version" in res:
        pairs.append(("results schema version", _num(res["schema_version"])))
    body = _kv(pairs)
    prow = [[_e(k), _e(json.dumps(v, default=str))] for k, v in params.items()]
    if prow:
        body += "<h3>Parameters</h3>" + _table(["parameter", "value"], prow, tid="parameter-table")
    return _section("run", "Run", body)


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{_e(sid)}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


# ====================================================================== figures
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(res: dict, trajectories: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """[(id, caption, base64 png)], notes."""
    from . import plots

    figs, notes = [], []
    try:
        model = plots.model_from_results(res)
    except ResultsError as exc:
        return [], [str(exc)]
    M = (res.get("model") or {}).get("M") or (model.M if model is not None else None)
    ntraj = trajectories if model is not None else 0

    def attempt(fid, caption, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fig = fn()
            except PLRNNManifoldsError as exc:
                notes.append(f"{caption}: not drawn ({exc})")
                return
        for w in caught:
            if issubclass(w.category, UserWarning):
                caption = f"{caption} Note: {w.message}"
        figs.append((fid, caption, _png(fig)))

    if M == 2:
        attempt(
            "fig-phase",
            "Phase portrait: trajectories (grey), orbits by type, stable "
            "manifolds (blue), unstable manifolds (red), region boundaries (dotted).",
            lambda: plots.phase_portrait(res, trajectories=ntraj),
        )
    elif M is not None and M >= 3:
        if M == 3:
            attempt(
                "fig-3d",
                "Manifold pieces in 3-D: stable (blue), unstable (red).",
                lambda: plots.manifold_3d(res),
            )
        attempt(
            "fig-phase",
            "Phase portrait projected onto the first two principal "
            "components of the trajectories; codimension-1 manifolds are drawn as their "
            "trace on the plane through the first saddle.",
            lambda: plots.phase_portrait(
                res,
                trajectories=max(ntraj, 8) if model else 0,
                projection="pca" if model else (0, 1),
            ),
        )
    for a in (res.get("attractors") or [])[:6]:
        ly = a.get("lyapunov") or []
        if len(ly) == 0:
            continue
        attempt(
            f"fig-lyapunov-{a.get('id')}",
            f"Lyapunov spectrum of attractor {a.get('id')} ({a.get('kind')}).",
            lambda ly=ly, a=a: plots.lyapunov_spectrum_plot(
                [(-np.inf if v is None else v) for v in ly], title=f"attractor {a.get('id')}"
            ),
        )
    return figs, notes


def _figures_section(figs, notes) -> str:
    parts = []
    for fid, caption, b64 in figs:
        parts.append(
            f'<figure id="{_e(fid)}"><img alt="{_e(caption)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{_e(caption)}</figcaption></figure>'
        )
    if notes:
        parts.append('<ul class="note">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    if not parts:
        parts.append('<p class="note">No figures (the results carry no model).</p>')
    return _section("figures", "Figures", "\n".join(parts))


# ====================================================================== document
def render_report(
    results: Mapping, *, figures: bool = True, trajectories: int = 20, title: str | None = None
) -> str:
    """The report as an HTML string (see the module docstring for its sections).

    Parameters
    ----------
    results : dict
        A ``results.json`` document.
    figures : bool
        Draw and embed figures (the slow part: a phase portrait with ``trajectories``
        simulated trajectories, a 3-D view for M = 3, a Lyapunov spectrum per attractor).
    """
    res = dict(results)
    m = res.get("model") or {}
    name = title or (
        f"plrnn-manifolds report: {m.get('family', '?')} "
        f"(M = {m.get('M', '?')}, H = {m.get('H', '?')})"
    )
    sections = [
        _model_section(res),
        _orbits_section(res),
        _manifolds_section(res),
    ]
    if figures:
        sections.append(_figures_section(*_figures(res, trajectories)))
    sections += [
        _attractors_section(res),
        _intersections_section(res),
        _chaos_section(res),
        _errors_section(res),
        _run_section(res),
    ]
    sections = [s for s in sections if s]
    toc = " ".join(
        f'<a href="#{sid}">{_e(lbl)}</a>'
        for sid, lbl in [
            ("model", "Model"),
            ("orbits", "Orbits"),
            ("manifolds", "Manifolds"),
            ("figures", "Figures"),
            ("attractors", "Attractors"),
            ("intersections", "Intersections"),
            ("chaos", "Chaos"),
            ("errors", "Errors"),
            ("run", "Run"),
        ]
        if any(f'<section id="{sid}">' in s for s in sections)
    )
    banner = ""
    if res.get("partial"):
        banner = (
            '<div class="banner partial" id="partial-banner">This run is PARTIAL: it was '
            "interrupted or is still running; the results below are what was done.</div>"
        )
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    from . import __version__

    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(name)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<header><h1>{_e(name)}</h1><p>{_e(m.get('source') or '')}</p></header>",
            f'<nav id="toc">{toc}</nav>',
            "<main>",
            banner,
            *sections,
            "</main>",
            f"<footer>Written by plrnn-manifolds {_e(__version__)} at {_e(now)}.</footer>",
            "</body></html>",
        ]
    )


def write_report(out_dir, *, figures: bool = True, trajectories: int = 20, output=None) -> Path:
    """Read ``out_dir/results.json`` and write a self-contained ``out_dir/report.html``.

    Parameters
    ----------
    out_dir : path-like
        Directory holding ``results.json`` (written by ``plrnn-manifolds analyze``).
    figures : bool
        Embed figures (base64 PNG).
    trajectories : int
        Trajectories simulated for the phase portrait.
    output : path-like, optional
        Where to write (default ``out_dir/report.html``).

    Returns
    -------
    Path
        The report's path. The file is written atomically (a reader never sees half a report).

    Raises
    ------
    ResultsError
        If ``results.json`` is missing or corrupt (raised by
        :func:`~plrnn_manifolds.results.read_results`), naming the file and what to do.
    """
    res = read_results(out_dir)
    text = render_report(res, figures=figures, trajectories=trajectories)
    p = Path(out_dir)
    target = Path(output) if output is not None else (p if p.is_dir() else p.parent) / REPORT_NAME
    return atomic_write_text(target, text)
