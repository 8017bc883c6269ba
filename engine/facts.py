"""Facts: what the engine reasons over, in one uniform shape.

Every fact has a kind (`answer`, `finding`, `red_flag`, `unanswered`, `condition`,
`disposition`, `tier`, `recommend`, `avoid`), an id, and for some kinds a value
(an answer's value, a condition's assessment). Dispositions and tiers also carry their
rank on the ladder so that rules can say "at least supervised".

Inside durable_rules a fact is a flat dict with short keys (`t`, `k`, `v`, `r`); the
key `id` is avoided on purpose because durable_rules uses it as the message identity.
It also carries its id as a field name of its own (`id_field`), which is what the rules
test: see there why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Value = str | int | float

KINDS = (
    "answer",
    "finding",
    "red_flag",
    "unanswered",
    "condition",
    "disposition",
    "tier",
    "recommend",
    "avoid",
)


def id_field(fact_id: str) -> str:
    """The field a fact of this id carries (with the value 1) and rules test for its id.

    durable_rules 2.0.28 finds a fact's next tests by field name only: had every rule
    tested `k`, each answer would be compared with every question's test in turn (~100),
    where with a field per id only its own tests are looked at (docs/durable-rules.md).
    The prefix keeps the name clear of the other keys (`t`, `k`, `v`, `r`, `s`, `sid`).
    """
    return "k_" + fact_id


@dataclass(frozen=True, order=True)
class Fact:
    """One fact. `rank` is the ladder position of a disposition or tier, else None."""

    kind: str
    id: str
    value: Value | None = None
    rank: int | None = None

    def to_engine(self, sid: str) -> dict[str, Any]:
        """The dict asserted into durable_rules for session `sid`."""
        out: dict[str, Any] = {"t": self.kind, "k": self.id, id_field(self.id): 1, "sid": sid}
        if self.value is not None:
            out["v"] = self.value
        if self.rank is not None:
            out["r"] = self.rank
        return out

    @classmethod
    def from_engine(cls, data: dict[str, Any]) -> Fact:
        """Rebuild a fact from what durable_rules hands an action."""
        return cls(str(data["t"]), str(data["k"]), data.get("v"), data.get("r"))

    def to_json(self) -> dict[str, Any]:
        """The public, trace-friendly form: kind, id and value (rank is derivable)."""
        out: dict[str, Any] = {"kind": self.kind, "id": self.id}
        if self.value is not None:
            out["value"] = self.value
        return out

    def describe(self) -> str:
        """Short human text, e.g. `knee_locking = yes` or `finding lateral_pain`."""
        if self.kind == "answer":
            return f"{self.id} = {self.value}"
        if self.value is not None:
            return f"{self.kind} {self.id} {self.value}"
        return f"{self.kind} {self.id}"


# Answers are kept to this many decimal places. Python writes small floats such as
# 1e-05 in exponent form without a decimal point, and durable_rules' C JSON parser
# crashes (segfault, found by the property tests) on that form; rounded to 4 places,
# every number the case schema admits is written as a plain decimal.
DECIMALS = 4


def normalise_number(value: Any) -> Any:
    """Round floats to DECIMALS places, and write whole numbers as ints.

    3.0 and 3 are the same answer, but durable_rules would treat them as different
    facts; the rounding keeps the engine's JSON parser on ground it handles.
    """
    if isinstance(value, float):
        value = round(value, DECIMALS)
        if value.is_integer():
            return int(value)
    return value


# Choices recur from case to case: their facts are made once, keyed on plain tuples
# (a Fact's own hash is computed in Python), and the same Fact objects come back, which
# lets the engine cache their JSON by identity. Numbers are not cached: 1, 1.0 and True
# are equal keys whose facts differ, and free numbers rarely repeat.
_CHOICE_FACTS: dict[tuple[str, str], Fact] = {}
_CHOICE_LIMIT = 8192  # emptied when full, so memory stays flat


def answer_facts(answers: Mapping[str, Any]) -> list[Fact]:
    """One fact per answer, and one per chosen item of a multiple-choice answer."""
    facts: list[Fact] = []
    cache = _CHOICE_FACTS
    for question, value in answers.items():
        for item in value if isinstance(value, list) else (value,):
            if type(item) is str:
                fact = cache.get((question, item))
                if fact is None:
                    if len(cache) >= _CHOICE_LIMIT:
                        cache.clear()
                    fact = cache[(question, item)] = Fact("answer", question, item)
                facts.append(fact)
            else:
                facts.append(Fact("answer", question, normalise_number(item)))
    return facts
