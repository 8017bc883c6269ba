"""`itb-triage explain`: how each conclusion was reached, why something was not, and what if.

The command only reads the case and picks the renderer; the reasoning lives in the
engine (engine/explain.py, whynot.py, whatif.py, critical.py). `review` takes a checked
Case, so a case from elsewhere (an interview session) can be explained the same way.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import click

from itb_triage.engine.case import Case
from itb_triage.engine.contract import NOT_A_MEDICAL_DEVICE
from itb_triage.engine.critical import range_text
from itb_triage.engine.explain import Derivation, Explanation, Node, explain
from itb_triage.engine.knowledge import Knowledge
from itb_triage.engine.result import Result
from itb_triage.engine.session import Triage
from itb_triage.engine.whatif import WhatIf, what_if
from itb_triage.engine.whynot import PatternCheck, RuleCheck, WhyNot, WhyNotAnalysis, parse_targets

from .reasoning import Citations, answer_text, fact_label, status_words
from .render import printable

FORMATS = ("text", "json")
KIND_HEADINGS = {
    "red_flag": "Warning signs",
    "condition": "What it looks like",
    "recommendation": "What to do",
    "avoid": "What to avoid",
    "withheld": "Recommended but withheld",
}


# --- the command ------------------------------------------------------------------------


@click.command("explain")
@click.argument("case", metavar="CASE")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for reading, json for programs.")
@click.option("--why-not", "why_not_id", metavar="ID",
              help="Why was ID not concluded? ID is a disposition, tier, recommendation, avoid item, condition "
                   "(CONDITION=ASSESSMENT for one assessment), red flag or finding; KIND:ID picks one kind.")
@click.option("--what-if", "what_ifs", metavar="QUESTION=VALUE", multiple=True,
              help="Rerun with this answer changed (repeatable). Lists as a,b or []; nothing after = leaves "
                   "the question unanswered.")
def explain_command(case: str, fmt: str, why_not_id: str | None, what_ifs: tuple[str, ...]) -> None:
    """Explain the triage of one case (JSON or YAML; `-` reads stdin).

    Without options: for every conclusion (where to go, the treatment tier, each
    warning sign, condition, recommendation and thing to avoid) the chain of rules
    that produced it, down to your answers, with each rule's reason and sources, and
    the answers that, changed alone, would change where to go or the tier.

    Exit status 0 on success, 2 for a bad case file or a bad --why-not/--what-if,
    3 for invalid knowledge, 4 for an engine failure.
    """
    from itb_triage.engine import CaseError, EngineError, QueryError

    from .exit_codes import ExitStatus
    from .main import _fail, _read_input, _triage, _width

    if why_not_id is not None and what_ifs:
        _fail("use --why-not or --what-if, not both", ExitStatus.INPUT_ERROR)
    data, where = _read_input(case)
    triage = _triage()
    try:
        checked = triage.read_case(data, where)
        text = review(triage, checked, fmt, why_not_id, what_ifs, _width())
    except (CaseError, QueryError) as exc:
        _fail(exc.one_line() if isinstance(exc, CaseError) else str(exc), ExitStatus.INPUT_ERROR)
    except EngineError as exc:
        _fail(f"{where}: the rule engine failed: {exc}", ExitStatus.ENGINE_FAILURE)
    click.echo(text, nl=False)


def review(triage: Triage, case: Case, fmt: str, why_not_id: str | None = None,
           what_ifs: Sequence[str] = (), width: int = 80) -> str:
    """The output of `explain` for a checked case (raises QueryError for a bad question)."""
    knowledge = triage.knowledge
    if what_ifs:
        result = triage.assess(case)
        change = what_if(triage, case, what_ifs, before=result)
        if fmt == "json":
            return _json({"case_id": case.id, **change.to_json()} if case.id is not None else change.to_json())
        return render_what_if(change, knowledge, width)
    if why_not_id is not None:
        targets = parse_targets(knowledge, why_not_id)  # before running anything: bad ids fail fast
        result = triage.assess(case)
        analysis = WhyNotAnalysis(knowledge, result)
        answers = tuple(analysis.why_not(t) for t in targets)
        if fmt == "json":
            document: dict[str, Any] = {"format": "itb-why-not/1"}
            if case.id is not None:
                document["case_id"] = case.id
            document.update({"disposition": result.disposition, "treatment_tier": result.treatment_tier,
                             "why_not": [w.to_json() for w in answers],
                             "knowledge_version": result.knowledge_version})
            return _json(document)
        return render_why_not(answers, result, knowledge, width)
    result = triage.assess(case, critical=True)
    explanation = explain(knowledge, result)
    if fmt == "json":
        return _json(explanation.to_json())
    return render_explanation(explanation, result, knowledge, width)


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- plain text ---------------------------------------------------------------------------


class Lines:
    """Wrapped lines at a fixed width, with tree prefixes."""

    def __init__(self, width: int) -> None:
        self.width = max(60, width)
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def add(self, text: str, first: str = "", rest: str | None = None) -> None:
        rest = first if rest is None else rest
        wrapped = textwrap.wrap(text, width=self.width, initial_indent=first, subsequent_indent=rest,
                                break_on_hyphens=False, break_long_words=True)
        self.lines.extend(wrapped or [first.rstrip()])

    def heading(self, text: str) -> None:
        self.blank()
        self.lines.append(text.upper())

    def title(self, text: str) -> None:
        text = text if len(text) <= self.width else text[: self.width - 3] + "..."
        self.lines += [text, "=" * len(text)]

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).rstrip() + "\n"


class TreePrinter:
    """Prints derivation trees; a derived fact already printed in full is referred back to."""

    def __init__(self, out: Lines, refs: Citations, knowledge: Knowledge) -> None:
        self.out = out
        self.refs = refs
        self.questions = knowledge.questions
        self.printed: set[Any] = set()

    def node(self, node: Node, first: str, rest: str) -> None:
        label = fact_label(node.fact, self.questions)
        if node.derivations and node.fact in self.printed:
            self.out.add(f"{label} (explained above)", first, rest)
            return
        self.out.add(label, first, rest)
        self.printed.add(node.fact)
        shown: set[str] = set()
        for index, derivation in enumerate(node.derivations):
            last = index == len(node.derivations) - 1
            again = derivation.rule in shown
            shown.add(derivation.rule)
            self.derivation(derivation, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "), again)

    def derivation(self, derivation: Derivation, first: str, rest: str, again: bool = False) -> None:
        more = rest + ("│  " if derivation.premises else "   ")
        if again:
            # The same rule fired again on other facts (another alternative, or other
            # items of a multiple choice): its reason is printed once, just above.
            self.out.add(f"rule {derivation.rule} again, from:", first, rest)
        else:
            self.out.add(f"rule {derivation.rule} ({derivation.stage}) {self.refs.refs(derivation.citations)}",
                         first, rest)
            self.out.add(derivation.because, more)
        for absent in derivation.absent:
            self.out.add(f"held: {absent}", more)
        for index, premise in enumerate(derivation.premises):
            last = index == len(derivation.premises) - 1
            self.node(premise, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "))


def _references(out: Lines, refs: Citations) -> None:
    entries = refs.entries()
    if entries:  # a why-not that cites nothing has no references to list
        out.heading("References")
    for entry in entries:
        label = f"[{entry['number']}]"
        out.add(f"{entry['reference']}{status_words(entry['status'])}", f"{label:>5} ", " " * 6)
    out.blank()
    out.add(NOT_A_MEDICAL_DEVICE)


def _case_title(prefix: str, case_id: str | None) -> str:
    return f"{prefix}: {printable(case_id)}" if case_id else prefix


def render_explanation(explanation: Explanation, result: Result, knowledge: Knowledge, width: int = 80) -> str:
    """Every conclusion with its tree, then the critical answers and the references."""
    out = Lines(width)
    refs = Citations(knowledge, result)
    trees = TreePrinter(out, refs, knowledge)
    out.title(_case_title("How itb-triage decided", explanation.case_id))
    current = ""
    for conclusion in explanation.conclusions:
        if conclusion.kind == "disposition":
            out.heading("Where to go")
            out.add(f"{conclusion.id}: {conclusion.title}", "   ")
        elif conclusion.kind == "tier":
            out.heading("Treatment tier")
            out.add(f"{conclusion.id}: {conclusion.title}" if conclusion.id else "none", "   ")
        elif conclusion.kind != current:
            out.heading(KIND_HEADINGS[conclusion.kind])
        current = conclusion.kind
        out.blank()
        if conclusion.kind not in ("disposition", "tier"):
            value = f" ({conclusion.value})" if conclusion.value else ""
            out.add(f"{conclusion.title}{value}", " * ", "   ")
        if conclusion.note:
            out.add(f"({conclusion.note})", "   ")
        if conclusion.node is not None:
            trees.node(conclusion.node, "   ", "   ")
    _critical(out, explanation.critical_answers or (), knowledge)
    _references(out, refs)
    return out.text()


def _critical(out: Lines, critical: Sequence[Mapping[str, Any]], knowledge: Knowledge) -> None:
    out.heading("What would change where to go or the tier")
    if not critical:
        out.add("No single answer, changed alone, would change where to go or the treatment tier.", "   ")
        return
    out.add("Each answer below, changed alone, changes where to go or the treatment tier "
            "(found by rerunning the rules; unanswered questions are not included).", "   ")
    by_question: dict[str, list[Mapping[str, Any]]] = {}
    for entry in critical:
        by_question.setdefault(entry["question"], []).append(entry)
    for question, entries in by_question.items():
        out.blank()
        out.add(f"{question} = {answer_text(entries[0]['from'])}", " - ", "   ")
        for entry in entries:
            span = f" ({_range_text(question, entry['to_range'], knowledge)})" if "to_range" in entry else ""
            tier = entry["treatment_tier"] or "no tier"
            out.add(f"-> {answer_text(entry['to'])}{span}: {entry['disposition']}, {tier}", "     ", "        ")


def _range_text(question: str, span: Mapping[str, Any], knowledge: Knowledge) -> str:
    return range_text(span, knowledge.questions[question]["type"] == "integer")


# --- why not ------------------------------------------------------------------------------


def render_why_not(answers: Sequence[WhyNot], result: Result, knowledge: Knowledge, width: int = 80) -> str:
    """Each target: its status, the rules that could conclude it, and single answer changes."""
    out = Lines(width)
    refs = Citations(knowledge, result)
    trees = TreePrinter(out, refs, knowledge)
    out.title(_case_title("Why not", result.case_id))
    out.blank()
    tier = result.treatment_tier or "no tier"
    out.add(f"This case: {result.disposition}, {tier}.")
    for answer in answers:
        out.heading(f"Why not {answer.target.label()}?")
        out.add(answer.title, "   ")
        out.blank()
        out.add(answer.summary, "   ")
        if answer.note:
            out.add(answer.note, "   ")
        for rule in answer.rules:
            out.blank()
            _rule_check(out, refs, trees, rule, "   ")
        if answer.status != "shown":
            out.blank()
            out.add("One answer changed alone that would bring it:", "   ")
            if not answer.changes:
                out.add("none: it needs more than one answer changed.", "   - ", "     ")
            for change, changed in answer.changes:
                span = f" ({_range_text(change.question, s, knowledge)})" if (s := change.range_json()) else ""
                tier = changed.treatment_tier or "no tier"
                out.add(f"{change.question}: {answer_text(change.before)} -> {answer_text(change.after)}{span}; "
                        f"then {changed.disposition}, {tier}", "   - ", "     ")
    _references(out, refs)
    return out.text()


def _rule_check(out: Lines, refs: Citations, trees: TreePrinter, rule: RuleCheck, indent: str) -> None:
    out.add(f"rule {rule.rule} ({rule.stage}) could conclude {rule.concludes.describe()} "
            f"{refs.refs(rule.citations)}", indent, indent + "   ")
    out.add(rule.because, indent + "   ")
    for branch in rule.branches:
        inner = indent + "   "
        if len(rule.branches) > 1:
            verdict = "holds" if branch.held else "fails"
            out.add(f"alternative {branch.index + 1} of {len(rule.branches)} ({verdict}):", inner)
            inner += "   "
        for check in branch.patterns:
            _pattern_check(out, refs, trees, check, inner)


def _pattern_check(out: Lines, refs: Citations, trees: TreePrinter, check: PatternCheck, indent: str) -> None:
    mark = "held:   " if check.held else "FAILED: "
    out.add(f"{mark}{check.text}", indent, indent + " " * len(mark))
    inner = indent + " " * len(mark)
    for hint in check.hints:
        out.add(f"would hold with: {hint.text}", inner, inner + "   ")
    for blocker in check.blockers:
        out.add("blocked by:", inner)
        trees.node(blocker, inner + "   ", inner + "   ")
    if check.concluders:
        out.add("could be concluded by:", inner)
        for concluder in check.concluders:
            _rule_check(out, refs, trees, concluder, inner + "   ")


# --- what if ------------------------------------------------------------------------------


def render_what_if(change: WhatIf, knowledge: Knowledge, width: int = 80) -> str:
    """What changes: where to go, the tier, warning signs, conditions, advice."""
    out = Lines(width)
    out.title(_case_title("What if", change.before.case_id))
    out.blank()
    for c in change.changes:
        out.add(f"{c.question}: {answer_text(c.before)} -> {answer_text(c.after)}", " - ", "   ")
    before, after = change.before, change.after
    out.heading("Where to go")
    if change.disposition_changed:
        out.add(f"{before.disposition} -> {after.disposition}", "   ")
        out.add(after.headline, "   ")
    else:
        out.add(f"unchanged: {after.disposition}", "   ")
    out.heading("Treatment tier")
    if change.tier_changed:
        out.add(f"{before.treatment_tier or 'none'} -> {after.treatment_tier or 'none'}", "   ")
    else:
        out.add(f"unchanged: {after.treatment_tier or 'none'}", "   ")
    titles = {
        "red_flags": {f["id"]: f["name"] for f in (*before.red_flags, *after.red_flags)},
        "recommendations": {r["id"]: r["title"] for r in (*before.recommendations, *after.recommendations)},
        "avoid": {a["id"]: a["title"] for a in (*before.avoid, *after.avoid)},
    }
    for field, heading in (("red_flags", "Warning signs"), ("recommendations", "What to do"),
                           ("avoid", "What to avoid")):
        added, removed = change.added(field), change.removed(field)
        out.heading(heading)
        if not added and not removed:
            out.add("unchanged", "   ")
        for ident in added:
            out.add(f"{ident}: {titles[field][ident]}", " + ", "   ")
        for ident in removed:
            out.add(f"{ident}: {titles[field][ident]}", " - ", "   ")
    conditions = change.conditions_changed()
    out.heading("Conditions")
    if not conditions:
        out.add("unchanged", "   ")
    for ident, was, now in conditions:
        out.add(f"{ident}: {was or 'not listed'} -> {now or 'not listed'}", " * ", "   ")
    if before.unanswered_screening != after.unanswered_screening:
        out.heading("Safety questions still unanswered")
        out.add(", ".join(after.unanswered_screening) or "none", "   ")
    out.blank()
    out.add("Rerun through the same rules as `assess`; nothing else about the case changed.")
    out.blank()
    out.add(NOT_A_MEDICAL_DEVICE)
    return out.text()
