"""The knowledge version: a hash of every knowledge, rule and schema file, as bytes.

Cheap on purpose (no parsing), so `itb-triage --version` can show it without loading
the engine. Two results with the same version came from the same knowledge and rules.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .package_data import package_folder

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PACKAGES = {
    "knowledge": "itb_triage.knowledge",
    "rules": "itb_triage.rules",
    "schemas": "itb_triage.knowledge.schemas",
}
SUFFIXES = (".yaml", ".json")


def data_files(folders: dict[str, Traversable] | None = None) -> list[tuple[str, Traversable]]:
    """(label, file) for every data file, sorted by label."""
    folders = folders or {label: package_folder(package) for label, package in PACKAGES.items()}
    found = [
        (f"{label}/{item.name}", item)
        for label, folder in folders.items()
        for item in folder.iterdir()
        if item.name.endswith(SUFFIXES) and item.is_file()
    ]
    return sorted(found, key=lambda pair: pair[0])


def knowledge_digest(folders: dict[str, Traversable] | None = None) -> str:
    """SHA-256 (hex) over the labelled bytes of every data file."""
    digest = hashlib.sha256()
    for label, item in data_files(folders):
        digest.update(label.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest.hexdigest()


def knowledge_version(folders: dict[str, Traversable] | None = None) -> str:
    """First 12 hex digits of `knowledge_digest`."""
    return knowledge_digest(folders)[:12]
