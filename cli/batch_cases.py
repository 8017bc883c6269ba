"""The cases of a batch: reading them (JSONL lines, a folder's files), in chunks, and the
output lines of a chunk. Shared by `batch` in one process or in workers
(cli/batch.py) and by `batch --engine dask` (cli/dask_batch.py), so every path gives
the same records.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from itb_triage.engine import Triage

CASE_SUFFIXES = (".json", ".yaml", ".yml")
# Cases per task sent to a worker: big enough that sending them costs little, small
# enough that the output keeps flowing and memory stays small.
CHUNK = 64

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


# --- reading ------------------------------------------------------------------------


def read_lines(stream: IO[bytes], name: str, first: int = 1) -> Iterator[Item]:
    """One item per non-blank line of a JSONL stream, numbered from `first`.

    A line is read with a bound: one longer than a case file may be becomes an error
    record, and the rest of it is skipped piece by piece, so memory stays small
    whatever the input holds.
    """
    from itb_triage.engine import MAX_CASE_BYTES

    number = first - 1
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


def case_files(folder: Path) -> list[str]:
    """The names of a folder's case files, in name order."""
    return sorted(e.name for e in os.scandir(folder) if e.name.endswith(CASE_SUFFIXES) and not e.is_dir())


def read_folder(folder: Path, names: list[str], at: Path | None = None) -> Iterator[Item]:
    """One item per case file of a folder, each read with the case size bound (from `at`,
    when given, but named in `folder`)."""
    from itb_triage.engine import MAX_CASE_BYTES, ReadError, read_bounded

    for name in names:
        path = folder / name
        try:
            yield Item("file", name, str(path), read_bounded((at or folder) / name, MAX_CASE_BYTES))
        except ReadError as exc:
            problem = (_too_large(str(path), "a file of") if exc.too_large
                       else f"{path}: cannot read the case file: {exc.reason}")
            yield Item("file", name, str(path), None, problem)


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- assessing ----------------------------------------------------------------------


def assess_chunk(triage: Triage, chunk: list[Item], critical: bool) -> Done:
    """The output lines of a chunk of cases (each a result or an error record).

    The chunk's readable cases are assessed together (`Triage.result_lines`, or
    `assess_many` for the critical answers): they share durable_rules sessions, and get
    the results `assess` gives each alone.
    """
    from itb_triage.engine import CaseError, EngineError, compact_json

    from .exit_codes import classify

    problems: list[str | None] = []  # None: the case was read, and is in `cases`
    cases = []
    for item in chunk:
        problem = item.problem
        if problem is None:
            try:
                cases.append(triage.read_case(item.data or b"", item.where))
            except CaseError as exc:
                problem = classify(exc)[1]
            except Exception as exc:  # one odd case must not stop the other 99,999
                # A reader bug (assess shows a traceback for it): this case's record says so.
                problem = f"{item.where}: cannot read the case file: {type(exc).__name__}: {exc}"
        problems.append(problem)
    if critical:
        results = iter([r if isinstance(r, EngineError) else compact_json(r)
                        for r in triage.assess_many(cases, critical=True)])
    else:
        results = iter(triage.result_lines(cases))
    lines: list[str] = []
    failed = 0
    for item, problem in zip(chunk, problems, strict=True):
        head = f'{{"{item.key}":{json.dumps(item.label)},'
        if problem is None:
            result = next(results)
            if not isinstance(result, EngineError):
                lines.append(f'{head}"result":{result}}}\n')
                continue
            problem = classify(result)[1]
        failed += 1
        lines.append(f'{head}"error":{json.dumps(problem)}}}\n')
    # Every line is ASCII JSON (other characters are \u escapes, lone surrogates from
    # file names that are not UTF-8 included): valid UTF-8 whatever the input.
    return Done("".join(lines).encode("ascii"), len(chunk), failed, sum(item.size for item in chunk))
