"""Reading and writing files safely: bounded reads, atomic replacement.

Every file the tool writes (a report, a batch output, a saved case, a session) goes
through `atomic_output`: the bytes go to a new temporary file in the target's folder
(created by `tempfile`, so O_CREAT|O_EXCL|O_NOFOLLOW: a link planted at its name is
never followed), are flushed and fsynced, and only then renamed over the target. A
kill, a full disk or any error leaves the old file as it was; the temporary file is
removed on an error (a kill -9 can still leave one: see `stale_temporaries`). A target
that exists and is not a regular file (a device, a FIFO, a folder, a symbolic link) is
refused, never replaced.

Every file the tool reads from a user goes through `read_bounded`: at most `limit`
bytes plus one are ever read, so `/dev/zero` or a huge file costs nothing before it
is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import TriageError
from .textsafe import printable

TEMP_SUFFIX = ".tmp"


class WriteError(TriageError):
    """A file could not be written (or was refused); the old one, if any, is untouched.

    The message is one line naming the file; `reason` is the bare cause.
    """

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class ReadError(TriageError):
    """A file could not be read (`reason` is the system's word for why), or holds more
    than the limit (`too_large`)."""

    def __init__(self, where: str, reason: str, too_large: bool = False) -> None:
        self.where = where
        self.reason = reason
        self.too_large = too_large
        super().__init__(f"{printable(where)}: {reason}")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def check_replaceable(path: Path, what: str = "the file") -> None:
    """Refuse a target that exists and is anything but a regular file (links included)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        reason = str(exc.strerror or exc)
        raise WriteError(f"{printable(str(path))}: cannot write {what}: {reason}", reason) from None
    if not stat.S_ISREG(mode):
        reason = f"{printable(str(path))} is {_kind(mode)}, not a regular file; it was not replaced"
        raise WriteError(f"{printable(str(path))}: is {_kind(mode)}, not a regular file; it was not replaced "
                         "(write to a new file name)", reason)


_UMASK: list[int] = []


def _new_file_mode() -> int:
    """The mode `open()` would give a new file: 0666 less the umask (read once)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return 0o666 & ~_UMASK[0]


@contextlib.contextmanager
def atomic_output(path: Path, mode: int | None = None, what: str = "the file") -> Iterator[BinaryIO]:
    """A binary file whose contents replace `path` when the block ends without an error.

    `mode` is the new file's permission bits; by default those of the file replaced,
    or what `open()` would give a new one. Raises WriteError, in one line ("cannot
    write `what`: why"), for any failure; then `path` is as it was and the temporary
    file is gone.
    """
    where = printable(str(path))
    check_replaceable(path, what)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise WriteError(f"{where}: cannot write {what}: {exc.strerror or exc}", str(exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if mode is None:
                try:
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                except FileNotFoundError:
                    mode = _new_file_mode()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        check_replaceable(path, what)  # again: it may have been swapped for something else meanwhile
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            reason = str(exc.strerror or exc)
            raise WriteError(f"{where}: cannot write {what}: {reason}", reason) from None
        raise
    sync_folder(folder)


def atomic_write(path: Path, data: bytes, mode: int | None = None, what: str = "the file") -> None:
    """Replace `path` by `data` atomically (see `atomic_output`)."""
    with atomic_output(path, mode, what) as handle:
        handle.write(data)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files `atomic_output` left in `folder` (a kill -9 between create and rename)."""
    try:
        return sorted(p for p in folder.glob(f".*{TEMP_SUFFIX}") if p.is_file() and not p.is_symlink())
    except OSError:
        return []


def read_bounded(path: Path | str, limit: int, where: str | None = None, follow_links: bool = True) -> bytes:
    """The bytes of a file, refusing it (ReadError) if it holds more than `limit` bytes.

    Opened without blocking (a FIFO with no writer would hang `open`), then read in
    pieces: at most `limit + 1` bytes are read whatever the file is.
    """
    name = where if where is not None else str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadError(name, str(exc.strerror or exc)) from None
    try:
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb", closefd=False)  # a folder is refused here (EISDIR)
    except OSError as exc:
        os.close(fd)
        raise ReadError(name, str(exc.strerror or exc)) from None
    try:
        with stream:
            return read_stream_bounded(stream, limit, name)
    finally:
        os.close(fd)


def read_stream_bounded(stream: BinaryIO, limit: int, where: str) -> bytes:
    """At most `limit` bytes of a stream, or ReadError if it holds more."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = stream.read(min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ReadError(where, str(exc.strerror or exc)) from None
    if size > limit:
        raise ReadError(where, f"more than {limit:,} bytes", too_large=True)
    return b"".join(chunks)
