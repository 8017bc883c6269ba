"""The summary care card: one screen, plain words, derived from the result and knowledge."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from itb_triage.cli.render import SUMMARY_LINES, render_summary
from itb_triage.engine import Knowledge, Result, Triage
from itb_triage.engine.labels import Labels, plain_name
from itb_triage.engine.summary import summarise

from .conftest import VIGNETTES, vignette

# The public vignettes: the tests' copies and, where this machine has them, the shared set.
SHARED = Path("/work/shared/vignettes")
PUBLIC = sorted({p.name: p for p in [*(SHARED.glob("*.json") if SHARED.is_dir() else []), *VIGNETTES]}.values(),
                key=lambda p: p.name)
# What a runner must not read: ladder words, raw ids, source keys.
JARGON = re.compile(r"\b(rung|tier|disposition)s?\b|\b[a-z]+_[a-z_]+\b|\([a-z_]+\d{4}[a-z]?\)", re.IGNORECASE)


def _result(triage: Triage, path: Path) -> Result:
    case = vignette(path)["case"]
    return triage.assess(triage.read_case(json.dumps(case).encode(), path.name))


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_the_card_fits_one_screen_without_jargon(path: Path, triage: Triage) -> None:
    result = _result(triage, path)
    text = render_summary(summarise(result, triage.knowledge), 80, "ITB triage", "More: itb-triage assess --detail")
    lines = text.splitlines()
    assert len(lines) <= SUMMARY_LINES, text
    assert max(len(line) for line in lines) <= 80, text
    assert not JARGON.search(text), JARGON.search(text)
    summary = summarise(result, triage.knowledge)
    assert summary.urgency in text.title() or summary.urgency.upper() in text
    assert summary.where.split()[0] in text


def test_the_card_keeps_three_things_to_do_when_it_must_shrink(triage: Triage) -> None:
    result = _result(triage, VIGNETTES[0])
    summary = summarise(result, triage.knowledge)
    assert len(summary.this_week) >= 3
    text = render_summary(summary, 60, "ITB triage")
    assert len(text.splitlines()) <= SUMMARY_LINES
    assert sum(line.startswith(" - ") for line in text.splitlines()) >= 3


def test_urgency_is_named_the_way_a_person_says_it(triage: Triage, knowledge: Knowledge) -> None:
    said = {d["id"]: d["urgency"] for d in knowledge.presentation["dispositions"]}
    places = knowledge.presentation["places"]
    for path in PUBLIC:
        result = _result(triage, path)
        place = next((p["urgency"] for p in places if "urgency" in p and result.disposition in p["dispositions"]
                      and p["recommendation"] in result.recommendation_ids), None)
        assert summarise(result, knowledge).urgency == (place or said[result.disposition])


def test_a_recommendation_the_knowledge_does_not_know_yet_is_shown_in_words(triage: Triage) -> None:
    result = _result(triage, VIGNETTES[0])
    invented = {"id": "brand_new_advice", "title": "Try the brand new thing (experimental)",
                "do": "Do the new thing daily. Then more.", "citations": []}
    changed = replace(result, recommendations=(invented, *result.recommendations))
    summary = summarise(changed, triage.knowledge)
    # Not in the plan's first week, so it follows the plan's items, in plain words.
    labels = [item.label for item in summary.this_week] + [item.label for item in summary.this_week]
    assert "Try the brand new thing" in labels or summary.more_to_do > 0
    assert "brand_new_advice" not in render_summary(summary)


def test_the_safety_net_advice_replaces_the_default_words(triage: Triage, knowledge: Knowledge) -> None:
    result = _result(triage, VIGNETTES[0])
    net = {"id": knowledge.presentation["safety_net"], "title": "When to get help sooner",
           "do": "Get seen today if the knee swells. Review at six weeks.", "citations": []}
    others = tuple(r for r in result.recommendations if r["id"] != net["id"])
    changed = replace(result, recommendations=(*others, net))
    summary = summarise(changed, knowledge)
    assert summary.sooner == ("Get seen today if the knee swells.", "Review at six weeks.")
    assert all(item.id != net["id"] for item in summary.this_week)
    assert summary.sooner_short == tuple(next(d["sooner"] for d in knowledge.presentation["dispositions"]
                                              if d["id"] == result.disposition))
    without = summarise(replace(result, recommendations=others), knowledge)
    assert without.sooner == without.sooner_short


def test_the_call_emergency_card_says_call(triage: Triage, knowledge: Knowledge) -> None:
    for path in PUBLIC:
        result = _result(triage, path)
        if "call_emergency_number" in result.recommendation_ids:
            assert summarise(result, knowledge).urgency.startswith("Call")


def test_a_place_words_apply_only_on_their_dispositions(triage: Triage, knowledge: Knowledge) -> None:
    for path in PUBLIC:
        result = _result(triage, path)
        summary = summarise(result, knowledge)
        if result.disposition in ("emergency", "same_day", "within_days"):
            assert "not urgent" not in summary.where.lower()


def test_an_unsure_safety_answer_is_named(triage: Triage) -> None:
    doc = next(vignette(p) for p in VIGNETTES if "unsure" in p.stem)
    case = doc["case"]
    result = triage.assess(triage.read_case(json.dumps(case).encode(), "unsure"))
    unsure = [q for q, a in case["answers"].items() if a == "unsure" and triage.knowledge.questions[q].get("screening")]
    summary = summarise(result, triage.knowledge)
    assert unsure and summary.unsure == tuple(triage.knowledge.questions[q]["text"] for q in unsure)


def test_safety_questions_are_asked_only_when_they_come_first(triage: Triage) -> None:
    for path in PUBLIC:
        result = _result(triage, path)
        summary = summarise(result, triage.knowledge)
        assert bool(summary.questions) == (result.disposition == "incomplete" and bool(result.unanswered_screening))


def test_labels_use_words_not_ids(knowledge: Knowledge) -> None:
    labels = Labels(knowledge)
    for kind, table in [("condition", knowledge.conditions), ("red_flag", knowledge.red_flags),
                        ("recommend", knowledge.recommendations), ("avoid", knowledge.avoid),
                        ("tier", knowledge.tiers), ("disposition", knowledge.dispositions)]:
        for ident in table:
            assert "_" not in labels.of(kind, ident), (kind, ident)
    assert labels.of("recommend", "not_known_yet") == "not known yet"
    assert plain_name("Locking knee (meniscus)") == "Locking knee"
    assert plain_name("(only a bracket)") == "(only a bracket)"


def test_answers_in_words(knowledge: Knowledge) -> None:
    labels = Labels(knowledge)
    assert labels.answer("trauma_onset", "unsure") == "Not sure"
    assert labels.answer("age_years", 34) == "34 years"
    assert labels.answer("treatments_tried", []) == "none"


def test_presentation_names_an_unknown_id_as_a_knowledge_problem(tmp_path: Path) -> None:
    import shutil

    from itb_triage.engine import KnowledgeError, load_knowledge
    from itb_triage.engine.knowledge import _package_dir

    kdir = tmp_path / "knowledge"
    shutil.copytree(str(_package_dir("itb_triage.knowledge")), kdir)
    import yaml

    doc: dict[str, Any] = yaml.safe_load((kdir / "presentation.yaml").read_text())
    broken = copy.deepcopy(doc)
    broken["places"].append({"recommendation": "no_such_advice"})
    broken["labels"]["conditions"]["no_such_condition"] = "words"
    (kdir / "presentation.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kdir)
    text = "\n".join(caught.value.problems)
    assert "unknown recommendation id 'no_such_advice'" in text
    assert "no_such_condition: unknown condition id" in text


def test_advice_particular_to_the_runner_comes_first(triage: Triage, knowledge: Knowledge) -> None:
    first = knowledge.presentation["things_to_do"]["first"]
    for path in PUBLIC:
        result = _result(triage, path)
        summary = summarise(result, knowledge)
        given = [r for r in first if r in result.recommendation_ids]
        if given and summary.this_week:
            assert summary.this_week[0].id == given[0], path.stem
