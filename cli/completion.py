"""Shell completion (Click's): session ids, question ids and values for --what-if, why-not ids.

Enable it with `eval "$(_ITB_TRIAGE_COMPLETE=bash_source itb-triage)"` (zsh_source,
fish_source for the other shells); the README says more. Commands and options Click
completes itself. A completion must never fail, so any problem completes nothing.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click
from click.shell_completion import CompletionItem


def _knowledge() -> Any:
    from itb_triage.engine import load_knowledge

    return load_knowledge()


def complete_session_ids(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Saved interviews whose id begins with what is typed."""
    from itb_triage.engine import SessionStore

    with contextlib.suppress(Exception):
        return [CompletionItem(i) for i in SessionStore().ids() if i.startswith(incomplete)]
    return []


def complete_what_if(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`QUESTION=` for the question ids, then `QUESTION=VALUE` for a choice's values."""
    with contextlib.suppress(Exception):
        questions = _knowledge().questions
        if "=" not in incomplete:
            return [CompletionItem(f"{q}=", help=entry["text"]) for q, entry in questions.items()
                    if q.startswith(incomplete)]
        question, typed = incomplete.split("=", 1)
        entry = questions.get(question, {})
        done, _, last = typed.rpartition(",")
        head = f"{question}={done}," if done else f"{question}="
        return [CompletionItem(f"{head}{v['id']}", help=v["label"]) for v in entry.get("values", ())
                if str(v["id"]).startswith(last)]
    return []


def complete_why_not(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The ids `--why-not` takes, and `KIND:ID` once a kind is typed."""
    from itb_triage.engine import target_ids

    with contextlib.suppress(Exception):
        tables = target_ids(_knowledge())
        if ":" in incomplete:
            kind, typed = incomplete.split(":", 1)
            return [CompletionItem(f"{kind}:{i}") for i in tables.get(kind, ()) if i.startswith(typed)]
        every = sorted({i for ids in tables.values() for i in ids})
        return [CompletionItem(i) for i in every if i.startswith(incomplete)]
    return []
