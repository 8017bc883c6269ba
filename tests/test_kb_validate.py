"""`itb-triage kb validate` and `load_knowledge()` catch every kind of breakage, located.

Each test copies the shipped knowledge and rules folders into tmp_path, breaks one
thing, and checks that validation fails with exit status 3 and a message naming the
file and the JSON path (or the id) involved, never with a traceback.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge, KnowledgeError, load_knowledge
from itb_triage.engine.documents import load_yaml

REPO = Path(__file__).resolve().parents[1]
ASSESSMENT = "rules/20_assessment.yaml"
ADVICE_RULES = "rules/50_advice.yaml"
FINDINGS = "rules/10_findings.yaml"
ADVICE = "knowledge/advice.yaml"
QUESTIONS = "knowledge/questions.yaml"
SUMMARY = re.compile(r"^itb-triage: error: (\d+) problem\(s\) in the knowledge base$")
# The start of the next list entry or of the next top-level key or comment.
ENTRY_END = re.compile(r"^(?:  - |\S)", re.MULTILINE)


@dataclass(frozen=True)
class KB:
    """A writable copy of the shipped folders: `root/knowledge` and `root/rules`."""

    root: Path

    @property
    def knowledge(self) -> Path:
        return self.root / "knowledge"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    def file(self, label: str) -> Path:
        """The copy of a file, named as the loader names it (`rules/50_advice.yaml`)."""
        return self.root / label


@pytest.fixture
def kb(tmp_path: Path) -> KB:
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "knowledge", tmp_path / "knowledge", ignore=ignore)
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=ignore)
    return KB(tmp_path)


def _entry_span(text: str, entry_id: str, after: str) -> tuple[int, int]:
    """Start and end of the list entry `  - id: <entry_id>` (searched from `after`)."""
    base = text.index(after) if after else 0
    head = f"  - id: {entry_id}\n"
    assert text.count(head, base) == 1, f"expected exactly one entry {entry_id!r}"
    start = text.index(head, base)
    end = ENTRY_END.search(text, start + len(head))
    return start, end.start() if end else len(text)


def edit(path: Path, old: str, new: str, *, entry: str | None = None, after: str = "") -> None:
    """Replace `old` by `new` once, inside list entry `entry` if given; `old` must occur exactly once."""
    text = path.read_text(encoding="utf-8")
    start, end = _entry_span(text, entry, after) if entry else (0, len(text))
    block = text[start:end]
    assert block.count(old) == 1, f"{old!r} occurs {block.count(old)} times in {path.name} {entry or ''}"
    path.write_text(text[:start] + block.replace(old, new) + text[end:], encoding="utf-8")


def remove_entry(path: Path, entry_id: str, *, after: str = "") -> None:
    """Delete the whole list entry `  - id: <entry_id>` (searched from `after`)."""
    text = path.read_text(encoding="utf-8")
    start, end = _entry_span(text, entry_id, after)
    path.write_text(text[:start] + text[end:], encoding="utf-8")


def edit_data(path: Path, change: Callable[[Any], None]) -> None:
    """Load with the project's loader (yes/no stay strings), change, and dump back."""
    doc = load_yaml(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def position(kb: KB, label: str, key: str, entry_id: str) -> int:
    """Index of the entry `entry_id` in the list `key` of a (shipped, unbroken) file."""
    entries = load_yaml(kb.file(label).read_text(encoding="utf-8"))[key]
    return [entry["id"] for entry in entries].index(entry_id)


def problems_after_edit(runner: CliRunner, kb: KB, label: str, key: str, entry: str, old: str, new: str
                        ) -> tuple[int, list[str]]:
    """Break entry `entry` of the list `key` of a file (see `edit`) and validate: the entry's
    index (before the edit) and the problem lines."""
    index = position(kb, label, key, entry)
    edit(kb.file(label), old, new, entry=entry)
    return index, problems_of(validate(runner, kb))


def validate(runner: CliRunner, kb: KB) -> Result:
    return runner.invoke(cli, ["kb", "validate", "--knowledge", str(kb.knowledge), "--rules", str(kb.rules)])


def problems_of(result: Result) -> list[str]:
    """Check the shape of a failed validation and return its problem lines.

    Exit status 3, no exception but the exit, no traceback, every problem line
    names a file, and the final line counts exactly the lines before it.
    """
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    *problems, last = result.stderr.splitlines()
    count = SUMMARY.match(last)
    assert count, last
    assert int(count.group(1)) == len(problems) > 0, result.stderr
    for line in problems:
        assert line.startswith(("knowledge/", "rules/")), line
    return problems


def line_with(problems: list[str], *fragments: str) -> str:
    """The one problem line holding all `fragments` (the file and the path on the same line)."""
    found = [line for line in problems if all(f in line for f in fragments)]
    assert len(found) == 1, f"{fragments} in {problems}"
    return found[0]


# --- the shipped knowledge -------------------------------------------------------------


def test_shipped_knowledge_validates_with_a_summary(runner: CliRunner, knowledge: Knowledge) -> None:
    result = runner.invoke(cli, ["kb", "validate"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("knowledge base OK (version ")
    assert re.search(rf"^\s+questions\s+{len(knowledge.questions)} \(\d+ screening\)$", result.stdout, re.MULTILINE)
    assert re.search(rf"^\s+rules\s+{len(knowledge.rules)} \(findings \d+,", result.stdout, re.MULTILINE)
    assert re.search(rf"^\s+citations\s+{len(knowledge.citations)}$", result.stdout, re.MULTILINE)


def test_an_unbroken_copy_validates(runner: CliRunner, kb: KB, knowledge: Knowledge) -> None:
    """The copies every other test breaks are valid to begin with."""
    result = validate(runner, kb)
    assert result.exit_code == 0, result.output
    assert re.search(rf"^\s+questions\s+{len(knowledge.questions)} ", result.stdout, re.MULTILINE)


# --- schema breakages ------------------------------------------------------------------


def test_recommendation_without_evidence_is_a_schema_error(runner: CliRunner, kb: KB) -> None:
    index = position(kb, ADVICE, "recommendations", "see_clinician_today")
    edit_data(kb.file(ADVICE), lambda doc: doc["recommendations"][index].pop("evidence"))
    problems = problems_of(validate(runner, kb))
    line_with(problems, f"{ADVICE}: $.recommendations[{index}]: ", "'evidence'", "required")


def test_question_of_unknown_type_is_a_schema_error(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, QUESTIONS, "questions", "knee_locking",
                                          "    type: choice\n", "    type: slider\n")
    line_with(problems, f"{QUESTIONS}: $.questions[{index}].type: 'slider'")


def test_rule_without_cite_is_a_schema_error(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_cauda_equina",
                                          "    cite: [bmj_cauda_equina, nhs_lothian_lumbar]\n", "")
    line_with(problems, f"{ASSESSMENT}: $.rules[{index}]: ", "'cite'", "required")


def test_rule_with_empty_cite_is_a_schema_error(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_cauda_equina",
                                          "cite: [bmj_cauda_equina, nhs_lothian_lumbar]", "cite: []")
    line_with(problems, f"{ASSESSMENT}: $.rules[{index}].cite: []")


# --- citations -------------------------------------------------------------------------


def test_dangling_citation_in_a_recommendation_is_located(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ADVICE, "recommendations", "seek_emergency_care",
                                          "cite: [bmj_cauda_equina,", "cite: [no_such_paper,")
    assert problems == [f"{ADVICE}: $.recommendations[{index}].cite[0]: unknown citation 'no_such_paper'"]


def test_dangling_citation_in_a_rule_is_located(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_cauda_equina",
                                          "nhs_lothian_lumbar]", "no_such_paper]")
    assert problems == [f"{ASSESSMENT}: $.rules[{index}].cite[1]: unknown citation 'no_such_paper'"]


# --- what rules test and conclude ------------------------------------------------------


def test_rule_testing_an_unknown_question_is_located(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_locking",
                                          '{knee_locking: "yes"}', '{knee_lockin: "yes"}')
    assert problems == [f"{ASSESSMENT}: $.rules[{index}] (red_flag_locking).when: unknown answer id 'knee_lockin'"]


def test_rule_testing_an_impossible_answer_value_is_located(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_locking",
                                          '{knee_locking: "yes"}', "{knee_locking: maybe}")
    line_with(problems, f"{ASSESSMENT}: $.rules[{index}] (red_flag_locking).when: ",
              "'maybe' is not a value of question 'knee_locking'")


def test_rule_concluding_an_unknown_recommendation_is_located(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ADVICE_RULES, "rules", "advise_emergency",
                                          "recommend: seek_emergency_care]", "recommend: seek_emergency_car]")
    unknown = "unknown recommend id 'seek_emergency_car'"
    assert f"{ADVICE_RULES}: $.rules[{index}] (advise_emergency).then: {unknown}" in problems
    # and the recommendation it used to conclude is now orphaned
    line_with(problems, f"{ADVICE}: ", "'seek_emergency_care' is concluded by no rule")


def test_rule_testing_a_finding_no_rule_concludes_is_located(runner: CliRunner, kb: KB) -> None:
    edit(kb.file(ASSESSMENT), '      - answer: {knee_locking: "yes"}\n',
         '      - answer: {knee_locking: "yes"}\n      - finding: knee_is_purple\n', entry="red_flag_locking")
    problems = problems_of(validate(runner, kb))
    line_with(problems, f"{ASSESSMENT}: rule red_flag_locking", "no rule concludes", "knee_is_purple")


def test_red_flag_rule_must_conclude_the_flags_urgency(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ASSESSMENT, "rules", "red_flag_cauda_equina",
                                          "- disposition: emergency\n", "- disposition: within_days\n")
    line_with(problems, f"{ASSESSMENT}: $.rules[{index}] (red_flag_cauda_equina).then: ",
              "red flag 'cauda_equina_signs' has urgency 'emergency'", "within_days")


def test_negating_a_fact_concluded_in_the_same_stage_is_located(runner: CliRunner, kb: KB) -> None:
    edit(kb.file(ASSESSMENT), '      - answer: {knee_locking: "yes"}\n',
         '      - answer: {knee_locking: "yes"}\n      - not: {disposition: emergency}\n', entry="red_flag_locking")
    problems = problems_of(validate(runner, kb))
    line = line_with(problems, f"{ASSESSMENT}: rule red_flag_locking (stage assessment): ",
                     "not (disposition emergency)", "earlier stage")
    assert "red_flag_cauda_equina" in line  # one of the same-stage rules concluding it


def test_negating_a_fact_concluded_in_a_later_stage_is_located(runner: CliRunner, kb: KB) -> None:
    edit(kb.file(FINDINGS), "      - answer: {pain_locations: [lateral_knee, lateral_thigh, lateral_hip]}\n",
         "      - answer: {pain_locations: [lateral_knee, lateral_thigh, lateral_hip]}\n"
         "      - not: {recommend: seek_emergency_care}\n", entry="lateral_pain")
    problems = problems_of(validate(runner, kb))
    line_with(problems, f"{FINDINGS}: rule lateral_pain (stage findings): ",
              "not (recommend seek_emergency_care)", "advise_emergency", "earlier stage")


# --- the contract ----------------------------------------------------------------------


def test_missing_contract_avoid_item_is_named(runner: CliRunner, kb: KB) -> None:
    remove_entry(kb.file(ADVICE), "aqua_jogging", after="\navoid:\n")
    problems = problems_of(validate(runner, kb))
    assert f"{ADVICE}: the contract's avoid item 'aqua_jogging' is missing" in problems
    line_with(problems, f"{ADVICE_RULES}: $.rules[",
              "(avoid_aqua_jogging_hip_flexor).then: unknown avoid id 'aqua_jogging'")


def test_missing_contract_condition_is_named(runner: CliRunner, kb: KB) -> None:
    remove_entry(kb.file("knowledge/conditions.yaml"), "itbs")
    problems = problems_of(validate(runner, kb))
    assert "knowledge/conditions.yaml: the contract's condition 'itbs' is missing" in problems


# --- files -----------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "entry", "line"), [
    (ASSESSMENT, "red_flag_cauda_equina", '    because: "Saddle numbness'),
    (QUESTIONS, "knee_locking", '    help: "Locking means'),
])
def test_yaml_syntax_error_names_file_and_line(runner: CliRunner, kb: KB, label: str, entry: str, line: str) -> None:
    text = kb.file(label).read_text(encoding="utf-8")
    number = text[:text.index(line)].count("\n") + 1
    edit(kb.file(label), line, "\t" + line.lstrip(), entry=entry)  # a tab cannot indent YAML
    problems = problems_of(validate(runner, kb))
    assert len(problems) == 1
    assert problems[0].startswith(f"{label} (line {number}): not valid JSON or YAML: ")


def test_duplicate_rule_id_across_files_names_both_files(runner: CliRunner, kb: KB) -> None:
    index, problems = problems_after_edit(runner, kb, ADVICE_RULES, "rules", "advise_emergency",
                                          "id: advise_emergency", "id: red_flag_locking")
    assert problems == [
        f"{ADVICE_RULES}: $.rules[{index}].id: duplicate rule id 'red_flag_locking' (also in {ASSESSMENT})"
    ]


# --- several at once, and the API ------------------------------------------------------


def _schema_breakages(kb: KB) -> None:
    edit(kb.file(ASSESSMENT), "    cite: [bmj_cauda_equina, nhs_lothian_lumbar]\n", "", entry="red_flag_cauda_equina")
    edit(kb.file(QUESTIONS), "    type: choice\n", "    type: slider\n", entry="knee_locking")
    edit(kb.file(ADVICE_RULES), "cite: [bmj_cauda_equina, bmj_dvt, bunt2018]", "cite: []", entry="advise_emergency")
    edit(kb.file(FINDINGS), "    cite: [runnersconnect_itbs, bmj_itbs]\n", "    cite: [runnersconnect_itbs, bmj_itbs\n",
         entry="lateral_pain")


def _reference_breakages(kb: KB) -> None:
    edit(kb.file(ASSESSMENT), "nhs_lothian_lumbar]", "no_such_paper]", entry="red_flag_cauda_equina")
    edit(kb.file(ASSESSMENT), '{knee_locking: "yes"}', '{knee_lockin: "yes"}', entry="red_flag_locking")
    edit(kb.file(ASSESSMENT), "- disposition: emergency\n", "- disposition: same_day\n", entry="red_flag_chest_pain")
    edit(kb.file(ADVICE), "cite: [bmj_cauda_equina,", "cite: [no_such_paper,", entry="seek_emergency_care")
    edit(kb.file(ADVICE_RULES), "id: advise_emergency", "id: red_flag_locking", entry="advise_emergency")


@pytest.mark.parametrize(("breakages", "expected"), [
    # Schema errors stop the loader before the cross-reference checks, so the two kinds
    # are combined separately: within each kind, every breakage must be reported.
    (_schema_breakages, [ASSESSMENT, QUESTIONS, ADVICE_RULES, FINDINGS]),
    (_reference_breakages, [ASSESSMENT, ASSESSMENT, ASSESSMENT, ADVICE, ADVICE_RULES]),
], ids=["schema", "cross-reference"])
def test_every_breakage_is_reported_at_once(
    runner: CliRunner, kb: KB, breakages: Callable[[KB], None], expected: list[str]
) -> None:
    breakages(kb)
    problems = problems_of(validate(runner, kb))
    assert len(problems) == len(expected), problems
    assert sorted(line.split(":")[0].split(" (line")[0] for line in problems) == sorted(expected)


def test_load_knowledge_raises_with_every_located_problem(kb: KB) -> None:
    index = position(kb, ASSESSMENT, "rules", "red_flag_cauda_equina")
    edit(kb.file(ASSESSMENT), "nhs_lothian_lumbar]", "no_such_paper]", entry="red_flag_cauda_equina")
    edit(kb.file(ADVICE), "cite: [bmj_cauda_equina,", "cite: [no_such_paper,", entry="seek_emergency_care")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb.knowledge, kb.rules)
    assert caught.value.problems == [
        f"{ADVICE}: $.recommendations[0].cite[0]: unknown citation 'no_such_paper'",
        f"{ASSESSMENT}: $.rules[{index}].cite[1]: unknown citation 'no_such_paper'",
    ]
    assert str(caught.value).endswith("(and 1 more)")


# --- files that are empty, not files, or repeat ids or keys -------------------------


def test_empty_knowledge_file_is_a_located_problem(runner: CliRunner, kb: KB) -> None:
    kb.file("knowledge/ladder.yaml").write_text("# emptied by mistake\n", encoding="utf-8")
    result = validate(runner, kb)
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    line_with(problems_of(result), "knowledge/ladder.yaml")


def test_empty_rule_file_is_a_located_problem(runner: CliRunner, kb: KB) -> None:
    kb.file("rules/60_extra.yaml").write_text("# stage: advice\n# rules: to be written\n", encoding="utf-8")
    problems = problems_of(validate(runner, kb))
    line_with(problems, "rules/60_extra.yaml")


@pytest.mark.parametrize("label", ["knowledge/ladder.yaml", "rules/60_extra.yaml"])
def test_directory_in_place_of_a_yaml_file_is_a_located_problem(runner: CliRunner, kb: KB, label: str) -> None:
    if kb.file(label).exists():
        kb.file(label).unlink()
    kb.file(label).mkdir()
    problems = problems_of(validate(runner, kb))
    line_with(problems, label)


@pytest.mark.parametrize(("label", "key", "entry", "twin"), [
    (QUESTIONS, "questions", "knee_giving_way", "knee_locking"),
    (ADVICE, "recommendations", "see_clinician_today", "seek_emergency_care"),
])
def test_duplicate_knowledge_id_is_located_by_its_json_path(
    runner: CliRunner, kb: KB, label: str, key: str, entry: str, twin: str
) -> None:
    index, problems = problems_after_edit(runner, kb, label, key, entry, f"  - id: {entry}\n", f"  - id: {twin}\n")
    assert f"{label}: $.{key}[{index}].id: duplicate id '{twin}'" in problems


def test_duplicate_yaml_key_in_a_rule_is_a_located_problem(runner: CliRunner, kb: KB) -> None:
    edit(kb.file(ASSESSMENT), "    cite: [nhs_knee_red_flags, calmbach2003]\n",
         "    cite: [nhs_knee_red_flags, calmbach2003]\n    cite: [bunt2018]\n", entry="red_flag_locking")
    problems = problems_of(validate(runner, kb))
    line_with(problems, ASSESSMENT, "duplicate", "cite")


# The start-up checks are fast paths (an index of conclusions, citation ids gathered
# without their paths); each must answer exactly as the plain check it replaces.


def _layering_by_testing_every_rule(rules: list[Any]) -> list[str]:
    """layering_problems as first written: every pattern against every rule's conclusions."""
    problems: list[str] = []
    for rule in rules:
        for branch in rule.branches:
            for pattern in branch.patterns:
                if pattern.kind == "answer":
                    continue
                concluders = [r for r in rules if any(pattern.matches(f) for f in r.then)]
                where = f"{rule.file}: rule {rule.id}"
                if not concluders:
                    problems.append(f"{where}: no rule concludes what `{pattern.describe()}` tests")
                    continue
                late = [r.id for r in concluders if r.stage_index > rule.stage_index
                        or (pattern.negated and r.stage_index == rule.stage_index)]
                if late:
                    need = "an earlier stage" if pattern.negated else "this or an earlier stage"
                    problems.append(f"{where} (stage {rule.stage}): `{pattern.describe()}` is concluded by "
                                    f"{', '.join(sorted(set(late)))}, which must run in {need}")
    return problems


@pytest.mark.parametrize("seed", range(8))
def test_the_layering_check_answers_as_testing_every_rule_does(seed: int) -> None:
    import dataclasses
    import random

    from itb_triage.engine.rulebase import STAGES, layering_problems

    shipped = list(load_knowledge().rules)
    chosen = random.Random(seed)
    # Seed 0: the shipped rules (no problem). Others: rules moved to other stages (late
    # concluders), and rules dropped (patterns nothing concludes).
    rules = [dataclasses.replace(r, stage=chosen.choice(STAGES)) if seed and chosen.random() < 0.3 else r
             for r in shipped if not seed or chosen.random() > 0.1]
    expected = _layering_by_testing_every_rule(rules)
    assert layering_problems(rules) == expected
    assert bool(expected) == bool(seed)


def test_a_negated_fact_concluded_in_the_same_stage_is_located() -> None:
    import dataclasses

    from itb_triage.engine.rulebase import layering_problems

    rules = list(load_knowledge().rules)
    tester = next(r for r in rules if any(p.negated and p.kind != "answer" for b in r.branches for p in b.patterns))
    negated = next(p for b in tester.branches for p in b.patterns if p.negated and p.kind != "answer")
    concluders = {r.id for r in rules if any(negated.matches(f) for f in r.then)}
    moved = [dataclasses.replace(r, stage=tester.stage) if r.id in concluders else r for r in rules]
    problems = layering_problems(moved)
    line_with(problems, f"{tester.file}: rule {tester.id} (stage {tester.stage}): `{negated.describe()}` is "
              f"concluded by {', '.join(sorted(concluders))}, which must run in an earlier stage")


def test_the_citation_ids_checked_at_start_are_those_of_every_cite() -> None:
    from itb_triage.engine.knowledge import KNOWLEDGE_FILES, _cited_ids, _walk_cites

    documents = [load_yaml((REPO / "knowledge" / name).read_text(encoding="utf-8")) for name in KNOWLEDGE_FILES]
    documents += [load_yaml(p.read_text(encoding="utf-8")) for p in sorted((REPO / "rules").glob("*.yaml"))]
    for document in documents:
        assert _cited_ids(document) == {cited for _, cited in _walk_cites(document, "$")}
    assert set().union(*(_cited_ids(d) for d in documents))  # the walk found citations at all
