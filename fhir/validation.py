"""Checking what we emit: FHIR validation with fhir.resources, and FHIR's rule that no
element is null or empty (CDS Hooks has the same rule).

fhir.resources' default models are R5; its `R4B` models are the closest to R4 that it
ships, so those are used. It is an optional dependency (`pip install '.[fhir]'`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class InvalidResource(ValueError):
    """A resource fails validation; the message names the resource type and the problem."""


def validate(resource: Mapping[str, Any]) -> None:
    """Raise InvalidResource unless `resource` is valid FHIR R4B with no null or empty element."""
    from pydantic import ValidationError

    from fhir.resources.R4B import get_fhir_model_class

    kind = resource.get("resourceType")
    empty = list(empty_places(resource))
    if empty:
        raise InvalidResource(f"{kind}: null or empty at {', '.join(empty[:5])}")
    try:
        model = get_fhir_model_class(str(kind))
    except KeyError:
        raise InvalidResource(f"unknown resourceType {kind!r}") from None
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        raise InvalidResource(f"{kind}: {exc}") from None


def empty_places(node: Any, path: str = "$") -> Iterator[str]:
    """JSON paths of every null, empty string, empty list and empty object under `node`."""
    stack: list[tuple[str, Any]] = [(path, node)]
    while stack:
        here, value = stack.pop()
        if value is None or (isinstance(value, (str, list, dict)) and not value):
            yield here
        elif isinstance(value, dict):
            stack.extend((f"{here}.{key}", child) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((f"{here}[{index}]", child) for index, child in enumerate(value))
