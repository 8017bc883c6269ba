"""Standard output whose write errors are recognisable: `assess > /dev/full` is one line.

A write to stdout can fail anywhere (a full disk, a closed pipe, an I/O error), in
click.echo, in batch's binary writes, or in the flush at exit, where Python prints
"Exception ignored" and exits 120. `guard()` puts stdout on a raw writer that raises
`StdoutError` for any of them, so the entry point can tell them from other errors
(an OSError from stdout carries no file name to tell it by), and `silence()` points
the descriptor at /dev/null so that nothing more fails on the way out.
"""

from __future__ import annotations

import io
import os
import sys


class StdoutError(OSError):
    """Writing to standard output failed."""


class _GuardedRaw(io.RawIOBase):
    """File descriptor 1 (or whichever stdout uses), raising StdoutError on a failed write."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def close(self) -> None:  # the descriptor belongs to the process, not to this object
        self.flush()
        super().close()


def guard() -> None:
    """Replace sys.stdout by the same stream over a guarded descriptor."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (an embedding, a test runner): nothing to guard
    old = sys.stdout
    old.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_GuardedRaw(fd)), encoding=old.encoding,
                                  errors=old.errors, line_buffering=bool(old.line_buffering))


def silence() -> None:
    """After a failed write: send what is still buffered to /dev/null, so exiting is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
