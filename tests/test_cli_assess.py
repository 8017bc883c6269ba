"""`itb-triage assess` through the Click command: outputs, determinism and bad input.

Pins the contract of ../shared/contract/README.md as a program sees it: what is
printed on stdout for each format, that the same answers always give the same bytes,
and that every bad case file is one line on stderr, exit status 2, nothing on stdout.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from itb_triage import __version__
from itb_triage.cli.exit_codes import ExitStatus
from itb_triage.cli.main import cli
from itb_triage.engine.case import MAX_CASE_BYTES
from itb_triage.engine.contract import NOT_A_MEDICAL_DEVICE
from itb_triage.engine.errors import MAX_PROBLEMS

from .conftest import DATA, VIGNETTES, vignette

ROOT = Path(__file__).resolve().parent.parent

RESULT_SCHEMA = Path(__file__).resolve().parents[1] / "knowledge" / "schemas" / "result.schema.json"
CLASSIC = vignette(DATA / "vignettes" / "v01_classic.json")["case"]
CITATION = re.compile(r"\[(\d+)\]")


# --- helpers -----------------------------------------------------------------------


def classic_case(**answers: Any) -> dict[str, Any]:
    """A deep copy of the classic case with some answers replaced or added."""
    case: dict[str, Any] = json.loads(json.dumps(CLASSIC))
    case["answers"].update(answers)
    return case


def encode(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def write(tmp_path: Path, data: bytes | str, name: str = "case.json") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def assess(runner: CliRunner, source: Path | str, fmt: str = "text", stdin: bytes | None = None,
           detail: bool = False) -> Result:
    return runner.invoke(cli, ["assess", "--format", fmt, *(["--detail"] if detail else []), str(source)],
                         input=stdin)


def assert_ok(result: Result) -> str:
    """Exit 0, nothing on stderr; return stdout."""
    assert result.exception is None, result.exc_info
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n")
    return result.stdout


def assert_input_error(result: Result, where: str, fragments: tuple[str, ...] = ()) -> None:
    """The contract for bad input: exit 2, empty stdout, one located line per problem on stderr."""
    # An uncaught exception is a traceback for the user, whatever the exit status says.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert result.exit_code == ExitStatus.INPUT_ERROR, result.stderr
    assert result.stdout == ""
    message = result.stderr
    assert message.endswith("\n")
    assert message.strip() != ""
    assert "Traceback" not in message
    for line in message.splitlines():  # one line per problem, each located
        assert line.startswith("itb-triage: error: "), message
        assert where in line, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def runner_yaml(case: dict[str, Any]) -> str:
    """The case as a runner types it: nothing quoted, so `knee_locking: no`."""
    lines = [f"format: {case['format']}", f"id: {case['id']}", "answers:"]
    for question, value in case["answers"].items():
        if isinstance(value, list):
            lines.append(f"  {question}: [{', '.join(value)}]")
        else:
            lines.append(f"  {question}: {value}")
    return "\n".join(lines) + "\n"


def shuffled(case: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same case with its top-level keys, answer keys and list answers reordered."""
    answers = list(case["answers"].items())
    rng.shuffle(answers)
    reordered = {q: rng.sample(v, len(v)) if isinstance(v, list) else v for q, v in answers}
    top = [(k, reordered if k == "answers" else v) for k, v in case.items()]
    rng.shuffle(top)
    return dict(top)


def squash(text: str) -> str:
    return " ".join(text.split())


# --- successful runs ---------------------------------------------------------------


def test_text_output_is_the_summary_card_with_how_to_see_the_rest(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, encode(CLASSIC))
    out = assert_ok(assess(runner, path))
    lines = out.splitlines()
    assert lines[0] == "ITB triage: v01_classic"
    assert lines[2] == "LOOK AFTER IT AT HOME"
    assert "WHAT TO DO THIS WEEK" in lines
    assert f"itb-triage assess --detail {path}" in squash(out)
    assert lines[-1] == NOT_A_MEDICAL_DEVICE
    assert len(lines) <= 30


def test_detail_text_leads_with_title_and_disposition_and_ends_with_the_note(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, encode(CLASSIC))
    headline = json.loads(assert_ok(assess(runner, path, "json")))["headline"]

    out = assert_ok(assess(runner, path, detail=True))
    lines = out.splitlines()
    assert lines[0] == "ITB triage: v01_classic"
    assert lines[1] == "=" * len(lines[0])
    assert headline in squash(out)
    assert "WHAT TO DO" in lines
    assert "REFERENCES" in lines
    assert lines.index("WHAT TO DO") < lines.index("REFERENCES")
    assert lines[-1] == NOT_A_MEDICAL_DEVICE


def test_stdin_gives_the_same_output_as_the_file(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, encode(CLASSIC))
    from_file = assert_ok(assess(runner, path, "json"))
    from_stdin = assert_ok(assess(runner, "-", "json", stdin=encode(CLASSIC)))
    assert from_stdin == from_file


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
def test_yaml_with_unquoted_yes_no_gives_the_same_output_as_json(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    text = runner_yaml(CLASSIC)
    assert "\n  knee_locking: no\n" in text and "\n  worse_downhill: yes\n" in text
    as_json = assert_ok(assess(runner, write(tmp_path, encode(CLASSIC), "case.json"), fmt))
    as_yaml = assert_ok(assess(runner, write(tmp_path, text, "case.yaml"), fmt))
    assert as_yaml == as_json.replace("case.json", "case.yaml")  # the summary names the file to rerun


def test_json_output_validates_against_the_result_schema(runner: CliRunner, tmp_path: Path) -> None:
    schema = json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    out = assert_ok(assess(runner, write(tmp_path, encode(CLASSIC)), "json"))
    result = json.loads(out)
    jsonschema.Draft202012Validator(schema).validate(result)
    assert result["format"] == "itb-result/1"
    assert result["case_id"] == "v01_classic"


def test_json_output_is_identical_between_two_runs(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, encode(CLASSIC))
    first = assert_ok(assess(runner, path, "json"))
    second = assert_ok(assess(runner, path, "json"))
    assert first == second


@pytest.mark.parametrize("seed", range(6))
def test_json_output_is_byte_identical_whatever_the_key_and_list_order(
    runner: CliRunner, tmp_path: Path, seed: int
) -> None:
    # Several values in each list answer, so reordering them is a real change of input.
    case = classic_case(
        pain_locations=["lateral_knee", "lateral_thigh", "lateral_hip"],
        treatments_tried=["relative_rest", "hip_strengthening", "foam_rolling_muscles", "ice"],
    )
    expected = assert_ok(assess(runner, write(tmp_path, encode(case), "case.json"), "json"))
    rng = random.Random(seed)
    for attempt in range(3):
        variant = shuffled(case, rng)
        path = write(tmp_path, encode(variant), f"shuffled_{attempt}.json")
        assert assert_ok(assess(runner, path, "json")) == expected


def test_markdown_output_has_title_sections_numbered_references_and_note(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, encode(CLASSIC))
    citations = json.loads(assert_ok(assess(runner, path, "json")))["citations"]
    lines = assert_ok(assess(runner, path, "markdown")).splitlines()

    assert lines[0] == "# ITB triage report: v01_classic"
    assert "## What to do" in lines
    start = lines.index("## References") + 2
    end = lines.index("", start)
    numbers = [int(re.match(r"(\d+)\. \S", line).group(1)) for line in lines[start:end]]  # type: ignore[union-attr]
    # Numbered in order of first use, without gaps; every source of the advice is listed.
    assert numbers == list(range(1, len(numbers) + 1))
    reference_lines = "\n".join(lines[start:end])
    cited = {c for rec in json.loads(assert_ok(assess(runner, path, "json")))["recommendations"]
             for c in rec["citations"]}
    for citation in citations:
        if citation["id"] in cited:
            assert citation["reference"][:20] in reference_lines
    assert f"*{NOT_A_MEDICAL_DEVICE}*" in lines


@pytest.mark.parametrize(
    "case",
    [
        *[pytest.param(vignette(p)["case"], id=p.stem) for p in VIGNETTES],
        pytest.param(
            classic_case() | {"id": "Weekend long run, left knee, after the hilly half marathon " * 3},
            id="long_case_id",
        ),
    ],
)
@pytest.mark.parametrize("detail", [False, True], ids=["summary", "detail"])
def test_text_output_fits_80_columns(runner: CliRunner, tmp_path: Path, case: dict[str, Any], detail: bool) -> None:
    out = assert_ok(assess(runner, write(tmp_path, encode(case)), detail=detail))
    too_long = [line for line in out.splitlines() if len(line) > 80]
    assert too_long == []


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_every_citation_number_in_the_text_is_in_the_references(
    runner: CliRunner, tmp_path: Path, path: Path
) -> None:
    out = assert_ok(assess(runner, write(tmp_path, encode(vignette(path)["case"])), detail=True))
    lines = out.splitlines()
    heading = lines.index("REFERENCES")
    body, references = lines[:heading], lines[heading + 1:]
    used = {int(n) for line in body for n in CITATION.findall(line)}
    listed = [int(m.group(1)) for line in references if (m := re.match(r"\s*\[(\d+)\] \S", line))]
    assert used, "the text cites nothing"
    assert listed == list(range(1, len(listed) + 1))
    assert used <= set(listed)


# --- bad input ---------------------------------------------------------------------

EXPECT_SIDE = "'left', 'right', 'both'"

NESTED_YAML_TAG = 'format: itb-case/1\nanswers: !!python/object/apply:os.system ["echo hi"]\n'

BAD_INPUTS = [
    pytest.param(b"", ("object",), id="empty_file"),
    pytest.param(b"{{{", ("JSON or YAML",), id="not_json_braces"),
    pytest.param(b": : :", ("JSON or YAML",), id="not_yaml_colons"),
    pytest.param(b'{"format": "itb-case/1", "answers": {"side": "\xff\xfe"}}', ("UTF-8",),
                 id="invalid_utf8"),
    pytest.param("{\"format\": \"itb-case/1\", \"answers\": {}}".encode("utf-16"), ("UTF-8",),
                 id="utf16_text"),
    pytest.param(encode([CLASSIC]), ("object", "'format'", "'answers'"), id="json_array_at_top"),
    pytest.param(b'"right knee, outside, hurts downhill"', ("object", "'format'", "'answers'"),
                 id="string_at_top"),
    pytest.param(encode({"format": "itb-case/1", "id": "x"}), ("'answers'",), id="missing_answers"),
    pytest.param(encode(classic_case() | {"format": "itb-case/2"}), ("$.format", "itb-case/1"),
                 id="wrong_format"),
    pytest.param(encode(classic_case() | {"answers": ["side"]}), ("$.answers", "object"),
                 id="answers_not_an_object"),
    pytest.param(encode(classic_case() | {"extra": 1}), ("extra", "'format', 'id', 'note' and 'answers'"),
                 id="extra_top_level_key"),
    pytest.param(encode(classic_case(knee_lockin="no")),
                 ("$.answers.knee_lockin", "'knee_lockin'", "did you mean 'knee_locking'"),
                 id="unknown_question_near_miss"),
    pytest.param(encode(classic_case(qqqq_zzzz="no")), ("$.answers.qqqq_zzzz", "a question id"),
                 id="unknown_question_far_miss"),
    pytest.param(encode(classic_case(side="up")), ("$.answers.side", "'up'", EXPECT_SIDE),
                 id="value_outside_enum"),
    pytest.param(b"format: itb-case/1\nanswers:\n  side: true\n",
                 ("$.answers.side", "true is not allowed", EXPECT_SIDE), id="yaml_boolean_for_a_choice"),
    pytest.param(encode(classic_case(age_years=200)), ("$.answers.age_years", "200", "from 5 to 110"),
                 id="number_out_of_range"),
    pytest.param(encode(classic_case(pain_severity="high")),
                 ("$.answers.pain_severity", "'high'", "from 0 to 10"), id="wrong_type"),
    pytest.param(encode(classic_case(pain_severity=6.5)),
                 ("$.answers.pain_severity", "whole number"), id="fraction_for_whole_number"),
    pytest.param(encode(classic_case(side=None)), ("$.answers.side", "null", EXPECT_SIDE),
                 id="null_answer"),
    pytest.param(encode(classic_case(pain_locations=["lateral_knee", "lateral_knee"])),
                 ("$.answers.pain_locations", "each once", "'lateral_knee', 'lateral_thigh'"),
                 id="duplicate_in_multiple_choice"),
    pytest.param(encode(classic_case(pain_locations=[])), ("pain_locations", "at least one"),
                 id="empty_multiple_choice"),
    pytest.param(encode(classic_case(pain_locations="lateral_knee")),
                 ("$.answers.pain_locations", "a list of at least one of"), id="string_for_list"),
    pytest.param(encode(classic_case(treatments_tried=["ice", "magic"])),
                 ("treatments_tried", "'magic'", "'relative_rest'"), id="list_value_outside_enum"),
    pytest.param(NESTED_YAML_TAG.encode(), ("JSON or YAML",), id="yaml_python_tag"),
    pytest.param(b"[" * 10000, ("nested too deeply",), id="deep_json_arrays"),
    pytest.param(b'{"a": ' * 10000, ("nested too deeply",), id="deep_json_objects"),
    pytest.param(b"x: " + b"[" * 10000, ("JSON or YAML",), id="deep_yaml_flow"),
    pytest.param(encode(CLASSIC).ljust(MAX_CASE_BYTES + 1), ("bytes",), id="file_over_1mb"),
    pytest.param(b"format: itb-case/1\nanswers:\n  knee_locking: yes\n  knee_locking: no\n",
                 ("duplicate key", "'knee_locking'"), id="duplicate_question_id_yaml"),
    pytest.param(b'{"format": "itb-case/1", "answers": {"side": "left", "side": "right"}}',
                 ("duplicate key", "'side'"), id="duplicate_question_id_json"),
    # Defects found while writing these tests, now fixed.
    pytest.param(
        b'{"format": "itb-case/1", "answers": {"age_years": ' + b"9" * 5000 + b"}}",
        ("age_years",),
        id="huge_integer_json",
    ),
    pytest.param(
        b"format: itb-case/1\nanswers:\n  age_years: " + b"9" * 5000 + b"\n",
        (),
        id="huge_integer_yaml",
    ),
    pytest.param(
        b"format: itb-case/1\nanswers:\n  1: no\n",
        (),
        id="yaml_number_as_question_id",
    ),
    pytest.param(
        b"format: itb-case/1\nanswers:\n  1: no\n  knee_lockin: no\n",
        (),
        id="yaml_mixed_key_types",
    ),
    pytest.param(
        encode(classic_case()).replace(b'"weekly_distance_km": 40', b'"weekly_distance_km": NaN'),
        ("$.answers.weekly_distance_km", "from 0 to 500"),
        id="nan_for_a_number",
    ),
]


@pytest.mark.parametrize("source", ["file", "stdin"])
@pytest.mark.parametrize(("data", "fragments"), BAD_INPUTS)
def test_bad_case_is_one_line_per_problem_on_stderr_with_exit_2(
    runner: CliRunner, tmp_path: Path, data: bytes, fragments: tuple[str, ...], source: str
) -> None:
    if source == "file":
        path = write(tmp_path, data, "bad_case.json")
        result, where = assess(runner, path), str(path)
    else:
        result, where = assess(runner, "-", stdin=data), "<stdin>"
    assert_input_error(result, where, fragments)


@pytest.mark.parametrize("spelling", ["No", "NO", "false", "False"])
def test_yes_no_answers_in_any_letter_case_and_yaml_booleans_read_as_the_choice(
    runner: CliRunner, tmp_path: Path, spelling: str
) -> None:
    plain = assert_ok(assess(runner, write(tmp_path, runner_yaml(CLASSIC).encode(), "plain.yaml"), "json"))
    text = runner_yaml(CLASSIC).replace("knee_locking: no", f"knee_locking: {spelling}")
    text = text.replace("worse_downhill: yes", "worse_downhill: true" if spelling.islower() else "worse_downhill: Yes")
    assert text != runner_yaml(CLASSIC)
    assert assert_ok(assess(runner, write(tmp_path, text.encode(), "spelled.yaml"), "json")) == plain


def test_every_problem_of_a_case_is_reported_each_on_its_own_line_capped(runner: CliRunner, tmp_path: Path) -> None:
    answers = {"side": "up", "age_years": 300, "knee_locking": "perhaps", "trend": 7, "onset": "slow",
               "pain_severity": "high", "qqqq": "no"}
    path = write(tmp_path, json.dumps({"format": "itb-case/1", "answers": answers}).encode(), "bad.json")
    result = assess(runner, path)
    assert result.exit_code == ExitStatus.INPUT_ERROR
    lines = result.stderr.splitlines()
    assert all(line.startswith(f"itb-triage: error: {path}: ") for line in lines), lines
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1].endswith(f"and {len(answers) - MAX_PROBLEMS} more problems")
    located = {line.split(": ")[3] for line in lines[:-1]}
    assert len(located) == MAX_PROBLEMS and all(p.startswith("$.answers.") for p in located)


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_case_path_is_one_line_on_stderr_with_exit_2(
    runner: CliRunner, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "no_such_case.json"
    if kind == "directory":
        path = tmp_path / "a_folder"
        path.mkdir()
    assert_input_error(assess(runner, path), str(path), ("cannot read",))


@pytest.mark.parametrize("data", [b"", b"\n   \n", b"null\n", b"~\n"], ids=["empty", "blank", "null", "tilde"])
def test_empty_case_file_error_does_not_talk_about_unanswered_questions(
    runner: CliRunner, tmp_path: Path, data: bytes
) -> None:
    path = write(tmp_path, data)
    result = assess(runner, path)
    assert_input_error(result, str(path), ("object",))
    assert "unanswered question" not in result.stderr


@pytest.mark.parametrize(("data", "shown"), [(b"42\n", "42"), (b"not json\n", "'not json'"), (b"[1]\n", "[1]")])
def test_a_case_that_is_not_an_object_is_named_in_a_sentence(
    runner: CliRunner, tmp_path: Path, data: bytes, shown: str
) -> None:
    path = write(tmp_path, data)
    result = assess(runner, path)
    assert_input_error(result, str(path), ("object",))
    assert f"$: the case is {shown}; expected an object with 'format' and 'answers'" in result.stderr


@pytest.mark.parametrize("position", ["document", "answers"])
def test_yaml_python_tag_is_refused_without_running_the_command(tmp_path: Path, position: str) -> None:
    # A real process: output of a command run by the loader would reach the real stdout.
    marker = tmp_path / "pwned"
    command = f"echo hi; touch {shlex.quote(str(marker))}"
    tag = f'!!python/object/apply:os.system ["{command}"]'
    text = tag + "\n" if position == "document" else f"format: itb-case/1\nanswers: {tag}\n"
    path = write(tmp_path, text, "evil.yaml")
    process = subprocess.run(
        [sys.executable, "-c", "from itb_triage.cli.main import main; main()", "assess", str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert process.returncode == ExitStatus.INPUT_ERROR, process.stderr
    assert process.stdout == ""
    assert not marker.exists()
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().count("\n") == 0
    assert str(path) in process.stderr


def test_unknown_format_option_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = assess(runner, write(tmp_path, encode(CLASSIC)), "html")
    assert result.exit_code == ExitStatus.INPUT_ERROR
    assert result.stdout == ""
    assert "'html'" in result.stderr
    assert "Traceback" not in result.stderr


# --- version and help --------------------------------------------------------------


def test_version_prints_program_and_12_hex_digit_knowledge_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == ExitStatus.OK
    assert result.stderr == ""
    match = re.fullmatch(r"itb-triage (\S+) \(knowledge ([0-9a-f]{12})\)\n", result.stdout)
    assert match is not None, result.stdout
    assert match.group(1) == __version__


def test_assess_help_documents_the_exit_statuses(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["assess", "--help"])
    assert result.exit_code == ExitStatus.OK
    text = squash(result.stdout)
    for phrase in (
        f"Exit status {ExitStatus.OK:d} on success",
        f"{ExitStatus.INPUT_ERROR:d} for a bad case file",
        f"{ExitStatus.KNOWLEDGE_INVALID:d} for invalid knowledge",
        f"{ExitStatus.ENGINE_FAILURE:d} for an engine failure",
    ):
        assert phrase in text
    assert "text|markdown|json" in text


@pytest.mark.parametrize(("args", "status", "start"), [
    (["--version"], ExitStatus.OK, "itb-triage "),
    (["--help"], ExitStatus.OK, "Usage: itb-triage"),
    (["no-such-command"], ExitStatus.INPUT_ERROR, ""),
    (["assess", "--format", "xml", "examples/classic.yaml"], ExitStatus.INPUT_ERROR, ""),
], ids=["version", "help", "unknown-command", "bad-option"])
def test_the_program_exits_with_the_documented_status(args: list[str], status: int, start: str) -> None:
    # The console script, not CliRunner: its entry point handles exits itself (see cli/main.py).
    program = str(Path(sys.executable).with_name("itb-triage"))
    run = subprocess.run([program, *args], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert run.returncode == status, run.stderr
    assert run.stdout.startswith(start)
    if status == ExitStatus.OK:
        assert run.stderr == ""
    else:  # Click's usage errors in the program's one style: one line, and where to find help
        assert re.fullmatch(r"itb-triage: error: .+ \(see `itb-triage( assess)? --help`\)\n", run.stderr), run.stderr
    assert "Traceback" not in run.stderr
