"""The checked knowledge base on disk: used when it holds these very files checked, and
ignored (the files checked again) when it is missing, stale or corrupted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from itb_triage.engine import KnowledgeError, load_knowledge
from itb_triage.engine import knowledge as knowledge_module
from itb_triage.engine.fingerprint import knowledge_digest
from itb_triage.engine.kb_cache import CACHE_ENV, entry_path, read_checked


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of the files checked against their schemas, as they are checked."""
    checked: list[str] = []
    original = knowledge_module._schema_problems

    def counted(label: str, *args: Any) -> list[str]:
        checked.append(label)
        return original(label, *args)

    monkeypatch.setattr(knowledge_module, "_schema_problems", counted)
    return checked


def entry() -> Path:
    return entry_path(knowledge_digest())


def test_a_second_start_takes_the_checked_knowledge_from_the_cache(cache: Path, checks: list[str]) -> None:
    first = load_knowledge()
    assert checks and entry().is_file()
    checks.clear()
    second = load_knowledge()
    assert checks == []
    assert second == first
    assert second.version == first.version == knowledge_digest()[:12]


def test_the_cached_knowledge_keeps_the_order_of_the_files(cache: Path) -> None:
    # Results list an entry's fields in its file's order: the same bytes whether the
    # knowledge came from the cache or was checked again (`==` alone ignores the order).
    first, second = load_knowledge(), load_knowledge()
    assert entry().is_file()
    fields = ("citations", "questions", "conditions", "red_flags", "dispositions", "tiers", "recommendations",
              "avoid", "plan", "presentation", "case_schema", "result_schema")
    for name in fields:
        assert json.dumps(getattr(second, name)) == json.dumps(getattr(first, name)), name
    assert [r.because for r in second.rules] == [r.because for r in first.rules]


def test_kb_validate_checks_every_file_whatever_the_cache_holds(cache: Path, checks: list[str]) -> None:
    load_knowledge()
    checks.clear()
    load_knowledge(use_cache=False)
    assert "rules/10_findings.yaml" in checks and "knowledge/questions.yaml" in checks


@pytest.mark.parametrize("damage", [
    lambda text: b"\x00\xff not json",
    lambda text: text[: len(text) // 2],
    lambda text: text.replace(b'"because"', b'"becausE"', 1),  # still JSON, its checksum no longer fits
    lambda text: text.replace(b"checked-knowledge/", b"checked-knowledge/0", 1),  # another format
    lambda text: text.partition(b"\n")[0],  # the header alone
    lambda text: text.partition(b"\n")[2],  # the documents alone
    lambda text: b"[]",
])
def test_a_corrupted_entry_is_ignored_and_replaced(cache: Path, checks: list[str], damage: Any) -> None:
    expected = load_knowledge()
    entry().write_bytes(damage(entry().read_bytes()))
    checks.clear()
    assert load_knowledge() == expected
    assert checks  # the files were checked again
    assert read_checked(knowledge_digest()) is not None  # and a sound entry written


def test_an_entry_for_other_files_is_never_used(cache: Path) -> None:
    load_knowledge()
    other = entry_path("0" * 64)
    other.write_bytes(entry().read_bytes())
    assert read_checked("0" * 64) is None  # it says which files it holds


def test_a_cache_folder_that_cannot_be_written_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    assert load_knowledge().version == knowledge_digest()[:12]


def test_a_changed_knowledge_file_is_checked_again(cache: Path, checks: list[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped folders, as copies that can change between two starts.
    root = Path(__file__).resolve().parent.parent
    copies = {f"itb_triage.{name}": tmp_path / name for name in ("knowledge", "rules")}
    for folder in copies.values():
        shutil.copytree(root / folder.name, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shipped = knowledge_module._package_dir
    monkeypatch.setattr(knowledge_module, "_package_dir", lambda package: copies.get(package) or shipped(package))
    load_knowledge()
    checks.clear()
    load_knowledge()
    assert checks == []  # the copies, unchanged, come from the cache
    # A change the schemas accept and only the cross-reference checks refuse.
    findings = tmp_path / "rules" / "10_findings.yaml"
    text = findings.read_text(encoding="utf-8")
    assert "cite: [bmj_itbs]" in text
    findings.write_text(text.replace("cite: [bmj_itbs]", "cite: [bmj_itbs, no_such_paper]", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as refused:
        load_knowledge()
    assert "rules/10_findings.yaml" in checks  # checked again, not taken from the cache
    assert any("unknown citation 'no_such_paper'" in problem for problem in refused.value.problems)
