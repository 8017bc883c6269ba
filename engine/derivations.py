"""Derivations (what `explain` shows): for each conclusion of a result, the chain of rule firings behind it.

A conclusion (the disposition, the tier, each red flag, condition, recommendation and
avoid item) is a tree built from `Result.trace`: the concluded fact, every firing that
concluded it (rule id, its `because`, its citations, the negated patterns that held),
and under each firing the facts it matched, down to the answers. Nothing here runs
the rules again; the tree is read off the trace of the run that made the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .facts import Fact
from .knowledge import Knowledge
from .result import Result, TraceStep
from .rulebase import Branch
from .wording import pattern_text

EXPLANATION_FORMAT = "itb-explanation/1"
@dataclass(frozen=True)
class Derivation:
    """One rule firing that concluded a node's fact."""

    rule: str
    stage: str
    branch: int
    because: str
    citations: tuple[str, ...]
    premises: tuple[Node, ...]  # one per positive pattern of the branch, in order
    absent: tuple[str, ...]  # the branch's negated patterns, each of which held

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "stage": self.stage,
            "branch": self.branch,
            "because": self.because,
            "citations": list(self.citations),
            "held_absent": list(self.absent),
            "from": [p.to_json() for p in self.premises],
        }


@dataclass(frozen=True)
class Node:
    """A fact and how it came about: an answer of the case, or the firings that concluded it."""

    fact: Fact
    derivations: tuple[Derivation, ...] = ()

    @property
    def is_answer(self) -> bool:
        return self.fact.kind == "answer"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fact": self.fact.to_json()}
        if not self.is_answer:
            out["derived_by"] = [d.to_json() for d in self.derivations]
        return out

    def walk(self) -> list[Node]:
        """This node and every node below it, depth first."""
        nodes = [self]
        for derivation in self.derivations:
            for premise in derivation.premises:
                nodes.extend(premise.walk())
        return nodes


@dataclass(frozen=True)
class Conclusion:
    """One thing the result says, with the tree behind it.

    `kind` is disposition, tier, red_flag, condition, recommendation, avoid or
    withheld; `note` says how aggregation chose it where that matters (the most
    urgent disposition, the highest tier, the strongest assessment).
    """

    kind: str
    id: str | None
    title: str
    value: str | None
    node: Node | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "title": self.title}
        if self.value is not None:
            out["value"] = self.value
        if self.note:
            out["note"] = self.note
        out["tree"] = self.node.to_json() if self.node is not None else None
        return out


@dataclass(frozen=True)
class Explanation:
    """Every conclusion of one result, each with its derivation tree."""

    case_id: str | None
    disposition: str
    treatment_tier: str | None
    conclusions: tuple[Conclusion, ...]
    knowledge_version: str
    critical_answers: tuple[Mapping[str, Any], ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": EXPLANATION_FORMAT}
        if self.case_id is not None:
            out["case_id"] = self.case_id
        out.update({
            "disposition": self.disposition,
            "treatment_tier": self.treatment_tier,
            "conclusions": [c.to_json() for c in self.conclusions],
        })
        if self.critical_answers is not None:
            out["critical_answers"] = [dict(c) for c in self.critical_answers]
        out["knowledge_version"] = self.knowledge_version
        return out


class TreeBuilder:
    """Builds derivation nodes from one result's trace."""

    def __init__(self, knowledge: Knowledge, result: Result) -> None:
        self.knowledge = knowledge
        self.result = result
        self.known: set[Fact] = {f for step in result.trace for f in (*step.facts, *step.concluded)}
        self._by_fact: dict[Fact, list[TraceStep]] = {}
        for step in result.trace:
            for fact in step.concluded:
                self._by_fact.setdefault(fact, []).append(step)
        self._cache: dict[Fact, Node] = {}

    def concluded(self, fact: Fact) -> bool:
        return fact in self._by_fact

    def concluded_facts(self, kind: str) -> list[Fact]:
        """Every distinct fact of `kind` some firing concluded, in trace order."""
        return list(dict.fromkeys(f for f in self._by_fact if f.kind == kind))

    def node(self, fact: Fact, visiting: frozenset[Fact] = frozenset()) -> Node:
        """The derivation of `fact`: an answer leaf, or every firing that concluded it."""
        cached = self._cache.get(fact)
        if cached is not None:
            return cached
        if fact.kind == "answer" or fact in visiting:
            # A fact met again on its own path would be a cycle; the loader's staging
            # rules out cycles across stages, and this keeps a same-stage one finite.
            return Node(fact)
        below = visiting | {fact}
        derivations = []
        seen: set[tuple[str, int, tuple[Fact, ...]]] = set()
        for step in self._by_fact.get(fact, []):
            branch = self._branch(step)
            key = (step.rule, branch.index, step.facts)
            if key in seen:
                continue
            seen.add(key)
            derivations.append(Derivation(
                rule=step.rule,
                stage=step.stage,
                branch=branch.index,
                because=step.because,
                citations=step.citations,
                premises=tuple(self.node(f, below) for f in step.facts),
                absent=tuple(pattern_text(p, self.knowledge) for p in branch.negatives),
            ))
        node = Node(fact, tuple(derivations))
        self._cache[fact] = node
        return node

    def _branch(self, step: TraceStep) -> Branch:
        """The branch of the rule that fired: its positives match the step's facts in order
        and none of its negated patterns matches a known fact."""
        rule = self.knowledge.rule(step.rule)
        for branch in rule.branches:
            positives = branch.positives
            fits = len(positives) == len(step.facts) and all(
                p.matches(f) for p, f in zip(positives, step.facts, strict=True))
            if fits and not any(p.matches(f) for p in branch.negatives for f in self.known):
                return branch
        return rule.branches[0]  # unreachable for a trace of these rules; keeps the tree whole


def explain(knowledge: Knowledge, result: Result) -> Explanation:
    """The derivation tree of every conclusion of `result`."""
    trees = TreeBuilder(knowledge, result)
    conclusions: list[Conclusion] = []

    disposition_facts = trees.concluded_facts("disposition")
    others = [f.id for f in disposition_facts if f.id != result.disposition]
    note = ""
    if others:
        ranked = sorted([result.disposition, *others], key=knowledge.disposition_rank)
        note = f"the most urgent of the dispositions concluded ({', '.join(ranked)}) wins"
    disposition = next(f for f in disposition_facts if f.id == result.disposition)
    conclusions.append(Conclusion("disposition", result.disposition, result.headline, None,
                                  trees.node(disposition), note))

    if result.treatment_tier is None:
        conclusions.append(Conclusion(
            "tier", None, "No treatment tier", None, None,
            f"treatment waits for the clinician: disposition {result.disposition}",
        ))
    else:
        tier_facts = trees.concluded_facts("tier")
        tier = next(f for f in tier_facts if f.id == result.treatment_tier)
        lower = [f.id for f in tier_facts if f.id != result.treatment_tier]
        note = ""
        if lower:
            ranked = sorted([result.treatment_tier, *lower], key=knowledge.tier_rung)
            note = f"the highest rung of the tiers concluded ({', '.join(ranked)}) is the tier"
        conclusions.append(Conclusion("tier", result.treatment_tier, result.tier_title or result.treatment_tier,
                                      None, trees.node(tier), note))

    for flag in result.red_flags:
        conclusions.append(Conclusion("red_flag", flag["id"], flag["name"], None,
                                      trees.node(Fact("red_flag", flag["id"]))))
    for condition in result.conditions:
        fact = Fact("condition", condition["id"], condition["assessment"])
        weaker = [f.value for f in trees.concluded_facts("condition") if f.id == condition["id"] and f != fact]
        note = ""
        if weaker:
            note = f"the strongest assessment concluded wins over {', '.join(str(w) for w in weaker)}"
        conclusions.append(Conclusion("condition", condition["id"], condition["name"], condition["assessment"],
                                      trees.node(fact), note))
    for rec in result.recommendations:
        conclusions.append(Conclusion("recommendation", rec["id"], rec["title"], None,
                                      trees.node(Fact("recommend", rec["id"]))))
    for item in result.avoid:
        conclusions.append(Conclusion("avoid", item["id"], item["title"], None,
                                      trees.node(Fact("avoid", item["id"]))))
    for withheld in result.withheld:
        title = knowledge.recommendations[withheld["id"]]["title"]
        conclusions.append(Conclusion(
            "withheld", withheld["id"], title, None, trees.node(Fact("recommend", withheld["id"])),
            f"recommended, but withheld: '{withheld['because_avoid']}' is also something to avoid, and avoid wins",
        ))
    return Explanation(
        case_id=result.case_id,
        disposition=result.disposition,
        treatment_tier=result.treatment_tier,
        conclusions=tuple(conclusions),
        knowledge_version=result.knowledge_version,
        critical_answers=result.critical_answers,
    )
