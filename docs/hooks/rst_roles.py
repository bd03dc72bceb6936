"""MkDocs hook: render the reStructuredText roles used in the project's docstrings.

The docstrings are numpy style with Sphinx roles (``:math:`x```, ``:class:`~a.B```, ``.. math::``
blocks), which mkdocstrings passes through Markdown verbatim. After a page is rendered this hook
turns them into MathJax spans (the same markup ``pymdownx.arithmatex`` produces) and plain code
names, so the API reference reads as intended.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"<[^>]+>")
# ".. math::" paragraph followed by the indented block Markdown made into a code block
_MATH_BLOCK = re.compile(
    r"<p>\.\. math::</p>\s*<div class=\"highlight\"><pre>(?:<span></span>)?<code>(.*?)</code>"
    r"</pre></div>",
    re.S,
)
# ".. math::" inside a paragraph, followed by more text (a block Markdown did not separate)
_MATH_ROLE = re.compile(r":math:<code>(.*?)</code>", re.S)
_XREF_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|py:\w+):<code>(~?)(.*?)</code>")


def _block(m: re.Match) -> str:
    body = _TAG.sub("", m.group(1)).strip()
    return f'<div class="arithmatex">\\[{body}\\]</div>'


def _xref(m: re.Match) -> str:
    name = m.group(2)
    if m.group(1):  # ~a.b.C shows C
        name = name.rsplit(".", 1)[-1]
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs) -> str:
    html = _MATH_BLOCK.sub(_block, html)
    html = _MATH_ROLE.sub(lambda m: f'<span class="arithmatex">\\({m.group(1)}\\)</span>', html)
    return _XREF_ROLE.sub(_xref, html)
