"""Faults around saved interviews: kill -9 at random points, a full disk.

A kill can land anywhere, including in the middle of a save; the session file must
always be whole (the old one or the new one), never partial or corrupt.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Triage

from .conftest import VIGNETTES, vignette
from .test_interview import script

PROGRAM = Path(sys.executable).with_name("itb-triage")


def _saved(sessions: Path) -> list[dict[str, Any]]:
    """The session files, read whole (a rename is atomic, so a file is never half there)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sessions.glob("*.json")] if sessions.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_kill_9_never_leaves_a_partial_session_file(seed: int, triage: Triage, tmp_path: Path) -> None:
    answers = vignette(VIGNETTES[0])["case"]["answers"]
    _, lines = script(triage, answers)
    rng = random.Random(seed)
    sessions = tmp_path / "sessions"
    env = {**os.environ, "ITB_TRIAGE_HOME": str(tmp_path)}
    child = subprocess.Popen([str(PROGRAM), "interview"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
    assert child.stdin is not None
    try:
        # The first answer, and wait until it is saved: a kill before that tests nothing.
        child.stdin.write(f"{lines[0]}\n".encode())
        child.stdin.flush()
        deadline = time.monotonic() + 60
        while not any(s["answers"] or s["skipped"] for s in _saved(sessions)):
            assert child.poll() is None and time.monotonic() < deadline, "the first answer was never saved"
            time.sleep(0.01)
        # Then more answers in bursts, and the kill at a random moment while they are saved.
        for line in lines[1: rng.randrange(2, len(lines))]:
            child.stdin.write(f"{line}\n".encode())
            if rng.random() < 0.3:
                child.stdin.flush()
                time.sleep(rng.random() * 0.01)
        child.stdin.flush()
        time.sleep(rng.random() * 0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        with contextlib.suppress(BrokenPipeError):  # the reader is dead: that is the point
            child.stdin.close()

    files = list(sessions.glob("*.json"))
    assert len(files) == 1  # saved before the kill, so it must be there: the checks below always run
    saved = _saved(sessions)[0]  # whole, never partial
    assert saved["format"] == "itb-session/1"
    assert saved["answers"] or saved["skipped"]
    assert all(answers[q] == v for q, v in saved["answers"].items())
    # and it resumes where it stopped, to the result of an interview never interrupted
    rest = lines[len(saved["answers"]) + len(saved["skipped"]):]
    resumed = CliRunner().invoke(cli, ["interview", "--resume", files[0].stem, "--format", "json"],
                                 input="".join(f"{line}\n" for line in rest), env={"ITB_TRIAGE_HOME": str(tmp_path)})
    assert resumed.exit_code == 0, resumed.stderr
    expected = triage.assess_answers(answers)
    outcome = json.loads(resumed.stdout)
    assert (outcome["disposition"], outcome["treatment_tier"]) == (expected.disposition, expected.treatment_tier)
    # A kill between creating a temporary file and renaming it leaves the temporary
    # file; the next start (the resume above) removes it (issue 12: 28 were left after 100 kills).
    assert not list(sessions.glob(".*.tmp"))


def test_a_full_disk_is_reported_once_and_the_result_still_shown(
    triage: Triage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(tmp_path))
    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)

        def write(_data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        handle.write = write  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(os, "fdopen", full_disk)
    _, lines = script(triage, vignette(VIGNETTES[0])["case"]["answers"])
    result = CliRunner().invoke(cli, ["interview"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    assert " ".join(result.stderr.split()).count("No space left on device") == 1
    assert "will not be saved" in result.stderr
    assert "LOOK AFTER IT AT HOME" in result.stdout
    assert not list((tmp_path / "sessions").glob(".*.tmp"))  # the failed write cleaned up after itself
