"""`/guide`: the staff guide (docs/staff-guide.md), served by the app for everyone signed in.

Coordinators have no copy of the repository, so the footer links here. The Markdown is
turned into HTML by a small converter for the few constructs the guide uses (headings,
paragraphs, lists, code blocks, inline code, bold and links); every piece of text is
escaped first, so nothing in the file can inject markup.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint
from markupsafe import Markup, escape

from bot.web.staff.pages import page

blueprint = Blueprint("guide", __name__)

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "staff-guide.md"

_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+|#[\w-]+)\)"), r'<a href="\2">\1</a>'),
)


def _inline(text: str) -> str:
    out = str(escape(text))
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_html(markdown: str) -> Markup:
    """The guide's Markdown as HTML (escaped text, a few block and inline constructs)."""
    html: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None
    code: list[str] | None = None

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if list_tag:
            html.append(f"</{list_tag}>")
            list_tag = None

    for line in markdown.splitlines():
        if code is not None:
            if line.startswith("```"):
                html.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        heading = re.match(r"(#{1,4})\s+(.*)", stripped)
        item = re.match(r"([-*]|\d+\.)\s+(.*)", stripped)
        if stripped.startswith("```"):
            flush()
            code = []
        elif heading:
            flush()
            level = len(heading.group(1))
            text = heading.group(2)
            html.append(f'<h{level} id="{_slug(text)}">{_inline(text)}</h{level}>')
        elif item and not paragraph:
            tag = "ol" if item.group(1)[0].isdigit() else "ul"
            if list_tag != tag:
                flush()
                html.append(f"<{tag}>")
                list_tag = tag
            html.append(f"<li>{_inline(item.group(2))}</li>")
        elif not stripped:
            flush()
        elif list_tag and line.startswith(("  ", "\t")):
            html[-1] = html[-1][: -len("</li>")] + " " + _inline(stripped) + "</li>"
        else:
            if list_tag:
                flush()
            paragraph.append(stripped)
    flush()
    return Markup("\n".join(html))


@blueprint.get("/guide")
def show() -> str:
    """The staff guide as a page."""
    try:
        body = to_html(GUIDE.read_text(encoding="utf-8"))
    except OSError:
        body = Markup("<p>The guide is not installed here; ask staff for docs/staff-guide.md.</p>")
    return page("guide.html", body=body)
