"""What a fresh start loads: each command imports what it uses and no more.

Start-up time is measured by benchmarks/run.py, not asserted here; these tests pin the
causes instead, which do not vary with the machine: modules that cost a cold start tens
of milliseconds each (docs/performance.md, Cold start) and that a command does not need.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Run the console script's entry point with these arguments and list the modules loaded.
PROGRAM = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules))))
sys.argv = ["itb-triage", *sys.argv[1:]]
from itb_triage.cli.main import main
main()
"""

# Costly to import and needed by none of these commands (with the checked knowledge cached):
# the schema checker, the package-metadata reader (it loads `email`), ctypes (batch only),
# the interview and the other doors.
NEVER = ("jsonschema", "referencing", "importlib.metadata", "email", "ctypes", "itb_triage.engine.interview",
         "itb_triage.engine.interview_store", "itb_triage.engine.relevance", "itb_triage.web", "itb_triage.fhir")


def _among(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    """The loaded modules that are one of `names` or inside one of them."""
    return sorted(m for m in loaded if m in names or m.startswith(tuple(f"{n}." for n in names)))


def _modules(cache: Path, *args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={**os.environ, "ITB_TRIAGE_CACHE": str(cache)})
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stderr.rpartition("MODULES ")[2]))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the checked knowledge, as after the first start."""
    folder = tmp_path_factory.mktemp("cache")
    _modules(folder, "assess", "examples/classic.yaml")
    assert list(folder.glob("knowledge-*.json"))
    return folder


def test_version_loads_no_engine_and_no_yaml(cache: Path) -> None:
    loaded = _modules(cache, "--version")
    assert "click" in loaded and "itb_triage.engine.fingerprint" in loaded  # the walk saw the start
    assert _among(loaded, (*NEVER, "yaml", "durable_rules_engine", "itb_triage.engine.knowledge",
                           "importlib.resources")) == []


@pytest.mark.parametrize("case", ["examples/classic.yaml", "examples/knee-locks.json"])
def test_assess_loads_the_rule_engine_and_nothing_it_does_not_use(cache: Path, case: str) -> None:
    loaded = _modules(cache, "assess", case)
    assert {"durable_rules_engine", "itb_triage.engine.triage", "itb_triage.cli.render"} <= loaded
    assert _among(loaded, NEVER) == []
    # YAML only for a YAML case: the checked knowledge comes from the cache as JSON.
    assert ("yaml" in loaded) == case.endswith(".yaml")
