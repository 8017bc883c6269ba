"""The checked knowledge base, kept on disk between runs.

Checking the knowledge and rule files against their JSON Schemas is most of a cold
`assess` (~70 %, measured for issue 14). Once a set of files has passed, their parsed
documents are kept in the user's cache folder (platformdirs; `ITB_TRIAGE_CACHE`
overrides it), in a file named by the SHA-256 of every data file (engine/fingerprint.py)
and the entry format. The next start reads that instead of parsing and re-checking the
YAML; the cross-reference checks and the compiling of the rules still run.

An entry is a line of JSON saying what it holds, with the SHA-256 of the rest, then the
documents as JSON. The checksum is over the bytes as stored, so reading an entry need
not encode the documents again to check them (that was a third of reading one).

A changed file changes the digest, so a stale entry is never used. An entry that is
missing, unreadable, not JSON, cut short or altered (its own SHA-256 is stored beside
it) is ignored, and the files are checked as if there were no cache. Only JSON is
stored: reading the cache never runs code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_ENV = "ITB_TRIAGE_CACHE"
FORMAT = "itb-triage-checked-knowledge/3"


def cache_dir() -> Path:
    """$ITB_TRIAGE_CACHE, or the platform's user cache folder for itb-triage."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs  # imported here: only a start with the shipped knowledge needs it

    return Path(platformdirs.user_cache_dir("itb-triage", appauthor=False))


def entry_path(digest: str) -> Path:
    # The format is in the name, so a release reading another format (two installed side
    # by side) keeps its own entry instead of each replacing the other's at every start.
    return cache_dir() / f"knowledge-{digest}-{FORMAT.rpartition('/')[2]}.json"


def _payload_text(documents: dict[str, Any]) -> str:
    # Keys in their files' order, not sorted: results list an entry's fields in that
    # order, and must be the same bytes whether the knowledge came from here or not.
    return json.dumps(documents, ensure_ascii=False, separators=(",", ":"))


def read_checked(digest: str) -> dict[str, Any] | None:
    """The documents stored for `digest`, or None if there is no sound entry."""
    try:
        head, _, body = entry_path(digest).read_bytes().partition(b"\n")
        stored = json.loads(head)
        if not (stored["format"] == FORMAT and stored["digest"] == digest
                and stored["sha256"] == hashlib.sha256(body).hexdigest()):
            return None
        documents = json.loads(body)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return documents if isinstance(documents, dict) else None


def write_checked(digest: str, documents: dict[str, Any]) -> None:
    """Store documents that passed every check; quietly nothing if they cannot be stored
    exactly as JSON or the folder is not writable."""
    try:
        text = _payload_text(documents)
        if json.loads(text) != documents:  # e.g. a number as a key: not kept as it was
            return
    except (TypeError, ValueError, RecursionError):
        return
    body = text.encode()  # one line: JSON without indentation escapes every newline
    head = json.dumps({"format": FORMAT, "digest": digest, "sha256": hashlib.sha256(body).hexdigest()}).encode()
    path = entry_path(digest)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file, two writers never mix.
        import tempfile  # here: only a start that finds no entry writes one (it costs ~10 ms to import)

        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".knowledge-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(head + b"\n" + body)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
