"""What if: rerun a case with some answers changed and say what changes.

Changes are written `QUESTION=VALUE`. The value is read by the question's type:

- a choice: one of its value ids (`knee_locking=yes`);
- a multiple choice: value ids separated by commas, brackets optional
  (`pain_locations=lateral_knee,lateral_hip`); `[]` is the empty list;
- a number: a number within the question's range (`duration_weeks=8`);
- any question: nothing after `=` leaves it unanswered (`trend=`).

The changed case is checked against the case contract like a case file, and run
through the same engine as `assess` (durable_rules), not the plain-Python evaluator.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .case import Case, check_case
from .critical import Change
from .errors import CaseError, QueryError
from .knowledge import Knowledge
from .result import Result
from .triage import Triage

EXAMPLE = "knee_locking=yes"


def parse_change(knowledge: Knowledge, text: str) -> tuple[str, Any]:
    """`QUESTION=VALUE` -> (question, value); None means unanswered. Values are checked later."""
    if "=" not in text:
        raise QueryError(f"--what-if {text}: expected QUESTION=VALUE, e.g. {EXAMPLE}")
    question, raw = (part.strip() for part in text.split("=", 1))
    if question not in knowledge.questions:
        close = difflib.get_close_matches(question, list(knowledge.questions), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise QueryError(f"--what-if {text}: unknown question id '{question}'{hint}")
    if raw == "":
        return question, None
    kind = knowledge.questions[question]["type"]
    if kind == "multi":
        inner = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
        return question, [item.strip() for item in inner.split(",") if item.strip()]
    if kind in ("integer", "number"):
        return question, _number(raw)
    return question, raw


def _number(raw: str) -> Any:
    """An int or float if `raw` reads as one; else the text, for the case check to refuse."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def changed_case(knowledge: Knowledge, case: Case, texts: Sequence[str]) -> tuple[Case, tuple[Change, ...]]:
    """The case with the changes applied and checked, and the changes as made."""
    answers: dict[str, Any] = dict(case.answers)
    given: dict[str, str] = {}
    for text in texts:
        question, value = parse_change(knowledge, text)
        if question in given:
            raise QueryError(f"--what-if {text}: {question} is already changed by --what-if {given[question]}")
        given[question] = text
        if value is None:
            answers.pop(question, None)
        else:
            answers[question] = value
    document: dict[str, Any] = {"format": "itb-case/1", "answers": answers}
    if case.id is not None:
        document["id"] = case.id
    try:
        checked = check_case(document, "--what-if", knowledge)
    except CaseError as exc:
        question = exc.path.removeprefix("$.answers.").split("[")[0]
        text = given.get(question, " ".join(texts))
        expected = f"; expected {exc.expected}" if exc.expected else ""
        raise QueryError(f"--what-if {text}: {exc.problem}{expected}") from None
    changes = tuple(Change(q, case.answers.get(q), checked.answers.get(q)) for q in given)
    return checked, changes


@dataclass(frozen=True)
class WhatIf:
    """The result before and after the changes, and what differs."""

    changes: tuple[Change, ...]
    before: Result
    after: Result

    @property
    def disposition_changed(self) -> bool:
        return self.before.disposition != self.after.disposition

    @property
    def tier_changed(self) -> bool:
        return self.before.treatment_tier != self.after.treatment_tier

    def added(self, field: str) -> list[str]:
        """Ids in the after-result's `field` (recommendations, avoid, red_flags) not in the before's."""
        before = _ids(getattr(self.before, field))
        return [i for i in _ids(getattr(self.after, field)) if i not in before]

    def removed(self, field: str) -> list[str]:
        after = _ids(getattr(self.after, field))
        return [i for i in _ids(getattr(self.before, field)) if i not in after]

    def conditions_changed(self) -> list[tuple[str, str | None, str | None]]:
        """(condition, assessment before, assessment after) for each that differs."""
        before = {c["id"]: c["assessment"] for c in self.before.conditions}
        after = {c["id"]: c["assessment"] for c in self.after.conditions}
        ids = list(dict.fromkeys([*before, *after]))
        return [(c, before.get(c), after.get(c)) for c in ids if before.get(c) != after.get(c)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": "itb-what-if/1",
            "changes": [{"question": c.question, "from": c.before, "to": c.after} for c in self.changes],
            "disposition": {"before": self.before.disposition, "after": self.after.disposition,
                            "changed": self.disposition_changed},
            "treatment_tier": {"before": self.before.treatment_tier, "after": self.after.treatment_tier,
                               "changed": self.tier_changed},
        }
        for field in ("red_flags", "recommendations", "avoid"):
            out[field] = {"added": self.added(field), "removed": self.removed(field)}
        out["conditions"] = [{"id": c, "before": b, "after": a} for c, b, a in self.conditions_changed()]
        out["unanswered_screening"] = {"before": list(self.before.unanswered_screening),
                                       "after": list(self.after.unanswered_screening)}
        out["headline"] = {"before": self.before.headline, "after": self.after.headline}
        return out


def _ids(items: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(item["id"]) for item in items]


def what_if(triage: Triage, case: Case, texts: Sequence[str], before: Result | None = None) -> WhatIf:
    """Run the case as given and with the changes, through the normal engine."""
    if not texts:
        raise QueryError(f"--what-if: give at least one QUESTION=VALUE, e.g. {EXAMPLE}")
    after_case, changes = changed_case(triage.knowledge, case, texts)
    return WhatIf(changes, before if before is not None else triage.assess(case), triage.assess(after_case))
