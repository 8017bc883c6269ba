"""The interview as a state machine: which question next, answers, back, why.

No terminal here: the CLI asks, this decides. Questions come in knowledge order
(screening, presentation, risk factors, history, goals); a question is asked only if
its own `relevant_when` holds and the rules say its answer can still change the
outcome (engine/relevance.py). Once a same-day or emergency disposition is settled,
only questions that could make it more urgent are asked, and the interview stops
when there are none, so urgent advice is never delayed by routine questions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .case import Case, answer_problem, check_case, expected_text
from .facts import Fact, answer_facts
from .knowledge import Knowledge
from .merge import more_urgent, most_urgent
from .relevance import Analysis, Relevance, relevant_by_condition
from .result import Result
from .triage import Triage
from .typed_answers import AnswerError, Reading, read_answer

URGENT = ("emergency", "same_day")

__all__ = ["AnswerError", "Interview", "InterviewState", "Reading", "WhyItem"]


@dataclass
class InterviewState:
    """Everything needed to resume: answers, skipped questions, and the order of both."""

    answers: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    full_record: bool = False


@dataclass(frozen=True)
class WhyItem:
    """One reason to ask a question: a rule, its plain-words reason, what hangs on it."""

    rule: str
    because: str
    conclusions: tuple[str, ...]
    citations: tuple[str, ...]


class Interview:
    """One runner's interview over a compiled Triage."""

    def __init__(self, triage: Triage, state: InterviewState | None = None,
                 relevance: Relevance | None = None) -> None:
        self.triage = triage
        self.knowledge: Knowledge = triage.knowledge
        self.state = state if state is not None else InterviewState()
        self.relevance = relevance if relevance is not None else Relevance(self.knowledge)
        self._analysis: Analysis | None = None
        self._played_forward: int | None = None  # see estimated_length
        # question -> the follow-up questions whose `relevant_when` tests it
        self._gates: dict[str, list[str]] = {q: [] for q in self.knowledge.questions}
        for follow_up, patterns in self.knowledge.relevance.items():
            for parent in {p.ids[0] for p in patterns}:
                self._gates[parent].append(follow_up)

    # --- state -----------------------------------------------------------------------

    @property
    def answers(self) -> dict[str, Any]:
        return self.state.answers

    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = self.relevance.analyse(self.state.answers, self.state.skipped)
        return self._analysis

    def _changed(self) -> None:
        self._analysis = None

    def answer(self, question: str, value: Any) -> None:
        """Record a checked answer (see `parse`)."""
        self.state.answers[question] = value
        if question in self.state.skipped:
            self.state.skipped.remove(question)
        self.state.history.append(question)
        self._changed()

    def skip(self, question: str) -> None:
        self.state.skipped.append(question)
        self.state.history.append(question)
        self._changed()

    def back(self) -> str | None:
        """Undo the last answer or skip; returns that question, to be asked again."""
        if not self.state.history:
            return None
        question = self.state.history.pop()
        self.state.answers.pop(question, None)
        if question in self.state.skipped:
            self.state.skipped.remove(question)
        self._changed()
        return question

    def continue_for_full_record(self) -> None:
        """After urgent advice: keep asking everything relevant, for a fuller record."""
        self.state.full_record = True
        self._changed()

    # --- what next ----------------------------------------------------------------------

    def urgent_disposition(self) -> str | None:
        """The most urgent settled disposition if it is emergency or same_day."""
        settled = self.analysis().settled("disposition")
        best = most_urgent(self.knowledge, (f.id for f in settled))
        return best if best in URGENT else None

    def next_question(self) -> str | None:
        """The next question worth asking, or None when the interview is complete."""
        return next(self._worth_asking(), None)

    def estimated_length(self) -> int:
        """About how many questions the whole interview takes ("question 7 of about 30").

        Counting every question still worth asking overestimates (each answer settles
        things that close later questions), and playing the interview forward with every
        question skipped underestimates (skipping where the pain is closes its
        follow-ups). So it is played forward once along the calm path: "no" to every
        question that has it, else the first choice, numbers skipped. For the 29 public
        vignettes that estimate was 30, against 26 to 32 questions asked on the routine
        path; an urgent answer then brings it down through the count of questions still
        worth asking, the smaller of the two being shown. The play-forward costs a few
        hundred milliseconds, so it is redone only when the interview outruns it.
        """
        asked = len(self.state.history)
        worth_asking = asked + sum(1 for _ in self._worth_asking())
        if self._played_forward is None or self._played_forward <= asked:
            self._played_forward = asked + self._play_forward()
        return max(asked + 1, min(worth_asking, self._played_forward))

    def _play_forward(self) -> int:
        """The number of questions still asked if every answer from here is the calm one."""
        state = InterviewState(dict(self.state.answers), list(self.state.skipped), list(self.state.history),
                               self.state.full_record)
        ghost = Interview(self.triage, state, self.relevance)
        count = 0
        while (question := ghost.next_question()) is not None:
            entry = self.knowledge.questions[question]
            if entry["type"] in ("choice", "multi"):
                ids = [v["id"] for v in entry["values"]]
                calm = "no" if "no" in ids else ids[0]
                ghost.answer(question, [calm] if entry["type"] == "multi" else calm)
            else:
                ghost.skip(question)
            count += 1
        return count

    def _worth_asking(self) -> Iterator[str]:
        """Unanswered questions, in knowledge order, whose answer can still change the outcome."""
        analysis = self.analysis()
        urgent = None if self.state.full_record else self.urgent_disposition()
        if urgent == "emergency":
            return
        facts = answer_facts(self.state.answers)  # once, not once per question weighed
        for question in self.knowledge.questions:
            if question in self.state.answers or question in self.state.skipped:
                continue
            if not relevant_by_condition(self.knowledge.relevance[question], self.state.answers, facts):
                continue
            if not self._matters(question, analysis.needed):
                continue
            if urgent is not None and not self._matters(question, lambda q: self._could_escalate(q, urgent)):
                continue
            yield question

    def _matters(self, question: str, test: Callable[[str], bool], seen: frozenset[str] = frozenset()) -> bool:
        """`test` holds for the question, or for a follow-up it opens (calf swelling opens
        the chest-pain question, which alone can make it an emergency)."""
        if test(question):
            return True
        closed = self.analysis().closed
        return any(
            self._matters(follow_up, test, seen | {question})
            for follow_up in self._gates[question]
            if follow_up not in seen and follow_up not in self.state.answers and follow_up not in closed
        )

    def _could_escalate(self, question: str, urgent: str) -> bool:
        return any(
            goal.kind == "disposition" and more_urgent(self.knowledge, goal.id, than=urgent)
            for reason in self.analysis().reasons.get(question, ())
            for goal in reason.wanted
        )

    def why(self, question: str) -> list[WhyItem]:
        """Which conclusions hang on this question, with the rules' reasons."""
        items: dict[str, WhyItem] = {}
        for reason in self.analysis().reasons.get(question, ()):
            outcomes = self._outcomes(reason.wanted)
            conclusions = tuple(dict.fromkeys(self._describe(f) for f in outcomes))
            if reason.rule.id in items:
                conclusions = tuple(dict.fromkeys(items[reason.rule.id].conclusions + conclusions))
            items[reason.rule.id] = WhyItem(reason.rule.id, reason.rule.because, conclusions, reason.rule.cite)
        return list(items.values())

    def _outcomes(self, wanted: tuple[Fact, ...]) -> list[Fact]:
        """Follow intermediate findings forward to the parts of the result they can change."""
        statuses = self.analysis().statuses
        outcomes: list[Fact] = []
        frontier, seen = list(wanted), set(wanted)
        while frontier:
            fact = frontier.pop(0)
            if fact.kind != "finding":
                outcomes.append(fact)
                continue
            for rule in self.knowledge.rules:
                if any(p.matches(fact) for b in rule.branches for p in b.patterns):
                    for goal in rule.then:
                        if goal not in seen and statuses.get(goal) is not None and goal.kind != "unanswered":
                            seen.add(goal)
                            frontier.append(goal)
        return outcomes[:6]

    def _describe(self, fact: Fact) -> str:
        """A conclusion in plain words, from the knowledge entry it names."""
        k = self.knowledge
        plain: dict[str, tuple[str, Mapping[str, Mapping[str, Any]], str]] = {
            "red_flag": ("warning sign", k.red_flags, "name"),
            "disposition": ("where to go", k.dispositions, "headline"),
            "tier": ("treatment", k.tiers, "title"),
            "recommend": ("advice", k.recommendations, "title"),
            "avoid": ("to avoid", k.avoid, "title"),
        }
        if fact.kind in plain:
            label, table, field_name = plain[fact.kind]
            return f"{label}: {table[fact.id][field_name]}"
        if fact.kind == "condition":
            return f"{k.conditions[fact.id]['name']}: {fact.value}"
        if fact.kind == "unanswered":
            return "whether a safety question is still open"
        return f"{fact.kind.replace('_', ' ')}: {fact.id.replace('_', ' ')}"

    # --- results ------------------------------------------------------------------------

    def case(self, case_id: str | None = None) -> Case:
        """The answers as a checked case, normalised exactly as `assess` normalises a file."""
        document: dict[str, Any] = {"format": "itb-case/1", "answers": dict(self.state.answers)}
        if case_id is not None:
            document["id"] = case_id
        return check_case(document, "interview", self.knowledge)

    def result(self, case_id: str | None = None) -> Result:
        return self.triage.assess(self.case(case_id))

    # --- typed answers ----------------------------------------------------------------------

    def read(self, question: str, text: str) -> Reading:
        """Typed text as an answer for `question`, with a note if it was converted, or
        AnswerError whose message says what would be right (engine/typed_answers.py)."""
        entry = self.knowledge.questions[question]
        schema = self.knowledge.case_schema["properties"]["answers"]["properties"][question]
        reading = read_answer(entry, text, min_items=int(schema.get("minItems", 0)))
        # The contract has the last word, with the same check as a case file's answer:
        # it refuses NaN and infinity too, which pass every range test (`nan` typed at a
        # number prompt once crashed the end of the interview).
        if answer_problem(question, reading.value, "interview", self.knowledge) is not None:
            raise AnswerError(f"expected {expected_text(question, self.knowledge)}")
        return reading

    def parse(self, question: str, text: str) -> Any:
        """The answer value of `read`."""
        return self.read(question, text).value
