"""The downloads: the report `itb-triage report` writes (HTML, Markdown) and the case file.

The report builder is shared presentation that today lives with the command line
(cli/report.py); this module is the one place the browser reaches it, so that moving
it to a shared home later changes one import.
"""

from __future__ import annotations

import json
import re

from itb_triage.cli.report import build_report
from itb_triage.engine import Case, Result, Triage
from itb_triage.engine.interview_store import SessionRecord

MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


def report(triage: Triage, case: Case, result: Result, fmt: str) -> tuple[str, str]:
    """(text, media type) of the report as `html` or `md`, or of the case file as `json`."""
    if fmt == "json":
        return json.dumps(case.to_json(), indent=2, ensure_ascii=False) + "\n", MEDIA[fmt]
    return build_report(triage, case, "html" if fmt == "html" else "markdown", result), MEDIA[fmt]


def download_name(record: SessionRecord, fmt: str) -> str:
    """A file name from the interview's label: letters, digits, dots and dashes only."""
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", record.case_id or record.id).strip(".-")[:60] or "itb-triage"
    kind = "case" if fmt == "json" else "report"
    return f"itb-triage-{kind}-{stem}.{fmt}"
