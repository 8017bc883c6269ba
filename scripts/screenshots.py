"""Regenerate the README's screenshots: the summary a runner sees, and the report's first page.

    .venv/bin/python scripts/screenshots.py [CASE]    (default: examples/classic.yaml)

Writes docs/images/summary.png (the `assess` text, 80 columns, drawn as a terminal
would: an HTML <pre> page shot by headless Chromium) and docs/images/report-page1.png
(the HTML report printed to PDF by Chromium, first page rasterised by pdftoppm from
poppler-utils). Needs Debian's chromium and poppler-utils (apt-get install chromium
poppler-utils); browsers are never downloaded.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
TERMINAL = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #1e1f24; }}
pre {{ margin: 0; padding: 18px 22px; color: #e6e6e6; font: 15px/1.35 "DejaVu Sans Mono", monospace; }}
.prompt {{ color: #8fd18f; }}
</style></head><body><pre><span class="prompt">$ {command}</span>
{text}</pre></body></html>
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"screenshots: {name} is not installed (apt-get install {name.replace('pdftoppm', 'poppler-utils')})")
    return path


def _itb(*args: str) -> str:
    command = [str(Path(sys.executable).with_name("itb-triage")), *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "COLUMNS": "80"})
    return done.stdout


def summary_png(case: str, out: Path, work: Path) -> None:
    text = _itb("assess", case)
    lines = text.count("\n") + 2  # the prompt line and the padding
    page = work / "summary.html"
    page.write_text(TERMINAL.format(command=html.escape(f"itb-triage assess {case}"), text=html.escape(text)),
                    encoding="utf-8")
    # 80 columns of a 15px monospace font are ~730px; 20px a line.
    subprocess.run([_tool("chromium"), *FLAGS, f"--screenshot={out}", f"--window-size=780,{lines * 20 + 40}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)


def report_page_png(case: str, out: Path, work: Path) -> None:
    report, pdf = work / "report.html", work / "report.pdf"
    _itb("report", case, "-o", str(report))
    subprocess.run([_tool("chromium"), *FLAGS, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    stem = work / "page"
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=120)
    shutil.copyfile(stem.with_suffix(".png"), out)


def main(argv: list[str]) -> None:
    case = argv[0] if argv else "examples/classic.yaml"
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        summary_png(case, IMAGES / "summary.png", work)
        report_page_png(case, IMAGES / "report-page1.png", work)
    for name in ("summary.png", "report-page1.png"):
        print(f"wrote {(IMAGES / name).relative_to(REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
