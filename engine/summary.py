"""The summary care card: what a runner needs from a result, at a glance.

One value, without format, that every door shows in its own medium (the terminal's
text, the browser, a CDS Hooks card, the first page of the report), so they all say
the same thing. It is derived from the result and the knowledge only: the words are
presentation.yaml's and the knowledge's own, the doses the plan's first week; nothing
here knows a particular case or recommendation.

Like the NHS care cards it leads with where to go and how soon, named the way a
person says it, then the likely cause, the few things to do this week, what to
avoid, and when to get help sooner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .knowledge import Knowledge
from .labels import Labels, in_sentence, plain_name
from .result import Result

# Strongest first: the cause sentence speaks of the strongest assessment present.
_CAUSE_ORDER = ("suspected", "likely", "possible")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


@dataclass(frozen=True)
class CardItem:
    """One line of the card: a thing to do or avoid. `id` is for programs, never shown."""

    id: str
    label: str
    detail: str | None = None


@dataclass(frozen=True)
class Summary:
    """The care card of one result, in plain words; `headings` name its sections."""

    card: str  # immediate | urgent | non_urgent | self_care | answer_first
    urgency: str  # "See a doctor today"
    where: str  # where to go and how soon
    why: tuple[str, ...]  # the warning signs behind an urgent card
    cause: str  # the likely cause, in a sentence
    this_week: tuple[CardItem, ...]
    more_to_do: int  # things to do the card leaves out
    avoid: tuple[CardItem, ...]
    sooner: tuple[str, ...]  # when to get help sooner: the safety-net advice
    sooner_short: tuple[str, ...]  # the same in fewer words, for a door short of room
    questions: tuple[str, ...]  # safety questions to answer before anything else
    unsure: tuple[str, ...]  # safety questions answered "not sure"
    headings: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "card": self.card, "urgency": self.urgency, "where": self.where, "why": list(self.why),
            "cause": self.cause,
            "this_week": [{"id": i.id, "label": i.label, "detail": i.detail} for i in self.this_week],
            "more_to_do": self.more_to_do,
            "avoid": [{"id": i.id, "label": i.label, "detail": i.detail} for i in self.avoid],
            "sooner": list(self.sooner), "sooner_short": list(self.sooner_short),
            "questions": list(self.questions), "unsure": list(self.unsure),
        }


def summarise(result: Result, knowledge: Knowledge) -> Summary:
    """The care card of `result`, in the words of `knowledge`."""
    words = knowledge.presentation
    labels = Labels(knowledge)
    wording = next(d for d in words["dispositions"] if d["id"] == result.disposition)
    recommended = set(result.recommendation_ids)
    places = [p for p in words["places"]
              if p["recommendation"] in recommended and result.disposition in p.get("dispositions", ())]
    urgency = next((p["urgency"] for p in places if "urgency" in p), wording["urgency"])
    where = next((p["where"] for p in places if "where" in p), wording["where"])
    not_to_do = {p["recommendation"] for p in words["places"]} | {words["safety_net"]} | set(result.avoid_ids)

    todo = [] if wording["card"] == "answer_first" else _things_to_do(result, knowledge, labels, not_to_do)
    first = list(words["things_to_do"].get("first", []))
    todo.sort(key=lambda item: first.index(item.id) if item.id in first else len(first))  # stable
    most = int(words["things_to_do"]["most"])
    screening = knowledge.screening_questions
    return Summary(
        card=str(wording["card"]),
        urgency=str(urgency),
        where=" ".join(str(where).split()),
        why=tuple(in_sentence(labels.red_flag(f["id"])) for f in result.red_flags),
        cause=_cause(result, words["cause"], labels),
        this_week=tuple(todo[:most]),
        more_to_do=max(0, len(todo) - most),
        avoid=tuple(CardItem(a["id"], labels.avoid(a["id"]), a.get("instead")) for a in result.avoid),
        sooner=_sooner(result, words["safety_net"], wording),
        sooner_short=tuple(wording["sooner"]),
        # Only an `incomplete` result waits for them: on any other, the answers the
        # interview did not ask cannot make the advice calmer.
        questions=tuple(labels.question(q) for q in result.unanswered_screening)
        if wording["card"] == "answer_first" else (),
        unsure=tuple(labels.question(q) for q in screening if result.answers.get(q) == "unsure"),
        headings=dict(words["headings"]),
    )


def _cause(result: Result, sentences: Mapping[str, str], labels: Labels) -> str:
    for assessment in _CAUSE_ORDER:
        named = [labels.condition(c["id"]) for c in result.conditions if c["assessment"] == assessment]
        if named:
            condition = " or ".join(in_sentence(n) for n in named[:2])
            return sentences[assessment].replace("{condition}", condition)
    return sentences["unclear"]


def _things_to_do(result: Result, knowledge: Knowledge, labels: Labels, not_to_do: set[str]) -> list[CardItem]:
    """This week's doses from the plan's first week first, then the other advice in order."""
    todo = [r for r in result.recommendations if r["id"] not in not_to_do]
    wanted = {r["id"] for r in todo}
    this_week: dict[str, list[tuple[str, str]]] = {}
    if result.treatment_tier is not None and knowledge.plan.get("weeks"):
        components = {c["id"]: c for c in knowledge.plan["components"]}
        steps = [s for s in knowledge.plan["weeks"][0]["steps"]
                 if components[s["component"]]["recommendation"] in wanted]
        for step in steps:
            component = components[step["component"]]
            this_week.setdefault(component["recommendation"], []).append((component["label"], step["do"]))
    items = []
    for rec_id, parts in this_week.items():
        # The plan's closing brackets say whose dose it is: the detailed views show that.
        doses = [plain_name(do) for _, do in parts]
        detail = doses[0] if len(parts) == 1 else " ".join(
            f"{label}: {in_sentence(do)}" for (label, _), do in zip(parts, doses, strict=True))
        items.append(CardItem(rec_id, plain_name(labels.recommendation(rec_id)), detail))
    doses = knowledge.presentation["things_to_do"].get("doses", {})
    for rec in todo:
        if rec["id"] not in this_week:
            words = doses.get(rec["id"]) or _first_sentence(str(rec.get("do", "")))
            items.append(CardItem(rec["id"], plain_name(labels.recommendation(rec["id"])), words))
    return items


def _sooner(result: Result, safety_net: str, wording: Mapping[str, Any]) -> tuple[str, ...]:
    """The safety-net advice when the result carries it, else the disposition's own words.

    Its `do` only: the dose (when to review) is in the advice's detail, with its sources.
    """
    for rec in result.recommendations:
        if rec["id"] == safety_net:
            return tuple(_sentences(str(rec.get("do", ""))))
    return tuple(wording["sooner"])


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def _first_sentence(text: str) -> str | None:
    sentences = _sentences(text)
    return sentences[0] if sentences else None
