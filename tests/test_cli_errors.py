"""One way to fail: every error, the engine's and Click's, is `itb-triage: error: ...` on
stderr with the documented exit status, from one table (cli/exit_codes.py); and the
ids a user needs are discoverable (`explain --list`, shell completion)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from click.testing import CliRunner

import itb_triage.engine
from itb_triage.cli.exit_codes import ENGINE_ERRORS, ExitStatus, classify
from itb_triage.cli.main import cli
from itb_triage.engine import EngineError, KnowledgeError, Triage, TriageError, errors, target_ids
from itb_triage.engine.durable_backend import DurableBackend

ROOT = Path(__file__).resolve().parent.parent
CLASSIC = str(ROOT / "examples" / "classic.yaml")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ITB_TRIAGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def only_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("itb-triage: error: "), stderr
    return lines[0]


# --- one table ---------------------------------------------------------------------------------


def test_every_engine_error_class_has_its_row() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, TriageError)]
    classes += [itb_triage.engine.SessionError, itb_triage.engine.AnswerError]
    for kind in classes:
        if not issubclass(kind, TriageError):
            continue  # AnswerError is the interview's own retry, never an exit
        row = next(r for r in ENGINE_ERRORS if issubclass(kind, r[0]))
        assert row[1] in ExitStatus
    assert ENGINE_ERRORS[-1][0] is TriageError  # the catch-all comes last


def test_engine_failure_names_the_case_file() -> None:
    error = EngineError("an action raised", where="case.yaml")
    assert classify(error) == (ExitStatus.ENGINE_FAILURE, "case.yaml: the rule engine failed: an action raised")


# --- one test per exit status ----------------------------------------------------------------


def test_status_2_for_a_bad_case(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: itb-case/1\nanswers: {side: up}\n")
    for command in (["assess"], ["explain"], ["report", "-o", str(tmp_path / "r.md")]):
        result = runner.invoke(cli, [*command, str(bad)])
        assert result.exit_code == ExitStatus.INPUT_ERROR
        assert "$.answers.side" in only_line(result.stderr)


def test_status_3_for_invalid_knowledge(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise KnowledgeError(["rules/x.yaml: something is wrong"])

    monkeypatch.setattr(Triage, "__init__", broken)
    for command in ("assess", "explain"):
        result = runner.invoke(cli, [command, CLASSIC])
        assert result.exit_code == ExitStatus.KNOWLEDGE_INVALID
        assert "the knowledge base is invalid: rules/x.yaml" in only_line(result.stderr)


def test_status_4_for_an_engine_failure(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise EngineError("an action raised")

    monkeypatch.setattr(DurableBackend, "run_case", failing)
    result = runner.invoke(cli, ["assess", CLASSIC])
    assert result.exit_code == ExitStatus.ENGINE_FAILURE
    assert only_line(result.stderr) == f"itb-triage: error: {CLASSIC}: the rule engine failed: an action raised"


def test_status_130_for_an_interrupt(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Triage, "assess", interrupted)
    result = runner.invoke(cli, ["assess", CLASSIC])
    assert result.exit_code == ExitStatus.INTERRUPTED
    assert result.stderr.strip() == "interrupted"


@pytest.mark.parametrize(("args", "fragment", "command"), [
    (["assess"], "Missing argument 'CASE'", "itb-triage assess"),
    (["assess", "--bogus", CLASSIC], "No such option", "itb-triage assess"),
    (["no-such-command"], "No such command 'no-such-command'", "itb-triage"),
    (["explain", CLASSIC, "--format", "xml"], "'xml' is not one of", "itb-triage explain"),
])
def test_click_usage_errors_are_one_line_in_the_same_style(
    runner: CliRunner, args: list[str], fragment: str, command: str
) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == ExitStatus.INPUT_ERROR
    line = only_line(result.stderr)
    assert fragment in line and line.endswith(f"(see `{command} --help`)"), line
    assert "Usage:" not in result.stderr and "Error:" not in result.stderr


# --- discoverable ids ---------------------------------------------------------------------------


def test_explain_list_prints_every_id_why_not_takes_within_80_columns(runner: CliRunner, triage: Triage) -> None:
    result = runner.invoke(cli, ["explain", "--list"])
    assert result.exit_code == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    every = {i for ids in target_ids(triage.knowledge).values() for i in ids}
    assert listed == every
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    for ident in sorted(every)[:5]:  # and each of them is taken
        assert runner.invoke(cli, ["explain", CLASSIC, "--why-not", ident]).exit_code == 0


def complete(runner: CliRunner, words: str) -> list[str]:
    """What Click's bash completion offers for the last word of `words`."""
    parts = words.split(" ")
    result = runner.invoke(cli, [], prog_name="itb-triage", env={
        "_ITB_TRIAGE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)})
    assert result.exit_code == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completion_of_commands_question_ids_values_why_not_ids_and_sessions(
    runner: CliRunner, triage: Triage
) -> None:
    assert {"assess", "explain", "interview", "sessions"} <= set(complete(runner, "itb-triage "))
    questions = complete(runner, "itb-triage explain x.yaml --what-if knee_")
    assert questions and all(q.startswith("knee_") and q.endswith("=") for q in questions)
    assert set(complete(runner, "itb-triage explain x.yaml --what-if knee_locking=")) == {
        "knee_locking=yes", "knee_locking=no", "knee_locking=unsure"}
    assert complete(runner, "itb-triage explain x.yaml --what-if pain_locations=lateral_knee,lateral_h") == [
        "pain_locations=lateral_knee,lateral_hip"]
    assert "self_care" in complete(runner, "itb-triage explain x.yaml --why-not self_")
    assert complete(runner, "itb-triage explain x.yaml --why-not avoid:aqua") == ["avoid:aqua_jogging"]
    runner.invoke(cli, ["interview"], input="n\nquit\n")
    (session,) = complete(runner, "itb-triage sessions show 2")
    assert complete(runner, "itb-triage interview --resume 2") == [session]
