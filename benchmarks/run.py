"""The performance benchmark: one command, figures side by side, written to docs/performance.md.

    .venv/bin/python benchmarks/run.py            # about 15 minutes on a quiet 2-core VM
    .venv/bin/python benchmarks/run.py --quick    # about 5: smaller samples
    .venv/bin/python benchmarks/run.py --release-program /path/to/release/.venv/bin/itb-triage

What it measures, on the machine it runs on, in one run:

1. `itb-triage batch` (a real subprocess) against the release before issue 14 (RELEASE,
   checked out into a temporary git worktree and installed in a venv of its own, or
   given with --release-program), alternating runs on one cohort that both accept: the
   seeded cohort of benchmarks/cohort.py answering only the questions both versions'
   case schemas define alike. The ratio is taken in CPU seconds (the median of the
   rounds' ratios), which a busy neighbour disturbs far less than wall-clock time, and
   checked against valgrind's count of instructions per case, which it does not
   disturb at all;
2. throughput of `batch` with one process and with `--jobs 2` on the full cohort (all
   of this version's questions), the two outputs compared byte for byte, and
   `--engine dask` on a local cluster of 1 and of 2 workers on part of it (its figures
   also go to the `## Measured` section of docs/scaling.md);
3. the same pipeline in one process (read and check the case, run the rules,
   aggregate, write the JSON line) with four ways of running the rules, interleaved
   slice by slice so that a busy neighbour slows them all alike: this engine; durable_rules
   through its own Python wrapper (the engine before issue 6); the naive use of
   durable_rules (every conclusion asserted as a fact, benchmarks/variants.py) as the
   baseline; and the plain-Python evaluation of the same rules (engine/python_backend.py)
   as the ceiling. Outputs are checked: the durable_rules variants must give the same
   bytes as the engine, the plain-Python one the same conclusions;
4. interview latency, from benchmarks/interview_latency.py;
5. cold start (median of repeated fresh processes) of `--version` and of one `assess`;
6. memory of `batch` over many cases: peak RSS (VmHWM) and RSS at ten points.

Every part's size can be set (`--cases`, `--memory-cases`, `--in-process-cases`,
`--dask-cases`, `--runs`, `--rounds`); the page says which were used.

The machine's load average and a speed probe are recorded before and after: on a
shared machine every figure is lower than on a quiet one, and ratios measured side by
side (this engine against the release, --jobs 2 against one process) hold up better
than absolute rates.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import cohort

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = str(Path(sys.executable).with_name("itb-triage"))
# The release before issue 14 (docs/performance.md compares batch with it side by side).
RELEASE = "e86d287"
TARGETS = {
    "one_process": 1000.0,  # cases/s, batch, one process
    "release_ratio": 1.8,  # batch, one process, against RELEASE on the same cohort
    "ceiling_ratio": 3.0,  # plain Python may be at most this many times faster
    "jobs2_speedup": 1.8,
    "version_ms": 150.0,
    "assess_ms": 300.0,
    "memory_growth_mb": 5.0,  # RSS at the end minus RSS after the first 10,000 cases
}


# --- the machine ---------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8") if Path("/proc/meminfo").exists() else ""
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                           check=False).stdout.strip()
    return {
        "CPU": models[0] if models else platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} logical ({len(models)} in /proc/cpuinfo)",
        "RAM": f"{total_kb / 1024 / 1024:.1f} GiB" if total_kb else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "durable_rules": metadata.version("durable-rules"),
        "itb-triage": f"{metadata.version('itb-triage')} at {commit or '?'}{' (with local changes)' if dirty else ''}",
    }


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def speed_probe() -> float:
    """Milliseconds for a fixed pure-Python loop (median of 5): a virtual machine's speed
    varies with its host's load, which the guest cannot see; this makes runs comparable."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# --- batch as a program ----------------------------------------------------------------


@dataclass
class Run:
    """One `itb-triage` subprocess: wall and CPU seconds, peak RSS, exit status, its output."""

    wall: float
    cpu: float
    max_rss_mb: float
    status: int
    lines: int
    digest: str
    samples: list[tuple[int, float]] = field(default_factory=list)
    others: float = 0.0  # CPU seconds other processes used meanwhile


def cpu_busy_seconds() -> float:
    """CPU seconds spent busy by all cores since boot (/proc/stat), or 0 if unknown."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def run_program(args: list[str], sample_every: int = 0, program: str = PROGRAM) -> Run:
    """Run itb-triage, reading its output from a pipe (hashed and counted, not kept).

    With `sample_every`, the child's RSS is read from /proc each time that many more
    lines have come out. CPU time is the child's (os.wait4), workers included. The peak
    RSS is the child's VmHWM, read as its output comes: ru_maxrss would not do, since
    Linux carries it over exec() from the forked copy of this (much bigger) process.
    """
    start, busy, mine = time.perf_counter(), cpu_busy_seconds(), time.process_time()
    process = subprocess.Popen([program, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    digest = hashlib.sha256()
    samples: list[tuple[int, float]] = []
    lines = 0
    next_sample = sample_every
    peak = 0.0
    while block := process.stdout.read(1 << 20):
        digest.update(block)
        lines += block.count(b"\n")
        peak = max(peak, proc_status_mb(process.pid, "VmHWM"))
        while sample_every and lines >= next_sample:
            samples.append((next_sample, proc_status_mb(process.pid, "VmRSS")))
            next_sample += sample_every
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    # What the rest of the machine used meanwhile: all busy time, less the child's and ours.
    others = max(cpu_busy_seconds() - busy - cpu - (time.process_time() - mine), 0.0)
    return Run(wall, cpu, peak, process.returncode, lines, digest.hexdigest(), samples, others)


class Release:
    """itb-triage as it was at a commit: a detached git worktree and a venv of its own,
    in a temporary folder, removed by `close`; or a copy installed already (`program`,
    its `itb-triage` script), used as it is."""

    def __init__(self, commit: str, folder: Path, program: str | None = None) -> None:
        self.commit, self.tree = commit, folder / f"release-{commit}"
        if program is not None:
            self.program, self.python, self.owned = program, str(Path(program).with_name("python")), False
            return
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(self.tree), commit],
                       check=True, capture_output=True)
        venv = self.tree / ".venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(self.tree)],
                       check=True, capture_output=True)
        self.program, self.python, self.owned = str(venv / "bin" / "itb-triage"), str(venv / "bin" / "python"), True

    def version(self) -> str:
        return subprocess.run([self.program, "--version"], capture_output=True, text=True, check=True).stdout.strip()

    def case_schema(self) -> Path:
        """The release's case schema, as it installed it."""
        code = ("import importlib.resources as r; "
                "print(r.files('itb_triage.knowledge.schemas').joinpath('case.schema.json'))")
        return Path(subprocess.run([self.python, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.strip())

    def close(self) -> None:
        if not self.owned:
            return
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(self.tree)],
                       check=False, capture_output=True)
        shutil.rmtree(self.tree, ignore_errors=True)


def proc_status_mb(pid: int, field: str) -> float:
    """A memory figure of a running process from /proc/PID/status (VmRSS, VmHWM), in MB; 0 if gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith(field + ":")), 0.0)


def cold_python(runs: int) -> list[float]:
    """Milliseconds to start this Python and do nothing (the floor under every start-up)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def compile_bytecode(python: str = sys.executable) -> bool:
    """Compile the project's modules, where `python` imports them from, into their
    __pycache__ folders, as `pip install` does; True if that worked.

    An editable install never has them otherwise when PYTHONDONTWRITEBYTECODE is set
    (as it is on the machine these figures were first taken on), and each fresh process
    then compiles every module it imports again, about 100 ms that an installed copy
    does not spend."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    where = ("import importlib.util, json, sys; print(json.dumps("
             "[f for p in sys.argv[1:] for f in importlib.util.find_spec(p).submodule_search_locations]))")
    found = subprocess.run([python, "-c", where, *packages], capture_output=True, text=True)
    if found.returncode != 0:
        return False
    done = subprocess.run([python, "-m", "compileall", "-q", *json.loads(found.stdout)], capture_output=True)
    return done.returncode == 0


def cold_start(args: list[str], runs: int) -> list[float]:
    """Wall-clock milliseconds of `runs` fresh processes (after one unmeasured run)."""
    subprocess.run([PROGRAM, *args], capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([PROGRAM, *args], capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def startup_imports(runs: int = 5) -> list[tuple[str, float]]:
    """What importing the CLI costs, by module main imports (median ms of `-X importtime`)."""
    costs: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import itb_triage.cli.main"],
                              capture_output=True, text=True, check=True)
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) != 3 or not parts[1].strip().isdigit():
                continue
            name = parts[2][1:]
            depth, module = (len(name) - len(name.lstrip())) // 2, name.strip()
            if module == "itb_triage.cli.main" or (depth == 1 and module.startswith(("itb_triage", "click"))):
                costs.setdefault(module, []).append(int(parts[1]) / 1000)
    return sorted(((name, statistics.median(ms)) for name, ms in costs.items()), key=lambda pair: -pair[1])


# --- the pipeline in one process -------------------------------------------------------


@dataclass
class Variant:
    name: str
    label: str
    run_case: Callable[[list[Any]], list[Any]]
    wall: float = 0.0
    cpu: float = 0.0
    engine: float = 0.0
    cases: int = 0
    mismatches: int = 0


def in_process(lines: list[bytes], slices: int) -> tuple[list[Variant], dict[str, Any]]:
    """The batch pipeline with each way of running the rules, interleaved slice by slice."""
    from variants import WrapperBackend

    from itb_triage.engine import Triage
    from itb_triage.engine.aggregate import aggregate
    from itb_triage.engine.facts import answer_facts
    from itb_triage.engine.python_backend import PythonBackend
    from itb_triage.engine.result import compact_json

    triage = Triage()
    knowledge = triage.knowledge
    rules, version = knowledge.rules, knowledge.version
    variants = [
        Variant("engine", "this engine, one session per case (what `assess` runs)", triage._backend.run_case),
        Variant("wrapper", "durable_rules via its Python wrapper (the engine before issue 6)",
                WrapperBackend(rules, version, naive=False).run_case),
        Variant("naive", "naive durable_rules (every conclusion asserted; the baseline)",
                WrapperBackend(rules, version, naive=True).run_case),
        Variant("python", "plain Python, same compiled rules (the ceiling)", PythonBackend(rules).run_case),
    ]
    summary_keys = ("disposition", "treatment_tier", "red_flags", "conditions", "recommendations", "avoid",
                    "withheld", "unanswered_screening")
    fired: Counter[str] = Counter()
    dispositions: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    batch_path = Variant("batch", f"this engine as `batch` runs it: {group_size()} cases a session, each line written "
                         "from the firings", lambda facts: [])
    size = -(-len(lines) // slices)
    clock, cpu_clock = time.perf_counter, time.process_time
    for start in range(0, len(lines), size):
        part = lines[start:start + size]
        reference: list[tuple[str, dict[str, Any]]] = []  # the engine's output for this slice
        # The batch pipeline: cases read and checked, then assessed 64 at a time.
        wall0, cpu0, engine = clock(), cpu_clock(), 0.0
        written: list[str] = []
        for first in range(0, len(part), 64):
            cases = [triage.read_case(line, "cohort") for line in part[first:first + 64]]
            before = clock()
            written += [str(text) for text in triage.result_lines(cases)]
            engine += clock() - before
        batch_path.wall += clock() - wall0
        batch_path.cpu += cpu_clock() - cpu0
        batch_path.engine += engine
        batch_path.cases += len(part)
        for variant in variants:
            wall0, cpu0, engine = clock(), cpu_clock(), 0.0
            outputs = []
            for line in part:
                case = triage.read_case(line, "cohort")
                facts = answer_facts(case.answers)
                before = clock()
                firings = variant.run_case(facts)
                engine += clock() - before
                outputs.append(compact_json(aggregate(knowledge, firings, case.answers, case.id)))
            variant.wall += clock() - wall0
            variant.cpu += cpu_clock() - cpu0
            variant.engine += engine
            variant.cases += len(part)
            # Checked outside the timing: same bytes (durable_rules variants) or same conclusions.
            for number, text in enumerate(outputs):
                if variant.name == "engine":
                    document = json.loads(text)
                    reference.append((text, {k: document[k] for k in summary_keys}))
                    fired.update(step["rule"] for step in document["trace"])
                    dispositions[document["disposition"]] += 1
                    tiers[str(document["treatment_tier"])] += 1
                elif variant.name == "python":
                    document = json.loads(text)
                    variant.mismatches += {k: document[k] for k in summary_keys} != reference[number][1]
                else:
                    variant.mismatches += text != reference[number][0]
        batch_path.mismatches += sum(text != ref[0] for text, ref in zip(written, reference, strict=True))
    variants.insert(1, batch_path)
    coverage = {
        "not_grouped": triage.not_grouped,
        "rules_fired": len(fired),
        "rules_total": len(rules),
        "dispositions": dict(dispositions.most_common()),
        "tiers": dict(tiers.most_common()),
    }
    return variants, coverage


# --- the report --------------------------------------------------------------------------


def session_cost(runs: int = 2000) -> float:
    """Microseconds (median) to create, open and delete one empty durable_rules session of
    this rule base: the fixed cost of a case in engine/durable_backend.py, which gives
    each case a fresh session rather than empty one by retraction."""
    import durable_rules_engine as core

    from itb_triage.engine.durable_backend import engine_ruleset
    from itb_triage.engine.knowledge import load_knowledge

    knowledge = load_knowledge()
    handle = core.create_ruleset(f"bench_session_{os.getpid()}", json.dumps(engine_ruleset(knowledge.rules)))
    opening = json.dumps({"t": "opening", "sid": "1"})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        state = core.assert_fact(handle, opening)[1]
        if core.start_action_for_state(handle, state):
            while core.complete_and_start_action(handle, state):
                pass
        core.delete_state(handle, "1")
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def answered_coverage(cases: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """(questions answered somewhere, questions, choice values seen, choice values)."""
    seen: dict[str, set[Any]] = {q: set() for q in cohort.QUESTIONS}
    for case in cases:
        for question, value in case["answers"].items():
            seen[question].update(value if isinstance(value, list) else [value])
    values = total = 0
    for question, spec in cohort.QUESTIONS.items():
        options = spec.get("enum") or spec.get("items", {}).get("enum")
        if options:
            total += len(options)
            values += len(seen[question] & set(options))
    return sum(1 for s in seen.values() if s), len(seen), values, total


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def interview_latency() -> list[str]:
    script = ROOT / "benchmarks" / "interview_latency.py"
    if not script.exists():
        return []
    try:
        done = subprocess.run([sys.executable, str(script), "--repeat", "3"], capture_output=True, text=True,
                              timeout=600, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return []
    return [line for line in done.stdout.splitlines() if line.startswith(("engine:", "terminal:", "questions"))]


@dataclass(frozen=True)
class Sizes:
    """How much each part measures: the defaults take about 15 minutes on a quiet 2-core
    machine, `--quick` about 5."""

    cases: int
    memory_cases: int
    in_process_cases: int
    dask_cases: int
    runs: int
    rounds: int
    instruction_cases: int


def sizes(args: argparse.Namespace) -> Sizes:
    quick = args.quick
    cases = args.cases or (2_000 if quick else 5_000)
    return Sizes(
        cases=cases,
        memory_cases=args.memory_cases or (20_000 if quick else 50_000),
        in_process_cases=min(cases, args.in_process_cases or (300 if quick else 1_000)),
        dask_cases=min(cases, args.dask_cases or (1_000 if quick else 2_000)),
        runs=args.runs or (5 if quick else 11),
        rounds=args.rounds or (3 if quick else 5),
        instruction_cases=min(cases, 100 if quick else 300) if args.instruction_cases is None
        else args.instruction_cases,
    )


def group_size() -> int:
    """Cases per shared durable_rules session in `batch`."""
    from itb_triage.engine.durable_backend import GROUP_SIZE

    return GROUP_SIZE


def instructions_per_case(program: str, lines: list[bytes], extra: int, folder: Path, base: int = 16) -> float | None:
    """Machine instructions per case of `program batch` by valgrind's count, which a busy
    neighbour does not change: the count for `base + extra` cases less that for `base`
    (so start-up and what is made once, on the first groups, cancel out), over `extra`.
    None without valgrind."""
    if shutil.which("valgrind") is None or extra <= 0:
        return None
    counts = []
    for count in (base, base + extra):
        path = folder / f"instructions-{count}.jsonl"
        path.write_bytes(b"".join(lines[:count]))
        done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                               program, "batch", str(path)], capture_output=True, text=True, check=False)
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode != 0 or found is None:
            return None
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / extra


def write_cohort(path: Path, cases: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")


def measured_section(rows: list[tuple[str, Run | None, int, str]], when: str, others: str) -> list[str]:
    """docs/scaling.md's `## Measured` section: batch and the Dask path side by side."""
    out = ["## Measured", "",
           f"From `benchmarks/run.py` ({when}; docs/performance.md has the machine, its load and the "
           f"rest), on the seeded cohort: {others}", "",
           "| | cases | wall | cases/s | CPU s (the command and the processes it started) | output |",
           "|---|---|---|---|---|---|"]
    for label, run, count, same in rows:
        if run is None:
            out.append(f"| {label} | {count:,} | not run (Dask is not installed) | | | |")
        else:
            out.append(f"| {label} | {count:,} | {run.wall:.1f} s | {count / run.wall:,.0f} | {run.cpu:.1f} | {same} |")
    out += ["", "The Dask runs include starting a scheduler and the workers (each builds its engine) and "
            "moving every partition's output through the scheduler, which is why on one machine plain "
            "`batch --jobs N` is the better choice; the Dask path is for many machines, where each worker "
            "adds its cores. `--jobs 2` and a second worker need two free cores: on a shared machine "
            "their wall-clock figures say more about the neighbours than about the program.", ""]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples: about 5 minutes")
    parser.add_argument("--cases", type=int, default=0, help="cohort size for throughput (5,000; quick 2,000)")
    parser.add_argument("--memory-cases", type=int, default=0, help="cases for the memory run (50,000; quick 20,000)")
    parser.add_argument("--in-process-cases", type=int, default=0,
                        help="cases for the four ways of running the rules in process (1,000; quick 300)")
    parser.add_argument("--dask-cases", type=int, default=0, help="cases for the Dask runs (2,000; quick 1,000)")
    parser.add_argument("--runs", type=int, default=0, help="fresh processes per cold-start figure (11; quick 5)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="alternating rounds of this batch and the release's (5; quick 3)")
    parser.add_argument("--instruction-cases", type=int, default=None,
                        help="cases whose instructions valgrind counts for each version (300; quick 100; 0: none)")
    parser.add_argument("--seed", type=int, default=cohort.DEFAULT_SEED)
    parser.add_argument("--slices", type=int, default=10, help="interleaving slices for the in-process run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--scaling", type=Path, default=ROOT / "docs" / "scaling.md",
                        help="the page whose `## Measured` section gets the Dask figures")
    parser.add_argument("--release", default=RELEASE, help=f"the release to compare with (default {RELEASE})")
    parser.add_argument("--release-program", metavar="PATH",
                        help="that release's itb-triage, installed already (default: install it in a temporary "
                             "git worktree and venv)")
    args = parser.parse_args()
    size = sizes(args)

    began = datetime.datetime.now(datetime.UTC)
    load_before, probe_before = load(), speed_probe()
    print(f"load average {load_before}; cohort of {size.cases:,} (seed {args.seed})", flush=True)
    with tempfile.TemporaryDirectory(prefix="itb-bench-") as tmp:
        cases = list(cohort.cases(size.cases, args.seed))
        source = Path(tmp) / "cohort.jsonl"
        write_cohort(source, cases)
        lines = source.read_bytes().splitlines(keepends=True)
        dask_source = Path(tmp) / "dask-cohort.jsonl"
        dask_source.write_bytes(b"".join(lines[:size.dask_cases]))

        print(f"the release {args.release} beside this one ...", flush=True)
        release = Release(args.release, Path(tmp), args.release_program)
        try:
            release_version = release.version()
            # The side-by-side cohort answers only the questions both case schemas define
            # alike (same seed, same mix): both versions accept every case and do the
            # whole of their work on it.
            common_questions = cohort.common_questions(release.case_schema())
            common = Path(tmp) / "common-cohort.jsonl"
            write_cohort(common, list(cohort.cases(size.cases, args.seed, common_questions)))
            print(f"batch against the release, {size.rounds} alternating rounds; then one process and "
                  "--jobs 2 ...", flush=True)
            runs: dict[str, list[Run]] = {"release": [], "mine_common": [], "one": [], "two": []}
            for _ in range(size.rounds):
                runs["release"].append(run_program(["batch", str(common)], program=release.program))
                runs["mine_common"].append(run_program(["batch", str(common)]))
            for _ in range(2):
                runs["one"].append(run_program(["batch", str(source)]))
                runs["two"].append(run_program(["batch", "--jobs", "2", str(source)]))
            print(f"instructions per case, {size.instruction_cases:,} cases each, under valgrind ...", flush=True)
            common_lines = common.read_bytes().splitlines(keepends=True)
            release_instructions = instructions_per_case(release.program, common_lines, size.instruction_cases,
                                                         Path(tmp))
            mine_instructions = instructions_per_case(PROGRAM, common_lines, size.instruction_cases, Path(tmp))
        finally:
            release.close()
        mine = [*runs["one"], *runs["two"]]
        same = len({r.digest for r in mine}) == 1
        same_as_release = len({r.digest for r in [*runs["mine_common"], *runs["release"]]}) == 1
        statuses = {r.status for r in [*mine, *runs["mine_common"]]}
        release_statuses = {r.status for r in runs["release"]}
        one, two = (min(runs[k], key=lambda r: r.wall) for k in ("one", "two"))
        old, mine_common = (min(runs[k], key=lambda r: r.cpu) for k in ("release", "mine_common"))
        round_ratios = [r.cpu / m.cpu for r, m in zip(runs["release"], runs["mine_common"], strict=True)]
        records = one.lines

        print(f"batch --engine dask on a local cluster of 1 and 2 workers, {size.dask_cases:,} cases ...", flush=True)
        dask_runs: dict[int, Run] = {}
        reference: Run | None = None
        if importlib.util.find_spec("distributed") is not None:
            reference = run_program(["batch", str(dask_source)])
            for workers in (1, 2):
                dask_runs[workers] = run_program(["batch", "--engine", "dask", "--jobs", str(workers),
                                                  str(dask_source)])
        dask_same = all(reference is not None and r.digest == reference.digest and r.status == 0
                        for r in dask_runs.values())

        print(f"the pipeline with four engines, interleaved, {size.in_process_cases:,} cases ...", flush=True)
        variants, coverage = in_process(lines[:size.in_process_cases], args.slices)

        print("the cost of a session ...", flush=True)
        session_us = session_cost()

        print("interview latency ...", flush=True)
        interview = interview_latency()

        print("cold start ...", flush=True)
        compiled = compile_bytecode()
        version_ms = cold_start(["--version"], size.runs)
        python_ms = cold_python(size.runs)
        imports = startup_imports()
        assess_ms = cold_start(["assess", str(ROOT / "examples" / "classic.yaml")], size.runs)
        assess_json_ms = cold_start(["assess", "--format", "json", str(ROOT / "examples" / "classic.yaml")],
                                    max(3, size.runs // 3))

        print(f"memory over {size.memory_cases:,} cases ...", flush=True)
        big = Path(tmp) / "memory.jsonl"
        # 1,000 cases more than sampled, so the last sample is taken while it still runs.
        cohort.write_jsonl(big, size.memory_cases + 1000, args.seed + 1)
        every = max(size.memory_cases // 10, 1)
        memory = run_program(["batch", str(big)], sample_every=every)
        memory.samples = [(n, rss) for n, rss in memory.samples if n <= size.memory_cases]
        big.unlink()
    load_after, probe_after = load(), speed_probe()

    # --- figures and verdicts ---
    rate_one = size.cases / one.wall
    rate_two = size.cases / two.wall
    steady_one = size.cases / max(one.wall - statistics.median(assess_ms) / 1000, 1e-9)
    by_name = {v.name: v for v in variants}
    rate = {v.name: v.cases / v.cpu for v in variants}  # per CPU second: the variants share one process
    ceiling_ratio = by_name["engine"].cpu / by_name["python"].cpu
    engine_ratio = by_name["engine"].engine / by_name["python"].engine
    speedup = one.wall / two.wall
    first_rss = memory.samples[0][1] if memory.samples else float("nan")
    last_rss = memory.samples[-1][1] if memory.samples else float("nan")
    growth = last_rss - first_rss
    answered, questions, values, total_values = answered_coverage(cases)
    checks_ok = (same and statuses == {0} and records == size.cases and all(v.mismatches == 0 for v in variants)
                 and dask_same and release_statuses == {0})
    release_cpu_ratio = statistics.median(round_ratios)
    best_ratio = old.cpu / mine_common.cpu
    release_wall_ratio = min(r.wall for r in runs["release"]) / min(r.wall for r in runs["mine_common"])

    met = {
        "one_process": rate_one >= TARGETS["one_process"],
        "release_ratio": release_cpu_ratio >= TARGETS["release_ratio"],
        "ceiling_ratio": ceiling_ratio <= TARGETS["ceiling_ratio"],
        "jobs2_speedup": speedup >= TARGETS["jobs2_speedup"],
        "version_ms": statistics.median(version_ms) < TARGETS["version_ms"],
        "assess_ms": statistics.median(assess_ms) < TARGETS["assess_ms"],
        "memory": memory.status == 0 and growth <= TARGETS["memory_growth_mb"],
    }

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ms (min {min(values):.0f}, max {max(values):.0f}, n={len(values)})"

    cores = os.cpu_count() or 1
    command = "benchmarks/run.py" + (" --quick" if args.quick else "")
    out: list[str] = []
    add = out.append
    add("# Performance")
    add("")
    add(f"Written by `.venv/bin/python {command}` on {began:%Y-%m-%d %H:%M} UTC "
        f"(took {(datetime.datetime.now(datetime.UTC) - began).total_seconds() / 60:.1f} min; "
        f"{size.cases:,} cases for throughput, {size.memory_cases:,} for memory). Run it again to refresh every "
        "figure (`--quick` for a smaller sample, `--cases N` and the other options to set each part's size); "
        "nothing here is edited by hand.")
    add("")
    add("The web app's load test (`itb-triage serve`, 200 runners at once) has its own page, "
        "[performance-web.md](performance-web.md), written by `benchmarks/web_load.py`.")
    add("")
    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    for key, value in machine().items():
        add(f"| {key} | {value} |")
    add(f"| load average (1/5/15 min) | {load_before} before, {load_after} after |")
    add(f"| speed probe (a fixed Python loop; lower is faster) | {probe_before:.0f} ms before, "
        f"{probe_after:.0f} ms after |")
    add("")
    add("The load average counts other work on the machine (and this benchmark's own): "
        "figures measured while others use the CPU come out lower, `--jobs 2` most of all. CPU seconds are "
        "given beside wall-clock times, and the CPU other processes used during the `batch` runs, for that reason; "
        "the comparison with the release is made in CPU seconds. "
        "A virtual machine also runs slower when its host is busy, which the guest cannot see. The speed probe "
        "shows how fast the machine was; compare it between runs before comparing their figures.")
    add("")
    add("## Targets")
    add("")
    add("| target | measured | |")
    add("|---|---|---|")
    add(f"| `batch`, one process: at least {TARGETS['one_process']:,.0f} cases/s | {rate_one:,.0f} cases/s "
        f"({size.cases:,} cases in {one.wall:.1f} s, start-up included; {size.cases / one.cpu:,.0f} cases per CPU "
        f"second; other processes used {one.others / (cores * one.wall):.0%} of the CPU meanwhile) | "
        f"{verdict(met['one_process'])} |")
    add(f"| `batch`, one process: at least {TARGETS['release_ratio']}× the release {args.release}, side by "
        f"side on the same cohort | {release_cpu_ratio:.2f}× in CPU time (median of {size.rounds} alternating "
        f"rounds on the same {size.cases:,} cases: {', '.join(f'{r:.2f}×' for r in round_ratios)}; best run of each "
        f"{old.cpu:.1f} against {mine_common.cpu:.1f} CPU-s, {best_ratio:.2f}×); {release_wall_ratio:.2f}× in "
        "wall-clock time (best runs)"
        + (f"; {release_instructions / mine_instructions:.2f}× in instructions per case "
           f"({release_instructions / 1e6:.2f} million against {mine_instructions / 1e6:.2f} million, valgrind)"
           if release_instructions and mine_instructions else "")
        + f" | {verdict(met['release_ratio'])} |")
    add(f"| within {TARGETS['ceiling_ratio']:.0f}× of the plain-Python ceiling | the ceiling is "
        f"{ceiling_ratio:.2f}× as fast in CPU time (same pipeline, in process, one session per case) | "
        f"{verdict(met['ceiling_ratio'])} |")
    add(f"| `--jobs 2` at least {TARGETS['jobs2_speedup']}× one process | {speedup:.2f}× "
        f"({rate_two:,.0f} cases/s; see below) | {verdict(met['jobs2_speedup'])} |")
    add(f"| `itb-triage --version` under {TARGETS['version_ms']:.0f} ms from a cold start | "
        f"{statistics.median(version_ms):.0f} ms median | {verdict(met['version_ms'])} |")
    add(f"| one `assess` under {TARGETS['assess_ms']:.0f} ms from a cold start (the checked knowledge "
        f"cached on disk) | {statistics.median(assess_ms):.0f} ms median | {verdict(met['assess_ms'])} |")
    add("| output byte-identical to the one-case path, `--jobs` or not | see Checks below | "
        f"{verdict(same and all(v.mismatches == 0 for v in variants))} |")
    add(f"| memory flat over {size.memory_cases:,} cases | RSS {first_rss:.1f} MB after {every:,} cases, "
        f"{last_rss:.1f} MB at the end ({growth:+.1f} MB); peak {memory.max_rss_mb:.1f} MB | "
        f"{verdict(met['memory'])} |")
    add("| interview: answer to next question | see below | measured by benchmarks/interview_latency.py |")
    add("")
    add(f"The release comparison: both commands ran alternately on one cohort of {size.cases:,} cases "
        f"(`benchmarks/cohort.py --common-with` the release's case schema: the same seed and mix, answering only "
        f"the {len(common_questions)} of this version's {len(cohort.QUESTIONS)} questions that both case schemas "
        "define alike), so both accept every case (exit status: the release "
        f"{sorted(release_statuses)}, this one {sorted({r.status for r in runs['mine_common']})}) and do their "
        "whole work on each. Instructions per case are valgrind's count over the cohort's cases 17 to "
        f"{16 + size.instruction_cases:,}, less the first 16 (start-up and what is built once): a count that other "
        "work on the machine does not change, though it weighs a cleared or copied byte (the C core clears a "
        "table per rule node for each new session, and copies its message store as it grows) less than the time "
        "it takes. The rules differ (this version has more of them, and more questions): the ratio is "
        "engine and rules together. The release's output is "
        f"{'byte-identical to' if same_as_release else 'not the same bytes as'} this one's"
        f"{'' if same_as_release else ' (its knowledge version differs: ' + release_version + ')'}.")
    add("")
    # Two workers need two free cores. From CPU time, what they would do on an idle
    # machine: the start-up (about one `assess`) is serial, the rest splits in two.
    serial = statistics.median(assess_ms) / 1000
    estimate = one.cpu / (serial + max(two.cpu - serial, 0) / 2)
    add(f"`--jobs 2` needs two free cores. While it ran ({two.wall:.1f} s), other processes on the machine used "
        f"{two.others:.1f} CPU-s of the {cores * two.wall:.1f} its {cores} cores had "
        f"({two.others / (cores * two.wall):.0%}; during the one-process run, {one.others / (cores * one.wall):.0%}). "
        f"From CPU time (one process {one.cpu:.1f} CPU-s; two workers and their parent {two.cpu:.1f} CPU-s in all), "
        f"on two idle cores it would come to about {estimate:.1f}× (an estimate, not a measurement).")
    add("")
    children = [(name, cost) for name, cost in imports if name != "itb_triage.cli.main"]
    main_ms = dict(imports).get("itb_triage.cli.main", float("nan"))
    if children:
        add(f"`--version`: of its {statistics.median(version_ms):.0f} ms, starting Python takes "
            f"{statistics.median(python_ms):.0f} ms and importing the command line {main_ms:.0f} ms, of which "
            f"`{children[0][0]}` {children[0][1]:.0f} ms (see Cold start).")
        add("")
    grouping = (f"cases share durable_rules sessions, {group_size()} to a group" if coverage["not_grouped"] is None
                else f"**every case runs in a session of its own**: {coverage['not_grouped']}")
    add(f"`batch` here: {grouping}.")
    add("")
    add(f"Checks: every case valid and assessed (exit status {sorted(statuses)}, {records:,} records); "
        f"`--jobs 2` output {'identical to' if same else '**different from**'} one process, byte for byte; "
        f"`--engine dask` {'identical to one process' if dask_same else '**different or failed**'}"
        f"{'' if dask_runs else ' (not run: Dask is not installed)'}; "
        + ", ".join(f"{v.name}: {v.mismatches} mismatches" for v in variants[1:])
        + (" (durable_rules variants: same bytes as the engine; plain Python: same conclusions)."))
    if not checks_ok:
        add("")
        add("**Some checks failed: the figures above are not to be trusted.**")
    add("")
    add("## Throughput")
    add("")
    add(f"`itb-triage batch` as a program, output read from a pipe, better of {size.rounds} (the release "
        "comparison) or 2 runs:")
    add("")
    add("| | cases | wall | cases/s | CPU s (its processes) | CPU s used by other processes meanwhile | peak RSS |")
    add("|---|---|---|---|---|---|---|")
    add(f"| one process | {size.cases:,} | {one.wall:.2f} s | {rate_one:,.0f} (≈{steady_one:,.0f} without "
        f"start-up) | {one.cpu:.2f} | {one.others:.2f} | {one.max_rss_mb:.0f} MB |")
    add(f"| `--jobs 2` | {size.cases:,} | {two.wall:.2f} s | {rate_two:,.0f} | {two.cpu:.2f} | {two.others:.2f} | "
        f"{two.max_rss_mb:.0f} MB (parent) |")
    add(f"| the release {args.release}, one process, common cohort | {size.cases:,} | {old.wall:.2f} s | "
        f"{size.cases / old.wall:,.0f} | {old.cpu:.2f} | {old.others:.2f} | {old.max_rss_mb:.0f} MB |")
    add(f"| this one, one process, common cohort | {size.cases:,} | {mine_common.wall:.2f} s | "
        f"{size.cases / mine_common.wall:,.0f} | {mine_common.cpu:.2f} | {mine_common.others:.2f} | "
        f"{mine_common.max_rss_mb:.0f} MB |")
    if reference is not None:
        add(f"| one process (the Dask runs' reference) | {size.dask_cases:,} | {reference.wall:.2f} s | "
            f"{size.dask_cases / reference.wall:,.0f} | {reference.cpu:.2f} | {reference.others:.2f} | "
            f"{reference.max_rss_mb:.0f} MB |")
    for workers, run in dask_runs.items():
        add(f"| `--engine dask`, local cluster of {workers} worker{'s' if workers > 1 else ''} (one run) | "
            f"{size.dask_cases:,} | {run.wall:.2f} s | {size.dask_cases / run.wall:,.0f} | {run.cpu:.2f} | "
            f"{run.others:.2f} | {run.max_rss_mb:.0f} MB (client) |")
    add("")
    add("Dask runs include starting the local cluster (scheduler and worker processes) and each worker building "
        "its engine; their CPU seconds are what the OS reports for the command and the processes it started. "
        "docs/scaling.md says how to run it on a real cluster.")
    add("")
    add(f"The same pipeline in one process (read and check each case, run the rules, aggregate, write "
        f"its JSON line), side by side on the first {size.in_process_cases:,} cases of the cohort: only the way "
        f"the rules are run differs. Interleaved in {args.slices} slices, so a busy neighbour slows every variant "
        "alike; rates are per CPU second.")
    add("")
    add("| rules run by | cases per CPU s | CPU µs/case | of which rules µs/case, wall (batch: rules and writing) "
        "| vs naive |")
    add("|---|---|---|---|---|")
    for v in variants:
        add(f"| {v.label} | {rate[v.name]:,.0f} | {v.cpu / v.cases * 1e6:,.0f} | "
            f"{v.engine / v.cases * 1e6:,.0f} | {rate[v.name] / rate['naive']:.1f}× |")
    add("")
    add(f"The rules alone: this engine, one session per case, takes {engine_ratio:.2f}× the time of the "
        "plain-Python evaluation.")
    add("")
    engine_us = by_name["engine"].engine / by_name["engine"].cases * 1e6
    add(f"Of this engine's {engine_us:,.0f} µs of rules per case (one session per case), {session_us:,.0f} µs are "
        "a fresh durable_rules session: created, opened and deleted empty (median of 2,000), before any answer is "
        f"asserted. `batch` pays it once per {group_size()} cases. A session is not emptied by retracting its "
        "facts, because that makes durable_rules 2.0.28 read freed memory, which aborted a `batch` worker "
        "(engine/durable_backend.py; docs/durable-rules.md). The C core allocates and clears tables for every "
        "node of the rule network when it creates a session.")
    add("")
    add("### The cohort")
    add("")
    add(f"{size.cases:,} cases from `benchmarks/cohort.py` (seed {args.seed}), generated from "
        "knowledge/schemas/case.schema.json: 40 % random (any subset of questions, any value the schema "
        "admits, bounds included), 40 % a worked vignette with up to four answers changed and two dropped, "
        "20 % the typical presentation changed the same way.")
    add("")
    add(f"- questions answered somewhere: {answered} of {questions}; choice values seen: {values} of {total_values}")
    add(f"- rules that fired at least once (in the first {size.in_process_cases:,} cases): "
        f"{coverage['rules_fired']} of {coverage['rules_total']}")
    add("- dispositions: " + ", ".join(f"{k} {v:,}" for k, v in coverage["dispositions"].items()))
    add("- treatment tiers: " + ", ".join(f"{k} {v:,}" for k, v in coverage["tiers"].items()))
    add("")
    add("## Interview latency")
    add("")
    if interview:
        add("From `benchmarks/interview_latency.py --repeat 3` (written with the interview; its own "
            "description of what it times), run by this benchmark:")
        add("")
        add("```")
        out.extend(interview)
        add("```")
    else:
        add("**Not measured.** benchmarks/interview_latency.py was not found or did not run.")
    add("")
    add("## Cold start")
    add("")
    add("Fresh processes, one unmeasured run first (so the files are in the page cache), median of the rest. "
        + ("The package's modules were compiled to bytecode first (`python -m compileall`, into their "
           "`__pycache__` folders), as an installed copy has them."
           if compiled else "**The package's modules could not be compiled to bytecode first** (`python -m "
           "compileall` failed), so each start also compiled the modules it imports."))
    add("")
    add(f"- `itb-triage --version`: {ms(version_ms)}")
    add(f"  - of which starting Python with nothing to do: {ms(python_ms)}")
    add("  - importing the command line (`-X importtime`, median of 5; `itb_triage.cli.main` in all, then "
        "what it imports at start-up, most costly first): "
        + ", ".join(f"`{name}` {cost:.0f} ms" for name, cost in imports[:8]))
    add(f"- `itb-triage assess examples/classic.yaml` (text): {ms(assess_ms)}")
    add(f"- `itb-triage assess --format json examples/classic.yaml` (with the critical answers it now "
        f"computes): {ms(assess_json_ms)}")
    add("")
    add("## Memory")
    add("")
    add(f"`itb-triage batch` on {size.memory_cases + 1000:,} cases (seed {args.seed + 1}; 1,000 more than "
        f"sampled, so that the last sample is taken while it still runs), one process, exit status "
        f"{memory.status}; peak RSS (VmHWM) {memory.max_rss_mb:.1f} MB. RSS (VmRSS) as the records came out:")
    add("")
    add("| cases | RSS |")
    add("|---|---|")
    for count, value in memory.samples:
        add(f"| {count:,} | {value:.1f} MB |")
    add("")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(out), encoding="utf-8")

    if args.scaling.exists():
        page = args.scaling.read_text(encoding="utf-8")
        at = page.find("## Measured")
        if at >= 0:
            others = (f"other processes used {one.others / (cores * one.wall):.0%} of the CPU during the one-process "
                      f"run (load average {load_before} before, {load_after} after).")
            rows: list[tuple[str, Run | None, int, str]] = [
                ("`batch`, one process", reference or one, size.dask_cases if reference else size.cases,
                 "reference"),
                ("`batch --jobs 2`", two, size.cases, "identical" if same else "**different**"),
            ]
            for workers in (1, 2):
                rows.append((f"`batch --engine dask`, local cluster of {workers} worker{'s' if workers > 1 else ''}",
                             dask_runs.get(workers), size.dask_cases,
                             "identical" if dask_same else "**different or failed**"))
            when = f"{began:%Y-%m-%d}, {size.cases:,}-case cohort, the Dask runs on its first {size.dask_cases:,}"
            args.scaling.write_text(page[:at] + "\n".join(measured_section(rows, when, others)), encoding="utf-8")
    print("\n".join(out[out.index("## Targets"):out.index("## Throughput")]))
    print(f"written to {args.output} and {args.scaling}")
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
