"""The real program in a pseudo-terminal, driven like a person at a keyboard."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from itb_triage.engine import Triage

from .conftest import VIGNETTES, vignette
from .test_interview import script

PROGRAM = Path(sys.executable).with_name("itb-triage")


@pytest.mark.slow
def test_a_whole_interview_in_a_terminal(triage: Triage, tmp_path: Path) -> None:
    answers = vignette(VIGNETTES[0])["case"]["answers"]
    _, lines = script(triage, answers)
    env = {**os.environ, "ITB_TRIAGE_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "80"}
    saved = tmp_path / "saved.json"
    child = pexpect.spawn(str(PROGRAM), ["interview", "--save-case", str(saved)], env=env,
                          encoding="utf-8", timeout=30, dimensions=(40, 80))
    try:
        child.expect("ITB triage interview")
        for number, line in enumerate(lines, start=1):
            child.expect(rf"{number}\. ")
            child.expect("> ")
            child.sendline(line)
        child.expect("LOOK AFTER IT AT HOME")
        child.expect("Not a medical device")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert json.loads(saved.read_text())["answers"]["pain_locations"] == ["lateral_knee"]


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    env = {**os.environ, "ITB_TRIAGE_HOME": str(tmp_path), "NO_COLOR": "1"}
    child = pexpect.spawn(str(PROGRAM), ["interview"], env=env, encoding="utf-8", timeout=30)
    try:
        child.expect("> ")
        child.sendline("n")
        child.expect("2\\. ")
        child.expect("> ")
        child.sendintr()
        child.expect("Resume with: itb-triage interview --resume")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    (saved,) = (tmp_path / "sessions").glob("*.json")
    assert json.loads(saved.read_text())["answers"] == {"trauma_onset": "no"}
