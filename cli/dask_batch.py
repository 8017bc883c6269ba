"""`itb-triage batch IN --engine dask [--scheduler ADDRESS]`: batch on a Dask cluster.

The same records, in the same order, as `batch` (docs/scaling.md). The input is cut
into partitions of whole cases: byte ranges of a JSONL file (found by one pass over
it here, so each partition knows the number of its first line), or runs of file names
of a folder; stdin is read here and its lines travel with the partitions. A
`dask.bag` over those partitions is mapped (`map_partitions`) to the batch pipeline
itself (`batch_cases.assess_chunk`), so a bad line becomes the same error record. Each
worker process builds the engine once, on its first partition, and checks that it has
the knowledge version this side has. Partitions are computed a few per worker at a
time and written in input order as they come back, so neither side holds the whole
output.

Without `--scheduler`, a `LocalCluster` of `--jobs` worker processes (one thread each:
durable_rules holds the GIL) on 127.0.0.1. With it, an existing cluster, whose workers
must have this version of itb-triage installed and see IN at the same path.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch_cases import CHUNK, Done, Item, assess_chunk, case_files, chunks, read_folder, read_lines
from .common import fail
from .exit_codes import ExitStatus

# Cases per partition: enough that a task's overhead (a few ms) is small beside it,
# few enough that two workers on 1,000 cases both get work.
PARTITION_MIN, PARTITION_MAX = 128, 4096
# Partitions being computed per worker: enough to keep each busy while results come back.
IN_FLIGHT = 3


@dataclass(frozen=True)
class Part:
    """One partition: a byte range of a JSONL file, names in a folder, or lines read here."""

    source: str  # IN as given: names the cases in messages
    path: str | None = None  # absolute path of the file or folder to read
    start: int = 0  # byte range of a JSONL file
    end: int = 0
    first_line: int = 1
    names: tuple[str, ...] = ()  # case files of a folder
    items: tuple[Item, ...] = ()  # lines read from stdin


def _file_parts(source: str, path: Path, per_part: int) -> Iterator[Part]:
    """Byte ranges of `per_part` lines each (blank ones included), in order."""
    with path.open("rb") as stream:
        start = offset = 0
        first = number = 1
        for line in stream:
            offset += len(line)
            if number - first + 1 == per_part:
                yield Part(source, str(path.resolve()), start, offset, first)
                start, first = offset, number + 1
            number += 1
        if offset > start:
            yield Part(source, str(path.resolve()), start, offset, first)


def _parts(source: str, items: Iterator[Item], workers: int) -> Iterator[Part]:
    """The partitions of IN (`items` is only read for stdin)."""
    if source == "-":
        for chunk in chunks(items, PARTITION_MIN):
            yield Part(source, items=tuple(chunk))
        return
    path = Path(source)
    if path.is_dir():
        names = case_files(path)
        per_part = _per_part(len(names), workers)
        for start in range(0, len(names), per_part):
            yield Part(source, str(path.resolve()), names=tuple(names[start:start + per_part]))
        return
    with path.open("rb") as stream:
        lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b"")) + 1
    yield from _file_parts(source, path, _per_part(lines, workers))


def _per_part(cases: int, workers: int) -> int:
    return max(PARTITION_MIN, min(PARTITION_MAX, -(-cases // max(1, 4 * workers))))


# --- on the workers -------------------------------------------------------------------

# The engine of this worker process, built on its first partition.
_ENGINE: dict[str, Any] = {}


class OtherKnowledge(RuntimeError):
    """A worker whose knowledge base is not the one this side has."""


def _engine(version: str) -> Any:
    triage = _ENGINE.get("triage")
    if triage is None:
        from itb_triage.engine import Triage

        triage = _ENGINE["triage"] = Triage()
    if triage.knowledge.version != version:
        raise OtherKnowledge(f"a worker has knowledge version {triage.knowledge.version}, "
                           f"this side {version}: install the same itb-triage on every worker")
    return triage


def _part_items(part: Part) -> Iterator[Item]:
    if part.items:
        return iter(part.items)
    assert part.path is not None
    if part.names:
        return read_folder(Path(part.source), list(part.names), at=Path(part.path))
    with open(part.path, "rb") as stream:
        stream.seek(part.start)
        data = stream.read(part.end - part.start)
    return read_lines(io.BytesIO(data), part.source, part.first_line)


def assess_partition(parts: list[Part], version: str, critical: bool) -> list[Done]:
    """The records of the partitions (one, from a bag of one per partition), as `batch` writes them."""
    triage = _engine(version)
    out: list[Done] = []
    for part in parts:
        done = [assess_chunk(triage, chunk, critical) for chunk in chunks(_part_items(part), CHUNK)]
        out.append(Done(b"".join(d.data for d in done), sum(d.cases for d in done),
                        sum(d.failed for d in done), sum(d.size for d in done)))
    return out


# --- on this side ------------------------------------------------------------------------


def in_dask(source: str, items: Iterator[Item], critical: bool, jobs: int, scheduler: str | None) -> Iterator[Done]:
    """The records of IN, partition by partition in input order, from a Dask cluster."""
    try:
        import dask.bag as db
        from distributed import Client, LocalCluster
    except ImportError:
        fail("--engine dask needs Dask: pip install 'itb-triage[dask]'", ExitStatus.INPUT_ERROR)
    from itb_triage.engine import KnowledgeError, load_knowledge

    try:
        version = load_knowledge().version
    except KnowledgeError as exc:
        fail(f"the knowledge base is invalid: {exc} (run `itb-triage kb validate`)", ExitStatus.KNOWLEDGE_INVALID)
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                       host="127.0.0.1", dashboard_address=None,
                                                       silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="30s"))
            except (OSError, TimeoutError, ValueError) as exc:
                fail(f"{scheduler}: cannot reach the Dask scheduler: {exc}", ExitStatus.INPUT_ERROR)
        workers = max(1, len(client.nthreads()))
        pending: deque[Any] = deque()
        parts = _parts(source, items, workers)
        try:
            while True:
                window = list(itertools.islice(parts, workers * IN_FLIGHT - len(pending)))
                if window:
                    bag = db.from_sequence(window, partition_size=1).map_partitions(
                        assess_partition, version, critical)
                    pending.extend(client.compute(bag.to_delayed()))
                if not pending:
                    break
                yield from pending.popleft().result()
        except OtherKnowledge as exc:
            fail(str(exc), ExitStatus.KNOWLEDGE_INVALID)
        except Exception as exc:
            from distributed import KilledWorker

            if isinstance(exc, KilledWorker):
                fail("a Dask worker died (a crash in the rule engine: please report it with the input)",
                      ExitStatus.ENGINE_FAILURE)
            raise
        finally:
            for future in pending:
                future.cancel()
