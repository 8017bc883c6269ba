#!/usr/bin/env python3
"""Mutation testing of the rule base: make one change to the rules, run the tests, repeat.

Run from anywhere, with the project's virtual environment:

    .venv/bin/python scripts/mutate_rules.py                 # every mutant, 2 workers
    .venv/bin/python scripts/mutate_rules.py --write-docs    # and update docs/testing.md

Mutants, one change each: every rule deleted; every pattern of every branch negated
(wrapped in `not:`, or a `not:` unwrapped); every concluded value changed (a disposition
to the next less urgent one, a tier to the rung below, a condition's assessment to the
next weaker one in the merge policy's order, none for the weakest; a recommendation,
avoid item, red flag, finding or open screening question to the next other id of its
kind); every citation dropped from its rule's `cite` list.

For each mutant the knowledge is first checked as `itb-triage kb validate` checks it
(loaded, then every rule and red flag proven reachable): a mutant it refuses is
counted as "rejected by kb validate", reported apart and left out of the score, which
is the tests' own: caught by the tests / reached the tests. The others run a fast
subset of the suite (`pytest -x`, Hypothesis profile `mutation` of
tests/conftest.py: few, reproducible examples); a failing run catches the mutant, a
passing run lets it survive.

Safety: the real rules/ are never written. The working tree is copied once into a
temporary snapshot, each worker gets its own copy of it, and the copy's package is put
first on PYTHONPATH (ahead of the editable install's finder), so the tests load the
mutated copy. Nothing is installed. At the end the real rules/ are compared with the
snapshot byte for byte.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "itb_triage"
KINDS = ("delete", "negate", "value", "cite")
DEFAULT_TESTS = (
    "tests/test_rule_coverage.py",
    "tests/test_vignettes.py",
    "tests/test_safety_invariants.py",
    "tests/test_engine_backends.py",
)
# Not about the rules: 1100 cases to prove sessions are freed.
DESELECT = ("tests/test_engine_backends.py::test_sessions_are_deleted_so_thousands_of_cases_run",)
PROFILE_ENV = "ITB_HYPOTHESIS_PROFILE"
IGNORED = (
    ".git", ".venv", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".coverage", "htmlcov", "docs", "benchmarks",
)
DOCS = ROOT / "docs" / "testing.md"
BEGIN, END = "<!-- mutation-results:begin -->", "<!-- mutation-results:end -->"
# Outcomes counted as caught.
CAUGHT = ("rejected", "caught", "timeout", "crashed", "error")


@dataclass
class Mutant:
    """One change to one rule file."""

    kind: str
    file: str
    rule: str
    change: str
    document: dict[str, Any] = field(repr=False)
    outcome: str = ""
    detail: str = ""
    flaky: str = ""
    seconds: float = 0.0


# --- the snapshot and its copies ------------------------------------------------------


def package_dirs(root: Path) -> dict[str, str]:
    """The package -> folder mapping of pyproject.toml, e.g. itb_triage.rules -> rules."""
    with (root / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)
    mapping: dict[str, str] = project["tool"]["setuptools"]["package-dir"]
    return mapping


def make_overlay(repo: Path, site: Path) -> None:
    """`site/itb_triage`: the package as the editable install maps it, pointing into `repo`."""
    mapping = package_dirs(repo)
    top = site / PACKAGE
    shutil.copytree(repo / mapping[PACKAGE], top, ignore=shutil.ignore_patterns("__pycache__"))
    for name, folder in mapping.items():
        parts = name.split(".")
        if len(parts) != 2 or parts[0] != PACKAGE:
            continue  # the top package, or a subpackage inside a mapped folder
        (top / parts[1]).symlink_to(repo / folder, target_is_directory=True)


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))


def overlay_env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env[PROFILE_ENV] = "mutation"
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_overlay(site: Path, repo: Path) -> None:
    """Refuse to run unless the overlay, not the editable install, provides every package."""
    code = (
        "import importlib, json, sys\n"
        f"names = {sorted(package_dirs(repo))!r}\n"
        "print(json.dumps({n: str(importlib.import_module(n).__path__[0]) for n in names}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], env=overlay_env(site), capture_output=True, text=True,
                         check=True, cwd=repo)
    for name, path in json.loads(run.stdout).items():
        if not Path(path).resolve().is_relative_to(site.parent.resolve()):
            raise SystemExit(f"mutate_rules: {name} would be imported from {path}, not from the copy; stopping")


def rules_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.yaml"))}


# --- mutants ---------------------------------------------------------------------------


def dump(document: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=4096)


def flow(node: Any) -> str:
    return json.dumps(node, separators=(", ", ": "))


def branches(when: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """(label, patterns) for each branch of a rule's `when`, as lists inside `when` itself."""
    if isinstance(when, dict):
        return [(f"any[{i}]", patterns) for i, patterns in enumerate(when["any"])]
    return [("when", when)]


class Alternatives:
    """The replacement for each concluded value: one per conclusion, chosen the same way every time."""

    def __init__(self, knowledge: Any) -> None:
        # Imported here: the package comes from the snapshot put on sys.path in main().
        from itb_triage.engine.merge import ASSESSMENT_STRENGTH

        self.assessments: tuple[str, ...] = ASSESSMENT_STRENGTH  # strongest first
        self.dispositions: list[str] = list(knowledge.dispositions)
        self.tiers: list[str] = list(knowledge.tiers)
        self.ids: dict[str, list[str]] = {
            "recommend": list(knowledge.recommendations),
            "avoid": list(knowledge.avoid),
            "red_flag": list(knowledge.red_flags),
            "unanswered": list(knowledge.screening_questions),
            "finding": sorted({f.id for r in knowledge.rules for f in r.then if f.kind == "finding"}),
        }

    def replace(self, kind: str, value: str, taken: set[str]) -> str | None:
        if kind == "disposition":
            i = self.dispositions.index(value)
            return self.dispositions[i + 1] if i + 1 < len(self.dispositions) else self.dispositions[i - 1]
        if kind == "tier":
            i = self.tiers.index(value)
            return self.tiers[i - 1] if i > 0 else self.tiers[1]
        if kind == "condition":  # the next weaker assessment; the weakest has none
            i = self.assessments.index(value)
            return self.assessments[i + 1] if i + 1 < len(self.assessments) else None
        options = self.ids[kind]
        start = options.index(value) if value in options else -1
        for step in range(1, len(options) + 1):
            candidate = options[(start + step) % len(options)]
            if candidate != value and candidate not in taken:
                return candidate
        return None


def mutants(files: dict[str, dict[str, Any]], alternatives: Alternatives, kinds: tuple[str, ...],
            only: set[str]) -> Iterator[Mutant]:
    """Every mutant of every rule file, in file and rule order."""
    for label, document in files.items():
        for index, rule in enumerate(document["rules"]):
            rule_id = rule["id"]
            if only and rule_id not in only:
                continue

            def variant(change: Callable[[dict[str, Any]], None], document: dict[str, Any] = document,
                        index: int = index) -> dict[str, Any]:
                mutated = copy.deepcopy(document)
                change(mutated["rules"][index])
                return mutated

            if "delete" in kinds:
                deleted = copy.deepcopy(document)
                del deleted["rules"][index]
                yield Mutant("delete", label, rule_id, "rule deleted", deleted)
            if "negate" in kinds:
                for b, (where, patterns) in enumerate(branches(rule["when"])):
                    for p, pattern in enumerate(patterns):
                        negated = pattern.get("not", {"not": pattern})
                        verb = "un-negated" if "not" in pattern else "negated"

                        def negate(r: dict[str, Any], b: int = b, p: int = p, new: Any = negated) -> None:
                            branches(r["when"])[b][1][p] = new

                        yield Mutant("negate", label, rule_id, f"{where}[{p}] {flow(pattern)} {verb}", variant(negate))
            if "value" in kinds:
                for c, conclusion in enumerate(rule["then"]):
                    (kind, body), = conclusion.items()
                    if kind == "condition":
                        (condition, old), = body.items()
                    else:
                        condition, old = "", body
                    taken = {v for t in rule["then"] for k, v in t.items() if k == kind and isinstance(v, str)}
                    new = alternatives.replace(kind, old, taken)
                    if new is None:
                        continue
                    replacement = {kind: {condition: new}} if kind == "condition" else {kind: new}
                    what = f"{condition} " if condition else ""

                    def change(r: dict[str, Any], c: int = c, new: Any = replacement) -> None:
                        r["then"][c] = new

                    yield Mutant("value", label, rule_id, f"then[{c}] {kind} {what}{old} -> {new}", variant(change))
            if "cite" in kinds:
                for cited in rule["cite"]:

                    def drop(r: dict[str, Any], cited: str = cited) -> None:
                        r["cite"] = [c for c in r["cite"] if c != cited]

                    yield Mutant("cite", label, rule_id, f"cite drops {cited}", variant(drop))


# --- running ---------------------------------------------------------------------------


@dataclass
class Worker:
    """One copy of the snapshot, its overlay, and the pristine bytes of its rule files."""

    repo: Path
    site: Path
    pristine: dict[str, bytes]


FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def pytest_command(tests: tuple[str, ...]) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    for test in DESELECT:
        if test.split("::")[0] in tests:
            command += ["--deselect", test]
    return command


def run_tests(worker: Worker, tests: tuple[str, ...], timeout: float) -> tuple[str, str]:
    """(outcome, detail) of the test subset on the worker's copy as it is now."""
    try:
        run = subprocess.run(pytest_command(tests), cwd=worker.repo, env=overlay_env(worker.site),
                             capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", f"no result after {timeout:.0f} s"
    if run.returncode == 0:
        return "survived", ""
    if run.returncode < 0:
        last = [line for line in run.stderr.strip().splitlines() if line.strip()][-4:]
        return "crashed", f"signal {-run.returncode}: {' | '.join(last)}"
    failed = FAILED.findall(run.stdout)
    if run.returncode == 1 and failed:
        return "caught", failed[0]
    tail = (run.stdout + run.stderr).strip().splitlines()[-3:]
    return "error", f"pytest exit {run.returncode}: {' | '.join(tail)}"


def assess(mutant: Mutant, worker: Worker, tests: tuple[str, ...], timeout: float, load: Callable[..., Any],
           knowledge_error: type[Exception]) -> None:
    """Put the mutant in the worker's copy, classify it, and put the pristine file back."""
    name = Path(mutant.file).name
    target = worker.repo / "rules" / name
    started = time.monotonic()
    target.write_text(dump(mutant.document), encoding="utf-8")
    try:
        try:
            load(worker.repo / "knowledge", worker.repo / "rules")
        except knowledge_error as exc:
            mutant.outcome, mutant.detail = "rejected", str(exc)
        else:
            mutant.outcome, mutant.detail = run_tests(worker, tests, timeout)
            if mutant.outcome in ("timeout", "crashed", "error"):
                # Not a failing assertion: run again, and only count it if it happens again.
                again, _ = run_tests(worker, tests, timeout)
                if again == "survived":
                    mutant.outcome, mutant.flaky = "survived", f"{mutant.outcome} once ({mutant.detail}), passed again"
                else:
                    mutant.detail += f"; again: {again}"
    finally:
        target.write_bytes(worker.pristine[name])
    if target.read_bytes() != worker.pristine[name]:
        raise SystemExit(f"mutate_rules: could not restore {target}; stopping")
    mutant.seconds = time.monotonic() - started


def run_all(todo: list[Mutant], workers: list[Worker], tests: tuple[str, ...], timeout: float,
            load: Callable[..., Any], knowledge_error: type[Exception]) -> None:
    jobs: queue.Queue[tuple[int, Mutant]] = queue.Queue()
    for item in enumerate(todo, start=1):
        jobs.put(item)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(worker: Worker) -> None:
        while not failures:
            try:
                number, mutant = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                assess(mutant, worker, tests, timeout, load, knowledge_error)
            except BaseException as exc:  # stop every worker, report after they have restored their files
                failures.append(exc)
                return
            with lock:
                detail = f"  [{mutant.detail[:100]}]" if mutant.detail else ""
                print(f"[{number:4d}/{len(todo)}] {mutant.outcome:8s} {mutant.kind:6s} {mutant.rule}: "
                      f"{mutant.change} ({mutant.seconds:.1f}s){detail}", flush=True)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


# --- reporting -------------------------------------------------------------------------


def summary_rows(done: list[Mutant]) -> list[tuple[str, int, int, int, int, int, str]]:
    """Per kind: mutants, rejected by the loader, reached the tests, caught by them, survived,
    and the tests-only score (caught by the tests / reached the tests: loader rejections are
    neither caught nor missed by the tests, so they stay out of it)."""
    rows = []
    for kind in (*KINDS, "all but cite", "all"):
        group = [m for m in done if kind == "all" or m.kind == kind or (kind == "all but cite" and m.kind != "cite")]
        if not group:
            continue
        count = Counter(m.outcome for m in group)
        caught = sum(count[o] for o in CAUGHT)
        tested = len(group) - count["rejected"]
        by_tests = caught - count["rejected"]
        score = f"{100 * by_tests / tested:.1f} %" if tested else "n/a"
        rows.append((kind, len(group), count["rejected"], tested, by_tests, count["survived"], score))
    return rows


def report(done: list[Mutant], meta: dict[str, Any]) -> str:
    rows = {row[0]: row for row in summary_rows(done)}
    headline = rows.get("all but cite") or rows["all"]
    lines = [
        f"**Tests-only score: {headline[4]} of {headline[3]} "
        f"({headline[6]})** of the {'non-citation ' if 'all but cite' in rows else ''}mutants that reached the "
        f"tests were caught by them. Apart from that, the loader (`kb validate`) rejected {headline[2]} "
        "more before any test ran; they are not counted in any score.",
        "",
        f"Run of {meta['date']} on knowledge version `{meta['knowledge_version']}` ({meta['rules']} rules; "
        f"{meta['rules_state']}), "
        f"tests: {', '.join(f'`{t}`' for t in meta['tests'])} (`pytest -x`, Hypothesis profile `mutation`: "
        f"{meta['examples']} examples per property), {meta['workers']} workers: "
        f"{meta['wall_seconds'] / 60:.1f} min wall clock, {meta['runs']} test runs of "
        f"{meta['mean_run_seconds']:.1f} s on average (baseline run {meta['baseline_seconds']:.1f} s).",
        "",
        "| mutation | mutants | rejected by kb validate | reached the tests | caught by the tests | survived "
        "| tests-only score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, total, rejected, tested, by_tests, survived, score in rows.values():
        name = f"**{kind}**" if kind.startswith("all") else kind
        lines.append(f"| {name} | {total} | {rejected} | {tested} | {by_tests} | {survived} | {score} |")
    flaky = [m for m in done if m.flaky]
    if flaky:
        lines += ["", "Test runs that failed without a failing assertion and passed when run again (not counted "
                  "as caught; a defect of the engine or the tests, not of the mutant):", ""]
        lines += [f"- `{m.rule}` {m.kind}: {m.change}: {m.flaky}" for m in flaky]
    odd = [m for m in done if m.outcome in ("timeout", "crashed", "error")]
    if odd:
        lines += ["", "Counted as caught, but not by a failing assertion:", ""]
        lines += [f"- {m.outcome}: `{m.rule}` {m.kind}: {m.change} ({m.detail})" for m in odd]
    first = Counter(m.detail.split("[")[0].removeprefix("tests/") for m in done if m.outcome == "caught")
    if first:
        lines += ["", "The first failing test of each mutant caught by the tests (`-x` stops there): "
                  + ", ".join(f"`{name}` {n}" for name, n in first.most_common()) + "."]
    survivors = [m for m in done if m.outcome == "survived"]
    lines += ["", f"Survivors ({len(survivors)}):" if survivors else "No survivors.", ""]
    for kind in KINDS:
        by_rule: dict[str, list[str]] = {}
        for m in survivors:
            if m.kind == kind:
                by_rule.setdefault(m.rule, []).append(m.change.removeprefix("cite drops "))
        if by_rule:
            title = "cite (the citation dropped)" if kind == "cite" else kind
            lines.append(f"- {title}, {sum(map(len, by_rule.values()))} in {len(by_rule)} rules:")
            lines += [f"  `{rule}`: {'; '.join(changes)}{';' if i < len(by_rule) - 1 else ''}"
                      for i, (rule, changes) in enumerate(by_rule.items())]
    return "\n".join(lines).rstrip() + "\n"


def write_docs(text: str) -> None:
    page = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    if BEGIN not in page or END not in page:
        raise SystemExit(f"mutate_rules: {DOCS} has no {BEGIN} ... {END} block to fill")
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")


# --- main ----------------------------------------------------------------------------------


def git_head() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    return run.stdout.strip() or "?"


def git_rules_clean() -> bool:
    run = subprocess.run(["git", "status", "--porcelain", "--", "rules"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    return run.returncode == 0 and run.stdout.strip() == ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel copies (default 2)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {', '.join(KINDS)}")
    parser.add_argument("--rule", action="append", default=[], help="only mutate this rule (repeatable)")
    parser.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), help="test files to run per mutant")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per test run (default: 10x baseline)")
    parser.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    parser.add_argument("--write-docs", action="store_true", help=f"fill the results block of {DOCS.name}")
    parser.add_argument("--allow-dirty", action="store_true", help="run even if rules/ differs from git HEAD")
    parser.add_argument("--from-json", type=Path, help="only report the results saved by --json (no run)")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        text = report([Mutant(document={}, **m) for m in saved["mutants"]], saved["meta"])
        print(text)
        if args.write_docs:
            write_docs(text)
        return 0
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if set(kinds) - set(KINDS):
        parser.error(f"unknown kinds: {sorted(set(kinds) - set(KINDS))}")
    tests = tuple(args.tests)

    clean = git_rules_clean()
    if not clean and not args.allow_dirty:
        print("mutate_rules: rules/ differs from git HEAD (or git failed); commit first or pass --allow-dirty",
              file=sys.stderr)
        return 2
    before = rules_digest(ROOT / "rules")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="itb-mutants-") as temp:
        base = Path(temp)
        copy_tree(ROOT, base / "snapshot")
        snapshot = base / "snapshot"
        if rules_digest(snapshot / "rules") != before:
            print("mutate_rules: rules/ changed while being copied; try again", file=sys.stderr)
            return 2
        make_overlay(snapshot, base / "snapshot-site")
        check_overlay(base / "snapshot-site", snapshot)
        # From here on this process uses the snapshot's engine, not the working tree's.
        sys.path.insert(0, str(base / "snapshot-site"))
        from itb_triage.engine import KnowledgeError, load_knowledge
        from itb_triage.engine.documents import load_yaml

        knowledge = load_knowledge(snapshot / "knowledge", snapshot / "rules")
        files = {
            f"rules/{p.name}": load_yaml(p.read_text(encoding="utf-8"))
            for p in sorted((snapshot / "rules").glob("*.yaml"))
        }
        for label, document in files.items():
            if load_yaml(dump(document)) != document:
                raise SystemExit(f"mutate_rules: {label} does not survive a YAML round trip; stopping")
        todo = list(mutants(files, Alternatives(knowledge), kinds, set(args.rule)))
        print(f"{len(todo)} mutants of {len(knowledge.rules)} rules: "
              + ", ".join(f"{k} {n}" for k, n in Counter(m.kind for m in todo).items()), flush=True)

        workers = []
        for n in range(max(1, args.workers)):
            repo = base / f"worker{n}" / "repo"
            copy_tree(snapshot, repo)
            make_overlay(repo, base / f"worker{n}" / "site")
            check_overlay(base / f"worker{n}" / "site", repo)
            pristine = {p.name: p.read_bytes() for p in (repo / "rules").glob("*.yaml")}
            workers.append(Worker(repo, base / f"worker{n}" / "site", pristine))

        baseline_started = time.monotonic()
        outcome, detail = run_tests(workers[0], tests, timeout=1800)
        baseline = time.monotonic() - baseline_started
        if outcome != "survived":
            print(f"mutate_rules: the unmutated rules fail the tests ({outcome}: {detail}); stopping",
                  file=sys.stderr)
            return 2
        print(f"baseline: the unmutated rules pass in {baseline:.1f} s", flush=True)
        timeout = args.timeout or max(120.0, 10 * baseline)
        from itb_triage.engine.satisfiable import check_satisfiable

        def validate(knowledge_dir: Path, rules_dir: Path) -> Any:
            """What `kb validate` refuses: the loader's problems, then rules that can never fire."""
            loaded = load_knowledge(knowledge_dir, rules_dir)
            problems = check_satisfiable(loaded).problems()
            if problems:
                raise KnowledgeError(problems)
            return loaded

        run_all(todo, workers, tests, timeout, validate, KnowledgeError)

        examples = subprocess.run(
            [sys.executable, "-c", "import tests.conftest as c; print(c.examples(300))"],
            cwd=workers[0].repo, env=overlay_env(workers[0].site), capture_output=True, text=True, check=True,
        ).stdout.strip()
    wall = time.monotonic() - started

    after = rules_digest(ROOT / "rules")
    tested_runs = [m.seconds for m in todo if m.outcome != "rejected"]
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "knowledge_version": knowledge.version,
        "rules": len(knowledge.rules),
        "rules_state": f"rules/ as in commit {git_head()}" if clean else
        f"rules/ with uncommitted changes on top of commit {git_head()}",
        "tests": list(tests),
        "examples": examples,
        "workers": len(workers),
        "wall_seconds": wall,
        "runs": len(tested_runs),
        "mean_run_seconds": sum(tested_runs) / max(1, len(tested_runs)),
        "baseline_seconds": baseline,
    }
    text = report(todo, meta)
    print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "mutants": [
            {k: v for k, v in asdict(m).items() if k != "document"} for m in todo
        ]}, indent=1), encoding="utf-8")
    if args.write_docs:
        write_docs(text)
    if after != before:
        print("mutate_rules: WARNING: rules/ changed during the run; this script never writes there, so another "
              "process did. The results are those of the snapshot taken at the start.", file=sys.stderr)
    else:
        print("rules/ is byte for byte what it was at the start.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
