"""Reading JSON and YAML documents safely, the same way for cases, knowledge and rules.

YAML is read with a safe loader that keeps `yes`, `no`, `on` and `off` as strings:
under YAML 1.1 they would silently become booleans, and `knee_locking: no` is exactly
what a runner writes in a case file.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


# libyaml's parser when the wheel has it: the same safe constructor, several times faster.
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictSafeLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """Safe loader whose booleans are only true/false (YAML 1.2 style)."""


# Drop the YAML 1.1 bool resolver and put back one that knows only true/false.
_StrictSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class DocumentError(ValueError):
    """The text is neither valid JSON nor valid YAML. `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def load_yaml(text: str) -> Any:
    """Parse YAML (which includes JSON) with the strict safe loader."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DocumentError(f"not valid JSON or YAML: {exc.problem}", line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"not valid JSON or YAML: {exc}") from None


def load_document(text: str) -> Any:
    """Parse JSON, falling back to YAML. JSON first: it is faster and its errors are exact."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # may still be YAML flow style; let the YAML parser decide and report
    return load_yaml(text)
