"""The real program in a pseudo-terminal, driven like a person at a keyboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from itb_triage.engine import Knowledge, Triage, read_answer

from .conftest import VIGNETTES, vignette
from .test_interview import script

SPOKEN = {"yes": "yeah", "no": "nope", "unsure": "dunno"}
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

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
        child.sendline("1")  # the first choice of the first question
        child.expect("Question 2 of about")
        child.expect("> ")
        child.sendintr()
        child.expect("Resume with: itb-triage interview --resume")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    (saved,) = (tmp_path / "sessions").glob("*.json")
    assert len(json.loads(saved.read_text())["answers"]) == 1


def in_natural_words(knowledge: Knowledge, question: str, value: Any) -> str:
    """What a person would type for this answer: yeah, nope and dunno; labels in lower case
    and the label's first word ("gradually"); small numbers in words with their unit; a
    distance in miles. The test then checks the parser read it back as `value`."""
    entry = knowledge.questions[question]
    if entry["type"] == "choice":
        if value in SPOKEN:
            return SPOKEN[value]
        label = next(str(v["label"]) for v in entry["values"] if v["id"] == value)
        return label.split(",")[0].lower()
    if entry["type"] == "multi":
        labels = {v["id"]: str(v["label"]).lower() for v in entry["values"]}
        return ", ".join(labels[v] for v in value) if value else "none"
    converted = {("km", 16.1): "10 miles", ("weeks", 8.7): "2 months", ("days", 21): "3 weeks"}
    if (entry.get("unit"), value) in converted:
        return converted[entry["unit"], value]
    unit = f" {entry['unit']}" if entry.get("unit") in ("weeks", "days", "years", "km") else ""
    return (WORDS[value] if isinstance(value, int) and value < len(WORDS) else str(value)) + unit


@pytest.mark.slow
def test_an_interview_in_natural_words_ends_where_the_case_file_does(triage: Triage, tmp_path: Path) -> None:
    """Every answer typed as a person would ("nope", "six weeks", "10 miles", "gradually"),
    in a real terminal: the result equals `assess` of the same answers as a case file."""
    # Self-care that has not worked: the interview asks how long, and how many weeks of exercises.
    answers = {**vignette(next(v for v in VIGNETTES if "failed_self_care" in v.name))["case"]["answers"],
               "duration_weeks": 8.7, "weeks_hip_strengthening": 6, "race_in_days": 21,
               "distance_to_onset_km": 16.1, "weekly_distance_km": 16.1}
    asked, _ = script(triage, answers)
    lines = []
    for question in asked:
        if question not in answers:
            lines.append("")
            continue
        line = in_natural_words(triage.knowledge, question, answers[question])
        expected = answers[question]
        if isinstance(expected, list):  # a case's lists are read in the knowledge's order
            order = [v["id"] for v in triage.knowledge.questions[question]["values"]]
            expected = sorted(expected, key=order.index)
        assert read_answer(triage.knowledge.questions[question], line).value == expected, line
        lines.append(line)
    # (The rules never ask a distance today, so "10 miles" is typed only if they come to.)
    assert {"nope", "yeah", "six weeks", "2 months", "3 weeks", "gradually"} <= set(lines), lines
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"format": "itb-case/1", "id": "natural",
                                "answers": {q: answers[q] for q in asked if q in answers}}))
    out = tmp_path / "result.json"
    env = {**os.environ, "ITB_TRIAGE_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "80"}
    # stdout to a file, the questions on the terminal: as `interview --format json > result.json`.
    child = pexpect.spawn("/bin/sh", ["-c", f'exec "{PROGRAM}" interview --format json > "{out}"'], env=env,
                          encoding="utf-8", timeout=60, dimensions=(40, 80))
    try:
        for number, line in enumerate(lines, start=1):
            child.expect(rf"Question {number} of about \d+")
            child.expect("> ")
            child.sendline(line)
            if line in ("10 miles", "2 months", "3 weeks"):
                child.expect(f"Noted: {line} = ")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    from_interview = json.loads(out.read_text())
    from_file = json.loads(subprocess.run([str(PROGRAM), "assess", "--format", "json", str(case)], env=env,
                                          capture_output=True, check=True, timeout=120).stdout)
    for document in (from_interview, from_file):
        document.pop("case_id", None)
    assert from_interview == from_file
