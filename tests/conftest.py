"""Shared fixtures: one compiled Triage per test session, a Click runner, the vignettes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from itb_triage.engine import Knowledge, Triage, load_knowledge

DATA = Path(__file__).parent / "data"
VIGNETTES = sorted((DATA / "vignettes").glob("*.json"))


def vignette(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge()


@pytest.fixture(scope="session")
def triage(knowledge: Knowledge) -> Triage:
    return Triage(knowledge)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def classic_answers() -> dict[str, Any]:
    """The article's typical presentation, every screening question answered no."""
    return dict(vignette(DATA / "vignettes" / "v01_classic.json")["case"]["answers"])
