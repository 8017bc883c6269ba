"""The durable_rules C core under valgrind: no invalid memory access inside it.

A memory error in C does not fail a test. It reads garbage or corrupts the heap, and
now and then a process dies far from the cause. The engine once emptied each session
by retracting its facts, and durable_rules 2.0.28 then reads freed action frames
(`deleteMessageFromFrame`); in the issue 6 runs a `batch` worker and a test process
died of it, twice in some hundreds of thousands of cases. This test runs a cohort, an
interrupted case and a refused case under valgrind's memcheck, as the engine runs
them. It requires that no error's stack passes through the C core. Python's own
reports are ignored: the interpreter is not built for valgrind. The test is skipped
where valgrind is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What runs under valgrind: ordinary cases through the whole pipeline, then the two ways
# a case can stop part-way (an interrupt inside an action, a fact the engine refuses).
WORKLOAD = """
import sys
sys.path.insert(0, sys.argv[1])
from benchmarks import cohort
from itb_triage.engine import EngineError, Triage
from itb_triage.engine.durable_backend import DurableBackend
from itb_triage.engine.facts import Fact, answer_facts

triage = Triage()
cases = list(cohort.cases(int(sys.argv[2])))
for case in cases:
    triage.assess_answers(case["answers"], case.get("id"))
backend = DurableBackend.for_rules(triage.knowledge.rules, triage.knowledge.version)
facts = answer_facts(triage.assess_answers(cases[0]["answers"]).answers)
original, calls = Fact.from_engine, []

def interrupted(data):
    calls.append(data)
    if len(calls) == 5:
        raise KeyboardInterrupt
    return original(data)

Fact.from_engine = staticmethod(interrupted)
try:
    backend.run_case(facts)
except KeyboardInterrupt:
    pass
Fact.from_engine = staticmethod(original)
try:
    backend.run_case([facts[0], *facts])
except EngineError:
    pass
backend.run_case(facts)
print("workload done")
"""

CASES = 250  # ~40 s under valgrind on a 2-core machine


def _core_errors(report: Path) -> list[str]:
    """The errors valgrind reported whose stack has a frame in the durable_rules C core."""
    found = []
    for error in ET.parse(report).getroot().iter("error"):
        objects = [obj.text or "" for obj in error.iter("obj")]
        if any("durable_rules_engine" in obj for obj in objects):
            functions = [fn.text or "?" for fn in error.iter("fn")][:4]
            found.append(f"{error.findtext('kind')}: {' < '.join(functions)}")
    return found


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_c_core_makes_no_invalid_memory_access(tmp_path: Path) -> None:
    report = tmp_path / "memcheck.xml"
    run = subprocess.run(
        ["valgrind", "--tool=memcheck", "--error-limit=no", "--xml=yes", f"--xml-file={report}",
         sys.executable, "-c", WORKLOAD, str(ROOT), str(CASES)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONMALLOC": "malloc"},  # so that valgrind sees every allocation
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "workload done" in run.stdout
    assert _core_errors(report) == []
