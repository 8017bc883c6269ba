"""Saved interviews (the `sessions` command): one JSON file each, written atomically, owner-only.

The store lives in the user's data directory (platformdirs; `ITB_TRIAGE_HOME` overrides
it, for tests and portable use). The folder must be the user's own and private: one
owned by another user is refused, one open to others is made private, with a note
(`open`). Each answer rewrites the file through `safefile.atomic_write` (temporary
file, fsync, rename), so a crash or kill -9 leaves either the old or the new file,
never a partial one; the temporary files a kill leaves are removed on the next start.

An interview holds its session's lock (`lock`) from start to end, so a second
interview on the same session is refused instead of overwriting the first one's
answers. A file that cannot be read back, is not a session, or names another
session than its file name is set aside, never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .case import answer_problem
from .errors import SessionBusy, SessionError
from .interview import InterviewState
from .knowledge import Knowledge
from .locking import FileLock, LockBusy
from .safefile import ReadError, WriteError, atomic_write, read_bounded, stale_temporaries
from .textsafe import printable

SESSION_FORMAT = "itb-session/1"
# A session file is a few kilobytes; one far bigger is not one of ours.
MAX_SESSION_BYTES = 4_000_000
# The names given to files set aside: `<id>.corrupt-<time>.json`, `<id>.mismatch-<time>.json`.
_ASIDE = re.compile(r"\.(?:corrupt|mismatch)-\d{8}-\d{6}(?:-\d+)?$")
LOCK_SUFFIX = ".lock"


def check_id(session_id: str) -> None:
    """Refuse what cannot be a session's id: a path, a hidden name, control characters."""
    if (not session_id or len(session_id) > 128 or session_id.startswith(".") or "/" in session_id
            or "\\" in session_id or printable(session_id) != session_id or session_id.strip() != session_id
            or _ASIDE.search(session_id)):
        raise SessionError(f"'{printable(session_id[:128])}' is not a session id (see `itb-triage sessions list`)")


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ValueError(f"'{name}' is missing or of the wrong type")
    return value


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{name}' is not a list of question ids")
    return list(value)


@dataclass
class SessionRecord:
    """A saved interview: its id, state, and bookkeeping (timestamps live only here).

    `dropped` keeps the answers taken out when the session was checked against the
    knowledge (an answer that no longer fits): nothing a runner typed is lost.
    """

    id: str
    state: InterviewState
    created: str
    updated: str
    knowledge_version: str
    case_id: str | None = None
    finished: bool = False
    dropped: dict[str, Any] = field(default_factory=dict)
    #: Where `--save-case` asked the answers to be written when the interview ends; kept so
    #: that it survives `quit` and `--resume`.
    save_case: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
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
        if self.dropped:
            out["dropped"] = self.dropped
        return out

    @classmethod
    def from_json(cls, data: Any) -> SessionRecord:
        """A record from its JSON, checked field by field (ValueError says what is wrong).

        Only the shape is checked here; whether each answer fits the knowledge is
        `fit_to_knowledge`'s question.
        """
        if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
            raise ValueError(f"not an {SESSION_FORMAT} file")
        answers = _field(data, "answers", dict)
        case_id = data.get("case_id")
        if case_id is not None and not isinstance(case_id, str):
            raise ValueError("'case_id' is not text")
        dropped = data.get("dropped", {})
        if not isinstance(dropped, dict):
            raise ValueError("'dropped' is not an object")
        save_case = data.get("save_case")
        if save_case is not None and not isinstance(save_case, str):
            raise ValueError("'save_case' is not text")
        state = InterviewState(
            answers=dict(answers),
            skipped=_strings(data, "skipped"),
            history=_strings(data, "history"),
            full_record=bool(data.get("full_record", False)),
        )
        return cls(
            id=_field(data, "id", str),
            state=state,
            created=_field(data, "created", str),
            updated=_field(data, "updated", str),
            knowledge_version=_field(data, "knowledge_version", str),
            case_id=case_id,
            finished=_field(data, "finished", bool),
            dropped=dict(dropped),
            save_case=save_case,
        )


def fit_to_knowledge(record: SessionRecord, knowledge: Knowledge) -> list[str]:
    """Drop what no longer fits the knowledge's case schema; one line per answer dropped.

    Each answer is checked exactly as a case file's answer is (`check_case`): an
    unknown question, a value of the wrong shape, NaN. Dropped answers move to
    `record.dropped`; skipped and history entries that name no question go too.
    """
    state = record.state
    problems: list[str] = []
    for question, value in list(state.answers.items()):
        problem = answer_problem(question, value, f"session {record.id}", knowledge)
        if problem is not None:
            problems.append(f"{problem.one_line()} (answer set aside: it does not fit the questions)")
            record.dropped[question] = state.answers.pop(question)
    known = knowledge.questions
    state.skipped = [q for q in dict.fromkeys(state.skipped) if q in known and q not in state.answers]
    state.history = [q for q in state.history if q in state.answers or q in state.skipped]
    return problems


def knowledge_changed(record: SessionRecord, knowledge: Knowledge) -> str | None:
    """The note for an interview begun under other knowledge (None if it is the same).

    Said on resuming, at the terminal and in the browser alike."""
    if record.knowledge_version == knowledge.version:
        return None
    return (f"the knowledge changed since this interview began ({record.knowledge_version} -> {knowledge.version}); "
            "your answers are kept where they still fit")


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
    """A folder of session files, with a lock file beside each session in use."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()
        self.notes: list[str] = []
        self._opened = False
        # One store may serve many threads (the web app's requests): the first open's
        # cleaning must be over before any of them writes, or it could take a save's
        # temporary file for one a kill left. Reentrant: the cleaning takes session locks,
        # and `lock()` opens the store (it finds it opened, and goes on).
        self._opening = threading.RLock()

    # --- the folder ---------------------------------------------------------------------

    def open(self, create: bool = True) -> list[str]:
        """Check the folder (create it if asked), clean what a kill left; notes to show.

        Refuses (SessionError) a folder that is not a folder or belongs to another user;
        makes one open to other users private. Runs once per store.
        """
        with self._opening:
            return self._open(create)

    def _open(self, create: bool) -> list[str]:
        if self._opened:
            return self.notes
        try:
            if create:
                self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = os.stat(self.root)  # through a link: what matters is the folder used
        except FileNotFoundError:
            return self.notes
        except OSError as exc:
            raise SessionError(f"cannot use the sessions folder {self.root}: {exc.strerror or exc}") from None
        where = printable(str(self.root))
        if not stat.S_ISDIR(info.st_mode):
            raise SessionError(f"the sessions folder {where} is not a folder")
        if info.st_uid != os.geteuid():
            raise SessionError(f"the sessions folder {where} belongs to another user (uid {info.st_uid}); not using "
                               "it (set ITB_TRIAGE_HOME to a folder of your own)")
        if stat.S_IMODE(info.st_mode) & 0o077:
            try:
                os.chmod(self.root, 0o700)
            except OSError as exc:
                raise SessionError(f"the sessions folder {where} is open to other users and cannot be made "
                                   f"private: {exc.strerror or exc}") from None
            self.notes.append(f"the sessions folder {where} was open to other users (mode "
                              f"{stat.S_IMODE(info.st_mode):04o}); it is now private (0700)")
        self._opened = True
        self._clean()
        return self.notes

    def _clean(self) -> None:
        """Remove temporary files a kill -9 left, and lock files of sessions gone, when
        no running interview holds the session they belong to."""
        for stale in stale_temporaries(self.root):
            session_id = stale.name[1:].split(".json.")[0] if ".json." in stale.name else stale.name[1:].split(".")[0]
            with contextlib.suppress(SessionError, OSError), self._locked(session_id):
                stale.unlink()
        for lock in self.root.glob(f".*{LOCK_SUFFIX}"):
            session_id = lock.name[1:-len(LOCK_SUFFIX)]
            if not (self.root / f"{session_id}.json").exists():
                with contextlib.suppress(SessionError, OSError):
                    held = self.lock(session_id)
                    held.release(remove=True)

    @contextlib.contextmanager
    def _locked(self, session_id: str) -> Iterator[FileLock]:
        held = self.lock(session_id)
        try:
            yield held
        finally:
            held.release(remove=not self.path(session_id).exists())

    # --- one session --------------------------------------------------------------------

    def new(self, state: InterviewState, knowledge_version: str, case_id: str | None = None) -> SessionRecord:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        now = _now()
        # 64 random bits: the browser (`serve`) opens a saved interview by its id, so an
        # id must not be guessable from its time stamp.
        return SessionRecord(f"{stamp}-{secrets.token_hex(8)}", state, now, now, knowledge_version, case_id)

    def path(self, session_id: str) -> Path:
        check_id(session_id)
        return self.root / f"{session_id}.json"

    def lock(self, session_id: str) -> FileLock:
        """Take the session's lock for this process (held until released or exit), or
        raise SessionBusy at once if another interview has it."""
        self.path(session_id)  # checks the id
        self.open()
        held = FileLock(self.root / f".{session_id}{LOCK_SUFFIX}")
        try:
            held.acquire()
        except LockBusy:
            raise SessionBusy(f"session '{session_id}' is open in another interview; finish or quit that one "
                              "first") from None
        except OSError as exc:
            raise SessionError(f"cannot lock session '{session_id}' in {self.root}: {exc.strerror or exc}") from None
        return held

    def save(self, record: SessionRecord) -> Path:
        """Write atomically (see safefile.atomic_write), readable by the owner only."""
        record.updated = _now()
        target = self.path(record.id)
        data = (json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        self.open()
        try:
            atomic_write(target, data, mode=0o600, what="the session")
        except WriteError as exc:
            raise SessionError(f"cannot save the session in {self.root}: {exc.reason}") from None
        return target

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
        """The session `session_id` names (a unique beginning of its id will do); a file
        that is damaged, not a session, or that holds another session's id is set aside
        (SessionError says where)."""
        session_id = self.resolve(session_id)
        path = self.path(session_id)
        self.open(create=False)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise SessionError(f"no session '{session_id}' in {self.root} (see `itb-triage sessions list`)") from None
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            aside = self._set_aside(path, "corrupt")
            raise SessionError(f"session '{session_id}' is damaged (not a regular file); it was moved to {aside}")
        try:
            raw = read_bounded(path, MAX_SESSION_BYTES, follow_links=False)
        except ReadError as exc:
            if not exc.too_large:
                raise SessionError(f"cannot read {path}: {exc.reason}") from None
            aside = self._set_aside(path, "corrupt")
            raise SessionError(f"session '{session_id}' is damaged ({exc.reason}); it was moved to {aside}") from None
        try:
            record = SessionRecord.from_json(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            aside = self._set_aside(path, "corrupt")
            raise SessionError(f"session '{session_id}' is damaged ({exc}); it was moved to {aside}") from None
        if record.id != session_id:
            # A copy (cp A.json backup.json) would otherwise save over the original.
            aside = self._set_aside(path, "mismatch")
            raise SessionError(f"session file {session_id}.json holds session '{printable(record.id[:128])}', not "
                               f"'{session_id}'; it was moved to {aside} (to use it, give it back its name)")
        return record

    def _set_aside(self, path: Path, reason: str) -> Path:
        """Move a file out of the way under a name no other file has; never delete it."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for number in range(1000):
            aside = path.with_name(f"{path.stem}.{reason}-{stamp}{f'-{number}' if number else ''}.json")
            if aside.exists() or aside.is_symlink():
                continue
            try:
                os.replace(path, aside)
            except OSError:
                return path
            return aside
        return path

    # --- all sessions ---------------------------------------------------------------------

    def ids(self) -> list[str]:
        """Session ids, oldest first (ids start with their creation time)."""
        return self._names()[0]

    def _names(self) -> tuple[list[str], list[str]]:
        """Session ids, and the names of other .json files that cannot be session ids."""
        if not self.root.is_dir():
            return [], []
        ids, others = [], []
        for path in self.root.glob("*.json"):
            if path.name.startswith(".") or _ASIDE.search(path.stem):
                continue
            try:
                check_id(path.stem)
            except SessionError:
                others.append(path.name)
            else:
                ids.append(path.stem)
        return sorted(ids), sorted(others)

    def records(self) -> tuple[list[SessionRecord], list[str]]:
        """Every readable session, and one message per file that is not (set aside)."""
        self.open(create=False)
        records, problems = [], []
        ids, others = self._names()
        for session_id in ids:
            try:
                records.append(self.load(session_id))
            except SessionError as exc:
                problems.append(str(exc))
        problems.extend(f"{printable(name)} in {self.root} is not named like a session; left alone"
                        for name in others)
        return records, problems

    def latest_unfinished(self) -> SessionRecord | None:
        unfinished = [r for r in self.records()[0] if not r.finished]
        return unfinished[-1] if unfinished else None

    def delete(self, session_id: str) -> str:
        """Delete the session `session_id` names (a unique beginning will do) if no
        interview has it open (SessionBusy otherwise); returns its id."""
        session_id = self.resolve(session_id)
        path = self.path(session_id)
        if not path.exists():
            raise SessionError(f"no session '{session_id}' in {self.root}")
        held = self.lock(session_id)
        try:
            path.unlink()
        except FileNotFoundError:
            raise SessionError(f"no session '{session_id}' in {self.root}") from None
        except OSError as exc:
            raise SessionError(f"cannot delete {path}: {exc.strerror or exc}") from None
        finally:
            held.release(remove=not path.exists())
        return session_id

