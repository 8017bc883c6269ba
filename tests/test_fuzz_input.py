"""Input fuzzing of `itb-triage assess`: whatever the bytes, a result or one clean line.

The contract for a case file (../shared/contract/README.md): exit status 0 with a result,
or exit status 2 with exactly one line on stderr; never a traceback, never a hang, never
a file written. Checked two ways:

- in-process, through Click's CliRunner, for many generated inputs: arbitrary JSON
  documents and YAML texts (recursive strategies), case-shaped documents with wrong
  types for every question, mutated valid cases, arbitrary bytes; each run in an empty
  temporary directory that must stay empty;
- in a real `itb-triage assess -` process, with a time limit and a memory limit
  (setrlimit), for a fixed sample of the nastiest inputs: huge numbers, strings and
  files, deep nesting (100,000 levels), invalid UTF-8, YAML anchors, aliases and tags.
  The process runs in an empty directory, with HOME, TMPDIR and the XDG folders pointed
  at empty directories, and all of them must stay empty.

The defects this fuzzing found are pinned by their own tests at the end; they are
fixed, and every generated input is held to the whole contract.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from click.testing import Result as CliResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import itb_triage.cli.main as cli_main
from itb_triage.cli.exit_codes import ExitStatus
from itb_triage.cli.main import cli
from itb_triage.engine import Triage
from itb_triage.engine.errors import MAX_PROBLEMS

from .conftest import DATA, examples, vignette
from .strategies import QUESTIONS, random_answers

CLASSIC: dict[str, Any] = vignette(DATA / "vignettes" / "v01_classic.json")["case"]
FORMATS = ("text", "markdown", "json")
PROCESS_SECONDS = 20  # a clean error takes about 0.3 s
PROCESS_MEMORY = 768 * 2**20  # address space; the CLI needs about 300 MiB of it
BOMB_SECONDS = 8
ERROR_PREFIX = "itb-triage: error: "
FUZZ = settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Inputs tried, by kind; printed at the end of the module's tests.
TRIED: Counter[str] = Counter()


# --- the contract ------------------------------------------------------------------------


def check_clean(exit_code: int, stdout: str, stderr: str) -> None:
    """Exit 0 with output and nothing on stderr, or exit 2 with one error line per problem."""
    assert "Traceback" not in stderr, stderr
    assert exit_code in (ExitStatus.OK, ExitStatus.INPUT_ERROR), (exit_code, stderr[-2000:])
    if exit_code == ExitStatus.OK:
        assert stderr == ""
        assert stdout.endswith("\n")
    else:
        assert stdout == ""
        assert stderr.endswith("\n")
        lines = stderr.splitlines()  # one line per problem, at most MAX_PROBLEMS and a count
        assert all(line.startswith(ERROR_PREFIX) for line in lines), stderr[:300]
        assert 1 <= len(lines) <= MAX_PROBLEMS + 1, f"too many lines: {stderr[:300]!r}"


@pytest.fixture(scope="module")
def assess_bytes(triage: Triage, request: pytest.FixtureRequest) -> Iterator[Callable[[bytes, str, str], CliResult]]:
    """Run `assess -` in-process on some bytes, in an empty directory; check the contract.

    The knowledge is loaded once (the CLI would load it for every call, 0.1 s each,
    and it does not depend on the input); everything from reading stdin on is the CLI's.
    """
    runner = CliRunner()

    def run(data: bytes, kind: str, fmt: str = "json") -> CliResult:
        TRIED[kind] += 1
        with tempfile.TemporaryDirectory() as empty:
            previous = os.getcwd()
            os.chdir(empty)
            try:
                result = runner.invoke(cli, ["assess", "--format", fmt, "-"], input=data)
            finally:
                os.chdir(previous)
            assert os.listdir(empty) == [], "assess wrote a file"
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        check_clean(result.exit_code, result.stdout, result.stderr)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_main, "triage", lambda: triage)
        yield run
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and TRIED:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(TRIED.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nfuzz inputs tried: {counts}")


# --- strategies --------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
question_ids = st.sampled_from(sorted(QUESTIONS))
case_documents = st.fixed_dictionaries(
    {
        "format": st.just("itb-case/1") | json_values,
        "answers": st.dictionaries(question_ids | st.text(max_size=12), json_values, max_size=6) | json_values,
    },
    optional={"id": st.text(max_size=30) | json_values, "note": st.text(max_size=30) | json_values,
              "extra": json_values},
)


@st.composite
def one_wrong_answer(draw: st.DrawFn) -> dict[str, Any]:
    """A valid case with one answer replaced by any JSON value (often of the wrong type)."""
    answers = draw(random_answers)
    answers[draw(question_ids)] = draw(json_values)
    return {"format": "itb-case/1", "answers": answers}


# YAML text from fragments: anchors, aliases, tags, flow and block style, odd scalars.
YAML_SCALARS = [
    "yes", "no", "unsure", "~", "null", "true", "False", "0x1F", "0o17", "0b101", "1_000", "190:20:30", ".inf",
    "-.inf", ".nan", "1e999", "-0", "3.", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "'quoted'", '"a\\tb"',
    "!!str 12", "!!int '7'", "!!float '1.5'", "!!binary aGVsbG8=", "!!bool yes", "!!null ''", "!foo bar",
    "!!python/name:os.system", "!!python/object/apply:os.system ['true']", "!<tag:example.com,2000:x> y",
    "*undefined", "lateral_knee", "[lateral_knee, lateral_thigh]", "{a: 1}", "|\n  block", ">-\n  folded",
    "&a1 anchored", "*a1", "? complex\n: key", "<<: {merged: 1}", "- item", "\t", "%", "@reserved", "`tick",
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """A YAML text: a case skeleton with generated values, or a random assembly of fragments."""
    fragment = st.sampled_from(YAML_SCALARS) | st.text(max_size=10)
    if draw(st.booleans()):
        lines = ["format: itb-case/1", "answers:"]
        for question in draw(st.lists(question_ids | st.text(max_size=8), max_size=5)):
            lines.append(f"  {question}: {draw(fragment)}")
        for extra in draw(st.lists(fragment, max_size=2)):
            lines.append(extra)
        return "\n".join(lines) + "\n"
    separator = st.sampled_from(["\n", " ", ": ", "\n  ", "\n- ", ", ", "\n---\n"])
    parts = draw(st.lists(st.tuples(fragment, separator), max_size=8))
    return "".join(a + b for a, b in parts)


@st.composite
def yaml_with_shared_nodes(draw: st.DrawFn) -> str:
    """Documents in which some values are the same object, so the dumper writes &anchors and *aliases."""
    shared = draw(json_values.filter(lambda v: isinstance(v, (list, dict))))
    answers = {q: shared for q in draw(st.lists(question_ids, max_size=3, unique=True))}
    document = {"format": "itb-case/1", "answers": answers, "note": shared}
    return yaml.safe_dump(document, allow_unicode=draw(st.booleans()))


@st.composite
def damaged_cases(draw: st.DrawFn) -> bytes:
    """A valid case file with a few bytes replaced, inserted or cut."""
    text = bytearray(json.dumps(CLASSIC).encode() if draw(st.booleans()) else _classic_yaml().encode())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "cut"]))
        chunk = draw(st.binary(min_size=1, max_size=4))
        if action == "replace":
            text[position:position + len(chunk)] = chunk
        elif action == "insert":
            text[position:position] = chunk
        else:
            del text[position:position + len(chunk)]
    return bytes(text)


def _classic_yaml() -> str:
    lines = [f"format: {CLASSIC['format']}", f"id: {CLASSIC['id']}", "answers:"]
    for question, value in CLASSIC["answers"].items():
        shown = f"[{', '.join(value)}]" if isinstance(value, list) else value
        lines.append(f"  {question}: {shown}")
    return "\n".join(lines) + "\n"


# --- in-process fuzzing ------------------------------------------------------------------


@FUZZ
@given(document=json_values, fmt=st.sampled_from(FORMATS))
def test_any_json_document(assess_bytes: Callable[..., CliResult], document: Any, fmt: str) -> None:
    assess_bytes(json.dumps(document).encode(), "json document", fmt)


@FUZZ
@given(document=case_documents, fmt=st.sampled_from(FORMATS))
def test_any_case_shaped_json_document(assess_bytes: Callable[..., CliResult], document: Any, fmt: str) -> None:
    assess_bytes(json.dumps(document).encode(), "case-shaped json", fmt)


@FUZZ
@given(document=one_wrong_answer(), fmt=st.sampled_from(FORMATS))
def test_a_valid_case_with_one_answer_of_any_value(
    assess_bytes: Callable[..., CliResult], document: Any, fmt: str
) -> None:
    assess_bytes(json.dumps(document).encode(), "one answer of any value", fmt)


@FUZZ
@given(document=case_documents)
def test_any_case_shaped_document_as_yaml(assess_bytes: Callable[..., CliResult], document: Any) -> None:
    data = yaml.safe_dump(document, allow_unicode=True).encode()
    assess_bytes(data, "case-shaped yaml", "json")


@FUZZ
@given(text=yaml_texts(), fmt=st.sampled_from(FORMATS))
def test_any_yaml_text(assess_bytes: Callable[..., CliResult], text: str, fmt: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assess_bytes(data, "yaml text", fmt)


@FUZZ
@given(text=yaml_with_shared_nodes())
def test_yaml_anchors_and_aliases(assess_bytes: Callable[..., CliResult], text: str) -> None:
    data = text.encode()
    assess_bytes(data, "yaml with anchors", "json")


@FUZZ
@given(data=damaged_cases(), fmt=st.sampled_from(FORMATS))
def test_a_damaged_case_file(assess_bytes: Callable[..., CliResult], data: bytes, fmt: str) -> None:
    assess_bytes(data, "damaged case", fmt)


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes(assess_bytes: Callable[..., CliResult], data: bytes) -> None:
    assess_bytes(data, "bytes", "json")


WRONG_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, -0.0, 10**30, 1e308, "", "YES", "no ", "lateral_knee", "x" * 300, [], [None],
    ["yes"], ["lateral_knee", "lateral_knee"], [["lateral_knee"]], {}, {"yes": True}, [1, "a", None],
]


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_wrong_types_for_every_question(assess_bytes: Callable[..., CliResult], question: str) -> None:
    for value in WRONG_VALUES:
        document = {"format": "itb-case/1", "answers": {**CLASSIC["answers"], question: value}}
        result = assess_bytes(json.dumps(document).encode(), "wrong type for a question")
        if result.exit_code == ExitStatus.INPUT_ERROR:
            assert f"$.answers.{question}" in result.stderr, (value, result.stderr)


# A yes/no question reads these as the choice they mean (YAML's booleans, any letter case).
READ_AS_YES_NO = [True, False, "YES"]


def test_every_wrong_type_is_refused_for_a_yes_no_question(assess_bytes: Callable[..., CliResult]) -> None:
    for value in WRONG_VALUES:
        if any(value is v or (type(value) is str and value == v) for v in READ_AS_YES_NO):
            continue
        document = {"format": "itb-case/1", "answers": {"knee_locking": value}}
        result = assess_bytes(json.dumps(document).encode(), "wrong type for a question")
        assert result.exit_code == ExitStatus.INPUT_ERROR, value


def test_aliases_in_a_valid_case_are_read_like_the_values(assess_bytes: Callable[..., CliResult]) -> None:
    text = "format: itb-case/1\nanswers:\n  knee_locking: &n no\n  knee_giving_way: *n\n" \
           "  pain_locations: &where [lateral_knee]\n"
    as_alias = assess_bytes(text.encode(), "yaml with anchors")
    plain = assess_bytes(text.replace("&n ", "").replace("*n", "no").replace("&where ", "").encode(),
                         "yaml with anchors")
    assert as_alias.exit_code == ExitStatus.OK
    assert as_alias.stdout == plain.stdout


# --- a real process, with limits, for the nastiest inputs ------------------------------------


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (PROCESS_MEMORY, PROCESS_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_process(data: bytes, tmp_path: Path, seconds: float = PROCESS_SECONDS) -> subprocess.CompletedProcess[bytes]:
    """`itb-triage assess -` on `data` in an empty directory, with empty home and temp folders."""
    TRIED["real process"] += 1
    work, home = tmp_path / "cwd", tmp_path / "home"
    folders = [work, home, tmp_path / "tmp", *(home / name for name in ("data", "config", "cache", "state"))]
    for folder in folders:
        folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTEST_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp_path / "tmp"), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
               XDG_STATE_HOME=str(home / "state"), PYTHONDONTWRITEBYTECODE="1")
    script = Path(sys.executable).with_name("itb-triage")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "import itb_triage.cli.main as m; m.main()"]
    process = subprocess.run([*command, "assess", "-"], input=data, capture_output=True, cwd=work, env=env,
                             timeout=seconds, preexec_fn=_limits, check=False)
    written = [str(p) for folder in folders for p in folder.rglob("*") if p.is_file()]
    assert written == [], f"files written: {written}"
    return process


def check_process(process: subprocess.CompletedProcess[bytes]) -> None:
    assert process.returncode >= 0, f"killed by signal {-process.returncode}"
    stdout, stderr = (stream.decode("utf-8", "replace") for stream in (process.stdout, process.stderr))
    check_clean(process.returncode, stdout, stderr)


def _case(answers: str = "{}", extra: str = "") -> bytes:
    return ('{"format": "itb-case/1", "answers": ' + answers + extra + "}").encode()


def _yaml_case(answers: str, extra: str = "") -> bytes:
    return f"format: itb-case/1\nanswers:\n{answers}\n{extra}".encode()


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


DEEP = 100_000
NASTY: dict[str, Callable[[], bytes]] = {
    # empty and odd text
    "empty": lambda: b"",
    "only_a_bom": lambda: "\ufeff".encode(),
    "bom_then_case": lambda: "\ufeff".encode() + json.dumps(CLASSIC).encode(),
    "only_newlines": lambda: b"\n" * 10_000,
    # invalid UTF-8 and other encodings
    "invalid_utf8_start": lambda: b"\xff\xfe\xfd" + json.dumps(CLASSIC).encode(),
    "invalid_utf8_in_a_value": lambda: b'{"format": "itb-case/1", "answers": {"side": "ri\xc3\x28ght"}}',
    "overlong_utf8": lambda: b'{"format": "itb-case/1", "id": "\xc0\xaf", "answers": {}}',
    "utf8_encoded_surrogate": lambda: b'{"format": "itb-case/1", "id": "\xed\xa0\x80", "answers": {}}',
    "truncated_utf8": lambda: json.dumps(CLASSIC).encode()[:-2] + b"\xe2\x82",
    "utf16_with_bom": lambda: json.dumps(CLASSIC).encode("utf-16"),
    "utf32_with_bom": lambda: json.dumps(CLASSIC).encode("utf-32"),
    "random_bytes_64k": lambda: _random_bytes(65_536, 1),
    # huge numbers
    "json_5000_digit_integer": lambda: _case('{"age_years": ' + "9" * 5000 + "}"),
    "json_100k_digit_integer": lambda: _case('{"duration_weeks": ' + "9" * 100_000 + "}"),
    "json_negative_huge_integer": lambda: _case('{"duration_weeks": -' + "9" * 5000 + "}"),
    "json_1e999999": lambda: _case('{"weekly_distance_km": 1e999999}'),
    "json_minus_1e999": lambda: _case('{"weekly_distance_km": -1e999}'),
    "json_1e-999999": lambda: _case('{"weekly_distance_km": 1e-999999}'),
    "json_100k_decimals": lambda: _case('{"weekly_distance_km": 1.' + "3" * 100_000 + "}"),
    "json_nan_infinity": lambda: _case('{"weekly_distance_km": NaN, "duration_weeks": Infinity}'),
    "yaml_5000_digit_integer": lambda: _yaml_case("  age_years: " + "9" * 5000),
    "yaml_hex_5000_digits": lambda: _yaml_case("  age_years: 0x" + "F" * 5000),
    "yaml_sexagesimal": lambda: _yaml_case("  age_years: 190:20:30"),
    "yaml_inf_and_nan": lambda: _yaml_case("  weekly_distance_km: .inf\n  duration_weeks: .nan"),
    "yaml_underscored_huge": lambda: _yaml_case("  age_years: " + "9_" * 3000 + "9"),
    # huge strings and files
    "id_of_900k": lambda: json.dumps({**CLASSIC, "id": "x" * 900_000}).encode(),
    "note_of_900k": lambda: json.dumps({**CLASSIC, "note": "n" * 900_000}).encode(),
    "answer_of_900k": lambda: _case(json.dumps({"side": "l" * 900_000})),
    "question_id_of_900k": lambda: _case(json.dumps({"q" * 900_000: "no"})),
    "exactly_at_the_size_limit": lambda: json.dumps(CLASSIC).encode().ljust(1_000_000),
    "one_byte_over_the_limit": lambda: json.dumps(CLASSIC).encode().ljust(1_000_001),
    "file_of_3mb_padding": lambda: json.dumps(CLASSIC).encode().ljust(3_000_000),
    "file_of_5mb_random": lambda: _random_bytes(5_000_000, 2),
    "list_of_100k_answers": lambda: _case(json.dumps({"pain_locations": ["lateral_knee"] * 100_000})),
    "60k_unknown_questions": lambda: _case(json.dumps({f"q{i}": "no" for i in range(60_000)})),
    # deep nesting
    "json_arrays_100k_deep": lambda: _case(extra=', "note": ' + "[" * DEEP + "]" * DEEP),
    "json_objects_100k_deep": lambda: _case(extra=', "note": ' + '{"a": ' * DEEP + "1" + "}" * DEEP),
    "json_unclosed_100k": lambda: b"[" * DEEP,
    "json_answer_990_deep": lambda: _case('{"side": ' + "[" * 990 + "]" * 990 + "}"),
    "yaml_flow_100k_deep": lambda: _yaml_case("  side: " + "[" * DEEP + "]" * DEEP),
    "yaml_flow_maps_100k_deep": lambda: _yaml_case("  side: " + "{a: " * DEEP + "1" + "}" * DEEP),
    "yaml_block_sequences_100k_deep": lambda: _yaml_case("  side:\n    " + "- " * DEEP + "x"),
    "yaml_block_mappings_900_deep": lambda: (
        "format: itb-case/1\nanswers: {}\nnote:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(900))
    ).encode(),
    # anchors, aliases, tags
    "yaml_recursive_alias": lambda: _yaml_case("  side: left", "note: &a [*a]\n"),
    "yaml_undefined_alias": lambda: _yaml_case("  side: *nowhere"),
    "yaml_merge_of_a_list": lambda: _yaml_case("  <<: [1, 2]"),
    "yaml_merge_chain": lambda: (
        "format: itb-case/1\nm0: &m0 {a: 1}\n"
        + "".join(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}}}\n" for i in range(1, 200))
        + "answers: {}\n"
    ).encode(),
    "yaml_python_object_apply": lambda: _yaml_case("  side: !!python/object/apply:os.system ['touch pwned']"),
    "yaml_python_name": lambda: b"!!python/name:os.system\n",
    "yaml_python_module": lambda: _yaml_case("  side: !!python/module:os"),
    "yaml_python_new": lambda: b"!!python/object/new:os.system [touch pwned]\n",
    "yaml_tag_directive": lambda: b"%TAG !p! tag:yaml.org,2002:python/\n---\n!p!object/apply:os.system ['touch x']\n",
    "yaml_custom_tag": lambda: _yaml_case("  side: !foo left"),
    "yaml_verbatim_tag": lambda: _yaml_case("  side: !<tag:example.com,2000:app/foo> left"),
    "yaml_set_omap_binary": lambda: _yaml_case("  pain_locations: !!set {lateral_knee}\n  side: !!binary bGVmdA=="),
    "yaml_two_documents": lambda: _yaml_case("  side: left", "---\nformat: itb-case/1\nanswers: {}\n"),
    "yaml_version_directive": lambda: b"%YAML 2.0\n---\nformat: itb-case/1\nanswers: {}\n",
    "yaml_timestamp_keys": lambda: _yaml_case("  2001-12-14: no"),
    "yaml_complex_key": lambda: _yaml_case("  ? [knee_locking]\n  : no"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_input_in_a_real_process(name: str, tmp_path: Path) -> None:
    check_process(run_process(NASTY[name](), tmp_path))


@pytest.mark.slow
@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=case_documents)
def test_generated_cases_in_a_real_process(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        check_process(run_process(json.dumps(document).encode(), Path(temp)))


# --- defects found by this fuzzing, now fixed: each pinned by its own test -------------------


def _bomb(levels: int = 9, indent: str = "  ") -> list[str]:
    """A billion-laughs alias bomb: 9 levels of 9 aliases, 9**9 strings once expanded."""
    lines = [f"{indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return lines


BOMBS = {
    "under_an_unknown_key": lambda: ("format: itb-case/1\nanswers: {}\nbomb:\n" + "\n".join(_bomb()) + "\n").encode(),
    "as_the_note": lambda: (
        "format: itb-case/1\nanswers: {}\nnote:\n"
        + "\n".join(f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]"
                    for i in range(9)) + "\n"
    ).encode(),
    "as_an_answer": lambda: ("format: itb-case/1\nbombs:\n" + "\n".join(_bomb()) + "\nanswers: {side: *l8}\n").encode(),
}


@pytest.mark.slow
@pytest.mark.parametrize("where", sorted(BOMBS))
def test_a_billion_laughs_alias_bomb_is_refused_quickly(where: str, tmp_path: Path) -> None:
    try:
        process = run_process(BOMBS[where](), tmp_path, seconds=BOMB_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {BOMB_SECONDS} s")
    check_process(process)
    assert process.returncode == ExitStatus.INPUT_ERROR


@pytest.mark.slow
def test_a_long_list_of_distinct_objects_is_refused_quickly(tmp_path: Path) -> None:
    data = _case(json.dumps({"pain_locations": [{"a": i} for i in range(20_000)]}))
    try:
        process = run_process(data, tmp_path, seconds=BOMB_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {BOMB_SECONDS} s")
    check_process(process)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lone_surrogate_in_the_case_id(assess_bytes: Callable[..., CliResult], fmt: str) -> None:
    assess_bytes(b'{"format": "itb-case/1", "id": "\\ud800", "answers": {}}', "fixed defect", fmt)


@pytest.mark.slow
def test_a_lone_surrogate_in_the_case_id_in_a_real_process(tmp_path: Path) -> None:
    check_process(run_process(b'{"format": "itb-case/1", "id": "\\ud800", "answers": {}}', tmp_path))


@pytest.mark.parametrize("key", ["a\nb", "a\rb", "a\u2028b"], ids=["newline", "carriage_return", "line_separator"])
def test_a_line_break_in_an_unknown_question_id(assess_bytes: Callable[..., CliResult], key: str) -> None:
    assess_bytes(json.dumps({"format": "itb-case/1", "answers": {key: "no"}}).encode(), "fixed defect")


def test_a_line_break_in_a_key_on_the_way_to_a_nan(assess_bytes: Callable[..., CliResult]) -> None:
    assess_bytes(b'{"format": "itb-case/1", "answers": {}, "x\\ny": NaN}', "fixed defect")


@pytest.mark.parametrize("data", [
    b"format: itb-case/1\nanswers: {}\nnote: \x1f\n",
    b"\x00\x00",
    b'{"format": "itb-case/1", "id": "a\x01b", "answers": {}}',
], ids=["unit_separator_in_yaml", "nul_bytes", "raw_control_character_in_a_json_string"])
def test_a_control_character_in_the_text(assess_bytes: Callable[..., CliResult], data: bytes) -> None:
    assess_bytes(data, "fixed defect")


@pytest.mark.parametrize("value", ["!!bool maybe", "!!timestamp nope", "!!map [1]", "!!bool yes\n  yes"],
                         ids=["bool", "timestamp", "map_of_a_sequence", "bool_over_two_lines"])
def test_a_core_tag_on_a_value_it_cannot_convert(assess_bytes: Callable[..., CliResult], value: str) -> None:
    assess_bytes(f"format: itb-case/1\nanswers: {{}}\nnote: {value}\n".encode(), "fixed defect")


HUGE = "x" * 900_000
HUGE_VALUES = {
    "id": {**CLASSIC, "id": HUGE},
    "note": {**CLASSIC, "note": HUGE},
    "top_level_key": {**CLASSIC, HUGE: 1},
    "question_id": {**CLASSIC, "answers": {HUGE: "no"}},
}


@pytest.mark.parametrize("where", sorted(HUGE_VALUES))
def test_an_error_line_stays_short_whatever_the_value(assess_bytes: Callable[..., CliResult], where: str) -> None:
    result = assess_bytes(json.dumps(HUGE_VALUES[where]).encode(), "fixed defect")
    assert len(result.stderr) < 1000, f"an error line of {len(result.stderr):,} characters"
