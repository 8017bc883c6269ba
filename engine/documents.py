"""Reading JSON and YAML documents safely, the same way for cases, knowledge and rules.

YAML is read with a safe loader that keeps `yes`, `no`, `on` and `off` as strings:
under YAML 1.1 they would silently become booleans, and `knee_locking: no` is exactly
what a runner writes in a case file.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


def _construct_mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A repeated key is an error: silently keeping the last one can drop a rule's `then`."""
    import yaml

    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
                )
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, "a key must be a plain value", key_node.start_mark
            ) from None
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


# Python refuses to convert integers of more than 4300 digits; anything past this many
# digits is out of every range anyway, so it becomes a float (infinity), which the case
# checker then rejects with its path.
MAX_INT_DIGITS = 100


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | float:
    import yaml

    if len(str(node.value)) > MAX_INT_DIGITS:
        return float(str(node.value).replace("_", ""))
    return int(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))


@functools.cache
def _strict_loader() -> type:
    """The YAML loader, made on first use: importing PyYAML costs a start about 30 ms, and
    a start that reads a JSON case, with the checked knowledge cached, reads no YAML."""
    import yaml

    # libyaml's parser when the wheel has it: the same safe constructor, several times faster.
    base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictSafeLoader(base):  # type: ignore[misc]
        """Safe loader whose booleans are only true/false (YAML 1.2 style)."""

    # Drop the YAML 1.1 bool resolver and put back one that knows only true/false.
    StrictSafeLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                     _construct_mapping_without_duplicates)
    StrictSafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    StrictSafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return StrictSafeLoader


class DocumentError(ValueError):
    """The text is neither valid JSON nor valid YAML. `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def _refuse_shared_nodes(document: Any) -> None:
    """A YAML alias makes two places share one node; nested, they explode (billion
    laughs). Nothing here needs them, so a repeated container is refused, in linear time."""
    seen: set[int] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                raise DocumentError("YAML anchors and aliases (repeated content) are not allowed")
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def load_yaml(text: str) -> Any:
    """Parse YAML (which includes JSON) with the strict safe loader."""
    document = _parse_yaml(text)
    _refuse_shared_nodes(document)
    return document


def _parse_yaml(text: str) -> Any:
    loader = _strict_loader()
    import yaml

    try:
        # A SafeLoader subclass: no Python tags, no arbitrary objects.
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DocumentError(_one_line(f"not valid JSON or YAML: {exc.problem}"), line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(_one_line(f"not valid JSON or YAML: {exc}")) from None
    except RecursionError:
        raise DocumentError("nested too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # A core tag on a value it cannot convert (!!bool maybe, !!timestamp nope, !!map [1]),
        # or an integer past Python's digit limit: the YAML constructors raise these.
        raise DocumentError(_one_line(f"not a usable value: {type(exc).__name__} {exc}")) from None


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):  # built first, in C: the loop below only names the key
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DocumentError(f"duplicate key {key!r}")
            seen.add(key)
    return out


# Made once: json.loads with arguments builds a decoder and its scanner every call.
_JSON = json.JSONDecoder(object_pairs_hook=_object_without_duplicates, parse_int=_parse_int)


def load_document(text: str) -> Any:
    """Parse JSON, falling back to YAML. JSON first: it is faster and its errors are exact."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return _JSON.decode(text)
        except json.JSONDecodeError:
            pass  # may still be YAML flow style; let the YAML parser decide and report
        except DocumentError:
            raise
        except ValueError as exc:  # an integer past Python's digit limit
            raise DocumentError(f"not a usable value: {exc}") from None
    return load_yaml(text)
