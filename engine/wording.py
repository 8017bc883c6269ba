"""Rule patterns, comparisons and number intervals in words, for every explanation.

`explain`, why-not, the critical answers and the report say these the same way because
they all take them from here. (The sentences of a why-not summary or a derivation note
are written where they are decided, in whynot.py and derivations.py.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .knowledge import Knowledge
    from .patterns import Pattern

COMPARISON_WORDS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
FACT_WORDS = {"red_flag": "red flag"}


def number_text(value: float) -> str:
    """A number as a person writes it: `6`, not `6.0`."""
    return str(int(value)) if float(value).is_integer() else str(value)


def range_text(span: Mapping[str, Any], whole: bool) -> str:
    """An interval (`{"gte": 5, "lte": 49}`) in words: `any whole number from 5 to 49`,
    `any value >= 0 and < 2` where fractions count."""
    if whole:
        low = span["gte"] if "gte" in span else math.floor(span["gt"]) + 1
        high = span["lte"] if "lte" in span else math.ceil(span["lt"]) - 1
        return f"any whole number from {low} to {high}"
    return "any value " + " and ".join(f"{COMPARISON_WORDS[k]} {number_text(v)}" for k, v in span.items())


def pattern_text(pattern: Pattern, knowledge: Knowledge) -> str:
    """A rule pattern in words: `duration_weeks >= 6`, `tier at least conservative`, `no finding x`."""
    if pattern.kind == "tier" and pattern.compare_field == "r":
        tiers = list(knowledge.tiers)
        rung = int(pattern.comparisons[0][1]) if pattern.comparisons else 1
        text = f"tier at least {tiers[rung - 1] if 0 < rung <= len(tiers) else rung}"
        return f"not ({text})" if pattern.negated else text
    values = " or ".join(str(v) for v in pattern.values)
    if pattern.kind == "answer":
        question = pattern.ids[0] if pattern.ids else "?"
        multi = knowledge.questions.get(question, {}).get("type") == "multi"
        if pattern.values:
            text = f"{question} {'includes' if multi else '='} {values}"
        elif pattern.comparisons:
            text = " and ".join(f"{question} {COMPARISON_WORDS[n]} {number_text(b)}" for n, b in pattern.comparisons)
        else:
            return f"{question} not answered" if pattern.negated else f"{question} answered"
        return f"not ({text})" if pattern.negated else text
    text = f"{FACT_WORDS.get(pattern.kind, pattern.kind)} {' or '.join(pattern.ids)}"
    if values:
        text += f" = {values}"
    return f"no {text}" if pattern.negated else text
