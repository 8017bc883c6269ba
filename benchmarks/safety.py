"""The safety benchmark: the figures symptom-checker studies report, for this tool, in one command.

    .venv/bin/python benchmarks/safety.py            # writes docs/safety-benchmark.md (under a minute)
    .venv/bin/python benchmarks/safety.py --check    # CI: the worked cases only, exit 1 below the bar

It runs two sets of worked cases through the engine the way `itb-triage assess` does
(the case read and checked from its bytes, assessed, and the contract's JSON read back):

- the project's own cases, tests/data/vignettes (the rules were developed against them);
- the independent set, benchmarks/vignettes (written from the sources, not from the
  rules; see the README there);

and reports for each the triage accuracy, Gilbert's safe rate on the five levels, the
emergency and same-day sensitivity, the over- to undertriage ratio, the tier accuracy, the
condition agreement and a table of every case (benchmarks/triage_metrics.py defines
them). Beside them, in the same run, it runs the safety invariants and the clinical
decision rules (the property tests, through pytest, with N examples each and a fixed
seed), and quotes the fuzz count, the mutation score and the attack table from
docs/testing.md, where they are recorded.

`--check` fails (exit 1) if the emergency sensitivity of either set is below 100 % or
its safe rate below 97 %; it skips the property tests, which the test suite runs anyway.
The full run exits 1 on the same conditions, or if a property fails, after writing the page.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from triage_metrics import EMERGENCY, CaseOutcome, Metrics, Rate, metrics, outcome

if TYPE_CHECKING:
    from itb_triage.engine import Triage

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "project": ("The project's cases", ROOT / "tests" / "data" / "vignettes"),
    "independent": ("The independent cases", ROOT / "benchmarks" / "vignettes"),
}
PROPERTY_FILES = ("tests/test_safety_invariants.py", "tests/test_clinical_decision_rules.py")
TESTING_PAGE = ROOT / "docs" / "testing.md"
PAGE = ROOT / "docs" / "safety-benchmark.md"
# The bar of issue 17: no emergency missed, and at least Gilbert's GPs' safe rate.
MIN_EMERGENCY_SENSITIVITY = 1.0
MIN_SAFE_RATE = 0.97
NOT_A_LEVEL = "incomplete"  # the contract's "cannot say yet": not one of the five levels


# --- the worked cases ----------------------------------------------------------------------


def load_cases(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(folder.glob("*.json"))]


def assess_cases(triage: Triage, cases: Sequence[tuple[Path, dict[str, Any]]]) -> list[CaseOutcome]:
    """Each case as `itb-triage assess --format json` sees it: bytes in, the contract's JSON out."""
    from itb_triage.cli.render import render_json

    outcomes = []
    for path, doc in cases:
        checked = triage.read_case(json.dumps(doc["case"]).encode("utf-8"), str(path))
        result = json.loads(render_json(triage.assess(checked)))
        outcomes.append(outcome(doc, result))
    return outcomes


# --- the property tests ----------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyRun:
    nodeid: str
    outcome: str  # passed, failed, xfailed (an expected failure, with its reason), xpassed, skipped
    examples: int | None  # generated examples that ran, as Hypothesis counted them
    seconds: float
    reason: str = ""

    @property
    def title(self) -> str:
        name = self.nodeid.rsplit("::", 1)[-1].removeprefix("test_")
        return name.replace("_", " ")


class _Recorder:
    """A pytest plugin: each test's outcome, and Hypothesis' count of the examples it ran."""

    def __init__(self) -> None:
        self.examples: dict[str, int] = {}
        self.reports: dict[str, Any] = {}

    # Innermost wrapper (trylast), inside Hypothesis' own: its statistics come to us.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: Any) -> Any:
        from hypothesis.statistics import collector

        def note(stats: dict[str, Any]) -> None:
            cases = stats.get("generate-phase", {}).get("test-cases", [])
            self.examples[item.nodeid] = sum(case.get("status") in ("valid", "interesting") for case in cases)

        with collector.with_value(note):  # type: ignore[arg-type]
            return (yield)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.reports[report.nodeid] = report


def run_properties(examples: int, seed: int) -> tuple[list[PropertyRun], str]:
    """Run the property files in this process with `examples` per property and a fixed seed."""
    from hypothesis import settings

    # tests/conftest.py loads the profile named by ITB_HYPOTHESIS_PROFILE, and its
    # `examples()` then gives every property this count instead of its own.
    settings.register_profile("safety-benchmark", max_examples=examples, deadline=None, database=None)
    os.environ["ITB_HYPOTHESIS_PROFILE"] = "safety-benchmark"
    recorder = _Recorder()
    output = io.StringIO()
    # Hypothesis is imported already (for the profile), so pytest cannot rewrite its asserts: harmless.
    args = ["-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            f"--hypothesis-seed={seed}", f"--rootdir={ROOT}",
            *(str(ROOT / f) for f in PROPERTY_FILES)]
    with contextlib.redirect_stdout(output):
        pytest.main(args, plugins=[recorder])
    runs = []
    for nodeid, report in recorder.reports.items():
        kind = report.outcome
        reason = ""
        if hasattr(report, "wasxfail"):
            kind = "xfailed" if report.skipped else "xpassed"
            reason = str(report.wasxfail).removeprefix("reason: ")
        runs.append(PropertyRun(nodeid, kind, recorder.examples.get(nodeid), report.duration, reason))
    return runs, output.getvalue()


# --- docs/testing.md ------------------------------------------------------------------------


@dataclass(frozen=True)
class TestingRecord:
    fuzz: str | None
    mutation: list[str]
    attacks: str | None


def _table_after(lines: list[str], start: int) -> list[list[str]]:
    """The first Markdown table from line `start` on, before the next heading, as rows of cells (header first)."""
    rows: list[list[str]] = []
    for line in lines[start:]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.append(cells)
        elif rows or line.startswith("#"):
            break
    return rows


def read_testing_page(text: str) -> TestingRecord:
    """The fuzz count, the mutation score of the tests alone and the attack table's status, where recorded."""
    lines = text.splitlines()
    fuzz = re.search(r"\*\*([\d,]+) inputs per run\*\*", text)
    mutation: list[str] = []
    block = re.search(r"<!-- mutation-results:begin -->(.*?)<!-- mutation-results:end -->", text, re.S)
    if block:
        run_line = re.search(r"^(Run of [^(\n]*?)\s*[(:\n]", block.group(1), re.M)
        if run_line:
            mutation.append(run_line.group(1))
        for row in _table_after(block.group(1).splitlines(), 0)[1:]:
            label = row[0].strip("*")
            if label in ("all but cite", "all") and len(row) >= 4:
                total, rejected, caught = (int(row[i].replace(",", "")) for i in (1, 2, 3))
                reached = total - rejected
                score = Rate(caught, reached)
                mutation.append(f"{label}: the tests caught {caught} of the {reached} mutants the loader accepted "
                                f"({100 * (score.value or 0):.1f} %; with the loader's rejections, {row[-1]})")
    attacks = None
    heading = next((i for i, line in enumerate(lines) if line.startswith("#") and "attack" in line.lower()), None)
    if heading is not None:
        table = _table_after(lines, heading + 1)
        if table:
            header = [cell.lower() for cell in table[0]]
            column = next((i for i, cell in enumerate(header) if "status" in cell), None)
            if column is None:
                attacks = f"{len(table) - 1} items (no status column)"
            else:
                counts = Counter(row[column].strip("* ") for row in table[1:] if len(row) > column)
                attacks = f"{len(table) - 1} items: " + ", ".join(f"{n} {status}" for status, n in counts.most_common())
    return TestingRecord(fuzz=fuzz.group(1) if fuzz else None, mutation=mutation, attacks=attacks)


# --- the check -----------------------------------------------------------------------------


def shortfalls(results: dict[str, Metrics]) -> list[str]:
    """Where a set falls below the bar: every emergency caught, and a safe rate of 97 % or more."""
    problems = []
    for name, m in results.items():
        sensitivity = m.emergency_sensitivity.value
        if sensitivity is not None and sensitivity < MIN_EMERGENCY_SENSITIVITY:
            problems.append(f"{name} cases: emergency sensitivity {m.emergency_sensitivity.text()}, below 100 %")
        if m.emergency_sensitivity.n == 0:
            problems.append(f"{name} cases: no case needs an emergency, so the sensitivity cannot be checked")
        safe = m.safe.value
        if safe is None or safe < MIN_SAFE_RATE:
            problems.append(f"{name} cases: safe rate {m.safe.text()}, below {100 * MIN_SAFE_RATE:.0f} %")
    return problems


# --- the page ------------------------------------------------------------------------------


PUBLISHED = [
    # study, what was tested, triage accuracy, emergencies, self-care, safe, over:under
    ("Semigran et al., BMJ 2015;351:h3480", "23 symptom checkers, 45 general-medicine vignettes (532 evaluations)",
     "57 % (95 % CI 52–61)", "80 % (75–86)", "33 % (26–40)", "—", "—"),
    ("Hill et al., Med J Aust 2020;212(11):514–519", "19 triage symptom checkers, 48 vignettes (688 tests)",
     "49 % (44–54)", "63 % (52–71)", "40 % (26–49)", "—", "—"),
    ("Schmieding et al., J Med Internet Res 2022;24(5):e31810", "22 symptom checkers, Semigran's 45 vignettes",
     "median 55.8 % (IQR 15.1)", "more than 40 % missed", "—", "—", "1.11:1"),
    ("Gilbert et al., BMJ Open 2020;10:e040269", "8 apps and 7 GPs, 200 primary-care vignettes",
     "—", "—", "—", "GPs 97.0 %, Ada 97.0 %", "—"),
]


def _pct(rate: Rate) -> str:
    return "—" if rate.value is None else f"{100 * rate.value:.0f} % ({rate.hits}/{rate.n})"


def _levels_text(values: Sequence[str | None] | None) -> str:
    if values is None:
        return "—"
    return ", ".join("`null`" if v is None else f"`{v}`" for v in values)


def _gap_text(o: CaseOutcome, levels: Sequence[str]) -> str:
    if o.accepted is None:
        return "—"
    if o.needs(levels) is None:
        return "not one of the five levels"
    gap = o.gap(levels)
    if gap is None:
        return "no level given, **unsafe**"
    if gap == 0:
        return "right level"
    kind = "over" if gap > 0 else "under"
    note = "" if gap >= -1 else ", **unsafe**"
    return f"{kind}triage by {abs(gap)}{note}"


def case_table(outcomes: Sequence[CaseOutcome], levels: Sequence[str]) -> list[str]:
    lines = ["| case | expected | given | gap | tier expected → given | all expectations |",
             "|---|---|---|---|---|---|"]
    for o in outcomes:
        tier = "—" if o.tier_accepted is None else f"{_levels_text(o.tier_accepted)} → {_levels_text([o.tier_given])}"
        met = "met" if not o.problems else "; ".join(p.replace("|", "/") for p in o.problems)
        gap = _gap_text(o, levels)
        lines.append(f"| `{o.id}` | {_levels_text(o.accepted)} | `{o.given}` | {gap} | {tier} | {met} |")
    return lines


def render(
    results: dict[str, Metrics],
    outcomes: dict[str, list[CaseOutcome]],
    levels: Sequence[str],
    properties: list[PropertyRun] | None,
    examples: int,
    seed: int,
    record: TestingRecord,
    about: dict[str, str],
) -> str:
    names = list(results)
    every = [o for n in names for o in outcomes[n]]
    wide, total_cases = sum(len(o.accepted or ()) > 1 for o in every), len(every)
    head = "| figure | " + " | ".join(f"{SETS[n][0].lower()} ({results[n].cases})" for n in names) + " |"
    out = [
        "# Safety benchmark",
        "",
        "The figures that studies of symptom checkers report, for itb-triage, from its own worked",
        "cases, regenerated by one command:",
        "",
        "```sh",
        ".venv/bin/python benchmarks/safety.py           # writes this page",
        ".venv/bin/python benchmarks/safety.py --check   # CI: fails below 100 % emergency sensitivity or 97 % safe",
        "```",
        "",
        "Every case goes through the engine as `itb-triage assess --format json` runs it: the case",
        "file's bytes are read and checked against the case schema, assessed, and the contract's",
        "JSON is read back (without the critical answers, which `assess` adds and which change",
        "nothing here). Definitions are at the end; benchmarks/triage_metrics.py computes them.",
        "",
        f"Run of {about['date']} on {about['machine']}; knowledge version `{about['knowledge']}`; "
        f"{about['program']}. The run took {about['wall']} s of wall-clock time and {about['cpu']} s of CPU, with a",
        f"load average of {about['load']} on the machine when it ended (other work shares the cores).",
        "",
        "## The figures",
        "",
        head,
        "|---|" + "---|" * len(names),
    ]
    rows: list[tuple[str, Any]] = [
        ("triage accuracy (the disposition within the accepted set)", lambda m: m.triage_accuracy.text()),
        ("safe rate (Gilbert: the accepted level, more urgent, or one level less)", lambda m: m.safe.text()),
        ("emergency sensitivity (cases that need `emergency`, sent there)", lambda m: m.emergency_sensitivity.text()),
        ("same-day sensitivity (cases that need `same_day`, sent today or sooner)",
         lambda m: m.same_day_sensitivity.text()),
        ("overtriage to undertriage", lambda m: m.over_under_ratio),
        ("unsafe (two or more levels too calm, or no level)", lambda m: str(m.unsafe)),
        ("tier accuracy (the treatment tier within the accepted set)", lambda m: m.tier_accuracy.text()),
        ("condition agreement (each named condition's assessment accepted)", lambda m: m.condition_agreement.text()),
        ("cases meeting every expectation (check_vignettes' test)", lambda m: m.all_expectations_met.text()),
    ]
    for label, figure in rows:
        out.append(f"| {label} | " + " | ".join(figure(results[n]) for n in names) + " |")
    out += ["", "Triage accuracy by the level a case needs (its least urgent accepted level):", "",
            "| needs | " + " | ".join(SETS[n][0].lower() for n in names) + " |", "|---|" + "---|" * len(names)]
    for level in levels:
        out.append(f"| `{level}` | " + " | ".join(_pct(results[n].by_level[level]) for n in names) + " |")
    out += [
        "",
        "## Beside the published figures",
        "",
        "| study | what was tested | triage accuracy | emergencies | self-care | safe | over:under |",
        "|---|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in PUBLISHED),
    ]
    for n in names:
        m = results[n]
        out.append(
            f"| **itb-triage, {SETS[n][0].lower()}** | {m.cases} runner vignettes, 1 tool | {_pct(m.triage_accuracy)} "
            f"| {_pct(m.emergency_sensitivity)} | {_pct(m.by_level.get('self_care', Rate(0, 0)))} | {_pct(m.safe)} "
            f"| {m.over_under_ratio} |"
        )
    out += [
        "",
        "**An honest note.** These are not figures on a common test set, and they must not be read",
        "as \"better than\" the studies above. The published vignettes are general medicine, written",
        "by the study authors, run by people typing into tools that cover all of medicine; ours are",
        "runners with pain on the outside of the knee, thigh or hip, the one complaint this tool",
        "covers. The project's cases were written by the people who wrote the rules, and the rules",
        "were developed against them: a high score there shows the rules do what their authors meant,",
        "no more. The independent cases were written from the sources rather than the rules, by an",
        "engineer of this project, not by clinicians, and have not yet been reviewed by one",
        "(benchmarks/vignettes/README.md says how to). Both sets are small: the 95 % intervals",
        "(Wilson) show how little a handful of cases can prove. Our cases often accept two levels",
        f"({wide} of {total_cases} here, where the sources allow either), while the studies scored one",
        "gold-standard level: our target is wider. Each case is entered exactly as written, by the",
        "program, with every safety question answered; the studies had people type vignettes into the",
        "apps, and people entering the same vignette disagree (El-Osta et al., BMJ Open",
        "2022;12:e053566: kappa 0.48 for the triage advice between inputters). What is comparable is",
        "the method: the same measures, defined the same way, with the cases and the code published",
        "so anyone can rerun them, add a case, or dispute one.",
        "",
        "## Safety invariants and clinical decision rules, over generated cases",
        "",
    ]
    if properties is None:
        out.append("Not run (`--no-properties`).")
    else:
        out += [
            f"The property tests of {', '.join(f'`{f}`' for f in PROPERTY_FILES)}, run by pytest in this",
            f"process with **N = {examples} examples per property** (Hypothesis profile `safety-benchmark`) and",
            f"**seed {seed}** (`--hypothesis-seed`), so the run is repeatable. The cases come from",
            "tests/strategies.py, the generators of the test suite: answers drawn from the case schema,",
            "half fully random, half the typical presentation with a few answers changed. The contract",
            "(../shared/contract/README.md) lists the safety invariants; each property test below is one",
            "of them, or a published clinical decision rule.",
            "",
            "| property | examples | result | seconds |",
            "|---|---:|---|---:|",
        ]
        for run in properties:
            result = run.outcome
            if run.reason:
                result += f" (stops at its first counterexample): {run.reason}"
            count = "—" if run.examples is None else str(run.examples)
            out.append(f"| {run.title} | {count} | {result} | {run.seconds:.1f} |")
        total = sum(run.examples or 0 for run in properties)
        out += ["", f"{len(properties)} properties, {total:,} generated examples in all."]
    fuzz = f"{record.fuzz} malformed or hostile inputs per run of the suite" if record.fuzz else "not recorded"
    out += [
        "",
        "## From the testing page",
        "",
        "Quoted from docs/testing.md, where the slower runs record them (they are not rerun here):",
        "",
        f"- **Fuzzing:** {fuzz}.",
    ]
    if record.mutation:
        out.append(f"- **Mutation score of the tests alone** ({record.mutation[0]}):")
        out += [f"  - {line}" for line in record.mutation[1:]]
    else:
        out.append("- **Mutation score:** not recorded.")
    out.append(f"- **Attack table:** {record.attacks or 'not recorded on the testing page yet'}.")
    for n in names:
        title, folder = SETS[n]
        out += ["", f"## {title}: every case", "", f"From `{folder.relative_to(ROOT)}`.", "",
                *case_table(outcomes[n], levels)]
    out += [
        "",
        "## Definitions",
        "",
        f"- **The five levels**, most urgent first: {', '.join(f'`{lv}`' for lv in levels)} (the ladder of",
        f"  knowledge/ladder.yaml without `{NOT_A_LEVEL}`, which is not a level but \"answer the safety",
        "  questions first\").",
        "- **Accepted set:** a case's `expect.disposition`. The **gap** is how many levels the given",
        "  disposition lies above (overtriage) or below (undertriage) the accepted set; 0 within it.",
        "- **Triage accuracy:** cases whose given disposition is in the accepted set, of the cases",
        "  that set one (the same test as tests/test_vignettes.py and check_vignettes.py).",
        "- **Safe rate** (Gilbert et al. 2020): a gap of 0, any overtriage, or undertriage by one",
        f"  level, of the cases that accept a level; a result of `{NOT_A_LEVEL}` there counts as unsafe.",
        "- **Emergency sensitivity:** of the cases whose least urgent accepted level is `emergency`,",
        "  those sent to `emergency`. **Same-day sensitivity:** of the cases whose least urgent accepted",
        "  level is `same_day`, those sent to `same_day` or `emergency`.",
        "- **Overtriage to undertriage:** the number of cases sent more urgently than accepted, to the",
        "  number sent less urgently (Schmieding et al. 2022 report it as odds).",
        "- **Tier accuracy:** the treatment tier within `expect.treatment_tier`, of the cases that set one.",
        "- **Condition agreement:** of every (case, condition) pair in `expect.conditions`, those where",
        "  the result assesses the condition as one of the accepted assessments.",
        "- **Intervals:** Wilson score 95 % intervals for a proportion.",
        "",
    ]
    return "\n".join(out)


# --- the command ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="run the worked cases only, write nothing, exit 1 below the bar")
    parser.add_argument("--examples", type=int, default=100,
                        help="examples per property test (default 100; the test suite runs 200-300)")
    parser.add_argument("--seed", type=int, default=17, help="Hypothesis seed of the property tests (default 17)")
    parser.add_argument("--no-properties", action="store_true", help="skip the property tests")
    parser.add_argument("-o", "--output", type=Path, default=PAGE, help="the page to write")
    args = parser.parse_args(argv)

    started, cpu_started = time.perf_counter(), time.process_time()
    from itb_triage.engine import Triage

    triage = Triage()
    levels = [d for d in triage.knowledge.dispositions if d != NOT_A_LEVEL]
    if EMERGENCY not in levels:
        print(f"safety.py: the ladder has no {EMERGENCY!r} level: {levels}", file=sys.stderr)
        return 2
    outcomes = {name: assess_cases(triage, load_cases(folder)) for name, (_, folder) in SETS.items()}
    results = {name: metrics(found, levels) for name, found in outcomes.items()}
    problems = shortfalls(results)
    for name, m in results.items():
        print(f"{SETS[name][0]} ({m.cases}): accuracy {m.triage_accuracy.text()}; safe {m.safe.text()}; "
              f"emergency sensitivity {m.emergency_sensitivity.text()}")
    if args.check:
        for problem in problems:
            print(f"FAIL {problem}", file=sys.stderr)
        return 1 if problems else 0

    properties = None
    if not args.no_properties:
        properties, log = run_properties(args.examples, args.seed)
        failed = [run for run in properties if run.outcome not in ("passed", "xfailed")]
        if failed or not properties:
            print(log[-3000:], file=sys.stderr)
            problems += [f"property {run.nodeid}: {run.outcome}" for run in failed] or ["no property test ran"]
    record = read_testing_page(TESTING_PAGE.read_text(encoding="utf-8")) if TESTING_PAGE.exists() else \
        TestingRecord(None, [], None)

    from run import machine

    info = machine()
    # The page being rewritten is not a local change to the program it measures.
    status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                            check=False).stdout.splitlines()
    page_path = str(args.output.resolve().relative_to(ROOT)) if args.output.resolve().is_relative_to(ROOT) else ""
    if all(line[3:] == page_path for line in status):
        info["itb-triage"] = info["itb-triage"].replace(" (with local changes)", "")
    about = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{info['CPU']}, {info['cores']}, {info['RAM']}, {info['OS']}, Python {info['Python']}",
        "program": f"itb-triage {info['itb-triage']}",
        "knowledge": triage.knowledge.version,
        "wall": f"{time.perf_counter() - started:.1f}",
        "cpu": f"{time.process_time() - cpu_started:.1f}",
        "load": f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown",
    }
    page = render(results, outcomes, levels, properties, args.examples, args.seed, record, about)
    args.output.write_text(page, encoding="utf-8")
    print(f"wrote {args.output} in {about['wall']} s")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
