"""Cases sharing a durable_rules session (`Triage.assess_many`, what `batch` runs) give
byte for byte what each gives alone (`Triage.assess`, what `assess`, `explain` and the
interview run), on generated cases; any error reruns its group case by case; a rule
base that cannot be slotted runs every case alone."""

from __future__ import annotations

import json
from typing import Any

import durable_rules_engine
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itb_triage.engine import EngineError, Triage
from itb_triage.engine.durable_backend import GROUP_SIZE, DurableBackend, _Grouped
from itb_triage.engine.facts import Fact, answer_facts
from itb_triage.engine.firing import Firing
from itb_triage.engine.patterns import Pattern
from itb_triage.engine.result import compact_json
from itb_triage.engine.rulebase import Branch, Rule
from itb_triage.engine.slotting import ALTERNATIVE_LIMIT, EARLY_LIMIT

from .conftest import VIGNETTES, examples, vignette
from .strategies import answers

CASES = [vignette(path)["case"] for path in VIGNETTES]


def texts(triage: Triage, documents: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Each case's JSON line alone, and from one `assess_many` call."""
    cases = [triage.read_case(json.dumps(d).encode(), f"case {i}") for i, d in enumerate(documents)]
    alone = [compact_json(triage.assess(case)) for case in cases]
    together = [compact_json(r) if not isinstance(r, EngineError) else str(r) for r in triage.assess_many(cases)]
    return alone, together


def test_the_shipped_rules_share_sessions(triage: Triage) -> None:
    triage.assess_many([triage.read_case(json.dumps(CASES[0]).encode(), "v01")] * 2)
    assert triage.not_grouped is None
    assert triage._backend._grouped is not None


def test_every_vignette_together_is_byte_identical_to_alone(triage: Triage) -> None:
    alone, together = texts(triage, CASES)
    assert len(CASES) > GROUP_SIZE  # more than one group, the last one short
    assert together == alone


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(answers(), min_size=1, max_size=3 * GROUP_SIZE))
def test_generated_cases_together_are_byte_identical_to_alone(triage: Triage, batch: list[dict[str, Any]]) -> None:
    documents = [{"format": "itb-case/1", "answers": a} for a in batch]
    alone, together = texts(triage, documents)
    assert together == alone


def test_grouped_firings_are_the_objects_alone_gives(triage: Triage) -> None:
    backend = triage._backend
    facts = [answer_facts(triage.assess_answers(c["answers"]).answers) for c in CASES[:GROUP_SIZE]]
    grouped = backend.run_cases(facts)
    for one, together in zip(facts, grouped, strict=True):
        assert isinstance(together, list)
        assert [(f.rule.id, f.branch, f.matched, f.concluded) for f in together] == [
            (f.rule.id, f.branch, f.matched, f.concluded) for f in backend.run_case(one)]


def _no_grouped_session_left(grouped: _Grouped) -> bool:
    try:
        durable_rules_engine.get_facts(grouped._handle, grouped._sid)
    except durable_rules_engine.error:
        return True
    return False


def test_an_error_in_a_group_reruns_it_case_by_case(triage: Triage, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = triage._backend
    facts = [answer_facts(triage.assess_answers(c["answers"]).answers) for c in CASES[:GROUP_SIZE]]
    expected = [backend.run_case(f) for f in facts]
    grouped = backend._grouped_runner()
    assert grouped is not None
    alone: list[list[Fact]] = []
    original_run_case = backend.run_case

    def counted(answers: list[Fact]) -> list[Firing]:
        alone.append(answers)
        return original_run_case(answers)

    def broken(_messages: str) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(grouped, "_firing", broken)
    # Messages already seen come from the cache without `_firing`: forget them.
    monkeypatch.setattr(grouped, "_messages", {})
    monkeypatch.setattr(grouped, "_older", {})
    monkeypatch.setattr(backend, "run_case", counted)
    assert backend.run_cases(facts) == expected
    assert alone == facts
    assert _no_grouped_session_left(grouped)


def test_a_case_the_engine_refuses_is_its_own_error_and_the_rest_of_its_group_is_unaffected(
    triage: Triage,
) -> None:
    backend = triage._backend
    facts = [answer_facts(triage.assess_answers(c["answers"]).answers) for c in CASES[:GROUP_SIZE]]
    broken = [facts[2][0], *facts[2]]  # the same answer twice: the C core refuses it
    outcome = backend.run_cases([*facts[:2], broken, *facts[3:]])
    assert isinstance(outcome[2], EngineError)
    assert "already in the session" in str(outcome[2])
    assert [o for i, o in enumerate(outcome) if i != 2] == [backend.run_case(f) for i, f in enumerate(facts) if i != 2]
    grouped = backend._grouped_runner()
    assert grouped is not None and _no_grouped_session_left(grouped)


def test_rules_that_cannot_be_slotted_run_every_case_alone_and_say_why() -> None:
    # More rules with a wide `any of` on one kind of fact than the matcher's stack allows.
    wide = Pattern("answer", ("q",), values=tuple(f"v{i}" for i in range(ALTERNATIVE_LIMIT + 1)))
    rules = [Rule(f"r{i}", "findings", (Branch(f"r{i}", 0, (wide,)),), (Fact("finding", f"f{i}"),),
                  "because of a test", ("c",), "rules/test.yaml", i) for i in range(EARLY_LIMIT + 1)]
    backend = DurableBackend(rules, "test_unslottable")
    cases = [[Fact("answer", "q", "v1")], [Fact("answer", "q", "v2")], [Fact("answer", "q", "x")]]
    outcome = backend.run_cases(cases)
    assert backend.not_grouped is not None and "stack" in backend.not_grouped
    assert outcome == [backend.run_case(c) for c in cases]
    assert [len(o) for o in outcome if isinstance(o, list)] == [EARLY_LIMIT + 1, EARLY_LIMIT + 1, 0]


def test_a_message_is_parsed_once_for_every_slot(triage: Triage, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache's key writes the running case's slot as `*`: the same case in every slot
    # of a group needs no message the first slot did not (each slot's were parsed apart).
    grouped = triage._backend._grouped_runner()
    assert grouped is not None
    monkeypatch.setattr(grouped, "_messages", {})
    monkeypatch.setattr(grouped, "_older", {})
    facts = answer_facts(triage.assess_answers(CASES[0]["answers"]).answers)
    alone = grouped.run([facts])
    first = set(grouped._messages)
    together = grouped.run([facts] * GROUP_SIZE)
    assert set(grouped._messages) == first
    assert together == alone * GROUP_SIZE
    assert [f.rule.id for f in alone[0]] == [f.rule.id for f in triage._backend.run_case(facts)]
