"""The triage engine: knowledge loading, rule compilation, forward chaining and the result.

This is its public face: adapters (cli/, and any other door onto the engine) import
from `itb_triage.engine` only, never from its submodules (tests/test_architecture.py
holds them to it). Nothing here writes to a terminal.

Names are re-exported lazily so that importing one light name (`knowledge_version` for
`--version`) does not load durable_rules, jsonschema and the knowledge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the submodule that defines it, by concept.
_EXPORTS = {
    # Errors (each adapter maps them to its own failure: exit status, HTTP status...).
    "TriageError": "errors",
    "CaseError": "errors",
    "KnowledgeError": "errors",
    "EngineError": "errors",
    "QueryError": "errors",
    "WriteError": "safefile",
    "ReadError": "safefile",
    "AnswerError": "interview",
    "SessionError": "errors",
    "SessionBusy": "errors",
    # The knowledge, its fingerprint, and the proof that every rule can fire.
    "Knowledge": "knowledge",
    "load_knowledge": "knowledge",
    "knowledge_version": "fingerprint",
    "NOT_A_MEDICAL_DEVICE": "contract",
    "check_satisfiable": "satisfiable",
    # A case in, a result out.
    "Case": "case",
    "MAX_CASE_BYTES": "case",
    "read_case_text": "case",
    "check_case": "case",
    "Triage": "triage",
    "Result": "result",
    "Fact": "facts",
    "compact_json": "result",
    # Reviewing a result: derivations, why not, what if, the plan.
    "explain": "derivations",
    "Explanation": "derivations",
    "Node": "derivations",
    "Derivation": "derivations",
    "WhyNotAnalysis": "whynot",
    "WhyNot": "whynot",
    "RuleCheck": "whynot",
    "PatternCheck": "whynot",
    "parse_targets": "whynot",
    "target_ids": "whynot",
    "what_if": "whatif",
    # What `assess(critical=True)` adds, for a door that has the plain result already.
    "with_critical_answers": "critical",
    "WhatIf": "whatif",
    "build_plan": "plan",
    "Plan": "plan",
    "range_text": "wording",
    "why_not": "whynot",
    # The summary care card and the plain words for ids, shared by every door.
    "Summary": "summary",
    "CardItem": "summary",
    "summarise": "summary",
    "drop_dangling_references": "knowledge_text",
    "number_source_keys": "knowledge_text",
    "near_duplicates": "knowledge_text",
    "Labels": "labels",
    "in_sentence": "labels",
    # The interview and its saved state.
    "Interview": "interview",
    "InterviewState": "interview",
    "WhyItem": "interview",
    "URGENT": "interview",
    "Analysis": "relevance",
    "Reading": "typed_answers",
    "read_answer": "typed_answers",
    "what_to_type": "typed_answers",
    "example_answer": "typed_answers",
    "Relevance": "relevance",
    "SessionStore": "interview_store",
    "SessionRecord": "interview_store",
    "fit_to_knowledge": "interview_store",
    "knowledge_changed": "interview_store",
    "FileLock": "locking",
    # Files and text from users: bounded reads, atomic writes, the one neutraliser.
    "read_bounded": "safefile",
    "read_stream_bounded": "safefile",
    "atomic_output": "safefile",
    "atomic_write": "safefile",
    "printable": "textsafe",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # the same names, for the type checker (tests/test_architecture.py keeps both lists equal)
    from .case import MAX_CASE_BYTES as MAX_CASE_BYTES
    from .case import Case as Case
    from .case import check_case as check_case
    from .case import read_case_text as read_case_text
    from .contract import NOT_A_MEDICAL_DEVICE as NOT_A_MEDICAL_DEVICE
    from .critical import with_critical_answers as with_critical_answers
    from .derivations import Derivation as Derivation
    from .derivations import Explanation as Explanation
    from .derivations import Node as Node
    from .derivations import explain as explain
    from .errors import CaseError as CaseError
    from .errors import EngineError as EngineError
    from .errors import KnowledgeError as KnowledgeError
    from .errors import QueryError as QueryError
    from .errors import SessionBusy as SessionBusy
    from .errors import SessionError as SessionError
    from .errors import TriageError as TriageError
    from .facts import Fact as Fact
    from .fingerprint import knowledge_version as knowledge_version
    from .interview import URGENT as URGENT
    from .interview import AnswerError as AnswerError
    from .interview import Interview as Interview
    from .interview import InterviewState as InterviewState
    from .interview import WhyItem as WhyItem
    from .interview_store import SessionRecord as SessionRecord
    from .interview_store import SessionStore as SessionStore
    from .interview_store import fit_to_knowledge as fit_to_knowledge
    from .interview_store import knowledge_changed as knowledge_changed
    from .knowledge import Knowledge as Knowledge
    from .knowledge import load_knowledge as load_knowledge
    from .knowledge_text import drop_dangling_references as drop_dangling_references
    from .knowledge_text import near_duplicates as near_duplicates
    from .knowledge_text import number_source_keys as number_source_keys
    from .labels import Labels as Labels
    from .labels import in_sentence as in_sentence
    from .locking import FileLock as FileLock
    from .plan import Plan as Plan
    from .plan import build_plan as build_plan
    from .relevance import Analysis as Analysis
    from .relevance import Relevance as Relevance
    from .result import Result as Result
    from .result import compact_json as compact_json
    from .safefile import ReadError as ReadError
    from .safefile import WriteError as WriteError
    from .safefile import atomic_output as atomic_output
    from .safefile import atomic_write as atomic_write
    from .safefile import read_bounded as read_bounded
    from .safefile import read_stream_bounded as read_stream_bounded
    from .satisfiable import check_satisfiable as check_satisfiable
    from .summary import CardItem as CardItem
    from .summary import Summary as Summary
    from .summary import summarise as summarise
    from .textsafe import printable as printable
    from .triage import Triage as Triage
    from .typed_answers import Reading as Reading
    from .typed_answers import example_answer as example_answer
    from .typed_answers import read_answer as read_answer
    from .typed_answers import what_to_type as what_to_type
    from .whatif import WhatIf as WhatIf
    from .whatif import what_if as what_if
    from .whynot import PatternCheck as PatternCheck
    from .whynot import RuleCheck as RuleCheck
    from .whynot import WhyNot as WhyNot
    from .whynot import WhyNotAnalysis as WhyNotAnalysis
    from .whynot import parse_targets as parse_targets
    from .whynot import target_ids as target_ids
    from .whynot import why_not as why_not
    from .wording import range_text as range_text


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
