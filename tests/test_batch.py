"""`itb-triage batch`: many cases in, one JSON line per case out, and the engine paths it runs.

The contract: records in input order, labelled by line number or file name; each holds
the object `assess --format json` prints for that case, or the one-line message
`assess` prints for it; exit status 0 when every case was assessed and 2 otherwise;
`--jobs 2` gives the same bytes as one process. The second half pins what makes batch
fast without changing a byte: the compact JSON writer, the quick case check, and the
durable_rules session id used again from case to case.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itb_triage.cli import batch as batch_module
from itb_triage.cli.exit_codes import ExitStatus
from itb_triage.cli.main import cli
from itb_triage.engine import CaseError, EngineError, Knowledge, Triage
from itb_triage.engine.case import _schema_checks, _screen, check_case
from itb_triage.engine.durable_backend import DurableBackend
from itb_triage.engine.facts import Fact, answer_facts
from itb_triage.engine.result import compact_json

from .conftest import VIGNETTES, examples, vignette
from .strategies import ANSWER_STRATEGIES, answers

ROOT = Path(__file__).resolve().parent.parent
CASES = [vignette(path)["case"] for path in VIGNETTES]
BAD_VALUE = {"format": "itb-case/1", "answers": {"side": "up"}}


# --- helpers -----------------------------------------------------------------------


def jsonl(*lines: Any) -> str:
    """A JSONL text: dicts are encoded, strings are taken as they are."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def run_batch(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli, ["batch", *args], input=stdin)


def records(output: str) -> list[dict[str, Any]]:
    lines = output.splitlines()
    assert all(line.startswith("{") for line in lines)
    return [json.loads(line) for line in lines]


def assess_json(runner: CliRunner, path: Path) -> str:
    result = runner.invoke(cli, ["assess", "--format", "json", str(path)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def assess_error(runner: CliRunner, path: Path) -> str:
    """The message `assess` prints for a bad case file, without the `itb-triage: error:` prefix."""
    result = runner.invoke(cli, ["assess", "--format", "json", str(path)])
    assert result.exit_code == ExitStatus.INPUT_ERROR
    return result.stderr.strip().removeprefix("itb-triage: error: ")


def without_critical(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "critical_answers"}


# --- records, order and exit status -------------------------------------------------


def test_records_come_in_input_order_labelled_by_line(runner: CliRunner, tmp_path: Path) -> None:
    chosen = [CASES[i] for i in (7, 0, 19, 3, 12)]
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(*chosen), encoding="utf-8")

    result = run_batch(runner, str(source))

    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stderr == ""
    assert result.stdout_bytes.isascii()  # JSON's \u escapes for everything else
    out = records(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5]
    assert [r["result"]["case_id"] for r in out] == [c["id"] for c in chosen]
    assert all(set(r) == {"line", "result"} for r in out)


def test_a_bad_line_is_an_error_record_with_assess_message_and_the_rest_goes_on(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad_lines = [json.dumps(BAD_VALUE), "not json at all", '{"format": "itb-case/1", "answers": {', "[]"]
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(CASES[0], *bad_lines, "", CASES[1]), encoding="utf-8")

    result = run_batch(runner, str(source))

    assert result.exit_code == ExitStatus.INPUT_ERROR
    out = records(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5, 7]  # line 6 is blank: skipped
    assert [("result" in r, "error" in r) for r in out] == [(True, False)] + [(False, True)] * 4 + [(True, False)]
    # Each error is what `assess` says about a file holding that line, named by line.
    for number, line in enumerate(bad_lines, start=2):
        alone = tmp_path / f"line{number}.json"
        alone.write_text(line, encoding="utf-8")
        expected = assess_error(runner, alone).replace(str(alone), f"{source}:{number}")
        assert out[number - 1]["error"] == expected
    # stderr sums it up in one line; the details are in the records.
    assert result.stderr == "itb-triage: error: 4 of 6 cases failed; their records say why\n"


def test_odd_cases_are_one_error_record_each_and_the_rest_goes_on(runner: CliRunner, tmp_path: Path) -> None:
    # Found by fuzzing `assess` (tests/test_fuzz_input.py), now refused as bad input: a
    # core YAML tag on a value it cannot convert, and a lone surrogate in a case id.
    source = tmp_path / "odd.jsonl"
    source.write_text(jsonl('{"format": "itb-case/1", "answers": {}, "note": !!bool maybe}',
                            '{"format": "itb-case/1", "id": "a\\ud800b", "answers": {}}', CASES[0]), encoding="utf-8")

    result = run_batch(runner, str(source))

    assert result.exit_code == ExitStatus.INPUT_ERROR
    assert "Traceback" not in result.stderr
    out = records(result.stdout_bytes.decode("utf-8"))
    assert out[0]["error"].startswith(f"{source}:1: not a usable value: KeyError")
    assert out[1]["error"].startswith(f"{source}:2: $.id: text that is not valid Unicode")
    assert out[2]["result"]["case_id"] == CASES[0]["id"]


def test_exit_status_is_0_when_every_case_is_assessed(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(*CASES[:3]), encoding="utf-8")
    assert run_batch(runner, str(source)).exit_code == ExitStatus.OK


def test_empty_input_gives_no_records_and_exit_0(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("\n\n", encoding="utf-8")
    result = run_batch(runner, str(source))
    assert (result.exit_code, result.stdout, result.stderr) == (ExitStatus.OK, "", "")


def test_a_folder_is_read_in_name_order_labelled_by_file(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(CASES[1]), encoding="utf-8")
    yaml_case = "format: itb-case/1\nid: from-yaml\nanswers:\n  knee_locking: no\n"
    (folder / "a.yaml").write_text(yaml_case, encoding="utf-8")
    (folder / "c.yml").write_text(json.dumps(BAD_VALUE), encoding="utf-8")
    (folder / "notes.txt").write_text("not a case", encoding="utf-8")
    (folder / "sub.json").mkdir()  # a folder, even with a case-like name, is not a case

    result = run_batch(runner, str(folder))

    assert result.exit_code == ExitStatus.INPUT_ERROR
    out = records(result.stdout)
    assert [r["file"] for r in out] == ["a.yaml", "b.json", "c.yml"]
    assert out[0]["result"]["case_id"] == "from-yaml"
    assert out[1]["result"]["case_id"] == CASES[1]["id"]
    # A file's error is word for word what `assess` prints for that path.
    assert out[2]["error"] == assess_error(runner, folder / "c.yml")


def test_stdin_is_read_as_jsonl(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(CASES[0], BAD_VALUE, CASES[2]), encoding="utf-8")
    from_file = records(run_batch(runner, str(source)).stdout)

    result = run_batch(runner, "-", stdin=source.read_text(encoding="utf-8"))

    assert result.exit_code == ExitStatus.INPUT_ERROR
    from_stdin = records(result.stdout)
    assert [r.get("result") for r in from_stdin] == [r.get("result") for r in from_file]
    assert from_stdin[1]["error"] == from_file[1]["error"].replace(f"{source}:2", "<stdin>:2")


def test_output_file_gets_the_records_and_stdout_stays_empty(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(*CASES[:4]), encoding="utf-8")
    target = tmp_path / "out.jsonl"

    result = run_batch(runner, str(source), "-o", str(target))

    assert (result.exit_code, result.stdout, result.stderr) == (ExitStatus.OK, "", "")
    assert target.read_text(encoding="utf-8") == run_batch(runner, str(source)).stdout


def test_unreadable_input_and_unwritable_output_are_one_line_with_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    nowhere = tmp_path / "nope.jsonl"
    missing = run_batch(runner, str(nowhere))
    assert missing.exit_code == ExitStatus.INPUT_ERROR
    assert missing.stderr == f"itb-triage: error: {nowhere}: cannot read the input: No such file or directory\n"

    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(CASES[0]), encoding="utf-8")
    unwritable = run_batch(runner, str(source), "-o", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert unwritable.exit_code == ExitStatus.INPUT_ERROR
    assert unwritable.stderr.startswith("itb-triage: error: ") and "cannot write the output" in unwritable.stderr
    assert unwritable.stderr.count("\n") == 1

    onto_itself = run_batch(runner, str(source), "-o", str(source))
    assert onto_itself.exit_code == ExitStatus.INPUT_ERROR
    assert "is the input" in onto_itself.stderr
    assert source.read_text(encoding="utf-8") == jsonl(CASES[0])  # untouched


def test_invalid_knowledge_is_exit_3_before_any_worker_starts(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itb_triage.engine

    def broken() -> None:
        raise itb_triage.engine.KnowledgeError(["rules/x.yaml: something is wrong"])

    monkeypatch.setattr(itb_triage.engine, "load_knowledge", broken)
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(CASES[0]), encoding="utf-8")
    result = run_batch(runner, "--jobs", "2", str(source))
    assert result.exit_code == ExitStatus.KNOWLEDGE_INVALID
    assert result.stdout == ""
    assert result.stderr.startswith("itb-triage: error: the knowledge base is invalid: rules/x.yaml")


def test_help_documents_the_exit_statuses_and_the_record_format(runner: CliRunner) -> None:
    text = " ".join(runner.invoke(cli, ["batch", "--help"]).stdout.split())
    assert "Exit status 0 if every case was assessed; 2 if any case failed" in text
    assert '{"line": N}' in text and '{"file": NAME}' in text


def test_progress_bar_goes_to_stderr_only_on_a_terminal(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(*CASES[:3]), encoding="utf-8")
    quiet = run_batch(runner, str(source))
    assert quiet.stderr == ""

    monkeypatch.setattr(batch_module, "_stderr_is_terminal", lambda: True)
    shown = run_batch(runner, str(source))
    assert "assessing" in shown.stderr
    assert shown.stdout == quiet.stdout


# --- the same results as assess --------------------------------------------------------


def test_every_vignette_gives_the_object_assess_prints(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "vignettes.jsonl"
    source.write_text(jsonl(*CASES), encoding="utf-8")
    fast = records(run_batch(runner, str(source)).stdout)
    full = records(run_batch(runner, "--critical", str(source)).stdout)

    for number, case in enumerate(CASES):
        path = tmp_path / f"case{number}.json"
        path.write_text(json.dumps(case), encoding="utf-8")
        printed = assess_json(runner, path)
        # With --critical: the very object, and the very bytes once indented as assess does.
        assert full[number]["result"] == json.loads(printed)
        assert json.dumps(full[number]["result"], indent=2, ensure_ascii=False) + "\n" == printed
        # By default: the same object without the (slow) critical answers.
        assert fast[number]["result"] == without_critical(json.loads(printed))


def test_jobs_2_in_a_real_process_gives_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    lines: list[Any] = [*CASES, BAD_VALUE, "not json"] * 8  # 176 lines: several chunks per worker
    source.write_text(jsonl(*lines), encoding="utf-8")
    program = str(Path(sys.executable).with_name("itb-triage"))

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([program, "batch", *args, str(source)], capture_output=True, timeout=300, check=False)

    one, two = run(), run("--jobs", "2")
    assert one.returncode == two.returncode == ExitStatus.INPUT_ERROR
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    assert len(one.stdout.splitlines()) == len(lines)



def _start_long_batch(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`batch --jobs 2` on enough cases to take seconds, in its own process group, once
    it has written its first records."""
    source, output = tmp_path / "cases.jsonl", tmp_path / "out.jsonl"
    source.write_text(jsonl(*CASES * 300), encoding="utf-8")
    program = str(Path(sys.executable).with_name("itb-triage"))
    child = subprocess.Popen([program, "batch", "--jobs", "2", "-o", str(output), *args, str(source)],
                             stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    # FILE appears only when complete (it is written atomically): watch its temporary file.
    while not _written(output) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, output


def _written(output: Path) -> bool:
    """Whether some records are written: to FILE's temporary file, or to FILE."""
    for path in [output, *output.parent.glob(f".{output.name}.*.tmp")]:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size:
                return True
    return False


@pytest.mark.slow
def test_ctrl_c_stops_jobs_2_with_status_130_and_one_line(tmp_path: Path) -> None:
    child, output = _start_long_batch(tmp_path)
    os.killpg(child.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == ExitStatus.INTERRUPTED
    assert stderr.decode().split() == ["interrupted"]  # no traceback from the pool's threads
    assert not output.exists() and not _written(output)  # no half output, no temporary left


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through /proc")
def test_a_worker_that_dies_is_status_4_and_one_line(tmp_path: Path) -> None:
    child, _output = _start_long_batch(tmp_path)
    workers = Path(f"/proc/{child.pid}/task/{child.pid}/children").read_text().split()
    os.kill(int(workers[0]), signal.SIGKILL)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == ExitStatus.ENGINE_FAILURE
    assert stderr.decode().splitlines() == [
        "itb-triage: error: a worker process died (a crash in the rule engine: please report it with the input)"
    ]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through /proc")
def test_workers_end_when_batch_is_killed(tmp_path: Path) -> None:
    child, _output = _start_long_batch(tmp_path)
    workers = [int(pid) for pid in Path(f"/proc/{child.pid}/task/{child.pid}/children").read_text().split()]
    assert len(workers) == 2
    child.kill()  # SIGKILL: the parent cannot tell them
    child.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, workers))


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie is reaped by init, in time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# --- what makes it fast, without changing a byte ------------------------------------


def test_compact_json_is_json_dumps_of_to_json_for_every_vignette(triage: Triage) -> None:
    for case in CASES:
        result = triage.assess_answers(case["answers"], case["id"])
        for _ in range(2):  # the second time from reused pieces
            assert compact_json(result) == json.dumps(result.to_json(), separators=(",", ":"))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers())
def test_compact_json_is_json_dumps_of_to_json_for_generated_cases(triage: Triage, answers: dict[str, Any]) -> None:
    result = triage.assess_answers(answers)
    assert compact_json(result) == json.dumps(result.to_json(), separators=(",", ":"))


def test_compact_json_never_reuses_text_for_a_changed_entry(triage: Triage) -> None:
    result = triage.assess_answers(CASES[0]["answers"])
    compact_json(result)
    changed = dict(result.recommendations[0])
    changed["title"] = "Something else"
    edited = type(result)(**{**result.__dict__, "recommendations": (changed, *result.recommendations[1:])})
    assert compact_json(edited) == json.dumps(edited.to_json(), separators=(",", ":"))


# Documents near the schema's edges: right and wrong types, bounds, duplicates, extras.
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 3000), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "yes", "no", "YES", "x" * 300, "lateral_knee"]),
    st.lists(st.sampled_from(["lateral_knee", "buttock", "ice", 1, 1.0, True]), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def case_documents(draw: st.DrawFn) -> Any:
    document: dict[str, Any] = {"format": draw(st.sampled_from(["itb-case/1", "itb-case/1", "itb-case/2"])),
                                "answers": draw(answers())}
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["answer", "answer", "top", "drop", "unknown"]))
        given = document.get("answers")
        if where == "answer" and isinstance(given, dict):
            given[draw(st.sampled_from(sorted(ANSWER_STRATEGIES)))] = draw(ODD_VALUES)
        elif where == "top":
            document[draw(st.sampled_from(["id", "note", "extra", "answers", "format"]))] = draw(ODD_VALUES)
        elif where == "drop":
            document.pop(draw(st.sampled_from(["format", "answers", "id"])), None)
        elif isinstance(given, dict):
            given["knee_lockng"] = "yes"
    return document if draw(st.integers(0, 9)) else draw(ODD_VALUES)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=case_documents())
def test_the_quick_case_check_only_accepts_what_jsonschema_accepts(knowledge: Knowledge, document: Any) -> None:
    # check_case skips jsonschema when its quick check vouches for a case, so a case it
    # accepts that jsonschema refuses would be the quick check's mistake. (A case it reads
    # forgivingly, "No" for "no", is valid once read: the case it returns is checked.)
    try:
        case = check_case(document, "case", knowledge)
    except CaseError:
        return
    assert jsonschema.Draft202012Validator(knowledge.case_schema).is_valid(case.to_json())


# What the screen refuses, in the places a case holds text, numbers and lists.
SCREENED_VALUES = st.one_of(
    ODD_VALUES, st.sampled_from(["\ud800", "caf\u00e9", "\udfff yes"]),
    st.lists(st.sampled_from(["lateral_knee", "buttock", "ice"]), min_size=60, max_size=70),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


@st.composite
def screened_documents(draw: st.DrawFn) -> Any:
    document = draw(case_documents())
    if isinstance(document, dict):
        given = document.get("answers")
        for _ in range(draw(st.integers(0, 2))):
            if isinstance(given, dict) and draw(st.booleans()):
                question = draw(st.sampled_from([*sorted(ANSWER_STRATEGIES), "caf\u00e9", "\ud800"]))
                given[question] = draw(SCREENED_VALUES)
            else:
                document[draw(st.sampled_from(["id", "note", "\ud800"]))] = draw(SCREENED_VALUES)
    return document


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=screened_documents())
def test_a_case_the_quick_check_accepts_passes_the_screen(knowledge: Knowledge, document: Any) -> None:
    # check_case screens a document only where the quick check does not vouch for it.
    checks = _schema_checks(knowledge.case_schema)
    assert checks.accepts is not None
    if checks.accepts(document):
        _screen(document, "case", "$", knowledge)  # raises CaseError where it would refuse it


def test_the_quick_check_vouches_only_for_what_it_looks_at() -> None:
    # A node that could hold anything, or a list of anything, gets no quick check: the
    # screen would have to walk what it holds.
    for schema in ({"type": "object", "properties": {"a": {}}},
                   {"type": "object", "properties": {"a": {"type": "array"}}}):
        assert _schema_checks(schema).accepts is None
    open_object = _schema_checks({"type": "object", "properties": {"a": {"type": "integer"}}}).accepts
    assert open_object is not None
    assert open_object({"a": 1})
    assert not open_object({"a": 1, "b": [math.nan]})  # valid, but not looked at: left to the full check
    text = _schema_checks({"type": "string"}).accepts
    assert text is not None
    assert text("caf\u00e9") and not text("\ud800")


def test_the_quick_case_check_vouches_for_ordinary_cases(knowledge: Knowledge) -> None:
    # Speed, not behaviour: no public door shows which check ran, so this one looks inside.
    checks = _schema_checks(knowledge.case_schema)
    assert checks.accepts is not None
    assert all(checks.accepts(case) for case in CASES)


def _firings(backend: DurableBackend, facts: list[Fact]) -> list[tuple[str, int, tuple[Fact, ...]]]:
    return [(f.rule.id, f.branch, f.matched) for f in backend.run_case(facts)]


def test_no_session_outlives_its_case_and_results_do_not_depend_on_the_case_before(triage: Triage) -> None:
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    first, second = (answer_facts(triage.assess_answers(c["answers"]).answers) for c in (CASES[0], CASES[3]))
    alone = _firings(backend, first)
    assert not backend.session_open()
    _firings(backend, second)
    assert _firings(backend, first) == alone
    assert _firings(backend, first) == alone
    assert not backend.session_open()


def test_an_error_inside_an_action_is_raised_and_the_next_case_is_unaffected(
    triage: Triage, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    facts = answer_facts(triage.assess_answers(CASES[0]["answers"]).answers)
    expected = _firings(backend, facts)

    def broken(_messages: str) -> Any:
        raise ValueError("boom")

    # Each action starts by looking up the firing its engine message stands for.
    monkeypatch.setattr(backend, "_firing", broken)
    with pytest.raises(EngineError, match="boom"):
        backend.run_case(facts)
    monkeypatch.undo()
    assert _firings(backend, facts) == expected
    assert not backend.session_open()


def test_an_interrupt_part_way_leaves_a_usable_engine(triage: Triage, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    facts = answer_facts(triage.assess_answers(CASES[0]["answers"]).answers)
    expected = _firings(backend, facts)
    original = backend._firing
    calls = {"n": 0}

    def interrupted(messages: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(messages)

    monkeypatch.setattr(backend, "_firing", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backend.run_case(facts)
    monkeypatch.undo()
    assert _firings(backend, facts) == expected
    assert not backend.session_open()


def test_a_fact_the_engine_refuses_is_an_engine_error_and_the_next_case_is_unaffected(triage: Triage) -> None:
    backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
    facts = answer_facts(triage.assess_answers(CASES[0]["answers"]).answers)
    expected = _firings(backend, facts)
    with pytest.raises(EngineError, match="already in the session"):
        backend.run_case([facts[0], *facts])  # the same answer twice
    assert _firings(backend, facts) == expected
    assert not backend.session_open()
