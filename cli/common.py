"""What the commands share: one error style, one way to fail, reading a case, the width.

Every error leaves the program as one line, `itb-triage: error: ...`, on stderr, with an
exit status from `exit_codes.ExitStatus`. A command fails by raising: `fail()` raises a
`CliError`, and engine errors (`TriageError`) propagate. `report()`, called from the one
`try` in the command group's `main`, turns any of them, and Click's own usage errors,
into that line and a status.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from itb_triage.engine import TriageError, printable

from .exit_codes import ExitStatus, classify

if TYPE_CHECKING:
    from itb_triage.engine import Triage

PREFIX = "itb-triage: error: "


class CliError(click.ClickException):
    """An error of the command line itself (a bad option value, an unwritable file),
    carrying its exit status."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.INPUT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(status)  # type: ignore[misc]  # ClassVar in the stubs; per error here

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{PREFIX}{printable(self.format_message())}", err=True)


def fail(message: str, status: ExitStatus = ExitStatus.INPUT_ERROR) -> NoReturn:
    """Stop the command with one error line and `status`."""
    raise CliError(message, status)


def report(exc: BaseException) -> int:
    """Say what went wrong in one line on stderr and return the exit status.

    Anything that is not an error the program knows (a bug) is raised again, so that
    its traceback shows.
    """
    from .stdout import StdoutError, silence

    if isinstance(exc, StdoutError):  # `> /dev/full`, a closed pipe: one line, not a traceback
        silence()
        click.echo(f"{PREFIX}cannot write the output: {exc.strerror or exc}", err=True)
        return int(ExitStatus.INPUT_ERROR)
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        click.echo("interrupted", err=True)  # Click or the terminal has already ended the ^C line
        return int(ExitStatus.INTERRUPTED)
    if isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx is not None else "itb-triage"
        click.echo(f"{PREFIX}{exc.format_message().rstrip('.')} (see `{command} --help`)", err=True)
        return exc.exit_code
    if isinstance(exc, click.ClickException):  # CliError, and Click's FileError and the like
        click.echo(f"{PREFIX}{printable(exc.format_message())}", err=True)
        return exc.exit_code
    if isinstance(exc, TriageError):
        status, message = classify(exc)
        for line in message.splitlines():  # a case with several problems: one line each
            click.echo(f"{PREFIX}{printable(line)}", err=True)  # lines quote file names, ids, answers
        return int(status)
    raise exc


def triage() -> Triage:
    """Load the knowledge and compile the rules (a KnowledgeError exits 3)."""
    import gc

    from itb_triage.engine import Triage

    engine = Triage()
    # What is loaded now lives as long as the process: the collector need not look at it
    # again, at each collection or at exit (about 7 % of a one-case command's instructions).
    gc.freeze()
    return engine


def read_input(source: str) -> tuple[bytes, str]:
    """The bytes of a case file, or of stdin for `-`, and the name to report.

    Never more than the case size limit is read (`assess /dev/zero` stops at once).
    """
    from itb_triage.engine import MAX_CASE_BYTES, CaseError, ReadError, read_bounded, read_stream_bounded

    where = "<stdin>" if source == "-" else source
    try:
        if source == "-":
            return read_stream_bounded(sys.stdin.buffer, MAX_CASE_BYTES, where), where
        return read_bounded(source, MAX_CASE_BYTES), where
    except ReadError as exc:
        if exc.too_large:
            raise CaseError(where, "", exc.reason, f"a case file of at most {MAX_CASE_BYTES:,} bytes") from None
        fail(f"{where}: cannot read the case file: {exc.reason}")


def width() -> int:
    """The width to render for: the terminal's, kept between 60 and 100, else 80."""
    if sys.stdout.isatty():
        import shutil  # only on a terminal: `--version` need not load it (5 ms)

        return max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
    return 80


def shell_word(path: str) -> str:
    """A path as the runner would type it again in a shell."""
    import shlex

    return shlex.quote(printable(path))


def plural(count: int, noun: str) -> str:
    """"1 answer", "2 answers"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
