"""What the resolver may reuse between questions: results that depend only on the view and the
settings (never on the shuffle), valid for one generation of one view and one settings object."""

from __future__ import annotations

from collections.abc import Hashable

from proconsul.dns.settings import DnsSettings
from proconsul.state.view import StateView

__all__ = ["Memo"]

MAX_ENTRIES = 4096


class Memo:
    """Cleared whenever the view changes (any applied revision), the settings are replaced, or it fills."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._owner: tuple[StateView, int, DnsSettings] | None = None
        self._data: dict[Hashable, object] = {}

    def table(self, view: StateView, settings: DnsSettings) -> dict[Hashable, object]:
        owner = self._owner
        stale = (
            owner is None or owner[0] is not view or owner[1] != view.generation or owner[2] is not settings
        )
        if stale or len(self._data) >= self.max_entries:
            self._owner = (view, view.generation, settings)
            self._data = {}
        return self._data
