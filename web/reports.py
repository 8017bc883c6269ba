"""The downloads: the report `itb-triage report` writes (HTML, Markdown) and the case file.

The report builder lives with the command line (cli/report.py), and no adapter imports
another (docs/architecture.md): the `serve` command hands it to the app
(`create_app(report=...)`), so the browser offers exactly the report the terminal writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from itb_triage.engine import Case, Result, SessionRecord, Triage

# build_report(triage, case, "markdown" | "html", result) -> the report's text
ReportBuilder = Callable[[Triage, Case, str, Result], str]

MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


def report(build_report: ReportBuilder | None, triage: Triage, case: Case, result: Result,
           fmt: str) -> tuple[str, str] | None:
    """(text, media type) of the report as `html` or `md`, or of the case file as `json`;
    None for a report when the app was given no report builder."""
    if fmt == "json":
        return json.dumps(case.to_json(), indent=2, ensure_ascii=False) + "\n", MEDIA[fmt]
    if build_report is None:
        return None
    return build_report(triage, case, "html" if fmt == "html" else "markdown", result), MEDIA[fmt]


def download_name(record: SessionRecord, fmt: str) -> str:
    """A file name from the interview's label: letters, digits, dots and dashes only."""
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", record.case_id or record.id).strip(".-")[:60] or "itb-triage"
    kind = "case" if fmt == "json" else "report"
    return f"itb-triage-{kind}-{stem}.{fmt}"
