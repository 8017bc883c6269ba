"""A case's result as one line of compact JSON, written straight from its firings.

`batch` writes `compact_json(aggregate(...))` for every case. Most of that time goes
into building the Result's dicts and encoding the same knowledge text (advice,
references, each rule's `because`) case after case. `ResultLines` encodes each entry
once, from the same entry builders `aggregate` uses (aggregate.red_flag_entry, ...),
and puts a case's line together from its `Selection` (aggregate.select), the one
table both are made from. tests/test_result_line.py checks it equal to
`compact_json(aggregate(...))` on generated cases.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, cast

from .aggregate import (
    advice_entry,
    citation_entry,
    condition_entry,
    red_flag_entry,
    select,
    withheld_entry,
)
from .contract import NOT_A_MEDICAL_DEVICE, RESULT_FORMAT
from .firing import Firing
from .knowledge import Knowledge
from .merge import ASSESSMENT_STRENGTH
from .result import TraceStep, _encode, _fact_text

_NUMBER = -7  # a citation number no entry has, replaced by each case's number
# Trace steps kept (emptied when full, so memory stays flat): about as many firings as
# the engine's message cache holds, the ones that recur.
_STEP_LIMIT = 4096


class ResultLines:
    """Writes `compact_json(aggregate(knowledge, firings, answers, case_id))`, faster."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        k = knowledge
        self._red_flags = {f: _encode(red_flag_entry(f, e)) for f, e in k.red_flags.items()}
        self._conditions = {(c, a): _encode(condition_entry(c, e, a))
                            for c, e in k.conditions.items() for a in ASSESSMENT_STRENGTH}
        self._recommendations = {r: _encode(advice_entry(r, e)) for r, e in k.recommendations.items()}
        self._avoid = {a: _encode(advice_entry(a, e)) for a, e in k.avoid.items()}
        self._withheld = {r: _encode(withheld_entry(r)) for r in k.recommendations}
        self._headlines = {text: _encode(text) for text in
                           [*(e["headline"] for e in k.dispositions.values()),
                            *(e["headline"] for e in k.recommendations.values() if "headline" in e)]}
        self._questions = {q: _encode(q) for q in k.questions}
        # Each source's entry around its number, and (made when first needed) the entry
        # with each number it is given: a source's number is its place among the case's.
        self._citations: dict[str, tuple[str, str]] = {}
        marker = f'"number":{_NUMBER},'
        for c, e in k.citations.items():
            head, tail = _encode(citation_entry(c, _NUMBER, e)).split(marker)
            self._citations[c] = (head + '"number":', "," + tail)
        self._numbered: dict[tuple[str, int], str] = {}
        self._reasons: dict[str, str] = {}
        self._steps: dict[str, tuple[str, str]] = {}
        for rule in k.rules:
            self._reasons[rule.id] = _encode({"rule": rule.id, "because": rule.because,
                                              "citations": list(rule.cite)})
            step = TraceStep(rule.id, rule.stage, rule.because, (), rule.then, rule.cite)
            head, tail = _encode(step.to_json()).split(',"facts":[]', 1)
            self._steps[rule.id] = (head + ',"facts":[', "]" + tail)
        # A firing's trace step, by the firing's identity: engine/durable_backend.py gives
        # the same Firing object for the same engine message, case after case. `_kept`
        # keeps each firing alive while its text is cached, so its id cannot be reused.
        self._step_texts: dict[int, str] = {}
        self._kept: list[Firing] = []
        self._tail = (',"knowledge_version":' + _encode(k.version) + ',"notice":' + _encode(NOT_A_MEDICAL_DEVICE)
                      + "}")

    def line(self, firings: list[Firing], answers: Mapping[str, Any], case_id: str | None) -> str:
        """The compact JSON of the case's result (without critical answers).

        Raises EngineError where `aggregate` does."""
        chosen = select(self.knowledge, firings)
        parts = ['{"format":', _encode(RESULT_FORMAT)]
        if case_id is not None:
            parts += [',"case_id":', _encode(case_id)]
        parts += [
            ',"disposition":', _encode(chosen.disposition),
            ',"headline":', self._headlines[chosen.headline],
            ',"treatment_tier":', _encode(chosen.tier),
            ',"red_flags":[', ",".join([self._red_flags[f] for f in chosen.red_flags]),
            '],"conditions":[', ",".join([self._conditions[c] for c in chosen.conditions]),
            '],"recommendations":[', ",".join([self._recommendations[r] for r in chosen.recommendations]),
            '],"avoid":[', ",".join([self._avoid[a] for a in chosen.avoid]),
            '],"withheld":[', ",".join([self._withheld[r] for r in chosen.withheld]),
            '],"unanswered_screening":[', ",".join([self._questions[q] for q in chosen.unanswered]),
            '],"reasons":[', ",".join([self._reasons[r.id] for r in chosen.reasons]),
            '],"citations":[', self._numbered_citations(chosen.citations),
            '],"trace":[', self._trace(firings),
            '],"answers":', _encode(dict(answers)),
            self._tail,
        ]
        return "".join(parts)

    def _numbered_citations(self, cited: tuple[str, ...]) -> str:
        """The entries of the sources, numbered in order, comma-separated."""
        keys = list(zip(cited, itertools.count(1)))
        numbered = self._numbered
        try:
            return ",".join(map(numbered.__getitem__, keys))
        except KeyError:  # a source with a number not given it before (at most sources² entries)
            for c, n in keys:
                head, tail = self._citations[c]
                numbered[(c, n)] = head + str(n) + tail
            return ",".join(map(numbered.__getitem__, keys))

    def _trace(self, firings: list[Firing]) -> str:
        """The trace steps' texts, comma-separated."""
        texts = list(map(self._step_texts.get, map(id, firings)))  # one lookup a firing, without a call
        if None in texts:  # a firing not met before: one with a number of its own, say
            return ",".join([text or self._step_text(firing) for text, firing in zip(texts, firings, strict=True)])
        return ",".join(cast("list[str]", texts))

    def _step_text(self, firing: Firing) -> str:
        text = self._step(firing)
        if len(self._kept) >= _STEP_LIMIT:
            self._step_texts.clear()
            self._kept.clear()
        self._step_texts[id(firing)] = text
        self._kept.append(firing)
        return text

    def _step(self, firing: Firing) -> str:
        rule = firing.rule
        if firing.concluded is not rule.then:  # not how the engine makes firings: no shortcut
            return _encode(TraceStep(rule.id, rule.stage, rule.because, firing.matched, firing.concluded,
                                     rule.cite).to_json())
        head, tail = self._steps[rule.id]
        return head + ",".join([_fact_text(m) for m in firing.matched]) + tail
