"""The batch line writer (engine/result_line.py) gives `compact_json(aggregate(...))`,
byte for byte: it is derived from the same tables, and checked on generated cases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from itb_triage.engine import EngineError, Knowledge, Triage
from itb_triage.engine.aggregate import Selection, aggregate, select
from itb_triage.engine.facts import answer_facts
from itb_triage.engine.firing import Firing
from itb_triage.engine.merge import Merged, treatment_waits
from itb_triage.engine.result import compact_json
from itb_triage.engine.result_line import ResultLines
from itb_triage.engine.rulebase import Rule

from .conftest import VIGNETTES, examples, vignette
from .strategies import answers

CASES = [vignette(path)["case"] for path in VIGNETTES]


@pytest.fixture(scope="module")
def lines(triage: Triage) -> ResultLines:
    return ResultLines(triage.knowledge)


def check(triage: Triage, lines: ResultLines, document: dict[str, Any]) -> None:
    case = triage.read_case(json.dumps(document).encode(), "case")
    firings = triage._backend.run_case(answer_facts(case.answers))
    expected = compact_json(aggregate(triage.knowledge, firings, case.answers, case.id))
    assert lines.line(firings, case.answers, case.id) == expected


def test_every_vignette_gives_the_compact_json_of_its_result(triage: Triage, lines: ResultLines) -> None:
    for case in CASES:
        check(triage, lines, case)
        check(triage, lines, {**case, "id": "a label with ünïcode"})


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_generated_cases_give_the_compact_json_of_their_result(
    triage: Triage, lines: ResultLines, answers: dict[str, Any]
) -> None:
    check(triage, lines, {"format": "itb-case/1", "answers": answers})


def reference_selection(knowledge: Knowledge, firings: list[Firing]) -> Selection:
    """`select` as the merge policy reads, slowly: every firing and every knowledge entry
    walked in order, nothing cached. The fast one must decide the same."""
    concluded = list(dict.fromkeys(fact for firing in firings for fact in firing.concluded))
    merged = Merged.of(knowledge, concluded)
    disposition = merged.disposition
    assert disposition is not None
    tier = None if treatment_waits(knowledge, disposition) else merged.tier

    def ids(kind: str) -> set[str]:
        return {fact.id for fact in concluded if fact.kind == kind}

    listing = ("suspected", "likely", "possible", "unlikely")
    conditions = tuple(sorted(((c, merged.assessments[c]) for c in knowledge.conditions if c in merged.assessments),
                              key=lambda pair: listing.index(pair[1])))
    recommendations = tuple(r for r in knowledge.recommendations if r in ids("recommend") and r not in merged.avoided)
    red_flags = tuple(f for f in knowledge.red_flags if f in ids("red_flag"))
    avoid = tuple(a for a in knowledge.avoid if a in merged.avoided)
    wanted = {("disposition", disposition), ("tier", tier)}
    reasons: dict[str, Rule] = {}
    for firing in firings:
        if any(f.kind == "red_flag" or (f.kind, f.id) in wanted for f in firing.concluded):
            reasons.setdefault(firing.rule.id, firing.rule)
    leading = [knowledge.recommendations[r] for r in recommendations]
    cited = [*(c for f in red_flags for c in knowledge.red_flags[f]["cite"]),
             *(c for e in leading for c in [*e["cite"], *(c for p in e.get("positions", []) for c in p["cite"])]),
             *(c for a in avoid for c in knowledge.avoid[a]["cite"]),
             *(c for r in reasons.values() for c in r.cite),
             *(c for condition, _ in conditions for c in knowledge.conditions[condition]["cite"]),
             *(c for f in firings for c in f.rule.cite)]
    return Selection(
        disposition=disposition,
        headline=next((e["headline"] for e in leading if "headline" in e),
                      knowledge.dispositions[disposition]["headline"]),
        tier=tier, red_flags=red_flags, conditions=conditions, recommendations=recommendations,
        withheld=tuple(r for r in knowledge.recommendations if r in ids("recommend") and r in merged.avoided),
        avoid=avoid, unanswered=tuple(q for q in knowledge.questions if q in ids("unanswered")),
        reasons=tuple(reasons.values()), citations=tuple(dict.fromkeys(cited)),
    )


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_the_selection_is_what_the_merge_policy_gives_read_slowly(triage: Triage, answers: dict[str, Any]) -> None:
    case = triage.assess_answers(answers)
    firings = triage._backend.run_case(answer_facts(case.answers))
    assert select(triage.knowledge, firings) == reference_selection(triage.knowledge, firings)
    # Firings made another way (not each rule's own `then`) are read the same.
    copied = [Firing(f.rule, f.branch, f.matched, tuple(list(f.concluded))) for f in firings]
    assert select(triage.knowledge, copied) == reference_selection(triage.knowledge, copied)


def test_result_lines_of_a_batch_are_what_assess_gives_each_case(triage: Triage) -> None:
    cases = [triage.read_case(json.dumps(c).encode(), "case") for c in CASES]
    assert triage.result_lines(cases) == [compact_json(triage.assess(c)) for c in cases]


def test_firings_made_another_way_are_written_in_full(triage: Triage, lines: ResultLines) -> None:
    case = triage.read_case(json.dumps(CASES[0]).encode(), "case")
    firings = [Firing(f.rule, f.branch, f.matched, tuple(list(f.concluded)))  # equal, not the rule's own tuple
               for f in triage._backend.run_case(answer_facts(case.answers))]
    assert all(f.concluded is not f.rule.then for f in firings)
    assert lines.line(firings, case.answers, None) == compact_json(aggregate(triage.knowledge, firings,
                                                                             case.answers, None))


def test_no_disposition_is_the_engine_error_aggregate_raises(triage: Triage, lines: ResultLines) -> None:
    with pytest.raises(EngineError, match="no rule concluded a disposition"):
        lines.line([], {}, None)
