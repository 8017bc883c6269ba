"""Three people take the interview in a pseudo-terminal, answering as a new user would.

Each person's answers are what they would type, in their own words ("nope", "six
weeks", "outside of the hip"), keyed by the question they answer; the script reads each
question off the screen, finds which one it is by its text, and types the answer (Enter
for a question the person has no answer for). It records the number of questions, the
estimates shown ("Question 7 of about 26"), every answer the program asked again, the
time from start to the result (the program's own time: no thinking time), the slowest
step, and the result's first lines. docs/usability.md is written from its output:

    .venv/bin/python scripts/usability_walkthrough.py > /tmp/walkthrough.md
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

from itb_triage.engine import load_knowledge

PROGRAM = Path(sys.executable).with_name("itb-triage")

# What each person types, question by question, in their own words; "first|second" is
# a first try and what the person types after the program asks again.
PEOPLE: dict[str, dict[str, str]] = {
    "A typical ITBS runner (34, outer knee, builds over runs)": {
        "pain_locations": "outside of the knee", "trauma_onset": "nope", "knee_locking": "no",
        "knee_giving_way": "nope", "knee_swelling": "no", "fever_or_hot_red_joint": "no",
        "numbness_or_tingling": "no", "leg_weakness": "no", "saddle_numbness_or_bladder_bowel": "no",
        "night_pain": "no", "unexplained_weight_loss": "no", "calf_swelling": "no",
        "chest_pain_or_breathless": "no", "groin_pain": "no", "focal_bone_pain": "no",
        "pain_site_vs_joint_line": "above", "age_years": "34", "side": "right", "onset": "gradually",
        "pain_timing": "after a set distance", "distance_to_onset_km": "3 miles",
        "pain_builds_dull_to_sharp": "yeah", "worse_downhill": "yes", "pain_sitting_knee_bent": "a bit|yes",
        "pain_stairs_or_squat": "no", "pain_radiates_from_back": "no", "tender_outer_knee_bone": "yes",
        "pain_forces_stop": "yes", "pain_walking": "no", "pain_severity": "6/10",
        "recent_training_change": "yes", "weekly_distance_km": "25 miles", "crossover_gait": "dunno",
        "knee_collapses_single_leg_squat": "not sure", "running_surfaces": "roads and trails",
        "shoes_worn_out": "no", "treatments_tried": "nothing", "duration_weeks": "3 weeks",
        "trend": "same", "hip_flexor_injury": "no", "race_in_days": "6 weeks", "race_distance": "half",
        "deep_pool_access": "no",
    },
    "An acute knee injury (twisted in a fall at football, 41)": {
        "pain_locations": "outside of the knee, inside of the knee", "trauma_onset": "yes",
        "deformity_after_injury": "no", "severe_pain_after_injury": "no", "cannot_bear_weight": "no",
        "cannot_bend_knee_90": "not sure", "bone_tender_after_injury": "no", "knee_locking": "no",
        "knee_giving_way": "yes, once", "knee_swelling": "yeah", "fever_or_hot_red_joint": "no",
        "numbness_or_tingling": "no", "leg_weakness": "no", "saddle_numbness_or_bladder_bowel": "no",
        "night_pain": "no", "unexplained_weight_loss": "no", "calf_swelling": "no",
        "chest_pain_or_breathless": "no", "groin_pain": "no", "focal_bone_pain": "no",
        "pain_site_vs_joint_line": "on the joint line", "age_years": "41", "side": "left",
        "onset": "suddenly", "pain_timing": "all the time", "duration_weeks": "4 days",
        "trend": "same", "treatments_tried": "ice and rest", "race_in_days": "", "deep_pool_access": "no",
    },
    "Outer-hip pain (52, sore lying on that side)": {
        "pain_locations": "outside of the hip", "pain_lying_on_side": "yes", "trauma_onset": "no",
        "knee_locking": "no", "knee_giving_way": "no", "knee_swelling": "no", "fever_or_hot_red_joint": "no",
        "numbness_or_tingling": "no", "leg_weakness": "no", "saddle_numbness_or_bladder_bowel": "no",
        "night_pain": "only when I lie on it|no", "unexplained_weight_loss": "no", "calf_swelling": "no",
        "chest_pain_or_breathless": "no", "groin_pain": "no", "focal_bone_pain": "no", "age_years": "52",
        "side": "right", "onset": "gradually", "pain_timing": "after running", "pain_walking": "a little|yes",
        "pain_radiates_from_back": "no", "pain_severity": "five", "recent_training_change": "no",
        "weekly_distance_km": "30k", "treatments_tried": "foam rolling the muscles, hip strengthening",
        "weeks_hip_strengthening": "a month", "exercises_flare_pain": "no", "foam_rolling_worsened": "no",
        "duration_weeks": "3 months", "trend": "worse", "hip_flexor_injury": "no", "race_in_days": "",
        "deep_pool_access": "yes",
    },
}


@dataclass
class Walk:
    """What one person's interview showed."""

    asked: list[str] = field(default_factory=list)
    estimates: list[int] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)  # the program's time after each answer
    seconds: float = 0.0  # start to result; the typing is instant, so this is the program's time
    result: list[str] = field(default_factory=list)


def walk(answers: dict[str, str], home: Path) -> Walk:
    knowledge = load_knowledge()
    by_text = {" ".join(e["text"].split()): q for q, e in knowledge.questions.items()}
    env = {**os.environ, "ITB_TRIAGE_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "80"}
    record = Walk()
    started = sent = time.perf_counter()
    child = pexpect.spawn(str(PROGRAM), ["interview"], env=env, encoding="utf-8", timeout=120, dimensions=(50, 80))
    try:
        while True:
            index = child.expect([r"Question (\d+) of about (\d+)\r\n", r"\[y/N\]: ", r"for example [^\r]*",
                                  pexpect.EOF])
            record.steps.append(time.perf_counter() - sent)
            if index == 3:
                break
            if index == 1:  # after urgent advice: "Continue answering for a fuller record?"
                child.sendline("n")
            elif index == 2:  # not understood: the second try, else give up on it, as a user might
                first, _, second = answers.get(record.asked[-1], "").partition("|")
                record.retries.append(f"{record.asked[-1]}: {first!r}" + (f", then {second!r}" if second else ""))
                child.expect(r"> ")
                child.sendline(second)
                if not second:
                    record.skipped.append(record.asked[-1])
            else:
                record.estimates.append(int(child.match.group(2)))
                child.expect(r"\r\n> ")
                first = child.before.split("\r\n   ")[0]
                text = " ".join(re.sub(r"^\d+\. ", "", first.split("\r\n")[0]).split())
                question = next((q for t, q in by_text.items() if t.startswith(text[:50])), None)
                if question is None:
                    raise SystemExit(f"cannot tell which question this is: {text[:80]!r}")
                record.asked.append(question)
                line = answers.get(question, "").partition("|")[0]
                if not line:
                    record.skipped.append(question)
                child.sendline(line)
            sent = time.perf_counter()
    finally:
        child.close()
    record.seconds = time.perf_counter() - started
    record.result = [line for line in (child.before or "").split("\r\n") if line.strip()][1:7]
    return record


def main() -> None:
    load = os.getloadavg()[0]
    print(f"Measured on {os.cpu_count()} CPU cores, load average {load:.1f} at the start.\n")
    print("| person | questions | estimate shown first → last | asked again | skipped | time to result | "
          "start-up | after an answer: median, slowest |")
    print("|---|---|---|---|---|---|---|---|")
    details = []
    for person, answers in PEOPLE.items():
        with tempfile.TemporaryDirectory() as home:
            record = walk(answers, Path(home))
        first_last = f"{record.estimates[0]} → {record.estimates[-1]}" if record.estimates else "-"
        startup, after = record.steps[0], sorted(record.steps[1:])
        median = after[len(after) // 2] if after else 0.0
        print(f"| {person} | {len(record.asked)} | {first_last} | {len(record.retries)} | {len(record.skipped)} | "
              f"{record.seconds:.1f} s | {startup:.2f} s | {median:.2f} s, {max(after, default=0.0):.2f} s |")
        details.append((person, record))
    for person, record in details:
        print(f"\n### {person}\n")
        print(f"Asked, in order: {', '.join(record.asked)}.\n")
        if record.retries:
            print(f"Asked again: {'; '.join(record.retries)}.\n")
        if record.skipped:
            print(f"Skipped (no answer typed): {', '.join(record.skipped)}.\n")
        print("```")
        print("\n".join(record.result))
        print("```")


if __name__ == "__main__":
    main()
