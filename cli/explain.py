"""`itb-triage explain`: how each conclusion was reached, why something was not, and what if.

The command only reads the case and picks the renderer; the reasoning lives in the
engine (engine/derivations.py, whynot.py, whatif.py, critical.py). `review` takes a checked
Case, so a case from elsewhere (an interview session) can be explained the same way.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import click

from itb_triage.engine import (
    NOT_A_MEDICAL_DEVICE,
    Case,
    Derivation,
    Explanation,
    Knowledge,
    Node,
    PatternCheck,
    Result,
    RuleCheck,
    Triage,
    WhatIf,
    WhyNot,
    WhyNotAnalysis,
    explain,
    parse_targets,
    printable,
    range_text,
    target_ids,
    what_if,
)

from .completion import complete_what_if, complete_why_not
from .reasoning import Citations, answer_text, fact_label, status_words
from .render import Lines

FORMATS = ("text", "json")
KIND_HEADINGS = {
    "red_flag": "Warning signs",
    "condition": "What it looks like",
    "recommendation": "What to do",
    "avoid": "What to avoid",
    "withheld": "Recommended but withheld",
}


# --- the command ------------------------------------------------------------------------


def _print_ids(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from .common import triage

        click.echo(render_target_ids(triage().knowledge), nl=False)
        ctx.exit()


def render_target_ids(knowledge: Knowledge, width: int = 80) -> str:
    """The ids `--why-not` takes, by kind, each with its name where the knowledge gives one."""
    names: dict[str, Mapping[str, Mapping[str, Any]]] = {
        "disposition": knowledge.dispositions, "tier": knowledge.tiers,
        "recommendation": knowledge.recommendations, "avoid": knowledge.avoid,
        "condition": knowledge.conditions, "red_flag": knowledge.red_flags,
    }
    out = textwrap.wrap("The ids --why-not takes. KIND:ID picks one kind where an id names two "
                        "(avoid:aqua_jogging); CONDITION=ASSESSMENT asks about one assessment "
                        "(itbs=likely; likely, suspected, possible or unlikely).", width)
    for kind, ids in target_ids(knowledge).items():
        out.extend(["", kind.replace("_", " ")])
        size = max(len(i) for i in ids) + 2 if ids else 0
        for ident in ids:
            entry = names.get(kind, {}).get(ident, {})
            name = next((str(entry[k]) for k in ("name", "title", "headline") if k in entry), "")
            line = f"  {ident:<{size}}{name}" if name and size + 2 + 10 <= width else f"  {ident}"
            out.append(line if len(line) <= width else line[: width - 3] + "...")
    return "\n".join(out) + "\n"


@click.command("explain")
@click.argument("case", metavar="CASE")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for reading, json for programs.")
@click.option("--why-not", "why_not_id", metavar="ID", shell_complete=complete_why_not,
              help="Why was ID not concluded? ID is a disposition, tier, recommendation, avoid item, condition "
                   "(CONDITION=ASSESSMENT for one assessment), red flag or finding; KIND:ID picks one kind. "
                   "--list shows them all.")
@click.option("--what-if", "what_ifs", metavar="QUESTION=VALUE", multiple=True, shell_complete=complete_what_if,
              help="Rerun with this answer changed (repeatable). Lists as a,b; [] for none where a question "
                   "allows none; nothing after = leaves the question unanswered.")
@click.option("--list", "list_ids", is_flag=True, is_eager=True, expose_value=False, callback=_print_ids,
              help="List the ids --why-not takes, by kind, and exit.")
def explain_command(case: str, fmt: str, why_not_id: str | None, what_ifs: tuple[str, ...]) -> None:
    """Explain the triage of one case (JSON or YAML; `-` reads stdin).

    Without options: for every conclusion (where to go, the treatment tier, each
    warning sign, condition, recommendation and thing to avoid) the chain of rules
    that produced it, down to your answers, with each rule's reason and sources, and
    the answers that, changed alone, would change where to go or the tier.

    Exit status 0 on success, 2 for a bad case file or a bad --why-not/--what-if,
    3 for invalid knowledge, 4 for an engine failure.
    """
    from .common import fail, read_input, triage, width

    if why_not_id is not None and what_ifs:
        fail("use --why-not or --what-if, not both")
    data, where = read_input(case)
    engine = triage()
    text = review(engine, engine.read_case(data, where), fmt, why_not_id, what_ifs, width())
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
    out = Lines(width, narrowest=60)
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
    out = Lines(width, narrowest=60)
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
    out = Lines(width, narrowest=60)
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
