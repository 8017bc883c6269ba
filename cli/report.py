"""`itb-triage report CASE -o FILE`: a report a runner can print or send, in Markdown or HTML.

One builder walks the content (summary, warning signs, what to do, the six-week plan,
what to avoid, the reasoning, what would change the result, references, the note) and
drives a writer; the Markdown and HTML writers only differ in syntax and escaping, so
both formats say the same thing. `assess --format markdown` prints the Markdown report.

Every piece of text is escaped for its format: a case id may hold `<script>`, and
Markdown renderers pass raw HTML through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import click

from itb_triage.engine import (
    NOT_A_MEDICAL_DEVICE,
    Case,
    Explanation,
    Knowledge,
    Node,
    Plan,
    Result,
    Triage,
    build_plan,
    explain,
    printable,
    range_text,
)

from .reasoning import Citations, answer_text, fact_label, status_words
from .render import ASSESSMENT_WORDS, GRADE_WORDS, URGENCY_WORDS

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
    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]]) -> None: ...
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

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]]) -> None:
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
h1 { font-size: 1.7rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.08rem; margin: 1.5rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
p { margin: .45rem 0; }
ul, ol { margin: .4rem 0 .8rem; padding-left: 1.5rem; }
li { margin: .25rem 0; }
code { font: .88em/1.3 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  background: #f1f3f6; padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
code.answer { background: #fff3c4; border: 1px solid #e8d48a; }
td code { white-space: nowrap; overflow-wrap: normal; }
.ref { color: var(--accent); font-size: .85em; white-space: nowrap; }
.headline { font-size: 1.15rem; font-weight: 600; margin: 0 0 1rem; padding: .8rem 1rem;
  border: 2px solid var(--accent); border-left-width: .6rem; border-radius: 4px; }
.headline.emergency, .headline.same_day { border-color: #b3261e; }
.headline.within_days, .headline.incomplete { border-color: #b86e00; }
.headline.routine { border-color: #2f5d8a; }
.headline.self_care { border-color: #2e7d32; }
.note { color: var(--muted); border-left: 3px solid var(--line); padding-left: .8rem; }
.device { color: var(--muted); font-size: .9rem; margin: -.4rem 0 1rem; }
.advice > li { margin-bottom: .9rem; }
.advice > li > ul { color: #2b3340; }
.week { border: 1px solid var(--line); border-radius: 6px; padding: .2rem 1rem .6rem; margin: .8rem 0;
  break-inside: avoid; page-break-inside: avoid; }
.week h3 { margin-top: .7rem; }
.tree, .tree ul { list-style: none; padding-left: 1.1rem; margin: .2rem 0; }
.tree { padding-left: 0; font-size: .93rem; }
.tree ul { border-left: 1px solid var(--line); }
.tree li { margin: .15rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; margin: .6rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
footer { margin-top: 2.5rem; padding-top: 1rem; border-top: 2px solid var(--line); color: var(--muted); }
.refs li { overflow-wrap: anywhere; }
@page { margin: 16mm 15mm; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  /* Only small blocks stay whole: a long advice item or tree may run across pages. */
  tr, .refs li, .headline { break-inside: avoid; page-break-inside: avoid; }
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

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Sequence[Span]]]) -> None:
        head = "".join(f"<th>{h(c)}</th>" for c in header)
        body = "".join("<tr>" + "".join(f"<td>{self._inline(c)}</td>" for c in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

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


# --- the content ---------------------------------------------------------------------------------


class ReportBuilder:
    """Walks one result's content and drives a writer."""

    def __init__(self, knowledge: Knowledge, result: Result, explanation: Explanation, plan: Plan | None) -> None:
        self.knowledge = knowledge
        self.result = result
        self.explanation = explanation
        self.plan = plan
        self.refs = Citations(knowledge, result)
        self.questions = knowledge.questions

    def ref(self, citations: Sequence[str]) -> list[Span]:
        text = self.refs.refs(citations)
        return [plain(" "), ("ref", text)] if text else []

    def build(self, w: Writer) -> str:
        r = self.result
        w.title(f"ITB triage: {r.case_id}" if r.case_id else "ITB triage", r.disposition)
        w.para([("b", r.headline)], "headline")
        w.para([plain(NOT_A_MEDICAL_DEVICE)], "device")
        self._summary(w)
        self._warning_signs(w)
        self._todo(w)
        self._plan(w)
        self._avoid(w)
        self._reasoning(w)
        self._references(w)
        w.footer([plain(NOT_A_MEDICAL_DEVICE)], r.knowledge_version)
        return w.text()

    def _summary(self, w: Writer) -> None:
        r = self.result
        w.heading(2, "Summary")
        entries: list[Item] = [
            ([("b", "Where to go: "), plain(self.knowledge.dispositions[r.disposition]["meaning"])], []),
            ([("b", "Treatment: "), plain(r.tier_title or "none until a clinician has seen you.")], []),
        ]
        if r.conditions:
            entries.append(([("b", "What it looks like:")], [
                ([plain(f"{c['name']}: {ASSESSMENT_WORDS[c['assessment']]}"), *self.ref(c["citations"])], [])
                for c in r.conditions
            ]))
        w.items(entries)
        if r.unanswered_screening:
            w.heading(3, "Please answer these safety questions")
            w.items([([plain(str(self.questions[q]["text"]))], []) for q in r.unanswered_screening])

    def _warning_signs(self, w: Writer) -> None:
        r = self.result
        w.heading(2, "Warning signs")
        if not r.red_flags:
            text = "None of the warning signs you were asked about."
            if r.unanswered_screening:
                text = "None so far, but some safety questions are unanswered (see the summary)."
            w.para([plain(text)])
            return
        w.items([
            ([("b", f["name"]), plain(f" ({URGENCY_WORDS.get(f['urgency'], f['urgency'])})"),
              *self.ref(f["citations"])], [])
            for f in r.red_flags
        ])

    def _todo(self, w: Writer) -> None:
        r = self.result
        w.heading(2, "What to do")
        entries: list[Item] = []
        for rec in r.recommendations:
            children: list[Item] = [([plain(rec["do"])], [])]
            if rec.get("dose"):
                children.append(([("b", "Dose: "), plain(rec["dose"])], []))
            grade = GRADE_WORDS[rec["evidence"]["grade"]]
            children.append(([("b", f"Evidence ({grade}): "), plain(rec["evidence"]["summary"])], []))
            children += [([plain(p["says"]), *self.ref(p["cite"])], []) for p in rec.get("positions", [])]
            children += [([("b", "Not if: "), plain(c)], []) for c in rec.get("contraindications", [])]
            entries.append(([("b", rec["title"]), *self.ref(rec["citations"])], children))
        w.items(entries, numbered=True, kind="advice")

    def _plan(self, w: Writer) -> None:
        plan = self.plan
        if plan is None:
            w.heading(2, "Your six-week plan")
            w.para([plain("No home plan yet: treatment waits until a clinician has seen you.")], "note")
            return
        w.heading(2, plan.title)
        w.para([plain(plan.design_note), *self.ref(plan.design_citations)], "note")
        for note, citations in plan.notes:
            w.para([("b", note), *self.ref(citations)])
        for week in plan.weeks:
            w.open_section("week")
            w.heading(3, f"Week {week.number}: {week.title}")
            w.items([
                ([("b", f"{s.component.label}: "), plain(s.do),
                  *([plain(" "), ("i", "(design choice)")] if s.design_choice else [])], [])
                for s in week.steps
            ])
            w.para([("b", "Check: "), plain(week.check)])
            w.close_section()
        w.heading(3, "The parts of the plan, their doses and their evidence")
        w.items([
            ([("b", c.title), *self.ref(c.citations)], [
                *([([plain("The coaching article: "), *_quotes(c.quotes)], [])] if c.quotes else []),
                ([("b", f"Evidence ({GRADE_WORDS[c.grade]}): "), plain(c.evidence)], []),
            ])
            for c in plan.components
        ])
        w.heading(3, "When to get help")
        w.items([([("b", e.when + " "), plain(e.then), *self.ref(e.citations)], []) for e in plan.escalate])
        if plan.disagreements:
            w.heading(3, "Where the sources disagree")
            for d in plan.disagreements:
                w.heading(4, d.topic)
                w.items([([plain(p.says), *self.ref(p.citations)], []) for p in d.positions])
                w.para([("b", "This plan: "), plain(d.this_plan)])

    def _avoid(self, w: Writer) -> None:
        w.heading(2, "What to avoid")
        entries: list[Item] = []
        for item in self.result.avoid:
            children: list[Item] = [([plain(item["why"])], [])]
            if item.get("instead"):
                children.append(([("b", "Instead: "), plain(item["instead"])], []))
            entries.append(([("b", item["title"]), *self.ref(item["citations"])], children))
        w.items(entries, kind="advice")

    def _reasoning(self, w: Writer) -> None:
        w.heading(2, "The reasoning")
        w.para([plain("How each conclusion was reached: every rule that fired, its reason and sources, down to "
                      "your answers. A fact explained once is referred back to.")], "note")
        seen: set[Any] = set()
        for c in self.explanation.conclusions:
            heading = {
                "disposition": f"Where to go: {c.id}",
                "tier": f"Treatment tier: {c.id or 'none'}",
                "withheld": f"Withheld: {c.title}",
            }.get(c.kind, f"{c.title}" + (f" ({c.value})" if c.value else ""))
            w.heading(3, heading)
            if c.note:
                w.para([("i", c.note)])
            if c.node is not None:
                w.items([self._tree(c.node, seen)], kind="tree")
        self._critical(w)

    def _tree(self, node: Node, seen: set[Any]) -> Item:
        label = fact_label(node.fact, self.questions)
        if node.is_answer:
            return ([("answer", label)], [])
        if node.derivations and node.fact in seen:
            return ([("code", label), plain(" (explained above)")], [])
        seen.add(node.fact)
        children: list[Item] = []
        rules: set[str] = set()
        for d in node.derivations:
            held: list[Item] = [([plain("held: "), ("code", a)], []) for a in d.absent]
            if d.rule in rules:  # the same rule on other facts: its reason is just above
                spans: list[Span] = [plain("rule "), ("code", d.rule), plain(" again, from:")]
            else:
                spans = [plain("rule "), ("code", d.rule), plain(f" ({d.stage}): "), plain(d.because),
                         *self.ref(d.citations)]
            rules.add(d.rule)
            children.append((spans, [*held, *(self._tree(p, seen) for p in d.premises)]))
        return ([("code", label)], children)

    def _critical(self, w: Writer) -> None:
        critical = self.result.critical_answers or ()
        w.heading(3, "What would change where to go or the treatment")
        if not critical:
            w.para([plain("No single answer, changed alone, would change where to go or the treatment tier.")])
            return
        w.para([plain("Each of these answers, changed alone, changes where to go or the treatment tier (found by "
                      "rerunning the rules; questions you left unanswered are not included).")])
        rows = []
        for entry in critical:
            whole = self.questions[entry["question"]]["type"] == "integer"
            span = range_text(entry["to_range"], whole) if "to_range" in entry else ""
            rows.append([
                [("code", entry["question"])],
                [plain(answer_text(entry["from"]))],
                [plain(answer_text(entry["to"]) + (f" ({span})" if span else ""))],
                [("code", entry["disposition"])],
                [plain(entry["treatment_tier"] or "none")],
            ])
        w.table(["Question", "Your answer", "Changed to", "Where to go", "Tier"], rows)

    def _references(self, w: Writer) -> None:
        w.heading(2, "References")
        w.items([
            ([plain(e["reference"]), ("i", status_words(e["status"]))], [])
            for e in self.refs.entries(only_used=False)
        ], numbered=True, kind="refs")


def _quotes(quotes: Sequence[str]) -> list[Span]:
    spans: list[Span] = []
    for index, quote in enumerate(quotes):
        spans.append(plain(("; " if index else "") + f"“{quote}”"))
    return spans


def build_report(triage: Triage, case: Case, fmt: str, result: Result | None = None) -> str:
    """The report of one checked case, as `markdown` or `html`."""
    if result is None or result.critical_answers is None:
        result = triage.assess(case, critical=True)
    knowledge = triage.knowledge
    builder = ReportBuilder(knowledge, result, explain(knowledge, result), build_plan(knowledge, result))
    writer: Writer = HtmlWriter() if fmt == "html" else MarkdownWriter()
    return builder.build(writer)


@click.command("report")
@click.argument("case", metavar="CASE")
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The report file: .md for Markdown, .html for a web page (self-contained, prints well).")
def report_command(case: str, output: Path) -> None:
    """Write a report of one case (JSON or YAML; `-` reads stdin) to a Markdown or HTML file.

    The report holds the summary, warning signs, what to do, the six-week plan, what
    to avoid, the reasoning and what would change it, the references, and the
    not-a-medical-device note.

    Exit status 0 on success, 2 for a bad case file or output name, 3 for invalid
    knowledge, 4 for an engine failure.
    """
    from itb_triage.engine import atomic_write

    from .common import fail, read_input, triage

    fmt = SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        fail(f"{output}: unknown report format '{output.suffix or '(none)'}'; expected a file ending in .md or .html")
    data, where = read_input(case)
    engine = triage()
    text = build_report(engine, engine.read_case(data, where), fmt)
    # Atomically: a full disk or a kill leaves the old report, never half of one (a
    # WriteError is one line and exit 2, like every engine error).
    atomic_write(output, text.encode("utf-8"), what="the report")
