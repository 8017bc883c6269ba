"""The report's two formats: Markdown and a self-contained HTML page that prints well.

The builder (report.py) drives a writer; the writers differ only in syntax and
escaping, so both formats say the same thing. Every piece of text is escaped for its
format: a case id may hold `<script>`, and Markdown renderers pass raw HTML through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Protocol

from itb_triage.engine import printable

# An inline span: (style, text); style is "" (plain), "b" (bold), "i" (italic), "code", "answer"
# (one of the case's own answers, highlighted in HTML) or "ref".
Span = tuple[str, str]
# A list item: its spans and the items nested under it.
Item = tuple[list[Span], list["Item"]]

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


class Writer(Protocol):
    """What the report builder needs from a format."""

    def title(self, text: str, disposition: str) -> None: ...
    def heading(self, level: int, text: str) -> None: ...
    def para(self, spans: Sequence[Span], kind: str = "") -> None: ...
    def items(self, items: Sequence[Item], numbered: bool = False, kind: str = "") -> None: ...
    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]], kind: str = "") -> None: ...
    def open_section(self, cls: str) -> None: ...
    def close_section(self) -> None: ...
    def footer(self, spans: Sequence[Span], version: str) -> None: ...
    def text(self) -> str: ...


def plain(text: str) -> Span:
    return ("", text)


# --- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|&#])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


# What GFM renderers turn into links without any markup: `https://x`, `www.x`, e-mail
# addresses (and so `mailto:`/`xmpp:` ones). Escapes do not stop them: cmark-gfm joins
# the text around an escape before it looks (measured). Autolinks never form inside a
# code span, so such text is shown as one; backticks, `|` and `<>` end it (they would
# end the span or a table cell).
_LINKISH = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s`|<>]*"
    r"|[a-z0-9.+_-]+@[a-z0-9_-]+(?:\.[a-z0-9_-]+)+"
)


def md_escape(text: str) -> str:
    """Escape what Markdown would read as markup, raw HTML or a link; keep the rest as it reads."""
    text = printable(re.sub(r"\s+", " ", text))  # a case's own text could hold line breaks
    out, start = [], 0
    for link in _LINKISH.finditer(text):
        out.append(_MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text[start:link.start()]))
        out.append(f"`{link.group()}`")
        start = link.end()
    out.append(_MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text[start:]))
    return "".join(out)


def _wrap(marker: str, text: str) -> str:
    """`**text**` with the span's outer spaces kept outside the markers (CommonMark needs that)."""
    core = text.strip()
    if not core:
        return md_escape(text)
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{marker}{md_escape(core)}{marker}{trail}"


class MarkdownWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _inline(self, spans: Sequence[Span]) -> str:
        out = []
        for style, text in spans:
            if style == "b":
                out.append(_wrap("**", text))
            elif style == "i":
                out.append(_wrap("*", text))
            elif style in ("code", "answer"):
                out.append(f"`{text}`" if "`" not in text and text.strip() == text else md_escape(text))
            elif style == "ref":
                out.append(text)  # `[3]`: no link definitions exist, so it stays literal
            else:
                out.append(md_escape(text))
        return "".join(out).strip()

    def _block(self, lines: list[str]) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.lines.extend(lines)
        self.lines.append("")

    def title(self, text: str, disposition: str) -> None:
        self._block([f"# {md_escape(text)}"])

    def heading(self, level: int, text: str) -> None:
        self._block([f"{'#' * level} {md_escape(text)}"])

    def para(self, spans: Sequence[Span], kind: str = "") -> None:
        text = self._inline(spans)
        self._block([f"> {text}" if kind == "note" else text])

    def items(self, items: Sequence[Item], numbered: bool = False, kind: str = "") -> None:
        lines: list[str] = []

        def emit(entries: Sequence[Item], depth: int, number: bool) -> None:
            for index, (spans, children) in enumerate(entries, start=1):
                marker = f"{index}. " if number else "- "
                lines.append(" " * depth + marker + self._inline(spans))
                emit(children, depth + len(marker), False)

        emit(items, 0, numbered)
        self._block(lines)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]], kind: str = "") -> None:
        lines = ["| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(self._inline(cell) for cell in row) + " |" for row in rows]
        self._block(lines)

    def open_section(self, cls: str) -> None:
        return None  # Markdown has no sections; headings carry the structure

    def close_section(self) -> None:
        return None

    def footer(self, spans: Sequence[Span], version: str) -> None:
        self._block(["---"])
        self._block([f"*{self._inline(spans)}*"])
        self._block([f"<sub>knowledge {md_escape(version)}</sub>"])

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


# --- HTML ------------------------------------------------------------------------------------

STYLE = """
:root { --ink: #1d2430; --muted: #5a6472; --line: #d5dae1; --accent: #2f5d8a; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 16px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.08rem; margin: 1.3rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
p { margin: .45rem 0; }
ul, ol { margin: .4rem 0 .8rem; padding-left: 1.5rem; }
li { margin: .25rem 0; }
code { font: .88em/1.3 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  background: #f1f3f6; padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
code.answer { background: #fff3c4; border: 1px solid #e8d48a; }
.answer { background: #fff3c4; }
.ref { color: var(--accent); font-size: .85em; white-space: nowrap; }
.meta { color: var(--muted); margin: 0 0 1rem; }
.card { border: 2px solid var(--accent); border-left-width: .7rem; border-radius: 6px; padding: .4rem 1.1rem .6rem;
  margin: 0 0 1.2rem; }
.card h2 { border: 0; margin: .5rem 0 .2rem; padding: 0; font-size: 1.45rem; }
.card h3 { margin: .8rem 0 .2rem; font-size: 1rem; text-transform: uppercase; letter-spacing: .03em; }
.card ul { margin: .2rem 0 .4rem; }
.card.immediate, .card.urgent.same_day { border-color: #b3261e; }
.card.urgent, .card.answer_first { border-color: #b86e00; }
.card.non_urgent { border-color: #2f5d8a; }
.card.self_care { border-color: #2e7d32; }
.note { color: var(--muted); border-left: 3px solid var(--line); padding-left: .8rem; }
.device { color: var(--muted); font-size: .9rem; }
.advice > li { margin-bottom: .7rem; }
.advice > li > ul { color: #2b3340; }
.week { border: 1px solid var(--line); border-radius: 6px; padding: .1rem .9rem .4rem; margin: .6rem 0; }
.week h3 { margin-top: .5rem; }
.weeks { display: grid; grid-template-columns: 1fr 1fr; column-gap: .6rem; }
@media (max-width: 40rem) { .weeks { grid-template-columns: 1fr; } }
.week ul { margin: .2rem 0 .3rem; }
.tree, .tree ul { list-style: none; padding-left: 1.1rem; margin: .2rem 0; }
.tree { padding-left: 0; font-size: .93rem; }
.tree ul { border-left: 1px solid var(--line); }
.tree li { margin: .15rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; margin: .6rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
table.answers td:first-child { width: 74%; }
footer { margin-top: 2.5rem; padding-top: 1rem; border-top: 2px solid var(--line); color: var(--muted); }
.refs li { overflow-wrap: anywhere; }
@page { size: A4; margin: 11mm 12mm; }
@media print {
  body { font-size: 9pt; line-height: 1.22; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 16pt; }
  h2 { font-size: 12.5pt; margin: .7rem 0 .3rem; }
  h3 { font-size: 10.5pt; margin: .7rem 0 .25rem; }
  h4 { font-size: 10pt; margin: .6rem 0 .2rem; }
  p { margin: .2rem 0; }
  li { margin: .1rem 0; }
  ul, ol { margin: .2rem 0 .4rem; padding-left: 1.15rem; }
  .advice > li { margin-bottom: .35rem; }
  .week { padding: 0 .7rem .15rem; margin: .25rem 0; }
  .week h3 { margin-top: .35rem; }
  th, td { padding: .1rem .4rem; }
  .card h2 { font-size: 15pt; }
  /* No heading at the foot of a page: it keeps to what follows it. */
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; break-inside: avoid; }
  .keep > li { break-inside: avoid; page-break-inside: avoid; }
  /* Only small blocks stay whole: a long advice item or tree may run across pages. */
  tr, .refs li, .card, .advice > li > ul > li { break-inside: avoid; page-break-inside: avoid; }
  table.answers { font-size: 8pt; line-height: 1.15; }
  table.answers td { padding: .05rem .35rem; }
  .appendix { break-before: page; page-break-before: always; }
  .ref { color: inherit; }
  code, th { background: none; }
  code.answer { border-width: 1px; }
}
"""


def h(text: str) -> str:
    return html.escape(printable(text), quote=True)


class HtmlWriter:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.page_title = "ITB triage"
        self.disposition = ""

    def _inline(self, spans: Sequence[Span]) -> str:
        out = []
        for style, text in spans:
            if style == "b":
                out.append(f"<strong>{h(text)}</strong>")
            elif style == "i":
                out.append(f"<em>{h(text)}</em>")
            elif style == "code":
                out.append(f"<code>{h(text)}</code>")
            elif style == "answer":
                out.append(f'<code class="answer">{h(text)}</code>')
            elif style == "ref":
                out.append(f'<span class="ref">{h(text)}</span>')
            else:
                out.append(h(text))
        return "".join(out).strip()

    def title(self, text: str, disposition: str) -> None:
        self.page_title = text
        self.disposition = disposition
        self.parts.append(f"<h1>{h(text)}</h1>")

    def heading(self, level: int, text: str) -> None:
        self.parts.append(f"<h{level}>{h(text)}</h{level}>")

    def para(self, spans: Sequence[Span], kind: str = "") -> None:
        if kind == "headline":
            self.parts.append(f'<p class="headline {h(self.disposition)}">{self._inline(spans)}</p>')
        else:
            cls = f' class="{h(kind)}"' if kind else ""
            self.parts.append(f"<p{cls}>{self._inline(spans)}</p>")

    def items(self, items: Sequence[Item], numbered: bool = False, kind: str = "") -> None:
        def emit(entries: Sequence[Item], tag: str, cls: str) -> str:
            inner = "".join(
                f"<li>{self._inline(spans)}{emit(children, 'ul', '') if children else ''}</li>"
                for spans, children in entries
            )
            attribute = f' class="{h(cls)}"' if cls else ""
            return f"<{tag}{attribute}>{inner}</{tag}>"

        self.parts.append(emit(items, "ol" if numbered else "ul", kind))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]], kind: str = "") -> None:
        head = "".join(f"<th>{h(c)}</th>" for c in header)
        body = "".join("<tr>" + "".join(f"<td>{self._inline(c)}</td>" for c in row) + "</tr>" for row in rows)
        attribute = f' class="{h(kind)}"' if kind else ""
        self.parts.append(f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def open_section(self, cls: str) -> None:
        self.parts.append(f'<section class="{h(cls)}">')

    def close_section(self) -> None:
        self.parts.append("</section>")

    def footer(self, spans: Sequence[Span], version: str) -> None:
        self.parts.append(f"<footer><p><strong>{self._inline(spans)}</strong></p>"
                          f"<p>knowledge {h(version)}</p></footer>")

    def text(self) -> str:
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{h(self.page_title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(self.parts)
            + "\n</main>\n</body>\n</html>\n"
        )
