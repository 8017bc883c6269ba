"""`batch --engine dask`: the same bytes as `batch --jobs 2`, on a Dask cluster.

Each test starts a cluster on 127.0.0.1 (two worker processes) and runs `itb-triage`
as a program, with a time limit.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from itb_triage.cli.exit_codes import ExitStatus
from itb_triage.cli.main import cli

from .strategies import QUESTIONS

distributed = pytest.importorskip("distributed")

PROGRAM = str(Path(sys.executable).with_name("itb-triage"))
LIMIT = 600  # seconds for one command, on a busy 2-core machine
BAD_LINES = ["not json at all", "", '{"format": "itb-case/1", "answers": {"side": "up"}}', "[1, 2]"]


def generated_cases(count: int, seed: int) -> list[dict[str, Any]]:
    """Valid cases from the case schema: any subset of the questions, any admitted value."""
    rng = random.Random(seed)

    def value(spec: dict[str, Any]) -> Any:
        if "enum" in spec:
            return rng.choice(spec["enum"])
        if spec.get("type") == "array":
            options = spec["items"]["enum"]
            return rng.sample(options, rng.randint(spec.get("minItems", 0), len(options)))
        if spec["type"] == "integer":
            return rng.randint(spec["minimum"], spec["maximum"])
        return round(rng.uniform(spec["minimum"], spec["maximum"]), rng.choice((0, 1, 3)))

    cases = []
    for _ in range(count):
        share = rng.random()
        cases.append({"format": "itb-case/1",
                      "answers": {q: value(spec) for q, spec in QUESTIONS.items() if rng.random() < share}})
    return cases


def write_input(path: Path, count: int) -> None:
    lines = [json.dumps(case) for case in generated_cases(count, seed=count)]
    for offset, bad in enumerate(BAD_LINES):  # spread through the input
        lines.insert(1 + offset * (count // len(BAD_LINES)), bad)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PROGRAM, "batch", *args], capture_output=True, timeout=LIMIT, check=False)


@pytest.mark.slow
def test_on_a_local_cluster_of_two_workers_1000_cases_give_the_bytes_of_jobs_2(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    write_input(source, 1000)
    expected = run("--jobs", "2", str(source))
    assert expected.returncode == ExitStatus.INPUT_ERROR  # the bad lines
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        got = run("--engine", "dask", "--scheduler", cluster.scheduler_address, str(source))
    assert got.stdout == expected.stdout
    assert (got.returncode, got.stderr) == (expected.returncode, expected.stderr)
    records = [json.loads(line) for line in got.stdout.splitlines()]
    assert len(records) == 1000 + len(BAD_LINES) - 1  # the blank line is skipped
    assert sum("error" in r for r in records) == len(BAD_LINES) - 1
    assert [r["line"] for r in records] == sorted(r["line"] for r in records)


@pytest.mark.slow
def test_without_a_scheduler_it_starts_its_own_cluster_for_a_folder_and_for_stdin(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    for number, case in enumerate(generated_cases(150, seed=7)):
        (folder / f"case-{number:03d}.json").write_text(json.dumps(case), encoding="utf-8")
    (folder / "zz-broken.yaml").write_text("answers: [", encoding="utf-8")
    expected = run("--jobs", "2", str(folder))
    got = run("--engine", "dask", "--jobs", "2", str(folder))
    assert got.stdout == expected.stdout and got.returncode == expected.returncode
    assert b'"file":"zz-broken.yaml","error"' in got.stdout

    source = tmp_path / "cases.jsonl"
    write_input(source, 200)
    text = source.read_bytes()
    expected = subprocess.run([PROGRAM, "batch", "-"], input=text, capture_output=True, timeout=LIMIT, check=False)
    got = subprocess.run([PROGRAM, "batch", "--engine", "dask", "--jobs", "2", "-"], input=text,
                         capture_output=True, timeout=LIMIT, check=False)
    assert got.stdout == expected.stdout and got.returncode == expected.returncode


def test_scheduler_without_the_dask_engine_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["batch", "--scheduler", "tcp://127.0.0.1:8786", str(source)])
    assert result.exit_code == ExitStatus.INPUT_ERROR
    assert result.stderr == "itb-triage: error: --scheduler needs --engine dask\n"


def test_without_dask_installed_the_dask_engine_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text("", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "dask.bag", None)  # importing it raises ImportError
    result = CliRunner().invoke(cli, ["batch", "--engine", "dask", str(source)])
    assert result.exit_code == ExitStatus.INPUT_ERROR
    assert result.stderr == "itb-triage: error: --engine dask needs Dask: pip install 'itb-triage[dask]'\n"
