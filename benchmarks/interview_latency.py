"""Interview latency: time from an answer to the next question, in two ways.

1. Engine: for every worked case, a scripted runner answers through the Interview
   API; each step times `answer()` plus `next_question()` (the relevance analysis).
2. Terminal: the real program in a pseudo-terminal; time from sending a line to the
   next prompt appearing (includes printing the question, as a runner sees it).

Run: .venv/bin/python benchmarks/interview_latency.py [--repeat N]
Prints p50/p95/max in milliseconds and the questions each case took.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VIGNETTES = sorted((ROOT / "tests" / "data" / "vignettes").glob("*.json"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def engine_latency(repeat: int) -> tuple[list[float], dict[str, int]]:
    from itb_triage.engine import Triage
    from itb_triage.engine.interview import Interview
    from itb_triage.engine.relevance import Relevance

    triage = Triage()
    relevance = Relevance(triage.knowledge)
    steps: list[float] = []
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for path in VIGNETTES:
            answers: dict[str, Any] = json.loads(path.read_text())["case"]["answers"]
            interview = Interview(triage, relevance=relevance)
            question = interview.next_question()
            asked = 0
            while question is not None:
                asked += 1
                start = time.perf_counter()
                if question in answers:
                    interview.answer(question, answers[question])
                else:
                    interview.skip(question)
                question = interview.next_question()
                steps.append((time.perf_counter() - start) * 1000)
            counts[path.stem] = asked
    return steps, counts


def terminal_latency() -> list[float]:
    import pexpect

    sys.path.insert(0, str(ROOT))
    from itb_triage.engine import Triage
    from tests.test_interview import script

    answers = json.loads(VIGNETTES[0].read_text())["case"]["answers"]
    _, lines = script(Triage(), answers)
    program = Path(sys.executable).with_name("itb-triage")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ITB_TRIAGE_HOME": home, "NO_COLOR": "1"}
        child = pexpect.spawn(str(program), ["interview"], env=env, encoding="utf-8", timeout=30)
        child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
        child.expect("> ")
        steps = []
        for line in lines[:-1]:
            start = time.perf_counter()
            child.sendline(line)
            child.expect("> ")
            steps.append((time.perf_counter() - start) * 1000)
        child.sendline(lines[-1])
        child.expect(pexpect.EOF)
        child.close()
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over the worked cases (engine part)")
    args = parser.parse_args()
    steps, counts = engine_latency(args.repeat)
    print(f"engine: {len(steps)} steps over {len(VIGNETTES)} cases x {args.repeat}: "
          f"p50 {statistics.median(steps):.1f} ms, p95 {percentile(steps, 0.95):.1f} ms, max {max(steps):.1f} ms")
    terminal = terminal_latency()
    print(f"terminal: {len(terminal)} steps of the typical case: p50 {statistics.median(terminal):.1f} ms, "
          f"p95 {percentile(terminal, 0.95):.1f} ms, max {max(terminal):.1f} ms")
    print("questions asked per worked case: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
