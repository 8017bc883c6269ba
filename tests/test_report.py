"""`itb-triage report` and the six-week plan (knowledge/plan.yaml).

The report: Markdown equals `assess --format markdown`; HTML is self-contained (no
scripts, links, external assets), balanced, and escapes everything the case supplies.
The plan: quotes are the article's words exactly, the week-by-week split is labelled
as this tool's design choice, evidence labels are honest, disagreements show both
sides with sources, the plan never contradicts the result, and the loader
cross-checks its ids and citations.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from click.testing import CliRunner

from itb_triage.cli.main import cli
from itb_triage.engine import Knowledge, KnowledgeError, Triage, load_knowledge
from itb_triage.engine.case import check_case
from itb_triage.engine.contract import NOT_A_MEDICAL_DEVICE
from itb_triage.engine.plan import build_plan

from .conftest import DATA, VIGNETTES, vignette
from .test_cli_assess import assert_input_error

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "knowledge" / "sources" / "itbs-article.txt"  # provenance: knowledge/sources/README.md
SECTIONS = ["Look after it at home", "Your answers", "What to do", "Your six-week plan", "What to avoid",
            "Appendix: how the result was reached", "References"]
EVIL = 'Left knee <script>alert("x")</script> & <b>hills</b>'


def _case_text(name: str, **override: Any) -> str:
    case = dict(vignette(DATA / "vignettes" / f"{name}.json")["case"])
    case.update(override)
    return json.dumps(case)


def _report(runner: CliRunner, tmp_path: Path, stdin: str, suffix: str) -> str:
    output = tmp_path / f"report{suffix}"
    run = runner.invoke(cli, ["report", "-", "-o", str(output)], input=stdin)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "" and run.stderr == f"Report written to {output.resolve()}\n"
    return output.read_text(encoding="utf-8")


# --- the report --------------------------------------------------------------------------


def test_markdown_report_is_what_assess_prints_as_markdown(runner: CliRunner, tmp_path: Path) -> None:
    stdin = _case_text("v11_failed_self_care")
    assessed = runner.invoke(cli, ["assess", "--format", "markdown", "-"], input=stdin)
    assert assessed.exit_code == 0
    assert _report(runner, tmp_path, stdin, ".md") == assessed.stdout


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_report_has_every_section_in_order_and_the_note(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    text = _report(runner, tmp_path, _case_text("v01_classic"), suffix)
    if suffix == ".md":
        positions = [text.index(f"\n## {s}\n") for s in SECTIONS]
    else:
        positions = [text.index(f"<h2>{s}</h2>") for s in SECTIONS]
    assert positions == sorted(positions)
    assert NOT_A_MEDICAL_DEVICE in text


class _Balance(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_html_report_is_self_contained_balanced_and_escaped(runner: CliRunner, tmp_path: Path, path: Path) -> None:
    case = dict(vignette(path)["case"], id=EVIL)
    page = _report(runner, tmp_path, json.dumps(case), ".html")
    parser = _Balance()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed", "a", "b"}
    assert {name for name, _ in parser.attributes} <= {"lang", "charset", "name", "content", "class"}
    assert "url(" not in page and "@import" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;hills&lt;/b&gt;" in page
    assert "<title>ITB triage report: Left knee &lt;script&gt;" in page


def test_markdown_report_escapes_what_the_case_supplies(runner: CliRunner, tmp_path: Path) -> None:
    text = _report(runner, tmp_path, _case_text("v01_classic", id=EVIL + "\n# not a heading *bold*"), ".md")
    title = text.splitlines()[0]
    assert title == ('# ITB triage report: Left knee \\<script\\>alert("x")\\</script\\> \\& \\<b\\>hills\\</b\\> '
                     "\\# not a heading \\*bold\\*")
    assert "<script>" not in text and "<b>" not in text


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.txt"])
def test_report_needs_an_md_or_html_file_name(runner: CliRunner, tmp_path: Path, name: str) -> None:
    run = runner.invoke(cli, ["report", "-", "-o", str(tmp_path / name)], input=_case_text("v01_classic"))
    assert_input_error(run, name, ("expected a file ending in .md or .html",))
    assert not (tmp_path / name).exists()


def test_report_without_output_is_a_usage_error(runner: CliRunner) -> None:
    run = runner.invoke(cli, ["report", "-"], input=_case_text("v01_classic"))
    assert run.exit_code == 2
    assert "--output" in run.stderr


def test_report_of_a_bad_case_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    run = runner.invoke(cli, ["report", "-", "-o", str(output)], input='{"format": "itb-case/1", "answers": {"x": 1}}')
    assert_input_error(run, "<stdin>", ("unknown question id 'x'",))
    assert not output.exists()


def test_report_to_an_unwritable_place_is_one_line_with_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    run = runner.invoke(cli, ["report", "-", "-o", str(tmp_path / "missing" / "report.md")],
                        input=_case_text("v01_classic"))
    assert_input_error(run, "cannot write the report")


# --- the plan ------------------------------------------------------------------------------


def _plan_doc() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "knowledge" / "plan.yaml").read_text(encoding="utf-8")))


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_every_quote_in_the_plan_is_the_articles_own_words() -> None:
    article = _squash(ARTICLE.read_text(encoding="utf-8"))
    plan = _plan_doc()
    quotes = [q for c in plan["components"] for q in c["quotes"]]
    assert quotes
    for quote in quotes:
        assert _squash(quote) in article, quote
    for topic in plan["disagreements"]:
        for position in topic["positions"]:
            for quoted in re.findall(r'"([^"]{12,})"', position["says"]):
                assert _squash(quoted) in article, quoted


def test_the_fredericson_quotes_are_the_doses_advice_yaml_quotes(knowledge: Knowledge) -> None:
    dose = _squash(knowledge.recommendations["fredericson_protocol"]["dose"])
    for component in knowledge.plan["components"]:
        if component["recommendation"] == "fredericson_protocol":
            for quote in component["quotes"]:
                assert _squash(quote) in dose, quote


def test_only_the_articles_doses_are_unlabelled_every_other_step_is_a_design_choice(knowledge: Knowledge) -> None:
    # The article's doses: 1 set of 15 to start, the stretches 3 times a day for 15 seconds,
    # clamshells 1x15, 5-second holds, foam rolling 1-2x a day, ice 10-12 minutes 2-5 times.
    for week in knowledge.plan["weeks"]:
        for step in week["steps"]:
            sets = set(re.findall(r"(\d) sets? of (\d+)", step["do"]))
            if sets - {("1", "15")} or step["component"] == "return_to_running":
                assert step["design_choice"], (week["week"], step["do"])
    assert "design choice" in knowledge.plan["design"]["note"]
    assert "no week-by-week split" in knowledge.plan["design"]["note"]


def test_plan_evidence_labels_are_honest(knowledge: Knowledge) -> None:
    evidence = {c["id"]: c["evidence"] for c in knowledge.plan["components"]}
    assert "no control group" in evidence["fredericson_strength"].lower()
    assert "no control group" in evidence["fredericson_stretches"].lower()
    assert evidence["added_exercises"].startswith("Coach's opinion")
    assert evidence["foam_rolling"].startswith("Coach's opinion")
    assert "not injured ones" in evidence["cross_training"]
    stubborn = " ".join(e["then"] for e in knowledge.plan["escalate"])
    assert "little to no scientific support" in stubborn


@pytest.mark.parametrize("topic", ["Ice and anti-inflammatory medicines", "Complete or relative rest from running"])
def test_disagreements_show_both_sides_with_their_sources(knowledge: Knowledge, topic: str) -> None:
    (entry,) = [d for d in knowledge.plan["disagreements"] if d["topic"] == topic]
    cited = [set(p["cite"]) for p in entry["positions"]]
    assert len(cited) >= 2
    assert "runnersconnect_itbs" in cited[0]
    assert any("runnersconnect_itbs" not in c for c in cited[1:])  # a source other than the article body
    assert entry["this_plan"]


def _result(triage: Triage, knowledge: Knowledge, name: str) -> Any:
    return triage.assess(check_case(vignette(DATA / "vignettes" / f"{name}.json")["case"], name, knowledge))


def test_plan_never_shows_what_the_result_does_not_recommend(triage: Triage, knowledge: Knowledge) -> None:
    for path in VIGNETTES:
        result = _result(triage, knowledge, path.stem)
        plan = build_plan(knowledge, result)
        if result.treatment_tier is None:
            assert plan is None
            continue
        assert plan is not None and len(plan.weeks) == 6
        shown = {s.component.recommendation for w in plan.weeks for s in w.steps}
        assert shown <= set(result.recommendation_ids), path.stem
        assert not shown & set(result.avoid_ids)


def test_plan_drops_pool_running_with_a_hip_flexor_injury_and_runs_while_exercises_flare(
    triage: Triage, knowledge: Knowledge
) -> None:
    hip_flexor = build_plan(knowledge, _result(triage, knowledge, "v02_hip_flexor"))
    assert hip_flexor is not None
    assert "cross_training" not in {s.component.id for w in hip_flexor.weeks for s in w.steps}
    flare = build_plan(knowledge, _result(triage, knowledge, "v17_exercises_flare"))
    assert flare is not None
    steps = {s.component.id for w in flare.weeks for s in w.steps}
    assert "return_to_running" not in steps and "settle_first" in steps


def test_on_your_own_only_when_self_care_is_the_disposition(triage: Triage, knowledge: Knowledge) -> None:
    def notes(name: str) -> str:
        plan = build_plan(knowledge, _result(triage, knowledge, name))
        assert plan is not None
        return " ".join(note for note, _ in plan.notes)

    assert "on your own" in notes("v01_classic")
    assert "sports physiotherapist should lead" in notes("v11_failed_self_care")
    # Contract invariant 9: no plan at all before the safety questions are answered.
    assert build_plan(knowledge, _result(triage, knowledge, "v14_incomplete")) is None


def test_plan_strength_progression_runs_from_1x15_to_3x30(triage: Triage, knowledge: Knowledge) -> None:
    plan = build_plan(knowledge, _result(triage, knowledge, "v01_classic"))
    assert plan is not None
    strength = [s.do for w in plan.weeks for s in w.steps if s.component.id == "fredericson_strength"]
    assert len(strength) == 6
    assert strength[0].startswith("1 set of 15") and strength[-1].startswith("3 sets of 30")


# --- the loader checks the plan --------------------------------------------------------------


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "knowledge", tmp_path / "knowledge", ignore=ignore)
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=ignore)
    return tmp_path


def _break_plan(kb: Path, old: str, new: str) -> list[str]:
    path = kb / "knowledge" / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb / "knowledge", kb / "rules")
    return caught.value.problems


@pytest.mark.parametrize("old,new,expected", [
    ("    recommendation: relative_rest\n", "    recommendation: complete_rest\n",
     "knowledge/plan.yaml: $.components[0].recommendation: unknown recommendation id 'complete_rest'"),
    ("    quote_source: runnersconnect_itbs\n    evidence: \"Part of",
     "    quote_source: the_internet\n    evidence: \"Part of",
     "knowledge/plan.yaml: $.components[0].quote_source: unknown citation 'the_internet'"),
    ("  cite: [runnersconnect_itbs, fredericson2000]\n\ncomponents:", "  cite: [hearsay]\n\ncomponents:",
     "knowledge/plan.yaml: $.design.cite[0]: unknown citation 'hearsay'"),
    ("      - component: settle_first\n", "      - component: yoga\n",
     "knowledge/plan.yaml: $.weeks[0].steps[1].component: unknown component 'yoga'"),
    ("    about: [ice_cup, ask_pharmacist_about_medication]", "    about: [ice_bath]",
     "knowledge/plan.yaml: $.disagreements[0].about[0]: unknown recommendation id 'ice_bath'"),
    ("    dispositions: [self_care]  #", "    dispositions: [home]  #",
     "knowledge/plan.yaml: $.tier_notes[0].dispositions[0]: unknown disposition 'home'"),
])
def test_the_loader_cross_checks_the_plan(kb: Path, old: str, new: str, expected: str) -> None:
    assert expected in _break_plan(kb, old, new)


def test_a_plan_outside_its_schema_is_located(kb: Path) -> None:
    problems = _break_plan(kb, 'fine if they don\'t hurt."\n        design_choice: true\n',
                           'fine if they don\'t hurt."\n        design_choice: maybe\n')
    assert any(p.startswith("knowledge/plan.yaml: $.weeks[0].steps[0].design_choice:") for p in problems), problems


def test_kb_validate_reports_a_missing_plan(runner: CliRunner, kb: Path) -> None:
    (kb / "knowledge" / "plan.yaml").unlink()
    run = runner.invoke(cli, ["kb", "validate", "--knowledge", str(kb / "knowledge"), "--rules", str(kb / "rules")])
    assert run.exit_code == 3
    assert "knowledge/plan.yaml: file is missing" in run.stderr
