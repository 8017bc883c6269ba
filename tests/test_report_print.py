"""The HTML report printed to PDF by headless Chromium (Debian's `chromium` package).

A simple case prints to at most four A4 pages before the appendix, and no page ends
with a heading. Skipped where Chromium or pypdf is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from itb_triage.cli.main import cli

from .conftest import DATA, vignette

pypdf = pytest.importorskip("pypdf")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]
APPENDIX = "Appendix: how the result was reached"
HEADINGS = ("What to do", "What to avoid", "Your answers", "Your six-week plan", "When to get help", "References")


def print_to_pdf(html: Path, pdf: Path) -> None:
    assert CHROMIUM is not None
    subprocess.run([CHROMIUM, *FLAGS, f"--print-to-pdf={pdf}", html.as_uri()], check=True, timeout=120,
                   capture_output=True)


@pytest.fixture(scope="module")
def classic_pages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("print")
    html, pdf = folder / "report.html", folder / "report.pdf"
    case = json.dumps(vignette(DATA / "vignettes" / "v01_classic.json")["case"])
    run = CliRunner().invoke(cli, ["report", "-", "-o", str(html)], input=case)
    assert run.exit_code == 0, run.stderr
    print_to_pdf(html, pdf)
    return [page.extract_text() for page in pypdf.PdfReader(str(pdf)).pages]


def test_a_simple_case_prints_to_at_most_four_pages_before_the_appendix(classic_pages: list[str]) -> None:
    first_appendix_page = next(i for i, text in enumerate(classic_pages) if APPENDIX in text)
    assert first_appendix_page <= 4, f"the appendix starts on page {first_appendix_page + 1}"
    assert APPENDIX in classic_pages[first_appendix_page].splitlines()[0]  # it starts a page


def test_the_first_page_is_the_card_and_the_answers(classic_pages: list[str]) -> None:
    first = classic_pages[0]
    assert "Look after it at home" in first and "Your answers" in first
    assert "What to do this week" in first.replace("WHAT TO DO THIS WEEK", "What to do this week")


def test_no_page_ends_with_a_heading(classic_pages: list[str]) -> None:
    for number, text in enumerate(classic_pages, start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        assert last not in HEADINGS and not re.match(r"Week \d+: ", last), f"page {number} ends with {last!r}"
