"""Worker processes for `batch --jobs`, each with a pipe of its own.

concurrent.futures' process pool shares one result pipe among its workers. A worker
killed while it sends a result leaves half a message in that pipe, and the pool's
reader waits for the rest for ever, because the other workers keep the pipe open: seen
here once, `batch --jobs 2` hung instead of exiting with status 4. With a pipe each, a
worker's death closes its pipe, and the parent learns of it at once.

A worker is given its next task only once it has returned the last, so neither side
can block the other on a full pipe.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(RuntimeError):
    """A worker process ended while the parent still had work for it."""

    def __init__(self) -> None:
        super().__init__("a worker process died")


def _serve(conn: Connection, start: Callable[..., None], args: tuple[Any, ...], work: Callable[[Any], Any],
           parents: list[Connection]) -> None:
    """A worker: `start(*args)` once, then `work` each task received, until the pipe closes.

    An exception from either is sent back instead of a result, and raised again in
    the parent, as a pool would. `parents` are the parent's ends of the pipes that a
    forked worker inherits: closed, so that if the parent dies, this pipe ends too."""
    for inherited in parents:
        inherited.close()
    failure: Exception | None = None
    try:
        start(*args)
    except Exception as exc:
        failure = exc
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is done with this worker
            return
        outcome: tuple[bool, Any] = (False, failure)
        if failure is None:
            try:
                outcome = (True, work(task))
            except Exception as exc:
                outcome = (False, exc)
        try:
            conn.send(outcome)
        except OSError:  # the parent is gone (killed, say): nobody wants the result
            return


class Workers(Generic[T, R]):
    """`jobs` processes that each run `start(*args)` once, then `work(task)` for tasks."""

    def __init__(self, jobs: int, start: Callable[..., None], args: tuple[Any, ...],
                 work: Callable[[T], R]) -> None:
        # fork starts a worker in milliseconds and there are no threads to inherit (the
        # engine starts none); spawn where fork does not exist.
        forks = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork") if forks else multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []
        for _ in range(jobs):
            ours, theirs = context.Pipe()
            # A spawned worker inherits none of them (and passing them would copy them).
            parents = [*self._pipes, ours] if forks else []
            process = context.Process(target=_serve, args=(theirs, start, args, work, parents), daemon=True)
            process.start()
            theirs.close()  # else the worker's death would not close its pipe
            self._pipes.append(ours)
            self._processes.append(process)

    def map(self, tasks: Iterable[T], ahead: int) -> Iterator[R]:
        """`work(task)` for each task, in order, with at most `ahead` tasks given out or
        finished and not yet yielded. Raises WorkerDied if a worker ends meanwhile."""
        pending = enumerate(tasks)
        given: dict[Connection, int] = {}  # a busy worker's pipe, and its task's number
        idle = list(reversed(self._pipes))
        done: dict[int, R] = {}
        sent = yielded = 0
        exhausted = False
        deaths = {process.sentinel for process in self._processes}
        while True:
            while idle and not exhausted and sent - yielded < ahead:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                pipe = idle.pop()
                try:
                    pipe.send(item[1])
                except OSError:  # it died since its last result
                    raise WorkerDied() from None
                given[pipe] = item[0]
                sent += 1
            while yielded in done:
                yield done.pop(yielded)
                yielded += 1
            if not given:
                if exhausted and not done:
                    return
                continue
            ready = wait([*given, *deaths])
            for pipe in [r for r in ready if r in given]:
                try:
                    ok, value = pipe.recv()
                except (EOFError, OSError):
                    raise WorkerDied() from None
                if not ok:
                    raise value
                done[given.pop(pipe)] = value
                idle.append(pipe)
            if any(r in deaths for r in ready):
                raise WorkerDied()

    def close(self, *, kill: bool = False) -> None:
        """Let the workers finish and exit (or kill them at once), and wait for them."""
        if kill:
            for process in self._processes:
                process.kill()
        for pipe in self._pipes:
            pipe.close()
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
