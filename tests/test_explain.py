"""Explanations, critical answers, why-not and what-if, checked against the rules themselves.

- Every node of every explanation tree is a real rule firing (its rule exists, concludes
  the node's fact, and its branch's patterns match the premises) or a real answer.
- Every critical answer is verified by rerunning the changed case through the normal
  (durable_rules) engine; and no single change left out of the list changes the
  disposition or the tier (checked over every value of every question the rules read).
- Why-not hints name answers that really satisfy the failed pattern, and its
  one-answer changes really bring the target into the result.
- What-if equals assessing the changed case; bad --why-not and --what-if input is one
  line on stderr with exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge, QueryError, Triage
from itb_triage.engine.case import Case, check_case
from itb_triage.engine.critical import ChangeSearch, critical_answers, influencing_rules
from itb_triage.engine.derivations import explain
from itb_triage.engine.facts import Fact
from itb_triage.engine.patterns import Pattern
from itb_triage.engine.whatif import changed_case, what_if
from itb_triage.engine.whynot import PatternCheck, RuleCheck, WhyNotAnalysis, parse_targets

from .conftest import DATA, VIGNETTES, vignette
from .test_cli_assess import assert_input_error

CHOSEN = ("v01_classic", "v08_locking", "v11_failed_self_care", "v14_incomplete", "v18_gluteal")


def _case(knowledge: Knowledge, name: str) -> Case:
    return check_case(vignette(DATA / "vignettes" / f"{name}.json")["case"], name, knowledge)


def _outcome(result: Any) -> tuple[str, str | None]:
    return result.disposition, result.treatment_tier


# --- explanation trees ------------------------------------------------------------------


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_every_node_of_every_explanation_tree_is_a_real_rule_firing_or_a_real_answer(
    path: Path, triage: Triage, knowledge: Knowledge
) -> None:
    case = check_case(vignette(path)["case"], path.stem, knowledge)
    result = triage.assess(case)
    explanation = explain(knowledge, result)
    concluded = {f for step in result.trace for f in step.concluded}
    case_facts = {Fact("answer", q, v) for q, value in case.answers.items()
                  for v in (value if isinstance(value, list) else [value])}
    known = concluded | case_facts
    for conclusion in explanation.conclusions:
        if conclusion.node is None:
            assert conclusion.kind == "tier" and result.treatment_tier is None
            continue
        for node in conclusion.node.walk():
            if node.is_answer:
                assert node.fact in case_facts, node.fact
                assert node.derivations == ()
                continue
            assert node.fact in concluded, node.fact
            assert node.derivations, f"{node.fact} has no derivation"
            for derivation in node.derivations:
                rule = knowledge.rule(derivation.rule)  # KeyError: not a real rule
                assert node.fact in rule.then
                assert (derivation.because, derivation.citations, derivation.stage) == (
                    rule.because, rule.cite, rule.stage)
                branch = rule.branches[derivation.branch]
                assert len(branch.positives) == len(derivation.premises)
                for pattern, premise in zip(branch.positives, derivation.premises, strict=True):
                    assert pattern.matches(premise.fact)
                for negative in branch.negatives:
                    assert not any(negative.matches(f) for f in known), (rule.id, negative)


@pytest.mark.parametrize("name", CHOSEN)
def test_every_conclusion_of_the_result_has_a_tree(name: str, triage: Triage, knowledge: Knowledge) -> None:
    result = triage.assess(_case(knowledge, name))
    explanation = explain(knowledge, result)
    listed = {(c.kind, c.id) for c in explanation.conclusions}
    assert ("disposition", result.disposition) in listed
    assert ("tier", result.treatment_tier) in listed
    assert {("recommendation", r) for r in result.recommendation_ids} <= listed
    assert {("avoid", a) for a in result.avoid_ids} <= listed
    assert {("red_flag", f["id"]) for f in result.red_flags} <= listed
    assert {("condition", c["id"]) for c in result.conditions} <= listed


def test_the_json_tree_names_only_real_rules_and_the_case_answers(
    runner: CliRunner, knowledge: Knowledge
) -> None:
    case = vignette(DATA / "vignettes" / "v11_failed_self_care.json")["case"]
    run = runner.invoke(cli, ["explain", "--format", "json", "-"], input=json.dumps(case))
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["format"] == "itb-explanation/1"

    def walk(node: dict[str, Any]) -> None:
        fact = node["fact"]
        if fact["kind"] == "answer":
            answer = case["answers"][fact["id"]]
            assert fact["value"] == answer or fact["value"] in answer
            return
        assert node["derived_by"]
        for derivation in node["derived_by"]:
            knowledge.rule(derivation["rule"])
            for premise in derivation["from"]:
                walk(premise)

    for conclusion in document["conclusions"]:
        if conclusion["tree"] is not None:
            walk(conclusion["tree"])


# --- critical answers -------------------------------------------------------------------


def _changed(case: Case, question: str, value: Any) -> dict[str, Any]:
    answers = dict(case.answers)
    if value is None:
        answers.pop(question, None)
    else:
        answers[question] = value
    return answers


def _range_ends(span: dict[str, float], entry: dict[str, Any]) -> list[float]:
    step = 1 if entry["type"] == "integer" else 0.01
    low = span.get("gte", span.get("gt", 0) + step)
    high = span.get("lte", span.get("lt", 0) - step)
    return [low, high]


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_each_critical_answer_is_verified_by_rerunning_the_durable_engine(
    path: Path, triage: Triage, knowledge: Knowledge
) -> None:
    case = check_case(vignette(path)["case"], path.stem, knowledge)
    result = triage.assess(case, critical=True)
    assert result.critical_answers is not None
    for entry in result.critical_answers:
        question = entry["question"]
        assert entry["from"] == case.answers[question]
        values = [entry["to"]]
        if "to_range" in entry:  # every value of the reported interval gives the same outcome
            values += _range_ends(entry["to_range"], knowledge.questions[question])
        for value in values:
            rerun = triage.assess_answers(_changed(case, question, value))  # durable_rules
            assert _outcome(rerun) == (entry["disposition"], entry["treatment_tier"]), (question, value)
            assert _outcome(rerun) != _outcome(result), (question, value)


def _all_single_changes(knowledge: Knowledge, case: Case) -> list[tuple[str, Any]]:
    """Every value of every choice, every one-item toggle of every multiple choice, and
    every number on either side of each rule threshold, for the answers given."""
    thresholds: dict[str, set[float]] = {}
    for rule in knowledge.rules:
        for branch in rule.branches:
            for pattern in branch.patterns:
                if pattern.kind == "answer":
                    for _name, bound in pattern.comparisons:
                        thresholds.setdefault(pattern.ids[0], set()).add(bound)
    changes: list[tuple[str, Any]] = []
    for question, current in case.answers.items():
        entry = knowledge.questions[question]
        if entry["type"] == "choice":
            changes += [(question, v["id"]) for v in entry["values"] if v["id"] != current]
        elif entry["type"] == "multi":
            order = [v["id"] for v in entry["values"]]
            fewest = knowledge.case_schema["properties"]["answers"]["properties"][question].get("minItems", 0)
            for item in order:
                chosen = set(current) ^ {item}
                if len(chosen) >= fewest:
                    changes.append((question, [v for v in order if v in chosen]))
        else:
            low, high = entry["minimum"], entry["maximum"]
            points = {low, high}
            for bound in thresholds.get(question, ()):
                points |= {bound - 1, bound - 0.5, bound, bound + 0.5, bound + 1}
            if entry["type"] == "integer":
                points = {int(p) for p in points if float(p).is_integer()}
            changes += [(question, p) for p in sorted(points) if low <= p <= high and p != current]
    return changes


def _covers(entry: dict[str, Any], value: Any) -> bool:
    if "to_range" not in entry:
        return bool(entry["to"] == value)
    span = entry["to_range"]
    return all([
        "gte" not in span or value >= span["gte"], "gt" not in span or value > span["gt"],
        "lte" not in span or value <= span["lte"], "lt" not in span or value < span["lt"],
    ])


@pytest.mark.parametrize("name", CHOSEN)
def test_no_single_change_outside_the_critical_answers_changes_disposition_or_tier(
    name: str, triage: Triage, knowledge: Knowledge
) -> None:
    case = _case(knowledge, name)
    result = triage.assess(case, critical=True)
    reported = result.critical_answers or ()
    for question, value in _all_single_changes(knowledge, case):
        rerun = triage.assess_answers(_changed(case, question, value))
        listed = [e for e in reported if e["question"] == question and _covers(e, value)]
        if _outcome(rerun) != _outcome(result):
            assert listed, f"{question} -> {value!r} changes the outcome to {_outcome(rerun)} but is not listed"
        else:
            assert not listed, f"{question} -> {value!r} is listed but changes nothing"


def test_critical_answers_are_sorted_by_question_order_and_deterministic(
    triage: Triage, knowledge: Knowledge
) -> None:
    case = _case(knowledge, "v01_classic")
    first = critical_answers(knowledge, case)
    assert first == critical_answers(knowledge, case)
    order = list(knowledge.questions)
    positions = [order.index(c.change.question) for c in first]
    assert positions == sorted(positions)
    assert all(list(c.to_json())[:3] == ["question", "from", "to"] for c in first)


def test_assess_json_includes_critical_answers_and_plain_assess_does_not(
    runner: CliRunner, triage: Triage, knowledge: Knowledge
) -> None:
    case = vignette(DATA / "vignettes" / "v08_locking.json")["case"]
    run = runner.invoke(cli, ["assess", "--format", "json", "-"], input=json.dumps(case))
    document = json.loads(run.stdout)
    assert {"question": "knee_locking", "from": "yes", "to": "no", "disposition": "self_care",
            "treatment_tier": "conservative"} in document["critical_answers"]
    assert triage.assess(_case(knowledge, "v08_locking")).critical_answers is None
    assert "critical_answers" not in triage.assess(_case(knowledge, "v08_locking")).to_json()


def test_only_rules_that_can_reach_a_disposition_or_tier_are_searched(knowledge: Knowledge) -> None:
    rules = influencing_rules(knowledge.rules, ("disposition", "tier"))
    assert all(r.stage != "advice" for r in rules)
    assert {r.id for r in rules} >= {"self_care_typical_itbs", "itbs_likely", "tier_conservative"}
    # Every rule whose conclusion a kept rule tests is kept too.
    tested = [p for r in rules for b in r.branches for p in b.patterns if p.kind != "answer"]
    for rule in knowledge.rules:
        if any(p.matches(f) for p in tested for f in rule.then):
            assert rule in rules, rule.id


def test_values_with_the_same_signature_share_one_run(knowledge: Knowledge) -> None:
    case = _case(knowledge, "v01_classic")
    search = ChangeSearch.for_knowledge(knowledge)
    groups = list(search.changes(case.answers, ["pain_timing"]))
    # after_distance is the answer; all_the_time and touch_only both point away from ITBS
    # but touch_only also raises myofascial pain, and from_start/after_running match nothing.
    tried = sorted(sorted(str(c.after) for c in group) for group in groups)
    assert ["after_running", "from_start"] in tried
    # One run stands for its group only if every value in it fires the same rules to the
    # same conclusions.
    for group in groups:
        firings = {
            tuple((step.rule, step.concluded) for step in search.run({**case.answers, "pain_timing": c.after}).trace)
            for c in group
        }
        assert len(firings) == 1, [c.after for c in group]


# --- why not ------------------------------------------------------------------------------


def _checks(rule: RuleCheck) -> list[PatternCheck]:
    out = []
    for branch in rule.branches:
        for check in branch.patterns:
            out.append(check)
            for concluder in check.concluders:
                out += _checks(concluder)
    return out


@pytest.mark.parametrize("name", CHOSEN)
def test_why_not_hints_name_answers_that_satisfy_the_failed_pattern(
    name: str, triage: Triage, knowledge: Knowledge
) -> None:
    case = _case(knowledge, name)
    analysis = WhyNotAnalysis(knowledge, triage.assess(case))
    targets = [*knowledge.dispositions, *knowledge.tiers, "race_guidance", "gait_retraining", "surgical_opinion"]
    for text in targets:
        for target in parse_targets(knowledge, text):
            answer = analysis.why_not(target, search_changes_too=False)
            for rule in answer.rules:
                for check in _checks(rule):
                    if check.held or check.pattern.kind != "answer":
                        continue
                    _assert_hints(check.pattern, check, case)


def _assert_hints(pattern: Pattern, check: PatternCheck, case: Case) -> None:
    assert check.hints, check.text
    for hint in check.hints:
        for value in hint.values:
            matches = pattern.matches(Fact("answer", hint.question, value))
            if hint.action in ("set", "include"):
                assert matches != pattern.negated, (check.text, value)
            elif hint.action == "remove":
                assert matches and value in case.answers[hint.question], (check.text, value)
        if hint.action == "unanswer":
            assert pattern.negated


# v18 (hip pain only) cannot become likely ITBS by one answer since contract v2 needs outer-knee
# pain; v29 (typical, exact spot unknown) can: a tender bony knob makes it likely.
@pytest.mark.parametrize("name,target", [("v08_locking", "self_care"), ("v01_classic", "race_guidance"),
                                         ("v11_failed_self_care", "conservative"), ("v29_improving", "itbs=likely")])
def test_why_not_single_answer_changes_bring_the_target_when_rerun(
    name: str, target: str, triage: Triage, knowledge: Knowledge
) -> None:
    case = _case(knowledge, name)
    result = triage.assess(case)
    (answer,) = WhyNotAnalysis(knowledge, result).why_not(parse_targets(knowledge, target)[0]),
    assert answer.status != "shown"
    assert answer.changes, "expected at least one single change"
    for change, _ in answer.changes:
        rerun = triage.assess_answers(_changed(case, change.question, change.after))
        shown = {
            "disposition": rerun.disposition, "tier": rerun.treatment_tier,
        }.get(answer.target.kind)
        if answer.target.kind in ("disposition", "tier"):
            assert shown == answer.target.id
        elif answer.target.kind == "recommendation":
            assert answer.target.id in rerun.recommendation_ids
        else:
            assert {c["id"]: c["assessment"] for c in rerun.conditions}[answer.target.id] == answer.target.value


def test_why_not_statuses(triage: Triage, knowledge: Knowledge) -> None:
    result = triage.assess(_case(knowledge, "v08_locking"))
    analysis = WhyNotAnalysis(knowledge, result)

    def status(text: str) -> list[str]:
        return [analysis.why_not(t, search_changes_too=False).status for t in parse_targets(knowledge, text)]

    assert status("same_day") == ["shown"]
    assert status("routine") == ["outranked"]  # concluded, but same_day is more urgent
    assert status("self_care") == ["not_concluded"]
    assert status("aqua_jogging") == ["not_concluded", "not_concluded"]  # a recommendation and an avoid item
    assert status("avoid:aqua_jogging") == ["not_concluded"]
    assert status("lateral_meniscus_tear=suspected") == ["shown"]


def test_why_not_of_a_failed_negation_shows_what_concluded_the_blocker(
    triage: Triage, knowledge: Knowledge
) -> None:
    analysis = WhyNotAnalysis(knowledge, triage.assess(_case(knowledge, "v08_locking")))
    (answer,) = [analysis.why_not(t) for t in parse_targets(knowledge, "itbs=likely")]
    (rule,) = answer.rules
    blocked = [c for c in _checks(rule) if c.pattern.negated and not c.held]
    assert blocked and blocked[0].blockers
    leaves = [n.fact for n in blocked[0].blockers[0].walk() if n.is_answer]
    assert Fact("answer", "knee_locking", "yes") in leaves


@pytest.mark.parametrize("text,fragment", [
    ("nonsense", "unknown id 'nonsense'"),
    ("self_cae", "did you mean 'self_care'?"),
    ("tier:self_care", "unknown id 'self_care'; expected a tier id"),
    ("organ:itbs", "unknown kind 'organ'"),
    ("itbs=probable", "unknown assessment 'probable'"),
    ("tier:itbs=likely", "only a condition takes '=ASSESSMENT'"),
])
def test_a_bad_why_not_id_is_one_line_with_exit_2(runner: CliRunner, tmp_path: Path, text: str,
                                                  fragment: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(vignette(DATA / "vignettes" / "v01_classic.json")["case"]), encoding="utf-8")
    run = runner.invoke(cli, ["explain", "--why-not", text, str(path)])
    assert_input_error(run, "--why-not", (fragment,))


# --- what if ------------------------------------------------------------------------------


def test_what_if_equals_assessing_the_changed_case(triage: Triage, knowledge: Knowledge) -> None:
    case = _case(knowledge, "v11_failed_self_care")
    change = what_if(triage, case, ["trend=better", "treatments_tried=[]", "duration_weeks="])
    answers = dict(case.answers, trend="better", treatments_tried=[])
    answers.pop("duration_weeks")
    direct = triage.assess_answers(answers, case.id)
    assert change.after.to_json() == direct.to_json()
    assert [(c.question, c.before, c.after) for c in change.changes] == [
        ("trend", "same", "better"), ("treatments_tried", case.answers["treatments_tried"], []),
        ("duration_weeks", case.answers["duration_weeks"], None),
    ]


def test_what_if_reads_values_by_question_type(knowledge: Knowledge) -> None:
    case = _case(knowledge, "v01_classic")
    changed, _ = changed_case(knowledge, case, [
        "pain_locations=[lateral_hip, lateral_knee]", "duration_weeks=6.5", "age_years=40", "side=both",
    ])
    assert changed.answers["pain_locations"] == ["lateral_knee", "lateral_hip"]  # the schema's order
    assert changed.answers["duration_weeks"] == 6.5
    assert changed.answers["age_years"] == 40
    assert changed.answers["side"] == "both"


@pytest.mark.parametrize("changes,fragment", [
    (["knee_locking"], "expected QUESTION=VALUE"),
    (["knee_lock=yes"], "did you mean 'knee_locking'?"),
    (["knee_locking=maybe"], "expected one of 'yes', 'no', 'unsure'"),
    (["duration_weeks=lots"], "expected a number from 0 to 2600"),
    (["age_years=200"], "expected a whole number from 5 to 110"),
    (["age_years=3.5"], "expected a whole number from 5 to 110"),
    (["duration_weeks=nan"], "NaN is not a number"),
    (["pain_locations=lateral_knee,elbow"], "expected a list of at least one of"),
    (["trend=same", "trend=worse"], "already changed"),
])
def test_a_malformed_what_if_is_one_line_with_exit_2(runner: CliRunner, tmp_path: Path, changes: list[str],
                                                     fragment: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(vignette(DATA / "vignettes" / "v01_classic.json")["case"]), encoding="utf-8")
    args = [arg for change in changes for arg in ("--what-if", change)]
    run = runner.invoke(cli, ["explain", *args, str(path)])
    assert_input_error(run, "--what-if", (fragment,))


def test_why_not_and_what_if_together_is_an_input_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(vignette(DATA / "vignettes" / "v01_classic.json")["case"]), encoding="utf-8")
    run = runner.invoke(cli, ["explain", "--why-not", "self_care", "--what-if", "trend=worse", str(path)])
    assert_input_error(run, "not both")


def test_what_if_without_changes_is_refused_by_the_engine(triage: Triage, knowledge: Knowledge) -> None:
    with pytest.raises(QueryError, match="at least one"):
        what_if(triage, _case(knowledge, "v01_classic"), [])


def test_explain_of_a_bad_case_file_is_the_same_error_as_assess(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"format": "itb-case/1", "answers": {"side": "middle"}}', encoding="utf-8")
    assess = runner.invoke(cli, ["assess", str(path)])
    run = runner.invoke(cli, ["explain", str(path)])
    assert_input_error(run, str(path), ("$.answers.side",))
    assert run.stderr == assess.stderr


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_explain_text_fits_80_columns(runner: CliRunner, path: Path) -> None:
    stdin = json.dumps(vignette(path)["case"])
    for args in (["explain", "-"], ["explain", "--why-not", "self_care", "-"],
                 ["explain", "--what-if", "trend=worse", "-"]):
        run = runner.invoke(cli, args, input=stdin)
        assert run.exit_code == 0, run.stderr
        assert max(len(line) for line in run.stdout.splitlines()) <= 80, args
