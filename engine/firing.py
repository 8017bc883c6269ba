"""One rule firing, as every evaluator reports it and the aggregation reads it.

Its own module so that the plain-Python evaluator and the aggregation need nothing of
the durable_rules backend (importing that loads the C core).
"""

from __future__ import annotations

from dataclasses import dataclass

from .facts import Fact
from .rulebase import Rule


@dataclass(frozen=True)
class Firing:
    """One rule firing: which branch, the facts it matched, the facts it concluded."""

    rule: Rule
    branch: int
    matched: tuple[Fact, ...]
    concluded: tuple[Fact, ...]
