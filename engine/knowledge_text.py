"""Knowledge text made fit for a reader, the same way in every door.

The knowledge is written once for all results, so some of its text only reads well
in context: a cross-reference to advice this result does not give, a source key
such as "(beals2013)" where the reader sees numbered references, two rules giving
nearly the same reason. These helpers fix that text for one result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

_SEE = re.compile(r"\s*\(see \"([^\"]+)\"\)")
_WORD = re.compile(r"[a-z]+")
# Words that carry no meaning of their own when two reasons are compared.
_COMMON = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "if", "in", "is",
    "it", "its", "of", "on", "or", "so", "that", "the", "their", "them", "then", "this", "to", "was", "were",
    "with", "without", "your", "you",
})

T = TypeVar("T")


def drop_dangling_references(text: str, shown_titles: Collection[str]) -> str:
    """Remove `(see "Title")` where nothing titled so is shown; keep the ones that resolve."""
    shown = {t.casefold() for t in shown_titles}
    return _SEE.sub(lambda m: m.group(0) if m.group(1).casefold() in shown else "", text)


def number_source_keys(text: str, citation_ids: Collection[str], number: Callable[[str], int]) -> str:
    """Source keys such as "beals2013" in knowledge text become reference numbers, "[2]"."""
    if not citation_ids:
        return text
    keys = re.compile(r"\b(" + "|".join(re.escape(c) for c in sorted(citation_ids, key=len, reverse=True)) + r")\b")
    text = keys.sub(lambda m: f"[{number(m.group(1))}]", text)
    # "([2])" reads better as "[2]", and "([2], [3])" as "[2][3]".
    return re.sub(r"\((\[\d+\](?:[,;]? ?\[\d+\])*)\)", lambda m: re.sub(r"[,;]? ?", "", m.group(1)), text)


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def near_duplicates(items: Iterable[T], text: Callable[[T], str], overlap: float = 0.5) -> list[list[T]]:
    """The items in groups of near-duplicates, each group where its first item was.

    Two texts are near-duplicates when the content words they share are at least
    `overlap` of the shorter one's: "No clear progress after about six weeks ... needs
    a clinician's review" and "No clear progress after about six weeks, getting worse
    ... a sports physiotherapist should take over" say the same thing to a reader.
    """
    groups: list[tuple[list[T], set[str]]] = []
    for item in items:
        words = _content(text(item))
        for group, other in groups:
            if words and other and len(words & other) >= overlap * min(len(words), len(other)):
                group.append(item)
                break
        else:
            groups.append(([item], words))
    return [group for group, _ in groups]
