"""The browser door: `itb-triage serve`, the interview and the result as a local web app.

A thin adapter like `cli/`: it turns HTTP requests into calls on the engine's public
API (the Triage, the Interview state machine, the saved-interview store) and renders
what comes back. It decides nothing about triage, relevance or wording itself.
Needs the `web` extra: `pip install 'itb-triage[web]'`.
"""

from __future__ import annotations
