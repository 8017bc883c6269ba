"""Exit statuses, in one place, and the mapping from engine errors to them."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What `itb-triage` returns to the shell (documented in the README)."""

    OK = 0
    #: Bad input: an unreadable or invalid case file, or a wrong command line.
    INPUT_ERROR = 2
    #: The knowledge or rule files are invalid (`kb validate` lists every problem).
    KNOWLEDGE_INVALID = 3
    #: The rule engine failed on a case; a bug, please report it with the case.
    ENGINE_FAILURE = 4
    #: The session is open in another interview (`interview --resume`, `sessions delete`).
    SESSION_BUSY = 5
    #: Interrupted by the user (Ctrl-C).
    INTERRUPTED = 130
