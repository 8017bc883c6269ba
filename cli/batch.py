"""`itb-triage batch IN`: many cases at once, one JSON line per case, in input order.

IN is a JSONL file (one case per line), a folder of case files (*.json, *.yaml, *.yml,
taken in name order) or `-` for JSONL on stdin. Each output line is
`{"line": N, ...}` or `{"file": NAME, ...}` with either `"result"` (the object
`assess --format json` prints for that case; its critical answers, tens of
milliseconds a case, only with `--critical`) or `"error"` (the one-line message
`assess` prints for it, without the `itb-triage: error:` prefix). A bad case is an
error record and the rest goes on.

Lines are ASCII: other characters are JSON's \\u escapes, so a program reading them gets
the same strings (and the output is valid UTF-8 whatever the input held).

Input and output are streamed, so memory stays flat however long the input is. With
`--jobs N` the cases go in chunks to N worker processes (durable_rules holds the GIL,
so threads would not help); each worker compiles the rules once, and results are
written in input order with only a few chunks in flight.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from .common import fail
from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from concurrent.futures import Future

    from itb_triage.engine import Knowledge, Triage

CASE_SUFFIXES = (".json", ".yaml", ".yml")
# Cases per task sent to a worker: big enough that sending them costs little, small
# enough that the output keeps flowing and memory stays small.
CHUNK = 64
# Chunks in flight per worker: enough to keep every worker busy while the parent writes.
IN_FLIGHT = 4


@dataclass(frozen=True)
class Item:
    """One case to assess: its label in the output, its name in messages, and its bytes.

    `problem` is set instead of `data` when the case could not even be read.
    """

    key: str  # "line" or "file"
    label: int | str
    where: str
    data: bytes | None
    problem: str | None = None
    size: int = 1  # progress units (bytes of a JSONL line, or one file)


@dataclass(frozen=True)
class Done:
    """The output of a chunk (JSON lines, ASCII), how many cases it held and how many failed."""

    data: bytes
    cases: int
    failed: int
    size: int


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


# --- reading ------------------------------------------------------------------------


def _lines(stream: IO[bytes], name: str) -> Iterator[Item]:
    """One item per non-blank line of a JSONL stream, numbered from 1.

    A line is read with a bound: one longer than a case file may be becomes an error
    record, and the rest of it is skipped piece by piece, so memory stays small
    whatever the input holds.
    """
    from itb_triage.engine import MAX_CASE_BYTES

    number = 0
    while line := stream.readline(MAX_CASE_BYTES + 1):
        number += 1
        where = f"{name}:{number}"
        if len(line) > MAX_CASE_BYTES and not line.endswith(b"\n"):
            size = len(line) + _skip_line(stream)
            yield Item("line", number, where, None, _too_large(where, "a line of"), size=size)
        elif line.strip():
            yield Item("line", number, where, line.rstrip(b"\r\n"), size=len(line))


def _skip_line(stream: IO[bytes]) -> int:
    """Read past the end of the current line; the number of bytes skipped."""
    skipped = 0
    while piece := stream.readline(1 << 16):
        skipped += len(piece)
        if piece.endswith(b"\n"):
            break
    return skipped


def _too_large(where: str, what: str) -> str:
    from itb_triage.engine import MAX_CASE_BYTES, CaseError

    return CaseError(where, "", f"{what} more than {MAX_CASE_BYTES:,} bytes",
                     f"a case of at most {MAX_CASE_BYTES:,} bytes").one_line()


def _case_files(folder: Path) -> list[str]:
    """The names of a folder's case files, in name order."""
    return sorted(e.name for e in os.scandir(folder) if e.name.endswith(CASE_SUFFIXES) and not e.is_dir())


def _folder(folder: Path, names: list[str]) -> Iterator[Item]:
    """One item per case file of a folder, each read with the case size bound."""
    from itb_triage.engine import MAX_CASE_BYTES, ReadError, read_bounded

    for name in names:
        path = folder / name
        try:
            yield Item("file", name, str(path), read_bounded(path, MAX_CASE_BYTES))
        except ReadError as exc:
            problem = (_too_large(str(path), "a file of") if exc.too_large
                       else f"{path}: cannot read the case file: {exc.reason}")
            yield Item("file", name, str(path), None, problem)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- assessing ----------------------------------------------------------------------


def _assess_chunk(triage: Triage, chunk: list[Item], critical: bool) -> Done:
    """The output lines of a chunk of cases (each a result or an error record)."""
    from itb_triage.engine import CaseError, EngineError, compact_json

    from .exit_codes import classify

    lines: list[str] = []
    failed = 0
    for item in chunk:
        head = f'{{"{item.key}":{json.dumps(item.label)},'
        problem = item.problem
        if problem is None and item.data is not None:
            try:
                case = triage.read_case(item.data, item.where)
            except CaseError as exc:
                problem = classify(exc)[1]
            except Exception as exc:  # one odd case must not stop the other 99,999
                # A reader bug (assess shows a traceback for it): this case's record says so.
                problem = f"{item.where}: cannot read the case file: {type(exc).__name__}: {exc}"
            else:
                try:
                    result = triage.assess(case, critical=critical)
                except EngineError as exc:
                    problem = classify(exc)[1]
                else:
                    lines.append(f'{head}"result":{compact_json(result)}}}\n')
                    continue
        failed += 1
        lines.append(f'{head}"error":{json.dumps(problem)}}}\n')
    # Every line is ASCII JSON (other characters are \u escapes, lone surrogates from
    # file names that are not UTF-8 included): valid UTF-8 whatever the input.
    return Done("".join(lines).encode("ascii"), len(chunk), failed, sum(item.size for item in chunk))


# Each worker process compiles the rules once, when it starts.
_WORKER: dict[str, Any] = {}


def _worker_start(knowledge: Knowledge) -> None:
    import signal

    from itb_triage.engine import Triage

    # Ctrl-C goes to the whole process group: let the parent alone decide what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["triage"] = Triage(knowledge)


def _worker_chunk(chunk: list[Item], critical: bool) -> Done:
    return _assess_chunk(_WORKER["triage"], chunk, critical)


def _in_process(items: Iterable[Item], critical: bool) -> Iterator[Done]:
    from .common import triage as load_triage

    triage = load_triage()
    for chunk in _chunks(items, CHUNK):
        yield _assess_chunk(triage, chunk, critical)


def _in_workers(items: Iterable[Item], critical: bool, jobs: int) -> Iterator[Done]:
    """Chunks assessed by `jobs` processes, yielded in input order, a few in flight."""
    # Imported here: they cost `--version` and one-case commands 15 ms at start-up.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from itb_triage.engine import load_knowledge

    # The knowledge is read and checked once, here (a forked worker inherits it, a
    # spawned one gets a copy); each worker compiles its own rules from it.
    knowledge = load_knowledge()
    # fork starts a worker in milliseconds and there are no threads to inherit (the
    # engine starts none); spawn where fork does not exist.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                               initializer=_worker_start, initargs=(knowledge,))
    pending: deque[Future[Done]] = deque()
    try:
        for chunk in _chunks(items, CHUNK):
            pending.append(pool.submit(_worker_chunk, chunk, critical))
            if len(pending) >= jobs * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        fail("a worker process died (a crash in the rule engine: please report it with the input)",
              ExitStatus.ENGINE_FAILURE)
    finally:
        # Waiting lets the chunks being assessed finish (a fraction of a second) and the
        # pool's threads close their pipes: left running at exit, they print a traceback.
        pool.shutdown(wait=True, cancel_futures=True)


# --- the command --------------------------------------------------------------------


def _open_input(source: str, stack: contextlib.ExitStack) -> tuple[Iterator[Item], int | None]:
    """The items of IN, and the total progress units when they are known."""
    if source == "-":
        return _lines(sys.stdin.buffer, "<stdin>"), None
    path = Path(source)
    try:
        if path.is_dir():
            names = _case_files(path)
            return _folder(path, names), len(names)
        stream = stack.enter_context(path.open("rb"))
        size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        fail(f"{source}: cannot read the input: {exc.strerror or exc}", ExitStatus.INPUT_ERROR)
    return _lines(stream, source), size or None


def _same_file(source: str, target: str) -> bool:
    """Whether writing `target` would replace the input (a path, or stdin for `-`)."""
    try:
        out = os.stat(target)
        into = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, ValueError):  # no such output yet, or no real stdin
        return False
    return (out.st_dev, out.st_ino) == (into.st_dev, into.st_ino)


def _open_output(target: str, source: str, stack: contextlib.ExitStack) -> IO[bytes]:
    """stdout for `-`; else FILE, written atomically: replaced only when every line is written."""
    from itb_triage.engine import WriteError, atomic_output

    if target == "-":
        return sys.stdout.buffer
    if _same_file(source, target):
        fail(f"{target}: is the input; writing to it would destroy it", ExitStatus.INPUT_ERROR)
    try:
        return stack.enter_context(atomic_output(Path(target), what="the output"))
    except WriteError as exc:
        fail(str(exc), ExitStatus.INPUT_ERROR)


def cpu_count() -> int:
    """CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _progress(total: int | None, stack: contextlib.ExitStack) -> Callable[[int], None]:
    """A progress bar on stderr when it is a terminal; returns how to advance it."""
    if not _stderr_is_terminal():
        return lambda _units: None
    # With no total (stdin) the bar counts cases: it takes its length from the
    # iterable, and a generator has none.
    bar = click.progressbar(_no_length(), length=total, label="assessing", file=sys.stderr,
                            show_pos=total is None, show_eta=total is not None)
    stack.enter_context(bar)
    return bar.update


def _no_length() -> Iterator[int]:
    yield from ()


@click.command()
@click.argument("source", metavar="IN")
@click.option("--output", "-o", "target", default="-", show_default=True, metavar="FILE",
              help="Write the JSON lines to FILE instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help=f"Worker processes to spread the cases over: at most the number of CPUs ({cpu_count()} "
                   "here); more is reduced to that.")
@click.option("--critical", is_flag=True,
              help="Also find each case's critical answers, as `assess --format json` does "
                   "(tens of milliseconds a case).")
def batch(source: str, target: str, jobs: int, critical: bool) -> None:
    """Assess many cases: IN is a JSONL file, a folder of case files, or - for stdin.

    Writes one JSON line per case, in input order: {"line": N} (or {"file": NAME}
    for a folder) with "result", the object `assess --format json` prints (without
    its critical answers unless --critical), or "error", the message `assess` prints
    for that case. Blank lines are skipped.

    FILE is replaced only when every line is written (an error or an interrupt
    leaves the old FILE as it was); it must be a regular file or new. A line or
    file over 1,000,000 bytes is an error record.

    Exit status 0 if every case was assessed; 2 if any case failed (its record holds
    the error), if IN cannot be read or FILE cannot be written; 3 for invalid
    knowledge; 4 if a worker process died; 130 if interrupted.
    """
    from itb_triage.engine import WriteError

    # More workers than CPUs only cost memory and start-up (--jobs 1000 forked a thousand).
    jobs = min(jobs, cpu_count())
    try:
        with contextlib.ExitStack() as stack:
            items, total = _open_input(source, stack)
            out = _open_output(target, source, stack)
            advance = _progress(total, stack)
            done = _in_process(items, critical) if jobs == 1 else _in_workers(items, critical, jobs)
            cases = failed = 0
            for chunk in done:
                out.write(chunk.data)
                cases += chunk.cases
                failed += chunk.failed
                advance(chunk.size)
            out.flush()
    except WriteError as exc:  # FILE: a full disk, say; the old FILE is untouched
        fail(str(exc))
    if failed:
        fail(f"{failed} of {cases} cases failed; their records say why", ExitStatus.INPUT_ERROR)
