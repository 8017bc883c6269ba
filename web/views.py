"""Engine values as the browser and the API show them: questions, reasons to ask, form input.

Nothing is worded here that the knowledge or the engine does not already word: a
question is its knowledge entry, "why" is the Interview's own WhyItems, and typed
input is checked by `Interview.parse`, the same as at the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from itb_triage.engine import Knowledge, WhyItem


def question_json(knowledge: Knowledge, question: str) -> dict[str, Any]:
    """One question as the API gives it: id, text, help, type, choices or unit and range."""
    entry = knowledge.questions[question]
    out: dict[str, Any] = {
        "id": question,
        "text": entry["text"],
        "help": entry.get("help", ""),
        "type": entry["type"],
        "section": entry["section"],
        "screening": bool(entry.get("screening", False)),
    }
    if entry["type"] in ("choice", "multi"):
        out["choices"] = [{"id": v["id"], "label": v["label"]} for v in entry["values"]]
    else:
        out["minimum"] = entry["minimum"]
        out["maximum"] = entry["maximum"]
        if entry.get("unit"):
            out["unit"] = entry["unit"]
    return out


def why_json(items: Sequence[WhyItem]) -> list[dict[str, Any]]:
    return [{"rule": i.rule, "because": i.because, "can_change": list(i.conclusions),
             "citations": list(i.citations)} for i in items]


def why_groups(items: Sequence[WhyItem]) -> list[dict[str, Any]]:
    """"Why are we asking?" on a page: the rules' reasons under what they can change, each
    conclusion once (four rules that keep a safety question open read as one point)."""
    groups: dict[str, list[str]] = {}
    for item in items:
        groups.setdefault("; ".join(item.conclusions), []).append(item.because)
    return [{"can_change": change, "because": list(dict.fromkeys(reasons))} for change, reasons in groups.items()]


def form_text(entry: dict[str, Any] | Any, values: Sequence[str]) -> str:
    """The form's value(s) for a question as the text `Interview.parse` reads.

    A choice is its id; ticked boxes are ids joined by commas, none ticked is `none`
    (an empty list, which the question may or may not allow); a number is as typed.
    """
    if entry["type"] == "multi":
        return ",".join(v for v in values if v) or "none"
    return values[0] if values else ""


def range_hint(entry: dict[str, Any] | Any) -> str:
    """'A number from 5 to 110 years.', as the terminal interview says it."""
    unit = f" {entry['unit']}" if entry.get("unit") else ""
    return f"A number from {entry['minimum']} to {entry['maximum']}{unit}."
