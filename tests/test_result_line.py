"""The batch line writer (engine/result_line.py) gives `compact_json(aggregate(...))`,
byte for byte: it is derived from the same tables, and checked on generated cases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from itb_triage.engine import EngineError, Triage
from itb_triage.engine.aggregate import aggregate
from itb_triage.engine.facts import answer_facts
from itb_triage.engine.firing import Firing
from itb_triage.engine.result import compact_json
from itb_triage.engine.result_line import ResultLines

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
