"""The worked cases of ../shared/vignettes (copied into tests/data) get their outcomes.

The checks mirror ../shared/tools/check_vignettes.py, through the Click command and
the contract's JSON, so the test suite and the shared checker agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge

from .conftest import VIGNETTES, vignette


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


SHARED = Path(__file__).resolve().parents[2] / "shared" / "vignettes"


def test_all_public_vignettes_are_present() -> None:
    """The 29 public cases of contract version 2, and the same set as ../shared where it is beside the clone."""
    assert len(VIGNETTES) == 29
    if SHARED.is_dir():
        assert sorted(p.name for p in VIGNETTES) == sorted(p.name for p in SHARED.glob("*.json"))
        # Byte for byte: two copies had been loosened (v08 accepted within_days, v15 routine).
        assert [p.name for p in VIGNETTES if p.read_bytes() != (SHARED / p.name).read_bytes()] == []


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_vignette_outcome(path: Path, runner: CliRunner, knowledge: Knowledge) -> None:
    doc = vignette(path)
    expect = doc["expect"]
    run = runner.invoke(cli, ["assess", "--format", "json", "-"], input=json.dumps(doc["case"]))
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    jsonschema.Draft202012Validator(knowledge.result_schema).validate(result)

    if "disposition" in expect:
        assert result["disposition"] in expect["disposition"]
    if "treatment_tier" in expect:
        assert result["treatment_tier"] in expect["treatment_tier"]
    recommendations, avoid = _ids(result["recommendations"]), _ids(result["avoid"])
    assert set(expect.get("recommendations_include", [])) <= recommendations
    assert not set(expect.get("recommendations_exclude", [])) & recommendations
    assert set(expect.get("avoid_include", [])) <= avoid
    conditions = {c["id"]: c["assessment"] for c in result["conditions"]}
    for condition, allowed in expect.get("conditions", {}).items():
        assert conditions.get(condition) in allowed, condition
    if expect.get("unanswered_screening_nonempty"):
        assert result["unanswered_screening"]
