"""The installed version of a distribution, read from its metadata file on sys.path.

`importlib.metadata.version` gives the same answer, but importing it costs a cold
start about 50 ms (it loads the `email` package to parse one header), more than the
rest of the backend's start. The common case, a `.dist-info` folder in a folder on
sys.path, is read here directly, searching sys.path in the same order; anything else
(an `.egg-info`, a zip on the path, metadata without a version, none found, an import
hook that provides distributions of its own) is left to importlib.metadata, so the
answer is never a guess.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from importlib.machinery import PathFinder

# Version lines sit among the headers at the top of METADATA; the description follows
# after a blank line and can be long, so only this much is read.
_HEAD_BYTES = 8192


def _normalised(name: str) -> str:
    """A distribution name as installers spell its folder (PEP 503, then `-` as `_`)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata_version(folder: str) -> str | None:
    """The `Version:` header of a .dist-info folder's METADATA, or None."""
    try:
        with open(os.path.join(folder, "METADATA"), "rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    for line in head.splitlines():
        if not line.strip():  # the end of the headers
            return None
        if line[0] in " \t":  # the continuation of a folded header
            continue
        key, _, value = line.partition(":")
        if key.strip().lower() == "version" and value.strip():
            return value.strip()
    return None


class _Unsure(Exception):
    """The metadata found is not of the one form read here."""


def _first_on_path(name: str, paths: Iterable[str]) -> str | None:
    """The version in the first metadata of `name` on `paths`, searched as importlib.metadata
    does; None if there is none. Raises _Unsure where that is not a lone `.dist-info`
    with a version (a zip on the path, an `.egg-info`, two candidates in one folder), or
    where an import hook may provide distributions."""
    if any(hasattr(finder, "find_distributions") for finder in sys.meta_path if finder is not PathFinder):
        raise _Unsure  # importlib.metadata would ask that finder too
    wanted = _normalised(name)
    for entry in paths:
        folder = entry or "."
        try:
            children = os.listdir(folder)
        except NotADirectoryError:  # a zip file, which importlib.metadata also searches
            raise _Unsure from None
        except OSError:  # missing or unreadable: importlib.metadata skips it too
            continue
        matches = [
            child for child in children
            if child.lower().endswith((".dist-info", ".egg-info"))
            and _normalised(child.rpartition(".")[0].partition("-")[0]) == wanted
        ]
        if not matches:
            continue
        if len(matches) > 1 or not matches[0].lower().endswith(".dist-info"):
            raise _Unsure
        version = _metadata_version(os.path.join(folder, matches[0]))
        if version is None:
            raise _Unsure
        return version
    return None


def installed_version(name: str, paths: Iterable[str] | None = None) -> str | None:
    """The installed version of distribution `name` (e.g. "durable-rules"), None if it is
    not installed. `paths` defaults to sys.path."""
    search = list(sys.path if paths is None else paths)
    try:
        found = _first_on_path(name, search)
    except _Unsure:
        found = None
    if found is not None:
        return found
    # Not found, or not in the form read here: the full, slower search (custom finders too).
    from importlib import metadata

    distribution = next(iter(metadata.distributions(name=name, path=search)), None)
    if distribution is None:
        return None
    # Asked first, not read with `.version`: with no Version field, indexing the metadata
    # warns on Python 3.13 (an error under the tests) and raises KeyError with the
    # importlib_metadata backport.
    fields = distribution.metadata
    return str(fields["Version"]) if "Version" in fields else None
