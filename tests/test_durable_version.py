"""The engine runs only on the durable-rules release it was written for (2.0.28).

The backend drives the C core directly, with calls and workarounds read from and
measured on that release (docs/durable-rules.md). Another release is refused at
start-up with one line that says what to install, rather than trusted silently.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from itb_triage.engine.durable_backend import DURABLE_RULES_VERSION

ROOT = Path(__file__).resolve().parent.parent

# Pretend another release is installed, then start the program the way the console script does.
FAKE = """
import sys
from importlib import metadata
real = metadata.version
metadata.version = lambda name: {fake!r} if name == "durable-rules" else real(name)
from itb_triage.cli.main import main
sys.argv = ["itb-triage", *sys.argv[1:]]
main()
"""


def test_the_installed_release_is_the_one_pinned_and_the_one_the_backend_expects() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"durable-rules=={DURABLE_RULES_VERSION}" in pyproject["project"]["dependencies"]
    assert metadata.version("durable-rules") == DURABLE_RULES_VERSION


def test_another_release_is_refused_at_start_up_with_one_line() -> None:
    run = subprocess.run([sys.executable, "-c", FAKE.format(fake="2.0.27"), "assess", "examples/classic.yaml"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 4
    assert run.stdout == ""
    assert run.stderr == (
        "itb-triage: error: the rule engine needs durable-rules 2.0.28, but 2.0.27 is installed: reinstall it "
        "with `pip install durable-rules==2.0.28` (docs/durable-rules.md says why)\n"
    )


def test_the_light_commands_still_start_with_another_release() -> None:
    # --version needs no rule engine, so it keeps working for diagnosis.
    run = subprocess.run([sys.executable, "-c", FAKE.format(fake="2.0.27"), "--version"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("itb-triage ")
