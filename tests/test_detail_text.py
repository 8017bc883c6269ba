"""`assess --detail` and `explain`: what runners hit in the full text, fixed and pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge
from itb_triage.engine.knowledge_text import drop_dangling_references, near_duplicates, number_source_keys

from .conftest import DATA, VIGNETTES, vignette

REPO = Path(__file__).resolve().parents[1]


def _detail(runner: CliRunner, case: dict[str, Any]) -> str:
    run = runner.invoke(cli, ["assess", "--detail", "-"], input=json.dumps(case))
    assert run.exit_code == 0, run.stderr
    return run.stdout


def _case(name: str) -> dict[str, Any]:
    return dict(vignette(DATA / "vignettes" / f"{name}.json")["case"])


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_references_are_numbered_in_order_of_first_use(runner: CliRunner, path: Path) -> None:
    text = _detail(runner, vignette(path)["case"])
    body = text.split("\nREFERENCES\n")[0]
    first_use = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", body)))
    assert first_use == list(range(1, len(first_use) + 1))


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_every_see_reference_points_to_a_section_shown(runner: CliRunner, path: Path) -> None:
    text = _squash(_detail(runner, vignette(path)["case"]))
    for target in re.findall(r'\(see "([^"]+)"\)', text):
        assert re.search(rf"\d+\. {re.escape(target)}", text), target


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_no_source_keys_in_the_text(runner: CliRunner, path: Path, knowledge: Knowledge) -> None:
    text = _detail(runner, vignette(path)["case"])
    keys = [c for c in knowledge.citations if re.search(rf"\b{re.escape(c)}\b", text)]
    assert keys == []


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_no_ladder_words_or_ids_in_the_text(runner: CliRunner, path: Path) -> None:
    # The rules' reasons are shown to the runner: they must not speak the ladder's jargon.
    text = _detail(runner, vignette(path)["case"])
    jargon = re.findall(r"\b(?:rung|tier|disposition)s?\b|\b[a-z]+_[a-z_]+\b", text, re.IGNORECASE)
    assert jargon == []


def test_not_if_cautions_are_in_the_text(runner: CliRunner, knowledge: Knowledge) -> None:
    text = _squash(_detail(runner, _case("v01_classic")))
    cautions = [c for r in knowledge.recommendations.values() if r["id"] == "ice_cup"
                for c in r.get("contraindications", [])]
    assert cautions and all(f"Not if: {_squash(c)}" in text for c in cautions)


def test_a_same_day_result_does_not_ask_for_questions_the_interview_skipped(runner: CliRunner) -> None:
    case = _case("v08_locking")
    for question in ("night_pain", "focal_bone_pain", "calf_swelling"):
        case["answers"].pop(question, None)
    result = json.loads(runner.invoke(cli, ["assess", "-f", "json", "-"], input=json.dumps(case)).stdout)
    assert result["disposition"] == "same_day" and result["unanswered_screening"]
    assert "PLEASE ANSWER THESE SAFETY QUESTIONS" not in _detail(runner, case)


def test_an_incomplete_result_asks_for_the_safety_questions(runner: CliRunner) -> None:
    assert "PLEASE ANSWER THESE SAFETY QUESTIONS" in _detail(runner, _case("v14_incomplete"))


def test_not_sure_about_a_safety_question_names_it(runner: CliRunner, knowledge: Knowledge) -> None:
    case = _case("v15_unsure_flag")
    unsure = [q for q, a in case["answers"].items() if a == "unsure" and knowledge.questions[q].get("screening")]
    text = _squash(_detail(runner, case))
    assert unsure and all(_squash(knowledge.questions[q]["text"]) in text for q in unsure)


def test_the_stubborn_example_gives_each_reason_once(runner: CliRunner) -> None:
    case = (REPO / "examples" / "stubborn.yaml").read_text(encoding="utf-8")
    run = runner.invoke(cli, ["assess", "--detail", "-"], input=case)
    why = run.stdout.split("\nWHY\n")[1].split("\nREFERENCES\n")[0]
    bullets = [b for b in why.split("\n - ") if b.strip()]
    assert len(bullets) == len(near_duplicates(bullets, str)) == 1


def test_why_not_without_sources_has_no_reference_heading(runner: CliRunner) -> None:
    run = runner.invoke(cli, ["explain", "--why-not", "itbs=likely", "-"], input=json.dumps(_case("v01_classic")))
    assert run.exit_code == 0, run.stderr
    assert "REFERENCES" not in run.stdout


def test_explain_lists_references_without_gaps(runner: CliRunner) -> None:
    run = runner.invoke(cli, ["explain", "-"], input=json.dumps(_case("v11_failed_self_care")))
    listed = [int(n) for n in re.findall(r"^\s*\[(\d+)\] ", run.stdout.split("\nREFERENCES\n")[1], re.MULTILINE)]
    assert listed == list(range(1, len(listed) + 1))


def test_wording_helpers() -> None:
    assert drop_dangling_references('ease back (see "Let it settle").', ["Other"]) == "ease back."
    assert drop_dangling_references('ease back (see "Let it settle").', ["let it settle"]).endswith('settle").')
    numbers = {"beals2013": 2, "ellis2007": 5}
    assert number_source_keys("reports it (beals2013).", numbers, numbers.__getitem__) == "reports it [2]."
    assert number_source_keys("(beals2013, ellis2007)", numbers, numbers.__getitem__) == "[2][5]"
    assert number_source_keys("found (ellis2007; ten runners)", numbers, numbers.__getitem__) == \
        "found ([5]; ten runners)"
    assert near_duplicates(["Rest the knee.", "Ice it.", "Rest the knee well."], str) == \
        [["Rest the knee.", "Rest the knee well."], ["Ice it."]]
