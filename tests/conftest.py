"""Shared fixtures: one compiled Triage per test session, a Click runner, the vignettes."""

from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import settings

from itb_triage.engine import Knowledge, Triage, load_knowledge

# The checked-knowledge cache (engine/kb_cache.py) of this test run: not the user's.
os.environ.setdefault("ITB_TRIAGE_CACHE", tempfile.mkdtemp(prefix="itb-triage-test-cache-"))

# A suite started in the background of a non-interactive shell (`pytest &` in a script)
# inherits SIGINT ignored, as POSIX has it, and so would every program the tests start:
# the tests of Ctrl-C then saw it ignored (a batch finishing with status 0, an interview
# going on). A program run from a terminal never starts with it ignored.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DATA = Path(__file__).parent / "data"
VIGNETTES = sorted((DATA / "vignettes").glob("*.json"))

# Hypothesis profiles. The default profile is Hypothesis' own and the property tests
# set their example counts themselves; ITB_HYPOTHESIS_PROFILE=mutation (set by
# scripts/mutate_rules.py) gives every property test few, reproducible examples.
PROFILE_ENV = "ITB_HYPOTHESIS_PROFILE"
settings.register_profile("mutation", max_examples=30, derandomize=True, database=None, deadline=None)
if os.environ.get(PROFILE_ENV):
    settings.load_profile(os.environ[PROFILE_ENV])


def examples(default: int) -> int:
    """`default` examples, unless a profile chosen by ITB_HYPOTHESIS_PROFILE sets the count."""
    return settings().max_examples if os.environ.get(PROFILE_ENV) else default


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
