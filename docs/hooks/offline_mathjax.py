"""MkDocs hook: serve MathJax from the build itself, so the formulas render offline.

MathJax 3.2.2 is taken from the PyPI package ``django-static-mathjax`` (Apache-2.0; despite its
name it has no dependencies, it only ships MathJax's files as the Python package ``mathjax``),
which the ``docs`` extra installs. Nothing is vendored into the repository: at build time the
hook adds the files the CommonHTML output needs (``tex-chtml.js``, its fonts, the TeX extensions
loaded on demand, the menu and accessibility components; not the speech rule maps or the SVG
output) to the site under ``js/mathjax/`` and points ``extra_javascript`` there instead of the
CDN. If the package is not installed the CDN address in ``mkdocs.yml`` stays, and the build says
so at INFO level (not a warning, so ``--strict`` still passes).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.offline_mathjax")

_DEST = "js/mathjax"
_ENTRY = "tex-chtml.js"
# top-level directories of es5/ that are needed (the rest: other outputs, speech maps, node)
_KEEP_DIRS = ("a11y", "adaptors", "input", "output", "ui")
_SKIP_PREFIXES = ("output/svg", "input/mml", "input/asciimath")
_state: dict = {}


def _es5_dir() -> Path | None:
    try:
        import mathjax  # the django-static-mathjax distribution
    except ImportError:
        return None
    d = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    return d if (d / _ENTRY).is_file() else None


def _wanted(rel: str) -> bool:
    if rel == _ENTRY:
        return True
    top = rel.split("/", 1)[0]
    if top not in _KEEP_DIRS or "/" not in rel:
        return False
    return not rel.startswith(_SKIP_PREFIXES)


def on_config(config, **kwargs):
    es5 = _es5_dir()
    _state["es5"] = es5
    if es5 is None:
        log.info(
            "django-static-mathjax is not installed: MathJax is loaded from the CDN "
            "(install the docs extra for offline formulas)"
        )
        return config
    scripts = config.extra_javascript
    for i, item in enumerate(scripts):
        path = getattr(item, "path", item)
        if "mathjax" in str(path) and str(path).startswith(("http://", "https://")):
            if hasattr(item, "path"):
                item.path = f"{_DEST}/{_ENTRY}"
            else:
                scripts[i] = f"{_DEST}/{_ENTRY}"
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    es5 = _state.get("es5")
    if es5 is None:
        return files
    n = 0
    for p in sorted(es5.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(es5).as_posix()
        if _wanted(rel):
            files.append(File.generated(config, f"{_DEST}/{rel}", abs_src_path=str(p)))
            n += 1
    log.info("MathJax served locally from %s (%d files under %s/)", es5, n, _DEST)
    return files
