"""The result of one triage: one immutable value, and its JSON form.

Everything a renderer needs is resolved here from the knowledge (titles, doses,
evidence, numbered references), so renderers never look anything up themselves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .contract import NOT_A_MEDICAL_DEVICE, RESULT_FORMAT
from .facts import Fact


@dataclass(frozen=True)
class TraceStep:
    """One rule firing as the trace shows it."""

    rule: str
    stage: str
    because: str
    facts: tuple[Fact, ...]
    concluded: tuple[Fact, ...]
    citations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "stage": self.stage,
            "facts": [f.to_json() for f in self.facts],
            "concluded": [f.to_json() for f in self.concluded],
            "because": self.because,
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Reason:
    """A key reason shown to the runner: a rule's plain-words `because`."""

    rule: str
    because: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """A triage result. `entries` hold the resolved knowledge for each listed id."""

    case_id: str | None
    answers: Mapping[str, Any]
    disposition: str
    headline: str
    treatment_tier: str | None
    tier_title: str | None
    red_flags: tuple[Mapping[str, Any], ...]
    conditions: tuple[Mapping[str, Any], ...]
    recommendations: tuple[Mapping[str, Any], ...]
    avoid: tuple[Mapping[str, Any], ...]
    withheld: tuple[Mapping[str, str], ...]
    unanswered_screening: tuple[str, ...]
    reasons: tuple[Reason, ...]
    citations: tuple[Mapping[str, Any], ...]
    trace: tuple[TraceStep, ...]
    knowledge_version: str
    # Opt-in (Triage.assess(case, critical=True)): each costs dozens of evaluator runs.
    critical_answers: tuple[Mapping[str, Any], ...] | None = None

    @property
    def recommendation_ids(self) -> tuple[str, ...]:
        return tuple(r["id"] for r in self.recommendations)

    @property
    def avoid_ids(self) -> tuple[str, ...]:
        return tuple(a["id"] for a in self.avoid)

    def citation_number(self, citation_id: str) -> int:
        for index, entry in enumerate(self.citations, start=1):
            if entry["id"] == citation_id:
                return index
        raise KeyError(citation_id)

    def to_json(self) -> dict[str, Any]:
        """The contract's result (result.schema.json) plus the resolved details."""
        out: dict[str, Any] = {"format": RESULT_FORMAT}
        if self.case_id is not None:
            out["case_id"] = self.case_id
        out.update(
            {
                "disposition": self.disposition,
                "headline": self.headline,
                "treatment_tier": self.treatment_tier,
                "red_flags": [dict(f) for f in self.red_flags],
                "conditions": [dict(c) for c in self.conditions],
                "recommendations": [dict(r) for r in self.recommendations],
                "avoid": [dict(a) for a in self.avoid],
                "withheld": [dict(w) for w in self.withheld],
                "unanswered_screening": list(self.unanswered_screening),
                "reasons": [
                    {"rule": r.rule, "because": r.because, "citations": list(r.citations)} for r in self.reasons
                ],
                "citations": [dict(c) for c in self.citations],
                "trace": [step.to_json() for step in self.trace],
                "answers": dict(self.answers),
                "knowledge_version": self.knowledge_version,
                "notice": NOT_A_MEDICAL_DEVICE,
            }
        )
        if self.critical_answers is not None:
            out["critical_answers"] = [dict(c) for c in self.critical_answers]
        return out


# --- compact JSON text, fast ---------------------------------------------------------
#
# `batch` writes one result per line. json.dumps of a result is ~0.2 ms, most of it
# re-encoding the same knowledge text (advice, references, each rule's `because`) case
# after case. `compact_json` builds the same text from pieces encoded once and reused.
# It must stay in step with `Result.to_json` (tests/test_batch.py compares the two).
# The text is ASCII (other characters as \u escapes, as json.dumps does by default): a
# program reading the lines gets the same objects, and a str of ASCII is half the size
# in memory and needs no transcoding on output, which made `batch` ~7 % faster.

# The C encoder, built once (json.dumps with arguments builds a new encoder per call).
_encode = json.JSONEncoder(separators=(",", ":")).encode
_TEXT_LIMIT = 4096  # entries per cache; emptied when full, so memory stays flat


class _Texts:
    """JSON texts of values that recur from case to case, reused only for equal values.

    A reused text is checked against a private copy of the value it was made from, so a
    value changed in place, or built by hand, is never given a stale text. (`==` does
    not tell 1 from 1.0 or True; nothing in a result's entries relies on that.)
    """

    def __init__(self) -> None:
        self._texts: dict[Hashable, tuple[Any, str]] = {}

    def text(self, key: Hashable, value: Any) -> str:
        hit = self._texts.get(key)
        if hit is not None and hit[0] == value:
            return hit[1]
        plain = dict(value) if isinstance(value, Mapping) else value
        text = _encode(plain)
        if len(self._texts) >= _TEXT_LIMIT:
            self._texts.clear()
        self._texts[key] = (copy.deepcopy(plain), text)
        return text


_ENTRIES = _Texts()
# rule id -> (stage, because, concluded, citations, text before the facts, text after):
# reused only when the step's parts are the very objects of the rule (immutable).
_STEPS: dict[str, tuple[str, str, tuple[Fact, ...], tuple[str, ...], str, str]] = {}
_FACTS: dict[tuple[str, str, str | None], str] = {}


def _entries(kind: str, entries: tuple[Mapping[str, Any], ...], field: str = "") -> str:
    """A list of knowledge entries, each known by its id (and `field`, if given)."""
    text = _ENTRIES.text
    if field:
        return "[" + ",".join([text((kind, e.get("id"), e.get(field)), e) for e in entries]) + "]"
    return "[" + ",".join([text((kind, e.get("id")), e) for e in entries]) + "]"


def _fact_text(fact: Fact) -> str:
    # Only facts without a number are cached: they are few, while numbers (an age, a
    # distance) rarely repeat, and -0.0 == 0 == 0.0 would share a key but not a text.
    if fact.value is not None and type(fact.value) is not str:
        return _encode(fact.to_json())
    key = (fact.kind, fact.id, fact.value)
    text = _FACTS.get(key)
    if text is None:
        if len(_FACTS) >= _TEXT_LIMIT:
            _FACTS.clear()
        text = _FACTS[key] = _encode(fact.to_json())
    return text


def _step_text(step: TraceStep) -> str:
    hit = _STEPS.get(step.rule)
    if not (hit and hit[0] is step.stage and hit[1] is step.because and hit[2] is step.concluded
            and hit[3] is step.citations):
        whole = _encode({**step.to_json(), "facts": []})
        head, tail = whole.split(',"facts":[]', 1)
        hit = (step.stage, step.because, step.concluded, step.citations, head + ',"facts":[', "]" + tail)
        if len(_STEPS) >= _TEXT_LIMIT:
            _STEPS.clear()
        _STEPS[step.rule] = hit
    return hit[4] + ",".join([_fact_text(f) for f in step.facts]) + hit[5]


def compact_json(result: Result) -> str:
    """`json.dumps(result.to_json(), separators=(",", ":"))`, faster: one line of ASCII."""
    parts = ['{"format":', _encode(RESULT_FORMAT)]
    if result.case_id is not None:
        parts += [',"case_id":', _encode(result.case_id)]
    parts += [
        ',"disposition":', _encode(result.disposition),
        ',"headline":', _ENTRIES.text(("headline", result.headline), result.headline),
        ',"treatment_tier":', _encode(result.treatment_tier),
        ',"red_flags":', _entries("red_flag", result.red_flags),
        ',"conditions":', _entries("condition", result.conditions, "assessment"),
        ',"recommendations":', _entries("recommendation", result.recommendations),
        ',"avoid":', _entries("avoid", result.avoid),
        ',"withheld":', _encode([dict(w) for w in result.withheld]),
        ',"unanswered_screening":', _encode(list(result.unanswered_screening)),
        ',"reasons":[',
        ",".join(_ENTRIES.text(("reason", r.rule), {"rule": r.rule, "because": r.because,
                                                    "citations": list(r.citations)}) for r in result.reasons),
        '],"citations":', _entries("citation", result.citations, "number"),
        ',"trace":[', ",".join([_step_text(step) for step in result.trace]),
        '],"answers":', _encode(dict(result.answers)),
        ',"knowledge_version":', _encode(result.knowledge_version),
        ',"notice":', _encode(NOT_A_MEDICAL_DEVICE),
    ]
    if result.critical_answers is not None:
        parts += [',"critical_answers":', _encode([dict(c) for c in result.critical_answers])]
    parts.append("}")
    return "".join(parts)
