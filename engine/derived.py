"""Tables derived once from a long-lived object (a knowledge base, a schema), and found
again by that object's identity: such objects hold dicts, so they cannot be hashed, and
comparing them by value on every case would cost more than the tables save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Derived(Generic[K, V]):
    """`make(owner)`, made on first use for each owner and kept (a few owners at most)."""

    def __init__(self, make: Callable[[K], V], limit: int = 16) -> None:
        self._make = make
        self._limit = limit  # a few knowledge bases per process; tests load many
        self._made: dict[int, tuple[K, V]] = {}

    def __call__(self, owner: K) -> V:
        hit = self._made.get(id(owner))
        if hit is not None:  # the entry keeps its owner alive, so the id is still its own
            return hit[1]
        value = self._make(owner)
        if len(self._made) >= self._limit:
            self._made.clear()
        self._made[id(owner)] = (owner, value)
        return value
