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
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from .batch_cases import CHUNK, Done, Item, assess_chunk, case_files, chunks, read_folder, read_lines
from .common import fail
from .exit_codes import ExitStatus

if TYPE_CHECKING:
    from itb_triage.engine import Knowledge

# Chunks per worker that may be out, or done and not yet written: enough to keep every
# worker busy while the parent writes, few enough that memory stays small.
IN_FLIGHT = 4


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


# Each worker process compiles the rules once, when it starts.
_WORKER: dict[str, Any] = {}


def _worker_start(knowledge: Knowledge) -> None:
    import signal

    from itb_triage.engine import Triage

    # Ctrl-C goes to the whole process group: let the parent alone decide what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["triage"] = Triage(knowledge)


def _worker_chunk(chunk: list[Item], critical: bool) -> Done:
    return assess_chunk(_WORKER["triage"], chunk, critical)


def _in_process(items: Iterable[Item], critical: bool) -> Iterator[Done]:
    from .common import triage as load_triage

    triage = load_triage()
    for chunk in chunks(items, CHUNK):
        yield assess_chunk(triage, chunk, critical)


def _in_workers(items: Iterable[Item], critical: bool, jobs: int) -> Iterator[Done]:
    """Chunks assessed by `jobs` processes, yielded in input order, a few in flight."""
    from itb_triage.engine import load_knowledge

    from .workers import WorkerDied, Workers

    # The knowledge is read and checked once, here (a forked worker inherits it, a
    # spawned one gets a copy); each worker compiles its own rules from it.
    knowledge = load_knowledge()
    workers: Workers[list[Item], Done] = Workers(jobs, _worker_start, (knowledge,),
                                                 functools.partial(_worker_chunk, critical=critical))
    finished = False
    try:
        yield from workers.map(chunks(items, CHUNK), ahead=jobs * IN_FLIGHT)
        finished = True
    except WorkerDied:
        fail("a worker process died (a crash in the rule engine: please report it with the input)",
              ExitStatus.ENGINE_FAILURE)
    finally:
        # Done: the workers exit as their pipes close. Otherwise (an interrupt, a dead
        # worker, an error) the chunks being assessed are of no use: stop at once.
        workers.close(kill=not finished)


# --- the command --------------------------------------------------------------------


def _open_input(source: str, stack: contextlib.ExitStack) -> tuple[Iterator[Item], int | None]:
    """The items of IN, and the total progress units when they are known."""
    if source == "-":
        return read_lines(sys.stdin.buffer, "<stdin>"), None
    path = Path(source)
    try:
        if path.is_dir():
            names = case_files(path)
            return read_folder(path, names), len(names)
        stream = stack.enter_context(path.open("rb"))
        size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        fail(f"{source}: cannot read the input: {exc.strerror or exc}", ExitStatus.INPUT_ERROR)
    return read_lines(stream, source), size or None


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
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: spread the cases over a Dask cluster (needs itb-triage[dask]; docs/scaling.md).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: the scheduler of an existing cluster (tcp://HOST:8786); "
                   "without it, a local cluster of --jobs workers.")
def batch(source: str, target: str, jobs: int, critical: bool, engine: str, scheduler: str | None) -> None:
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

    if scheduler is not None and engine != "dask":
        fail("--scheduler needs --engine dask", ExitStatus.INPUT_ERROR)
    # More workers than CPUs only cost memory and start-up (--jobs 1000 forked a thousand).
    jobs = min(jobs, cpu_count())
    try:
        with contextlib.ExitStack() as stack:
            items, total = _open_input(source, stack)
            out = _open_output(target, source, stack)
            advance = _progress(total, stack)
            if engine == "dask":
                from .dask_batch import in_dask

                done = in_dask(source, items, critical, jobs, scheduler)
            else:
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
