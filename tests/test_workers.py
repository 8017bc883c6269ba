"""cli/workers.py: batch's worker processes, each with a pipe of its own."""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest

from itb_triage.cli.workers import WorkerDied, Workers

DIE_WHILE_ANSWERING = -1
DIE_AT_ONCE = -2
FAIL = -3


def _start(*args: Any) -> None:
    if args == ("fail",):
        raise ValueError("cannot start")


def _half_send(self: Connection, buf: Any) -> None:
    """What a worker killed part way through sending its answer leaves in its pipe: the
    length of the message and half of it."""
    data = bytes(buf)
    self._send(struct.pack("!i", len(data)) + data[:len(data) // 2])  # type: ignore[attr-defined]
    os._exit(1)


def _work(task: int) -> Any:
    if task == DIE_WHILE_ANSWERING:
        Connection._send_bytes = _half_send  # type: ignore[method-assign]  # in this worker only
        return b"x" * (1 << 20)
    if task == DIE_AT_ONCE:
        os.kill(os.getpid(), signal.SIGKILL)
    if task == FAIL:
        raise KeyError("no such case")
    return task * task


@pytest.fixture
def deadline() -> Iterator[None]:
    """A hang fails the test instead of stopping the suite."""
    def hung(*_: Any) -> None:
        raise TimeoutError("the workers hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_results_come_in_input_order(deadline: None) -> None:
    workers: Workers[int, int] = Workers(2, _start, (), _work)
    try:
        assert list(workers.map(range(100), ahead=3)) == [n * n for n in range(100)]
    finally:
        workers.close()


@pytest.mark.parametrize("death", [DIE_WHILE_ANSWERING, DIE_AT_ONCE])
def test_a_worker_that_dies_is_noticed_while_the_other_works_on(death: int, deadline: None) -> None:
    # concurrent.futures' pool waits for ever on the half message of DIE_WHILE_ANSWERING:
    # the other worker keeps the shared result pipe open.
    workers: Workers[int, int] = Workers(2, _start, (), _work)
    try:
        with pytest.raises(WorkerDied):
            list(workers.map([1, death, *range(2, 50)], ahead=8))
    finally:
        workers.close(kill=True)


def test_a_worker_that_died_while_idle_is_noticed_when_given_work(deadline: None) -> None:
    workers: Workers[int, int] = Workers(2, _start, (), _work)
    try:
        assert list(workers.map([2], ahead=1)) == [4]
        for process in workers._processes:
            process.kill()
            process.join()
        with pytest.raises(WorkerDied):
            list(workers.map([1, 2, 3], ahead=2))
    finally:
        workers.close(kill=True)


def test_an_exception_in_a_worker_is_raised_in_the_parent(deadline: None) -> None:
    workers: Workers[int, int] = Workers(2, _start, (), _work)
    try:
        with pytest.raises(KeyError, match="no such case"):
            list(workers.map([1, 2, FAIL, 3], ahead=4))
    finally:
        workers.close(kill=True)


def test_an_exception_in_start_is_raised_in_the_parent(deadline: None) -> None:
    workers: Workers[int, int] = Workers(2, _start, ("fail",), _work)
    try:
        with pytest.raises(ValueError, match="cannot start"):
            list(workers.map([1, 2], ahead=2))
    finally:
        workers.close(kill=True)


def test_closing_ends_every_worker(deadline: None) -> None:
    workers: Workers[int, int] = Workers(2, _start, (), _work)
    assert list(workers.map([3], ahead=1)) == [9]
    processes = list(workers._processes)
    workers.close()
    assert [p.exitcode for p in processes] == [0, 0]
