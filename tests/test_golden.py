"""Golden files for `assess` (the summary and --detail), `explain`, its --why-not and
--what-if, and `report`.

The output is the product, so whole outputs are compared with files in tests/golden/
(`<vignette>.<command>.<ext>`), run through the Click commands on five vignettes. The
knowledge version (a hash of the knowledge files) is replaced by `KNOWLEDGE_VERSION`,
so a knowledge edit that changes no output does not break them; reports are dated
1 January 2026 (SOURCE_DATE_EPOCH).

When an output changes on purpose (a rule, a text, a renderer), regenerate and review
the diff before committing:

    ITB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
    git diff tests/golden/
    .venv/bin/python -m pytest tests/test_golden.py

The first command rewrites the files and fails every test it rewrote (nothing was
checked), so a run with ITB_UPDATE_GOLDEN=1 can never pass; CI refuses to run with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge

from .conftest import DATA, vignette
from .strategies import SCREENING

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ITB_UPDATE_GOLDEN") == "1"
VIGNETTES = ("v01_classic", "v08_locking", "v11_failed_self_care", "v14_incomplete", "v18_gluteal")
SCREENING_NO = [f"{q}=no" for q in SCREENING]  # every screening question without a parent
WHY_NOT = {
    "v01_classic": "race_guidance",  # needs an answer the case does not give
    "v08_locking": "self_care",  # blocked by a negated finding; outranked by same_day
    "v11_failed_self_care": "self_care",
    "v14_incomplete": "self_care",  # needs more than one answer
    "v18_gluteal": "itbs",  # a condition shown as possible: why not stronger?
}
WHAT_IF = {
    "v01_classic": ["knee_locking=yes"],
    "v08_locking": ["knee_locking=no"],
    "v11_failed_self_care": ["trend=better"],
    "v14_incomplete": SCREENING_NO,
    "v18_gluteal": ["pain_locations=lateral_knee,lateral_hip", "pain_lying_on_side=no"],
}


def _case(name: str) -> str:
    return json.dumps(vignette(DATA / "vignettes" / f"{name}.json")["case"])


def _normalise(text: str, knowledge: Knowledge) -> str:
    return text.replace(knowledge.version, "KNOWLEDGE_VERSION")


def _check(name: str, text: str, knowledge: Knowledge) -> None:
    path = GOLDEN / name
    text = _normalise(text, knowledge)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        # Rewritten, not checked: such a run must never look like a pass (.ci/run refuses it too).
        pytest.fail(f"rewrote {path.name} (ITB_UPDATE_GOLDEN=1): review `git diff tests/golden/`, "
                    "then run again without it", pytrace=False)
    assert path.exists(), f"{path} is missing; regenerate with ITB_UPDATE_GOLDEN=1 (see this module's docstring)"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file; if intended, regenerate (see the docstring)"


REPORT_DATE = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01


def _run(runner: CliRunner, args: list[str], stdin: str) -> str:
    result = runner.invoke(cli, args, input=stdin, env=REPORT_DATE)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "" or result.stderr.startswith("Report written to ")
    return result.stdout


@pytest.mark.parametrize("name", VIGNETTES)
@pytest.mark.parametrize("detail,ext", [(False, "summary.txt"), (True, "detail.txt")])
def test_assess_matches_golden(runner: CliRunner, knowledge: Knowledge, name: str, detail: bool, ext: str) -> None:
    out = _run(runner, ["assess", *(["--detail"] if detail else []), "-"], _case(name))
    _check(f"{name}.assess.{ext}", out, knowledge)


@pytest.mark.parametrize("name", VIGNETTES)
@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json")])
def test_explain_matches_golden(runner: CliRunner, knowledge: Knowledge, name: str, fmt: str, ext: str) -> None:
    out = _run(runner, ["explain", "--format", fmt, "-"], _case(name))
    _check(f"{name}.explain.{ext}", out, knowledge)


@pytest.mark.parametrize("name", VIGNETTES)
@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json")])
def test_why_not_matches_golden(runner: CliRunner, knowledge: Knowledge, name: str, fmt: str, ext: str) -> None:
    out = _run(runner, ["explain", "--format", fmt, "--why-not", WHY_NOT[name], "-"], _case(name))
    _check(f"{name}.why-not.{ext}", out, knowledge)


@pytest.mark.parametrize("name", VIGNETTES)
@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json")])
def test_what_if_matches_golden(runner: CliRunner, knowledge: Knowledge, name: str, fmt: str, ext: str) -> None:
    changes = [arg for change in WHAT_IF[name] for arg in ("--what-if", change)]
    out = _run(runner, ["explain", "--format", fmt, *changes, "-"], _case(name))
    _check(f"{name}.what-if.{ext}", out, knowledge)


@pytest.mark.parametrize("name", VIGNETTES)
@pytest.mark.parametrize("ext", ["md", "html"])
def test_report_matches_golden(runner: CliRunner, knowledge: Knowledge, tmp_path: Path, name: str, ext: str) -> None:
    output = tmp_path / f"report.{ext}"
    _run(runner, ["report", "-", "-o", str(output)], _case(name))
    _check(f"{name}.report.{ext}", output.read_text(encoding="utf-8"), knowledge)
