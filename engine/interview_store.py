"""Saved interviews (the `sessions` command): one JSON file each, written atomically, owner-only.

The store lives in the user's data directory (platformdirs; `ITB_TRIAGE_HOME` overrides
it, for tests and portable use). Each answer rewrites the file through a temporary
file, fsync and rename, so a crash or kill -9 leaves either the old or the new file,
never a partial one. A file that cannot be read back is set aside, never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TriageError
from .interview import InterviewState

SESSION_FORMAT = "itb-session/1"


class SessionError(TriageError):
    """A session cannot be found, read or written. The message says what and where."""


@dataclass
class SessionRecord:
    """A saved interview: its id, state, and bookkeeping (timestamps live only here)."""

    id: str
    state: InterviewState
    created: str
    updated: str
    knowledge_version: str
    case_id: str | None = None
    finished: bool = False
    #: Where `--save-case` asked the answers to be written when the interview ends; kept so
    #: that it survives `quit` and `--resume`.
    save_case: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SESSION_FORMAT,
            "id": self.id,
            "case_id": self.case_id,
            "created": self.created,
            "updated": self.updated,
            "knowledge_version": self.knowledge_version,
            "finished": self.finished,
            "answers": self.state.answers,
            "skipped": self.state.skipped,
            "history": self.state.history,
            "full_record": self.state.full_record,
            "save_case": self.save_case,
        }

    @classmethod
    def from_json(cls, data: Any) -> SessionRecord:
        if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
            raise ValueError(f"not an {SESSION_FORMAT} file")
        state = InterviewState(
            answers=dict(data["answers"]),
            skipped=list(data["skipped"]),
            history=list(data["history"]),
            full_record=bool(data.get("full_record", False)),
        )
        return cls(
            id=str(data["id"]),
            state=state,
            created=str(data["created"]),
            updated=str(data["updated"]),
            knowledge_version=str(data["knowledge_version"]),
            case_id=data.get("case_id"),
            finished=bool(data["finished"]),
            save_case=data.get("save_case"),
        )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def default_root() -> Path:
    """Where sessions live: $ITB_TRIAGE_HOME/sessions, or the platform's user data dir."""
    home = os.environ.get("ITB_TRIAGE_HOME")
    if home:
        return Path(home) / "sessions"
    import platformdirs

    return Path(platformdirs.user_data_dir("itb-triage", appauthor=False)) / "sessions"


class SessionStore:
    """A folder of session files."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    def new(self, state: InterviewState, knowledge_version: str, case_id: str | None = None) -> SessionRecord:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        now = _now()
        # 64 random bits: the browser (`serve`) opens a saved interview by its id, so an
        # id must not be guessable from its time stamp.
        return SessionRecord(f"{stamp}-{secrets.token_hex(8)}", state, now, now, knowledge_version, case_id)

    def path(self, session_id: str) -> Path:
        if not session_id or "/" in session_id or session_id.startswith("."):
            raise SessionError(f"'{session_id}' is not a session id (see `itb-triage sessions list`)")
        return self.root / f"{session_id}.json"

    def save(self, record: SessionRecord) -> Path:
        """Write atomically: temporary file, fsync, rename, fsync the folder."""
        record.updated = _now()
        target = self.path(record.id)
        data = (json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{record.id}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:  # mkstemp creates it 0600
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._sync_folder()
            self._remove_stale_temporaries(record.id)
        except OSError as exc:
            raise SessionError(f"cannot save the session in {self.root}: {exc.strerror or exc}") from None
        return target

    def _remove_stale_temporaries(self, session_id: str) -> None:
        """A kill during a write leaves a temporary file behind; the rename never happened."""
        for stale in self.root.glob(f".{session_id}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def _sync_folder(self) -> None:
        with contextlib.suppress(OSError):
            folder = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

    def resolve(self, given: str) -> str:
        """The session id that `given` names: the id itself, or its unique beginning."""
        if self.path(given).is_file():  # path() refuses what cannot be an id
            return given
        matches = [i for i in self.ids() if i.startswith(given)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise SessionError(f"'{given}' is the beginning of {len(matches)} sessions ({shown}); give more of the id")
        raise SessionError(f"no session '{given}' in {self.root} (see `itb-triage sessions list`)")

    def load(self, session_id: str) -> SessionRecord:
        """The session `session_id` names (a unique beginning of its id will do)."""
        session_id = self.resolve(session_id)
        path = self.path(session_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SessionError(f"no session '{session_id}' in {self.root} (see `itb-triage sessions list`)") from None
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return SessionRecord.from_json(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            aside = self._set_aside(path)
            raise SessionError(f"session '{session_id}' is damaged ({exc}); it was moved to {aside}") from None

    def _set_aside(self, path: Path) -> Path:
        aside = path.with_name(f"{path.stem}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}.json")
        try:
            os.replace(path, aside)
        except OSError:
            return path
        return aside

    def ids(self) -> list[str]:
        """Session ids, oldest first (ids start with their creation time)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.stem for p in self.root.glob("*.json") if ".corrupt-" not in p.name and not p.name.startswith(".")
        )

    def records(self) -> tuple[list[SessionRecord], list[str]]:
        """Every readable session, and one message per damaged one (set aside)."""
        records, problems = [], []
        for session_id in self.ids():
            try:
                records.append(self.load(session_id))
            except SessionError as exc:
                problems.append(str(exc))
        return records, problems

    def latest_unfinished(self) -> SessionRecord | None:
        unfinished = [r for r in self.records()[0] if not r.finished]
        return unfinished[-1] if unfinished else None

    def delete(self, session_id: str) -> str:
        """Delete the session `session_id` names (a unique beginning will do); returns its id."""
        session_id = self.resolve(session_id)
        path = self.path(session_id)
        try:
            path.unlink()
        except FileNotFoundError:
            raise SessionError(f"no session '{session_id}' in {self.root}") from None
        except OSError as exc:
            raise SessionError(f"cannot delete {path}: {exc.strerror or exc}") from None
        return session_id
