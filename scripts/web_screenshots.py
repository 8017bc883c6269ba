"""Screenshots of the web app for the README: the first question, an emergency card, a result.

    .venv/bin/python scripts/web_screenshots.py [--out docs/screenshots]

Serves the app on 127.0.0.1 with an empty session store, drives Debian's Chromium
through Playwright (never a downloaded browser) as a runner would, and writes
web-question.png, web-emergency.png and web-result.png. The emergency and the result
come from the worked cases (tests/data/vignettes): the first that the engine sends to
an emergency, and the typical ITBS runner.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium_path, click_through, launch, served  # noqa: E402

VIGNETTES = ROOT / "tests" / "data" / "vignettes"
WIDTH, HEIGHT = 900, 1100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if chromium_path() is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    from itb_triage.cli.report import build_report
    from itb_triage.engine import Triage
    from itb_triage.engine.interview_store import SessionStore
    from itb_triage.web.app import create_app

    triage = Triage()
    cases = [json.loads(p.read_text(encoding="utf-8"))["case"] for p in sorted(VIGNETTES.glob("*.json"))]
    emergency = next(c for c in cases
                     if triage.assess(triage.read_case(json.dumps(c).encode(), "v")).disposition == "emergency")
    typical = json.loads((VIGNETTES / "v01_classic.json").read_text(encoding="utf-8"))["case"]
    args.out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp()
    app = create_app(triage, SessionStore(Path(home) / "sessions"), report=build_report)
    with served(app) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})

        def start() -> None:
            page.context.clear_cookies()
            page.goto(url + "/")
            page.click("text=Start now")
            page.wait_for_url("**/interview")

        start()
        page.screenshot(path=args.out / "web-question.png")
        start()
        click_through(page, emergency["answers"])
        page.screenshot(path=args.out / "web-emergency.png")
        start()
        click_through(page, typical["answers"])
        page.wait_for_url("**/result")
        page.screenshot(path=args.out / "web-result.png")
        browser.close()
    for name in ("web-question.png", "web-emergency.png", "web-result.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
