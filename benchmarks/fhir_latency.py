"""Latency of the FHIR routes: the CDS Hooks service (the spec asks for ~500 ms) and
each step of SDC $next-question.

Requests go through FastAPI's TestClient to the router mounted as `serve` mounts it:
JSON in and out, routing, reading the QuestionnaireResponse, the engine and the card,
but no socket. Every worked case (tests/data/vignettes and ../shared/vignettes) is
sent `--repeat` times; the first request, which compiles nothing but warms caches, is
timed too, separately.

Run: .venv/bin/python benchmarks/fhir_latency.py [--repeat N]
Prints p50/p95/max in milliseconds and the machine it ran on. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VIGNETTE_DIRS = (ROOT / "tests" / "data" / "vignettes", ROOT.parent / "shared" / "vignettes",
                 Path("/work/shared/vignettes"))


def vignettes() -> list[Path]:
    found: dict[str, Path] = {}
    for folder in reversed(VIGNETTE_DIRS):
        if folder.is_dir():
            found.update({p.name: p for p in folder.glob("*.json")})
    return sorted(found.values())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), "
            f"Python {platform.python_version()}, load average {load}")


def summary(name: str, values: list[float]) -> str:
    return (f"{name:<34} n={len(values):<5} p50 {statistics.median(values):7.1f} ms   "
            f"p95 {percentile(values, 0.95):7.1f} ms   max {max(values):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per case for the CDS service")
    args = parser.parse_args()

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from itb_triage.engine import Triage, check_case
    from itb_triage.fhir.adaptive import start
    from itb_triage.fhir.response import answer_values, to_response
    from itb_triage.fhir.routes import fhir_router

    triage = Triage()
    knowledge = triage.knowledge
    app = FastAPI()
    app.include_router(fhir_router(triage))
    client = TestClient(app)
    cases = [json.loads(p.read_text(encoding="utf-8"))["case"] for p in vignettes()]

    first: list[float] = []
    service: list[float] = []
    for case in cases:
        response = to_response(knowledge, check_case(case, "case", knowledge))
        request: dict[str, Any] = {
            "hook": "patient-view", "hookInstance": "bench",
            "context": {"userId": "Practitioner/bench", "patientId": "bench"},
            "prefetch": {"questionnaireResponse": response},
        }
        for attempt in range(args.repeat):
            began = time.perf_counter()
            reply = client.post("/cds-services/itb-triage", json=request)
            elapsed = (time.perf_counter() - began) * 1000
            assert reply.status_code == 200, reply.text
            (first if attempt == 0 else service).append(elapsed)

    steps: list[float] = []
    for case in cases:
        body, answers = start(knowledge), case["answers"]
        while True:
            began = time.perf_counter()
            reply = client.post("/fhir/Questionnaire/$next-question", json=body)
            steps.append((time.perf_counter() - began) * 1000)
            body = reply.json()
            if body["status"] == "completed":
                break
            question = body["contained"][0]["item"][-1]["linkId"]
            if question in answers:
                body.setdefault("item", []).append(
                    {"linkId": question, "answer": answer_values(knowledge, question, answers[question])})

    print(f"machine: {machine()}")
    print(f"cases: {len(cases)}")
    print(summary("CDS Hooks card, first per case", first))
    if service:
        print(summary("CDS Hooks card, repeated", service))
    print(summary("$next-question, per step", steps))


if __name__ == "__main__":
    main()
