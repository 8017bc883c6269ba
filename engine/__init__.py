"""The triage engine: knowledge loading, rule compilation, forward chaining and the result.

Nothing here writes to a terminal. Names are re-exported lazily so that importing one
light submodule (e.g. `fingerprint` for `--version`) does not load durable_rules,
jsonschema and the knowledge.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CaseError": "errors",
    "EngineError": "errors",
    "KnowledgeError": "errors",
    "TriageError": "errors",
    "QueryError": "errors",
    "Knowledge": "knowledge",
    "load_knowledge": "knowledge",
    "Result": "result",
    "Case": "case",
    "check_case": "case",
    "read_case_text": "case",
    "Triage": "session",
    "Interview": "interview",
    "InterviewState": "interview",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
