"""Numbers reach durable_rules only in a form its C JSON parser handles.

Found by the safety properties: an answer of 1e-05 weeks (written by json.dumps in
exponent form) crashed the process inside durable_rules. Numbers are now rounded to
four decimals before they reach the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from itb_triage.engine import Triage
from itb_triage.engine.facts import normalise_number


@pytest.mark.parametrize("value", [5e-324, 1e-10, 1e-05, 9.99999e-05, 2.5e-07, 0.00015, 999.99999])
def test_tiny_and_long_floats_are_written_as_plain_decimals(value: float) -> None:
    normalised = normalise_number(value)
    assert "e" not in json.dumps(normalised)


def test_whole_floats_become_ints() -> None:
    assert normalise_number(3.0) == 3 and isinstance(normalise_number(3.0), int)
    assert normalise_number(-0.0) == 0


@pytest.mark.parametrize("value", ["5e-324", "1e-05", "1e-10"])
def test_exponent_floats_in_a_case_do_not_crash_the_engine(value: str) -> None:
    # In a child process: before the fix this was a segmentation fault.
    code = (
        "from itb_triage.engine import Triage\n"
        "t = Triage()\n"
        "screened = {q: 'no' for q in t.knowledge.screening_questions}\n"  # a plan, so its warnings show
        f"r = t.assess_answers({{**screened, 'hip_flexor_injury': 'yes', 'weeks_hip_strengthening': {value}}})\n"
        "print('aqua_jogging' in r.avoid_ids)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"


def test_rounded_answers_are_what_the_result_reports(triage: Triage) -> None:
    result = triage.assess_answers({"duration_weeks": 2.123456})
    assert result.answers["duration_weeks"] == 2.1235
