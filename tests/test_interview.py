"""The interview through the real command: scripted runners, urgent stops, back, why,
quit and resume, bad input, prefilled answers, parity with `assess`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from itb_triage.cli.main import cli
from itb_triage.engine import Triage
from itb_triage.engine.interview import Interview
from itb_triage.engine.relevance import Relevance

from .conftest import VIGNETTES, vignette


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own session store."""
    home = tmp_path / "home"
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(home))
    return home


def as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(value) if value else "none"
    return str(value)


def script(triage: Triage, answers: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What a runner with these answers types, question by question (empty = skip)."""
    interview = Interview(triage, relevance=Relevance(triage.knowledge))
    asked, lines = [], []
    while (question := interview.next_question()) is not None:
        asked.append(question)
        if question in answers:
            interview.answer(question, answers[question])
            lines.append(as_text(answers[question]))
        else:
            interview.skip(question)
            lines.append("")
    return asked, lines


def run(runner: CliRunner, lines: list[str], *args: str) -> Result:
    return runner.invoke(cli, ["interview", *args], input="".join(f"{line}\n" for line in lines))


def assess_json(runner: CliRunner, case_path: Path) -> str:
    result = runner.invoke(cli, ["assess", "--format", "json", str(case_path)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def outcome(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "disposition": document["disposition"],
        "treatment_tier": document["treatment_tier"],
        "red_flags": [f["id"] for f in document["red_flags"]],
        "recommendations": [r["id"] for r in document["recommendations"]],
        "avoid": [a["id"] for a in document["avoid"]],
    }


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_scripted_interview_of_each_vignette_ends_where_assess_does(
    path: Path, runner: CliRunner, triage: Triage, tmp_path: Path
) -> None:
    doc = vignette(path)
    answers = doc["case"]["answers"]
    asked, lines = script(triage, answers)
    saved = tmp_path / "saved.json"
    result = run(runner, lines, "--format", "json", "--save-case", str(saved))
    assert result.exit_code == 0, result.stderr
    interviewed = json.loads(result.stdout)
    # Parity: the interview's result is `assess` of the saved case, byte for byte.
    assert result.stdout == assess_json(runner, saved)
    # And it reaches the same outcome as assessing every answer of the vignette.
    full = triage.assess_answers(answers).to_json()
    assert outcome(interviewed) == outcome(full) or full["disposition"] in ("emergency", "same_day")
    assert interviewed["disposition"] == full["disposition"]
    assert len(asked) <= 31


def test_typical_itbs_case_takes_few_questions(triage: Triage) -> None:
    asked, _ = script(triage, vignette(VIGNETTES[0])["case"]["answers"])
    assert len(asked) <= 26
    assert "worse_downhill" not in asked  # settled by 'after a set distance'


def test_emergency_answer_stops_the_interview_at_once(runner: CliRunner) -> None:
    lines = ["n"] * 7 + ["y"]  # the 8th safety question is saddle numbness / bladder / bowel
    result = run(runner, lines)
    assert result.exit_code == 0, result.stderr
    assert "!! Go to an emergency department now." in result.stderr
    assert result.stderr.count("> ") == 8
    assert "GO TO A&E NOW" in result.stdout.splitlines()[:4]  # the summary card leads


def test_same_day_flag_asks_only_what_could_make_it_an_emergency(runner: CliRunner) -> None:
    result = run(runner, ["n", "y"] + ["n"] * 10)  # the knee locks
    assert result.exit_code == 0, result.stderr
    assert "!! See a doctor or urgent care today" in result.stderr
    assert "Where is the pain?" not in result.stderr
    assert "Does your knee give way" not in result.stderr  # cannot make it more urgent
    assert "saddle" in result.stderr.lower() or "bladder" in result.stderr.lower()
    assert result.stdout.lstrip().splitlines()[2] == "SEE A DOCTOR TODAY"
    assert "Does your knee give way" not in result.stdout  # the card asks nothing the interview skipped


def test_back_revises_the_previous_answer_and_changes_the_outcome(runner: CliRunner, triage: Triage) -> None:
    answers = vignette(VIGNETTES[0])["case"]["answers"]
    _, lines = script(triage, answers)
    revised = [lines[0], "y", "back", *lines[1:]]  # 'knee locks: yes', then back to 'no'
    result = run(runner, revised, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["disposition"] == "self_care"
    assert "!! See a doctor" in result.stderr  # the 'yes' was announced before going back


def test_why_names_the_conclusions_and_rules(runner: CliRunner) -> None:
    result = run(runner, ["?", "quit"])
    assert "Why we ask: your answer can change" in result.stderr
    assert "(rule red_flag_injury)" in result.stderr or "(rule red_flag_ottawa)" in result.stderr


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = run(runner, ["help", "quit"])
    for command in ("why", "back", "help", "quit"):
        assert command in result.stderr


def test_invalid_input_is_asked_again_with_a_hint(runner: CliRunner) -> None:
    result = run(runner, ["maybe", "7", "n", "quit"])
    assert result.stderr.count("Sorry: choose a number from 1 to 3, or one of: yes, no, unsure") == 2
    assert result.stderr.count("1. Did the pain start") == 1
    assert "2. Does your knee get stuck" in result.stderr


def test_numbers_are_range_checked(runner: CliRunner, triage: Triage) -> None:
    interview = Interview(triage)
    with pytest.raises(ValueError, match="from 0 to 730"):
        interview.parse("race_in_days", "1000")
    assert interview.parse("race_in_days", "12") == 12
    assert interview.parse("pain_locations", "1, 5") == ["lateral_knee", "anterior_knee"]
    assert interview.parse("treatments_tried", "none") == []


def test_quit_saves_and_resume_loses_no_answer(runner: CliRunner, triage: Triage, data_home: Path) -> None:
    answers = vignette(VIGNETTES[0])["case"]["answers"]
    _, lines = script(triage, answers)
    first = run(runner, [*lines[:10], "quit"])
    assert first.exit_code == 0
    assert "Resume with: itb-triage interview --resume" in first.stderr
    (saved,) = (data_home / "sessions").glob("*.json")
    assert len(json.loads(saved.read_text())["answers"]) == 10
    resumed = runner.invoke(cli, ["interview", "--resume", "--format", "json"], input="\n".join(lines[10:]) + "\n")
    assert resumed.exit_code == 0, resumed.stderr
    straight = run(runner, lines, "--format", "json")
    assert outcome(json.loads(resumed.stdout)) == outcome(json.loads(straight.stdout))


def test_end_of_input_saves_and_exits_130(runner: CliRunner, data_home: Path) -> None:
    result = run(runner, ["n", "n", "n"])
    assert result.exit_code == 130
    assert "Resume with" in result.stderr
    (saved,) = (data_home / "sessions").glob("*.json")
    assert json.loads(saved.read_text())["answers"] == {
        "trauma_onset": "no", "knee_locking": "no", "knee_giving_way": "no"
    }


def test_prefilled_complete_case_finishes_without_a_prompt(runner: CliRunner, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(vignette(VIGNETTES[2])["case"]))  # v03: every relevant answer, a race too
    result = runner.invoke(cli, ["interview", "--answers", str(case), "--format", "json"], input="")
    assert result.exit_code == 0, result.stderr
    assert "> " not in result.stderr
    assert outcome(json.loads(result.stdout)) == outcome(json.loads(assess_json(runner, case)))


def test_sessions_list_show_delete(runner: CliRunner) -> None:
    run(runner, ["n", "quit"])
    listing = runner.invoke(cli, ["sessions", "list"])
    assert "1 answers  in progress" in listing.stdout
    session_id = listing.stdout.split()[0]
    shown = runner.invoke(cli, ["sessions", "show", session_id])
    assert "Did the pain start with a fall" in shown.stdout and "No" in shown.stdout
    assert runner.invoke(cli, ["sessions", "delete", session_id]).exit_code == 0
    assert "No saved interviews" in runner.invoke(cli, ["sessions", "list"]).stdout
    missing = runner.invoke(cli, ["sessions", "show", session_id])
    assert missing.exit_code == 2 and "no session" in missing.stderr


def test_a_damaged_session_is_set_aside_not_deleted(runner: CliRunner, data_home: Path) -> None:
    run(runner, ["n", "quit"])
    (saved,) = (data_home / "sessions").glob("*.json")
    saved.write_text("{ not json")
    result = runner.invoke(cli, ["interview", "--resume", saved.stem])
    assert result.exit_code == 2
    assert "is damaged" in result.stderr and "moved to" in result.stderr
    assert list((data_home / "sessions").glob("*.corrupt-*.json"))


def test_unwritable_data_dir_is_reported_and_the_result_still_shown(
    runner: CliRunner, triage: Triage, data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(blocker))
    _, lines = script(triage, vignette(VIGNETTES[0])["case"]["answers"])
    result = run(runner, lines)
    assert result.exit_code == 0
    assert result.stderr.count("will not be saved") == 1
    assert "LOOK AFTER IT AT HOME" in result.stdout
