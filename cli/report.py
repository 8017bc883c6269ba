"""`itb-triage report CASE -o FILE`: a report a runner can print or take to a physio.

The first page is the summary care card (the same card `assess` prints, from
engine/summary.py), then the runner's answers in words, under a title with their
label, the date and the knowledge version. Then the advice with its evidence, the
six-week plan and what to avoid; the reasoning trees, the answers that would change
the result and what each source says go in an appendix, with the references last.
One builder drives a writer (report_writers.py), so Markdown and HTML say the same
thing. `assess --format markdown` prints the Markdown report.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from itb_triage.engine import (
    NOT_A_MEDICAL_DEVICE,
    Case,
    Explanation,
    Fact,
    Knowledge,
    Labels,
    Node,
    Plan,
    Result,
    Summary,
    Triage,
    build_plan,
    drop_dangling_references,
    explain,
    in_sentence,
    near_duplicates,
    number_source_keys,
    range_text,
    summarise,
)

from .reasoning import Citations, status_words
from .report_writers import SUFFIXES, HtmlWriter, Item, MarkdownWriter, Span, Writer, plain

__all__ = ["SUFFIXES", "build_report", "report_command"]

DESIGN_CHOICE = "†"  # marks a plan step that is this tool's choice, not a source's


def report_date() -> datetime.date:
    """Today, or the day of SOURCE_DATE_EPOCH when set (reproducible reports and golden files)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).date()
    return datetime.date.today()


class ReportBuilder:
    """Walks one result's content and drives a writer."""

    def __init__(self, knowledge: Knowledge, result: Result, explanation: Explanation, plan: Plan | None,
                 date: datetime.date | None = None) -> None:
        self.knowledge = knowledge
        self.result = result
        self.explanation = explanation
        self.plan = plan
        self.date = date or report_date()
        self.refs = Citations(knowledge, result)
        self.labels = Labels(knowledge)
        self.summary: Summary = summarise(result, knowledge)
        self._shown = [*(r["title"] for r in result.recommendations), *(a["title"] for a in result.avoid)]

    def ref(self, citations: Sequence[str]) -> list[Span]:
        text = self.refs.refs(citations)
        return [plain(" "), ("ref", text)] if text else []

    def fix(self, text: str) -> str:
        """Knowledge text for this result: no dangling cross-references, numbers for source keys."""
        text = drop_dangling_references(text, self._shown)
        return number_source_keys(text, self.knowledge.citations.keys(), self.refs.number)

    def build(self, w: Writer) -> str:
        r = self.result
        title = f"ITB triage report: {r.case_id}" if r.case_id else "ITB triage report"
        w.title(title, r.disposition)
        w.para([plain(f"{self.date.day} {self.date:%B %Y} · knowledge {r.knowledge_version} · "
                      f"{NOT_A_MEDICAL_DEVICE}")], "meta")
        self._card(w)
        self._answers(w)
        self._warning_signs(w)
        self._todo(w)
        self._plan(w)
        self._avoid(w)
        w.open_section("appendix")
        w.heading(2, "Appendix: how the result was reached")
        self._why(w)
        self._reasoning(w)
        self._critical(w)
        self._sources_say(w)
        w.close_section()
        self._references(w)
        w.footer([plain(NOT_A_MEDICAL_DEVICE)], r.knowledge_version)
        return w.text()

    # --- the first page ----------------------------------------------------------------

    def _card(self, w: Writer) -> None:
        s = self.summary
        heads = s.headings
        w.open_section(f"card {s.card} {self.result.disposition}")
        w.heading(2, s.urgency)
        w.para([("b", s.where)])
        if s.questions:
            w.items([([plain(q)], []) for q in s.questions])
        if s.why:
            w.para([("b", f"{heads['why']}: "), plain("; ".join(s.why) + ".")])
        if s.unsure:
            w.para([("b", f"{heads['unsure']}:")])
            w.items([([plain(q)], []) for q in s.unsure])
        w.para([plain(s.cause)])
        if s.this_week:
            w.heading(3, heads["this_week"])
            w.items([([("b", i.label + (". " if i.detail else "")), plain(i.detail or "")], []) for i in s.this_week])
        if s.avoid:
            w.heading(3, heads["avoid"])
            w.items([([plain(i.label)], []) for i in s.avoid])
        if s.sooner:
            w.heading(3, heads["sooner"])
            w.items([([plain(line)], []) for line in s.sooner])
        w.close_section()

    def _answers(self, w: Writer) -> None:
        answers = self.result.answers
        w.heading(2, "Your answers")
        rows = [[[plain(self.labels.question(q))], [plain(self.labels.answer(q, answers[q]))]]
                for q in self.knowledge.questions if q in answers]
        if rows:
            w.table(["Question", "Your answer"], rows, kind="answers")
        else:
            w.para([plain("No answers were given.")])

    # --- the advice ------------------------------------------------------------------

    def _warning_signs(self, w: Writer) -> None:
        r = self.result
        if not r.red_flags:
            return
        w.heading(2, "Warning signs")
        w.items([
            ([("b", self.labels.red_flag(f["id"])), plain(f" ({self.labels.urgency(f['urgency'])})"),
              *self.ref(f["citations"])], [])
            for f in r.red_flags
        ])

    def _todo(self, w: Writer) -> None:
        r = self.result
        if not r.recommendations:
            return
        w.heading(2, "What to do")
        entries: list[Item] = []
        net = self.knowledge.presentation["safety_net"]
        for rec in r.recommendations:
            # The safety-net advice is on the first page already, in full.
            on_card = rec["id"] == net and bool(self.summary.sooner)
            children: list[Item] = [([("i", f"On the first page, under “{self.summary.headings['sooner']}”.")]
                                     if on_card else [plain(self.fix(rec["do"]))], [])]
            if rec.get("dose"):
                children.append(([("b", "Dose: "), plain(self.fix(rec["dose"]))], []))
            children += [([("b", "Not if: "), plain(self.fix(c))], []) for c in rec.get("contraindications", [])]
            grade = self.labels.evidence(rec["evidence"]["grade"])
            children.append(([("b", f"Evidence ({grade}): "), plain(self.fix(rec["evidence"]["summary"]))], []))
            entries.append(([("b", rec["title"]), *self.ref(rec["citations"])], children))
        w.items(entries, numbered=True, kind="advice")

    def _plan(self, w: Writer) -> None:
        plan = self.plan
        if plan is None:
            return
        w.heading(2, plan.title)
        w.para([plain(self.fix(plan.design_note)), *self.ref(plan.design_citations),
                plain(f" Steps marked {DESIGN_CHOICE} are this tool's design choice.")], "note")
        for note, citations in plan.notes:
            w.para([("b", note), *self.ref(citations)])
        w.open_section("weeks")
        last_week: dict[str, str] = {}
        for week in plan.weeks:
            w.open_section("week")
            w.heading(3, f"Week {week.number}: {week.title}")
            # A step the same, word for word, as the week before is named, not repeated.
            same = [s.component.label for s in week.steps if last_week.get(s.component.id) == s.do]
            items: list[Item] = [
                ([("b", f"{s.component.label}: "), plain(s.do),
                  *([plain(" "), ("b", DESIGN_CHOICE)] if s.design_choice else [])], [])
                for s in week.steps if last_week.get(s.component.id) != s.do
            ]
            if same:
                items.append(([("b", ", ".join(same) + ": "), plain("as last week.")], []))
            w.items(items)
            last_week = {s.component.id: s.do for s in week.steps}
            w.para([("b", "Check: "), plain(week.check)])
            w.close_section()
        w.close_section()
        w.heading(3, "When to get help")
        w.items([([("b", e.when + " "), plain(e.then), *self.ref(e.citations)], []) for e in plan.escalate])

    def _avoid(self, w: Writer) -> None:
        if not self.result.avoid:
            return
        w.heading(2, "What to avoid")
        entries: list[Item] = []
        for item in self.result.avoid:
            children: list[Item] = [([plain(self.fix(item["why"]))], [])]
            if item.get("instead"):
                children.append(([("b", "Instead: "), plain(self.fix(item["instead"]))], []))
            entries.append(([("b", item["title"]), *self.ref(item["citations"])], children))
        w.items(entries, kind="advice keep")

    def _why(self, w: Writer) -> None:
        groups = near_duplicates(self.result.reasons, lambda reason: reason.because)
        if not groups:
            return
        w.heading(3, "Why, in short")
        w.items([([plain(self.fix(g[0].because)), *self.ref([c for r in g for c in r.citations])], [])
                 for g in groups])

    # --- the appendix ------------------------------------------------------------------

    def _conclusion_heading(self, kind: str, ident: str | None, title: str, value: str | None) -> str:
        if kind == "disposition":
            return f"Where to go: {self.labels.disposition(ident or '')}"
        if kind == "tier":
            return f"Treatment: {self.labels.tier(ident) if ident else 'none yet'}"
        if kind == "withheld":
            return f"Not recommended here: {title}"
        if kind == "condition" and ident:
            return f"{self.labels.condition(ident)}: {self.labels.assessment(value or '')}"
        return title

    def _reasoning(self, w: Writer) -> None:
        w.heading(3, "The reasoning")
        w.para([plain("How each conclusion was reached: every rule that applied, its reason and sources, down to "
                      "your answers (highlighted). A conclusion explained once is referred back to.")], "note")
        seen: set[Any] = set()
        for c in self.explanation.conclusions:
            w.heading(4, self._conclusion_heading(c.kind, c.id, c.title, c.value))
            if c.note:
                w.para([("i", c.note)])
            if c.node is not None:
                w.items([self._tree(c.node, seen)], kind="tree")

    def fact_words(self, fact: Fact) -> str:
        """A fact of the reasoning in words: an answer with its question, a conclusion by its label."""
        labels = self.labels
        if fact.kind == "answer":
            multi = self.knowledge.questions.get(fact.id, {}).get("type") == "multi"
            words = labels.answer(fact.id, [fact.value] if multi else fact.value)
            return f"{labels.question(fact.id)} {'Includes: ' if multi else ''}{words}"
        if fact.kind == "unanswered":
            return f"Not yet answered: {labels.question(fact.id)}"
        if fact.kind == "condition":
            return f"{labels.condition(fact.id)}: {labels.assessment(str(fact.value))}"
        if fact.kind == "finding":
            return in_sentence(labels.of(fact.kind, fact.id)).capitalize()
        label = labels.of(fact.kind, fact.id)
        return {"recommend": f"Advice: {label}", "avoid": f"Avoid: {label}",
                "tier": f"Treatment: {label}", "disposition": f"Where to go: {label}"}.get(fact.kind, label)

    def _tree(self, node: Node, seen: set[Any]) -> Item:
        label = self.fact_words(node.fact)
        if node.is_answer:
            return ([("answer", label)], [])
        if node.derivations and node.fact in seen:
            return ([plain(label), ("i", " (explained above)")], [])
        seen.add(node.fact)
        children: list[Item] = []
        reasons: set[str] = set()
        for d in node.derivations:
            held: list[Item] = [([plain("and not: "), plain(a)], []) for a in d.absent]
            if d.because in reasons:  # the same reason on other facts: it is just above
                spans: list[Span] = [("i", "The same reason, from:")]
            else:
                spans = [("i", self.fix(d.because)), *self.ref(d.citations)]
            reasons.add(d.because)
            children.append((spans, [*held, *(self._tree(p, seen) for p in d.premises)]))
        return ([("b", label)], children)

    def _answer_words(self, question: str, value: Any) -> str:
        return "unanswered" if value is None else self.labels.answer(question, value)

    def _critical(self, w: Writer) -> None:
        critical = self.result.critical_answers or ()
        w.heading(3, "What would change where to go or the treatment")
        if not critical:
            w.para([plain("No single answer, changed alone, would change where to go or the treatment.")])
            return
        w.para([plain("Each of these answers, changed alone, changes where to go or the treatment (found by "
                      "rerunning the rules; questions you left unanswered are not included).")])
        rows = []
        for entry in critical:
            question = entry["question"]
            whole = self.knowledge.questions[question]["type"] == "integer"
            span = range_text(entry["to_range"], whole) if "to_range" in entry else ""
            tier = entry["treatment_tier"]
            rows.append([
                [plain(self.labels.question(question))],
                [("answer", self._answer_words(question, entry["from"]))],
                [plain(self._answer_words(question, entry["to"]) + (f" ({span})" if span else ""))],
                [plain(self.labels.disposition(entry["disposition"])
                       + ("; " + self.labels.tier(tier) if tier else ""))],
            ])
        w.table(["Question", "Your answer", "Changed to", "Then"], rows)

    def _sources_say(self, w: Writer) -> None:
        with_positions = [r for r in self.result.recommendations if r.get("positions")]
        disagreements = self.plan.disagreements if self.plan is not None else ()
        if not with_positions and not disagreements:
            return
        w.heading(3, "What each source says")
        if with_positions:
            w.items([
                ([("b", rec["title"])], [([plain(self.fix(p["says"])), *self.ref(p["cite"])], [])
                                          for p in rec["positions"]])
                for rec in with_positions
            ])
        for d in disagreements:
            w.heading(4, f"Where the sources disagree: {d.topic}")
            w.items([([plain(self.fix(p.says)), *self.ref(p.citations)], []) for p in d.positions])
            w.para([("b", "This plan: "), plain(d.this_plan)])

    def _references(self, w: Writer) -> None:
        entries = self.refs.entries()
        if not entries:
            return
        w.heading(2, "References")
        w.items([([plain(e["reference"]), ("i", status_words(e["status"]))], []) for e in entries],
                numbered=True, kind="refs")


def _quotes(quotes: Sequence[str]) -> list[Span]:
    spans: list[Span] = []
    for index, quote in enumerate(quotes):
        spans.append(plain(("; " if index else "") + f"“{quote}”"))
    return spans


def build_report(triage: Triage, case: Case, fmt: str, result: Result | None = None,
                 date: datetime.date | None = None) -> str:
    """The report of one checked case, as `markdown` or `html`."""
    if result is None or result.critical_answers is None:
        result = triage.assess(case, critical=True)
    knowledge = triage.knowledge
    builder = ReportBuilder(knowledge, result, explain(knowledge, result), build_plan(knowledge, result), date)
    writer: Writer = HtmlWriter() if fmt == "html" else MarkdownWriter()
    return builder.build(writer)


@click.command("report")
@click.argument("case", metavar="CASE")
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The report file: .md for Markdown, .html for a web page (self-contained, prints well).")
def report_command(case: str, output: Path) -> None:
    """Write a report of one case (JSON or YAML; `-` reads stdin) to a Markdown or HTML file.

    First page: the summary card and your answers. Then what to do with its evidence,
    the six-week plan, what to avoid and why; an appendix with the reasoning and the
    answers that would change the result; the references. Says where it wrote the file.

    Exit status 0 on success, 2 for a bad case file or output name, 3 for invalid
    knowledge, 4 for an engine failure.
    """
    from itb_triage.engine import atomic_write, printable

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
    click.echo(f"Report written to {printable(str(output.resolve()))}", err=True)
