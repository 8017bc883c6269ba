"""A seeded cohort of valid cases covering the whole case space, as JSONL.

Built from the case schema itself (knowledge/schemas/case.schema.json), like
tests/strategies.py but with `random.Random(seed)` instead of Hypothesis, so the same
seed gives the same bytes on every machine. Uniformly random answers almost never give
a clean screening, so the cohort mixes three kinds of case:

- random: any subset of the questions, each with any value the schema admits
  (bounds included, integers and decimals for numbers, lists in any order);
- near-typical: one of the worked vignettes (tests/data/vignettes) with a few answers
  changed and a few dropped, which reaches the calm and the subtle corners;
- classic: the article's typical presentation with a few answers changed.

Run it to write a cohort: `python benchmarks/cohort.py N SEED > cases.jsonl`. With
`--common-with OTHER_CASE_SCHEMA` only the questions both case schemas define alike are
answered, so that another version (the release benchmarks/run.py compares with)
accepts every case too.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASE_SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "knowledge" / "schemas" / "case.schema.json").read_text(encoding="utf-8")
)
QUESTIONS: dict[str, dict[str, Any]] = CASE_SCHEMA["properties"]["answers"]["properties"]
VIGNETTES: list[dict[str, Any]] = [
    json.loads(path.read_text(encoding="utf-8"))["case"]["answers"]
    for path in sorted((ROOT / "tests" / "data" / "vignettes").glob("*.json"))
]
CLASSIC = VIGNETTES[0]

DEFAULT_SEED = 20240611


def common_questions(other_schema: Path) -> dict[str, dict[str, Any]]:
    """The questions this case schema and `other_schema` define identically."""
    other = json.loads(other_schema.read_text(encoding="utf-8"))["properties"]["answers"]["properties"]
    return {q: spec for q, spec in QUESTIONS.items() if other.get(q) == spec}


def answer_value(rng: random.Random, spec: dict[str, Any]) -> Any:
    """Any value the schema admits for one question."""
    if "enum" in spec:
        return rng.choice(spec["enum"])
    if spec.get("type") == "array":
        options = list(spec["items"]["enum"])
        size = rng.randint(spec.get("minItems", 0), len(options))
        return rng.sample(options, size)
    low, high = spec["minimum"], spec["maximum"]
    roll = rng.random()
    if roll < 0.1:
        return rng.choice((low, high))  # the bounds themselves
    if spec["type"] == "integer" or roll < 0.55:
        return rng.randint(low, high)
    return round(rng.uniform(low, high), rng.choice((1, 2, 6)))


def random_answers(rng: random.Random, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each question answered with a probability drawn per case (0 to all)."""
    share = rng.random()
    return {q: answer_value(rng, spec) for q, spec in questions.items() if rng.random() < share}


def mutated(rng: random.Random, base: dict[str, Any], questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`base` (its answers to `questions`) with up to four answers changed or added and up to two dropped."""
    answers = {q: v for q, v in base.items() if q in questions}
    for question in rng.sample(sorted(questions), rng.randint(0, 4)):
        answers[question] = answer_value(rng, questions[question])
    for question in rng.sample(sorted(answers), min(len(answers), rng.randint(0, 2))):
        del answers[question]
    return answers


def cases(count: int, seed: int = DEFAULT_SEED,
          questions: dict[str, dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """`count` valid case documents answering only `questions` (default: all), the same
    ones for the same seed."""
    questions = QUESTIONS if questions is None else questions
    rng = random.Random(seed)
    for number in range(count):
        roll = rng.random()
        if roll < 0.4:
            answers = random_answers(rng, questions)
        elif roll < 0.8:
            answers = mutated(rng, rng.choice(VIGNETTES), questions)
        else:
            answers = mutated(rng, CLASSIC, questions)
        keys = list(answers)
        rng.shuffle(keys)  # answer order must not matter; exercise it
        case: dict[str, Any] = {"format": "itb-case/1"}
        if rng.random() < 0.5:
            case["id"] = f"cohort-{seed}-{number:06d}"
        case["answers"] = {k: answers[k] for k in keys}
        yield case


def write_jsonl(path: Path, count: int, seed: int = DEFAULT_SEED,
                questions: dict[str, dict[str, Any]] | None = None) -> None:
    """Write the cohort to `path`, one case per line."""
    with path.open("w", encoding="utf-8") as out:
        for case in cases(count, seed, questions):
            out.write(json.dumps(case, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    questions = None
    if "--common-with" in argv:
        at = argv.index("--common-with")
        questions = common_questions(Path(argv[at + 1]))
        argv = argv[:at] + argv[at + 2:]
    count = int(argv[1]) if len(argv) > 1 else 10_000
    seed = int(argv[2]) if len(argv) > 2 else DEFAULT_SEED
    for case in cases(count, seed, questions):
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
