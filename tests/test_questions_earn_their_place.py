"""Every question earns its place: a rule reads it, or the knowledge says why it is kept.

A question that no rule reads cannot change what the runner is told, so asking it costs
the runner time for nothing; it stays only as a stated `record_only` reason (kept for the
clinician reading the report), and the interview does not ask it unless the runner
chooses to give the full record.
"""

from __future__ import annotations

from itb_triage.engine import Knowledge


def _read_by_rules(knowledge: Knowledge) -> set[str]:
    return {
        pattern.ids[0]
        for rule in knowledge.rules
        for branch in rule.branches
        for pattern in branch.patterns
        if pattern.kind == "answer"
    }


def test_every_question_is_read_by_a_rule_or_says_why_it_is_kept(knowledge: Knowledge) -> None:
    read = _read_by_rules(knowledge)
    unexplained = [q for q, entry in knowledge.questions.items() if q not in read and not entry.get("record_only")]
    assert unexplained == []


def test_a_record_only_question_is_really_read_by_no_rule(knowledge: Knowledge) -> None:
    read = _read_by_rules(knowledge)
    claimed = [q for q, entry in knowledge.questions.items() if entry.get("record_only") and q in read]
    assert claimed == []


def test_the_check_can_fail(knowledge: Knowledge) -> None:
    """The reader sees real answer patterns: the classic ITBS questions are read."""
    expected = {"worse_downhill", "pain_locations", "trend", "pain_severity", "foam_rolling_worsened"}
    assert expected <= _read_by_rules(knowledge)
