"""The safety benchmark's definitions (benchmarks/triage_metrics.py, benchmarks/safety.py) and its case set.

The figures themselves come from `benchmarks/safety.py`, which CI runs with `--check`;
here each definition is pinned on small made-up outcomes, where the right answer is
known, and the independent vignettes are held to the case contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from itb_triage.engine import CaseError, Knowledge, Triage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # safety.py imports its sibling as a script does

import safety  # noqa: E402
from triage_metrics import (  # noqa: E402
    CaseOutcome,
    Rate,
    expectation_problems,
    least_urgent,
    metrics,
    outcome,
    triage_gap,
)

LEVELS = ["emergency", "same_day", "within_days", "routine", "self_care"]
BENCHMARK_VIGNETTES = sorted((ROOT / "benchmarks" / "vignettes").glob("*.json"))


def made_up(accepted: list[str] | None, given: str, **expect: Any) -> CaseOutcome:
    doc: dict[str, Any] = {"id": f"{given}-for-{accepted}", "source": "made up", "expect": dict(expect)}
    if accepted is not None:
        doc["expect"]["disposition"] = accepted
    return outcome(doc, {"disposition": given, "treatment_tier": None, "conditions": []})


# --- the gap and Gilbert's safe rate --------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "given", "gap"),
    [
        (["same_day"], "same_day", 0),
        (["same_day"], "emergency", 1),
        (["routine"], "emergency", 3),
        (["same_day"], "within_days", -1),
        (["emergency"], "routine", -3),
        (["same_day", "emergency"], "emergency", 0),
        (["routine", "within_days"], "self_care", -1),
        (["emergency", "within_days"], "same_day", 0),  # between accepted levels: not under- or overtriage
        (["same_day"], "incomplete", None),  # not one of the levels
        (["incomplete"], "incomplete", None),
    ],
)
def test_the_gap_counts_levels_above_or_below_the_accepted_set(
    accepted: list[str], given: str, gap: int | None
) -> None:
    assert triage_gap(accepted, given, LEVELS) == gap


def test_a_case_needs_its_least_urgent_accepted_level() -> None:
    assert least_urgent(["same_day", "emergency"], LEVELS) == "same_day"
    assert least_urgent(["routine", "within_days"], LEVELS) == "routine"
    assert least_urgent(["incomplete"], LEVELS) is None


def test_safe_is_the_accepted_level_more_urgent_or_one_level_less() -> None:
    found = metrics(
        [
            made_up(["within_days"], "within_days"),  # right
            made_up(["within_days"], "emergency"),  # over by 2: safe
            made_up(["within_days"], "routine"),  # under by 1: safe
            made_up(["within_days"], "self_care"),  # under by 2: unsafe
            made_up(["within_days"], "incomplete"),  # no level for a case that needs one: unsafe
        ],
        LEVELS,
    )
    assert (found.safe.hits, found.safe.n) == (3, 5)
    assert (found.triage_accuracy.hits, found.triage_accuracy.n) == (1, 5)
    assert (found.overtriage, found.undertriage, found.unsafe) == (1, 2, 2)
    assert found.over_under_ratio == "0.50:1 (1 over, 2 under)"


def test_sensitivities_count_the_cases_that_need_that_level_at_the_least() -> None:
    found = metrics(
        [
            made_up(["emergency"], "emergency"),
            made_up(["emergency"], "same_day"),  # an emergency missed
            made_up(["same_day", "emergency"], "emergency"),  # needs same_day; emergency is today too
            made_up(["same_day"], "within_days"),  # a same-day case missed
            made_up(["within_days", "same_day"], "within_days"),  # needs within_days: in neither figure
        ],
        LEVELS,
    )
    assert (found.emergency_sensitivity.hits, found.emergency_sensitivity.n) == (1, 2)
    assert (found.same_day_sensitivity.hits, found.same_day_sensitivity.n) == (1, 2)


def test_cases_without_a_disposition_count_only_where_they_set_something() -> None:
    no_disposition = made_up(None, "routine", recommendations_include=["see_sports_physio"])
    incomplete = made_up(["incomplete"], "incomplete")
    found = metrics([no_disposition, incomplete], LEVELS)
    assert (found.triage_accuracy.hits, found.triage_accuracy.n) == (1, 1)
    assert found.safe.n == 0
    assert (found.all_expectations_met.hits, found.all_expectations_met.n) == (1, 2)


def test_tier_and_condition_agreement() -> None:
    doc = {
        "id": "x",
        "expect": {"treatment_tier": [None], "conditions": {"dvt": ["suspected"], "itbs": ["unlikely", "possible"]}},
    }
    result = {
        "disposition": "same_day",
        "treatment_tier": None,
        "conditions": [{"id": "dvt", "assessment": "suspected"}],
    }
    found = metrics([outcome(doc, result)], LEVELS)
    assert (found.tier_accuracy.hits, found.tier_accuracy.n) == (1, 1)
    assert (found.condition_agreement.hits, found.condition_agreement.n) == (1, 2)  # itbs not assessed


def test_expectation_problems_word_each_miss() -> None:
    result = {
        "disposition": "self_care",
        "treatment_tier": "conservative",
        "recommendations": [{"id": "aqua_jogging"}],
        "avoid": [],
        "conditions": [],
        "unanswered_screening": [],
    }
    expect = {
        "disposition": ["routine"],
        "treatment_tier": ["supervised"],
        "recommendations_include": ["see_sports_physio"],
        "recommendations_exclude": ["aqua_jogging"],
        "avoid_include": ["stretch_itb"],
        "conditions": {"itbs": ["likely"]},
        "unanswered_screening_nonempty": True,
    }
    assert len(expectation_problems(result, expect)) == 7
    assert expectation_problems(result, {"disposition": ["self_care"]}) == []


def test_wilson_interval() -> None:
    assert Rate(0, 0).wilson() is None
    low, high = Rate(10, 10).wilson() or (0, 0)
    assert high == 1.0 and low == pytest.approx(0.722, abs=0.001)
    low, high = Rate(5, 10).wilson() or (0, 0)
    assert (low, high) == (pytest.approx(0.237, abs=0.001), pytest.approx(0.763, abs=0.001))


# --- the bar of --check ---------------------------------------------------------------------


def test_the_check_fails_a_missed_emergency_or_a_safe_rate_below_97_percent() -> None:
    good = [made_up(["emergency"], "emergency")] + [made_up(["routine"], "routine")] * 33
    assert safety.shortfalls({"a": metrics(good, LEVELS)}) == []
    missed = [*good, made_up(["emergency"], "same_day")]
    assert any("emergency sensitivity" in p for p in safety.shortfalls({"a": metrics(missed, LEVELS)}))
    unsafe = [*good, made_up(["same_day"], "routine")]  # 33 of 34 safe = 97.1 %: passes
    assert safety.shortfalls({"a": metrics(unsafe, LEVELS)}) == []
    unsafe.append(made_up(["same_day"], "self_care"))  # 33 of 35 = 94.3 %
    assert any("safe rate" in p for p in safety.shortfalls({"a": metrics(unsafe, LEVELS)}))
    assert any("no case needs an emergency" in p for p in safety.shortfalls({"a": metrics(good[1:], LEVELS)}))


# --- reading docs/testing.md ----------------------------------------------------------------


TESTING_PAGE = """\
In all, **3,621 inputs per run** of the suite.

<!-- mutation-results:begin -->
Run of 2026-11-26 on knowledge version `abc` (106 rules), tests: `x.py`.

| mutation | mutants | rejected by kb validate | caught by the tests | survived | score |
|---|---:|---:|---:|---:|---:|
| delete | 106 | 60 | 46 | 0 | 100.0 % |
| **all but cite** | 478 | 155 | 323 | 0 | 100.0 % |
| **all** | 704 | 185 | 323 | 196 | 72.2 % |
<!-- mutation-results:end -->

## Attacks

| # | attack | test | status |
|---|---|---|---|
| 1 | two resumes | test_a | fixed |
| 2 | stdin truncation | test_b | fixed |
| 3 | sessions folder | test_c | open |

## Next
"""


def test_the_testing_page_is_quoted_where_it_records_the_figures() -> None:
    record = safety.read_testing_page(TESTING_PAGE)
    assert record.fuzz == "3,621"
    assert record.mutation[0] == "Run of 2026-11-26 on knowledge version `abc`"
    assert "caught 323 of the 323 mutants" in record.mutation[1]
    assert "caught 323 of the 519 mutants" in record.mutation[2] and "62.2 %" in record.mutation[2]
    assert record.attacks == "3 items: 2 fixed, 1 open"


def test_a_testing_page_without_the_figures_says_so() -> None:
    record = safety.read_testing_page("# Testing\n\nNothing measured yet.\n")
    assert (record.fuzz, record.mutation, record.attacks) == (None, [], None)


def test_the_real_testing_page_gives_the_fuzz_count_and_mutation_score() -> None:
    record = safety.read_testing_page((ROOT / "docs" / "testing.md").read_text(encoding="utf-8"))
    assert record.fuzz is not None and record.mutation


# --- the independent vignettes --------------------------------------------------------------


def test_there_are_about_forty_independent_vignettes_across_the_five_levels() -> None:
    needs = {least_urgent(json.loads(p.read_text())["expect"]["disposition"], LEVELS) for p in BENCHMARK_VIGNETTES}
    assert len(BENCHMARK_VIGNETTES) >= 40
    assert needs == set(LEVELS)


@pytest.mark.parametrize("path", BENCHMARK_VIGNETTES, ids=lambda p: p.stem)
def test_each_independent_vignette_is_a_valid_case_that_names_its_source(
    path: Path, triage: Triage, knowledge: Knowledge
) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["id"] == doc["case"]["id"] == path.stem
    assert len(doc["source"]) > 20 and doc["story"]
    try:
        case = triage.read_case(json.dumps(doc["case"]).encode(), str(path))
    except CaseError as exc:
        pytest.fail(exc.one_line())
    # The README promises every screening question that applies is answered: a new one
    # in the knowledge needs an answer here, from the case's story.
    assert triage.assess(case).unanswered_screening == ()
    accepted = doc["expect"]["disposition"]
    assert accepted and set(accepted) <= set(knowledge.dispositions)
    assert set(doc["expect"].get("treatment_tier", [])) <= {None, *knowledge.tiers}


def test_the_review_readme_lists_every_independent_vignette() -> None:
    readme = (ROOT / "benchmarks" / "vignettes" / "README.md").read_text(encoding="utf-8")
    assert [p.stem for p in BENCHMARK_VIGNETTES if f"`{p.stem}`" not in readme] == []
