"""The per-render scratchpad: `{{ scratch.Set "k" v }}`, `{{ scratch.Get "k" }}`, ..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..gotemplate.fmt import NO_VALUE, go_quote
from ._go import want_str


class Scratch:
    """consul-template's Scratch; the methods carry their Go names because templates call them.

    The renderer makes one per template execution and exposes it as the `scratch` function
    (see `scratch_func`).
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def Key(self, key: Any) -> bool:
        """Whether the key has been set, even to nil."""
        return want_str(key) in self.values

    def Get(self, key: Any) -> Any:
        """The value at the key; nil (printed `<no value>`) when missing."""
        value = self.values.get(want_str(key))
        return NO_VALUE if value is None else value

    def Set(self, key: Any, value: Any) -> str:
        self.values[want_str(key)] = value
        return ""

    def SetX(self, key: Any, value: Any) -> str:
        """Set, unless the key already exists."""
        self.values.setdefault(want_str(key), value)
        return ""

    def MapSet(self, key: Any, map_key: Any, value: Any) -> str:
        """Store value under map_key in the map named key (created when missing)."""
        return self._map_set(want_str(key), want_str(map_key), value, True)

    def MapSetX(self, key: Any, map_key: Any, value: Any) -> str:
        """MapSet, unless map_key already exists in that map."""
        return self._map_set(want_str(key), want_str(map_key), value, False)

    def _map_set(self, key: str, map_key: str, value: Any, overwrite: bool) -> str:
        typed = self.values.setdefault(key, {})
        if not isinstance(typed, dict):
            raise ValueError(f"{go_quote(key)} is not a map")
        if overwrite or map_key not in typed:
            typed[map_key] = value
        return ""

    def MapValues(self, key: Any) -> list[Any]:
        """The map's values sorted by their keys; empty when the key is not a map."""
        typed = self.values.get(want_str(key))
        if not isinstance(typed, dict):
            return []
        return [typed[k] for k in sorted(typed)]


def scratch_func(scratch: Scratch) -> Callable[[], Scratch]:
    """The `scratch` template function for one render: `funcs["scratch"] = scratch_func(Scratch())`."""

    def scratch_() -> Scratch:
        return scratch

    return scratch_
