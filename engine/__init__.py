"""The triage engine: knowledge loading, rule compilation, forward chaining and the result.

Nothing here writes to a terminal. The public surface is re-exported below.
"""

from __future__ import annotations

from .errors import CaseError, EngineError, KnowledgeError, TriageError
from .knowledge import Knowledge, load_knowledge
from .result import Result
from .session import Triage

__all__ = [
    "CaseError",
    "EngineError",
    "Knowledge",
    "KnowledgeError",
    "Result",
    "Triage",
    "TriageError",
    "load_knowledge",
]
