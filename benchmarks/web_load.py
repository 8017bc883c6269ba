"""Load test of `itb-triage serve`: many runners answering at once, from this machine only.

    .venv/bin/python benchmarks/web_load.py            # 3 waves of 200 interviews, ~20 minutes
    .venv/bin/python benchmarks/web_load.py --quick    # 2 waves of 40, ~2 minutes, printed only

Starts the real server (`itb-triage serve --port 0`, a subprocess on 127.0.0.1, its own
empty session store), then runs N interviews concurrently over HTTP exactly as a
browser without JavaScript does: the first page, Start, then for each question the
form post and the redirect to the next page, until the result page. Answers come from
the worked cases (tests/data/vignettes, in turn), so some interviews end early on an
emergency. Each runner waits a seeded, random "reading time" before each answer and
starts at a random moment within the first reading time, as people do; `--think 0`
sends every request back to back instead, which measures the server's capacity.

Every request is timed (from sending to the full response), by kind. The server's
resident memory (VmRSS) is sampled every second. Bounded: at most `--timeout` seconds,
then whatever is unfinished is counted and the server stopped. Only 127.0.0.1 is used.
Writes docs/performance-web.md (`--out`) with the machine it ran on. `--quick` is for
before/after comparisons while working: about the same request rate as the full run (40
runners with a 2–4 s reading time), two waves, the report printed and not written.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VIGNETTES = sorted((ROOT / "tests" / "data" / "vignettes").glob("*.json"))
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_QUESTION = re.compile(r'<form method="post" action="/interview" novalidate>.*?name="question" value="([a-z0-9_]+)"',
                       re.S)


@dataclass
class Stats:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    finished: int = 0
    emergencies: int = 0
    questions: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, kB)
    finished_at: list[float] = field(default_factory=list)
    wave_ends: list[tuple[float, int]] = field(default_factory=list)  # (seconds, kB) when each wave ended

    def time(self, kind: str, seconds: float) -> None:
        self.timings.setdefault(kind, []).append(seconds)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def form_values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


async def request(client: Any, stats: Stats, kind: str, method: str, url: str, **kwargs: Any) -> Any:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)
    stats.time(kind, time.perf_counter() - started)
    if response.status_code >= 500 or response.status_code not in (200, 303):
        stats.errors.append(f"{method} {url}: {response.status_code}")
    return response


async def interview(base: str, answers: dict[str, Any], stats: Stats, rng: random.Random, think: tuple[float, float],
                    clock: float) -> None:
    import httpx2 as httpx

    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=120) as client:
        await asyncio.sleep(rng.uniform(0, think[1]))
        page = await request(client, stats, "GET page", "GET", "/")
        token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        await request(client, stats, "POST start", "POST", "/start", data={"csrf": token})
        page = await request(client, stats, "GET page", "GET", "/interview")
        for _ in range(200):
            match = _QUESTION.search(page.text)
            if match is None:
                break
            question = match.group(1)
            stats.questions += 1
            await asyncio.sleep(rng.uniform(*think))
            data: dict[str, Any] = {"csrf": token, "question": question}
            if question in answers:
                data |= {"action": "answer", "value": form_values(answers[question])}
            else:
                data |= {"action": "skip"}
            posted = await request(client, stats, "POST answer", "POST", "/interview", data=data)
            location = posted.headers.get("location", "/interview")
            page = await request(client, stats, "GET page", "GET", location)
            if location == "/result":
                break
        if 'class="interruption"' in page.text:
            stats.emergencies += 1
        result = await request(client, stats, "GET result", "GET", "/result")
        if "care-card--" not in result.text:
            stats.errors.append("the result page has no care card")
        stats.finished += 1
        stats.finished_at.append(time.monotonic() - clock)


def read_rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def sample_memory(pid: int, stats: Stats, clock: float) -> None:
    while True:
        stats.rss.append((time.monotonic() - clock, read_rss(pid)[0]))
        if len(stats.rss) % 30 == 0:
            print(f"{len(stats.rss)} s: {stats.finished} finished, {stats.questions} questions, "
                  f"{len(stats.errors)} errors, RSS {stats.rss[-1][1] / 1024:.1f} MB", file=sys.stderr, flush=True)
        await asyncio.sleep(1.0)


async def run(base: str, pid: int, count: int, think: tuple[float, float], seed: int, timeout: float,
              waves: int) -> Stats:
    """`waves` rounds of `count` interviews, one after the other, against the same server."""
    cases = [json.loads(p.read_text(encoding="utf-8"))["case"]["answers"] for p in VIGNETTES]
    stats = Stats()
    clock = time.monotonic()
    sampler = asyncio.create_task(sample_memory(pid, stats, clock))
    for wave in range(waves):
        tasks = [asyncio.create_task(interview(base, cases[i % len(cases)], stats,
                                               random.Random(seed * 1_000_000 + wave * 10_000 + i), think, clock))
                 for i in range(count)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                stats.errors.append(f"{type(task.exception()).__name__}: {task.exception()}")
        if pending:
            stats.errors.append(f"{len(pending)} interviews of wave {wave + 1} unfinished after {timeout:.0f} s")
        stats.wave_ends.append((time.monotonic() - clock, read_rss(pid)[0]))
    sampler.cancel()
    return stats


def start_server(home: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", "from itb_triage.cli.main import main; main()", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ITB_TRIAGE_HOME": str(home), "PYTHONUNBUFFERED": "1"},
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if match is None:
        server.kill()
        raise SystemExit(f"the server did not start: {line}{server.stderr.read() if server.stderr else ''}")
    return server, match.group(1)


def machine() -> list[tuple[str, str]]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return [("CPU", cpu), ("cores", str(os.cpu_count())), ("RAM", f"{memory / 2**20:.1f} GiB"),
            ("OS", f"{platform.system()} {platform.release()}"), ("Python", platform.python_version()),
            ("itb-triage", f"at {commit or 'unknown commit'}"),
            # Run with `nice`, the benchmark and its server yield the CPU to everything else running.
            ("niceness of this run", str(os.nice(0)))]


def report(stats: Stats, args: argparse.Namespace, took: float, loads: tuple[str, str], idle_rss: int) -> str:
    all_times = [t for values in stats.timings.values() for t in values]
    p95 = percentile(all_times, 0.95) * 1000 if all_times else float("nan")
    rows = []
    for kind in ("GET page", "POST answer", "POST start", "GET result"):
        values = stats.timings.get(kind, [])
        if values:
            rows.append(f"| {kind} | {len(values):,} | {percentile(values, 0.5) * 1000:.1f} | "
                        f"{percentile(values, 0.95) * 1000:.1f} | {percentile(values, 0.99) * 1000:.1f} | "
                        f"{max(values) * 1000:.1f} |")
    total = args.interviews * args.waves
    wave_rss = ", ".join(f"{rss / 1024:.1f} MB" for _, rss in stats.wave_ends)
    # Flat: the first wave fills the bounded caches; after it, each wave ends within 5 % of
    # where the first ended (the plateau), so many waves do not add up.
    ends = [rss for _, rss in stats.wave_ends]
    flat = "met" if len(ends) > 1 and max(ends[1:]) <= ends[0] * 1.05 else (
        "not met" if len(ends) > 1 else "one wave only")
    peak = max((rss for _, rss in stats.rss), default=0)
    think = "back to back (no reading time)" if args.think_max == 0 else \
        f"a reading time of {args.think_min:g}–{args.think_max:g} s before each answer"
    rate = sum(len(v) for v in stats.timings.values()) / took
    lines = [
        "# Performance of the web app (`itb-triage serve`)",
        "",
        f"Written by `.venv/bin/python benchmarks/web_load.py {' '.join(sys.argv[1:])}`".rstrip() +
        f" on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC (took {took / 60:.1f} min). "
        "Run it again to refresh every figure; nothing here is edited by hand.",
        "",
        f"{args.waves} waves of {args.interviews} interviews at once against the real server on 127.0.0.1 "
        f"(one process, one engine), each as a browser without JavaScript: the first page, Start, then per "
        f"question the form post and the page it redirects to, then the result page; answers from the "
        f"worked cases in turn, {think}, starts spread over the first reading time.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in machine()),
        f"| load average (1/5/15 min) | {loads[0]} before, {loads[1]} after |",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| no error | {len(stats.errors)} errors; {stats.finished} of {total} interviews reached "
        f"the result ({stats.emergencies} through the emergency card) | "
        f"**{'met' if not stats.errors and stats.finished == total else 'not met'}** |",
        f"| p95 per request under 50 ms | {p95:.1f} ms over {len(all_times):,} requests | "
        f"**{'met' if p95 < 50 else 'not met'}** |",
        f"| memory flat | RSS {idle_rss / 1024:.1f} MB idle, then at the end of each wave: {wave_rss}; "
        f"peak {peak / 1024:.1f} MB | **{flat}** |",
        "",
        "## Requests",
        "",
        f"{stats.questions:,} questions answered or skipped; {rate:.1f} requests/s on average.",
        "",
        "| request | count | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Memory over the run",
        "",
        "| seconds | interviews finished | RSS MB |",
        "|---|---|---|",
    ]
    step = max(1, len(stats.rss) // 10)
    for seconds, rss in [*stats.rss[::step], *stats.rss[-1:]]:
        finished = sum(1 for t in stats.finished_at if t <= seconds)
        lines.append(f"| {seconds:.0f} | {finished} | {rss / 1024:.1f} |")
    if stats.errors:
        lines += ["", "## Errors (first 10)", "", *(f"- {e}" for e in stats.errors[:10])]
    lines += [
        "",
        "Requests are served concurrently from uvicorn's thread pool in one process, with no app-wide "
        "engine lock: durable_rules' C core is entered under the engine's own lock for the millisecond or "
        "so a case takes, and the relevance analysis keeps no state between calls. A step costs one "
        "relevance analysis (a page and the form it posts share it through a cache) and one save of the "
        "session, written and fsynced as the terminal's interview writes it, so the latency also depends on "
        "the disk, and on the other programs sharing the two cores (see the load average and niceness "
        "above). The result page is the heaviest request: the critical answers (tens of milliseconds, once "
        "per interview) and a page of reasoning trees. Memory: results (with their critical answers, about "
        "60 KiB each) and analyses (about 20 KiB each) are cached for the pages that ask for them again, "
        "bounded at 128 and 512 entries, so RSS rises in the first wave until they are full, then stays; the "
        "server caps glibc's malloc arenas at 2, as without that every worker thread kept freed memory of "
        "its own.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="40 runners, 2–4 s reading time, 2 waves, print only (unless --out is given)")
    parser.add_argument("--interviews", type=int, default=None, help="runners per wave (200; --quick 40)")
    parser.add_argument("--think-min", type=float, default=None, help="shortest reading time, seconds (10; --quick 2)")
    parser.add_argument("--think-max", type=float, default=None,
                        help="longest reading time, seconds, 0 for none (20; --quick 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--waves", type=int, default=None,
                        help="rounds of --interviews, one after the other: the first fills the bounded caches, "
                             "the others show whether memory stays there (3; --quick 2)")
    parser.add_argument("--timeout", type=float, default=900.0, help="stop a wave after this many seconds")
    parser.add_argument("--out", type=Path, default=None, help="where to write the report "
                        "(docs/performance-web.md; --quick: nowhere)")
    args = parser.parse_args()
    full = {"interviews": 200, "think_min": 10.0, "think_max": 20.0, "waves": 3}
    quick = {"interviews": 40, "think_min": 2.0, "think_max": 4.0, "waves": 2}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.out is None and not args.quick:
        args.out = ROOT / "docs" / "performance-web.md"
    if args.think_max == 0:
        args.think_min = 0.0
    loads_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as home:
        server, base = start_server(Path(home))
        try:
            time.sleep(1.0)
            idle_rss = read_rss(server.pid)[0]
            started = time.monotonic()
            stats = asyncio.run(run(base, server.pid, args.interviews, (args.think_min, args.think_max), args.seed,
                                    args.timeout, args.waves))
            took = time.monotonic() - started
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    loads_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(stats, args, took, (loads_before, loads_after), idle_rss)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
