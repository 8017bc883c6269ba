"""An exclusive, non-blocking lock on a name in a folder, held until released or exit.

`fcntl.flock` on a lock file beside the thing it guards: the kernel drops the lock
when the process dies, however it dies, so a kill -9 never leaves a session locked.
The lock file is opened with O_NOFOLLOW and never truncated (a link planted at its
name cannot make it touch another file). It may be removed by its holder: a process
that locked the file just before it was removed sees that the path no longer names
the file it locked, and tries again, so two processes never both hold one name.
(POSIX only, like the rest of the session store's guarantees; this stdlib call was
chosen over a library because its flags are exactly the ones above.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType


class LockBusy(Exception):
    """Another process holds the lock."""


class FileLock:
    """An exclusive lock on `path` (the lock file), taken without waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise LockBusy at once if another process holds it (OSError
        if the lock file cannot be made)."""
        if self._fd is not None:
            return
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _attempt in range(10):
            fd = os.open(self.path, flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockBusy(str(self.path)) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)  # removed by its last holder while we waited: lock the new one
        raise LockBusy(str(self.path))

    def release(self, remove: bool = False) -> None:
        """Let go; with `remove`, delete the lock file first (while still holding it)."""
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
