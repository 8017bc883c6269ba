"""The session store's opening: once per store, safe from many threads, and never
waiting on itself while it cleans what a kill left."""

from __future__ import annotations

import threading
from pathlib import Path

from itb_triage.engine.interview_store import LOCK_SUFFIX, SessionStore


def _open_in_a_thread(store: SessionStore) -> bool:
    """Whether `store.open()` returned within 10 s (a deadlock would never return)."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (store.open(), done.set()), daemon=True)
    thread.start()
    return done.wait(10)


def test_opening_cleans_a_lock_file_of_a_session_gone_without_waiting_on_itself(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    root.mkdir(mode=0o700)
    left = root / f".20260101-000000-0123456789abcdef{LOCK_SUFFIX}"
    left.write_text("")
    store = SessionStore(root)
    assert _open_in_a_thread(store), "open() waited on its own lock while cleaning"
    assert not left.exists()


def test_many_threads_opening_one_store_all_return(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    results = [_open_in_a_thread(store) for _ in range(8)]
    assert all(results)
    assert (tmp_path / "sessions").is_dir()
