"""A client's side of Consul's blocking queries: which answers can carry news.

Consul's blocking-query documentation gives clients three duties, kept here once for every
client-side watcher (`proconsul watch`, the template renderer): an answer with the same index as
the last one means nothing happened (the wait timed out); an index that went backwards (a
restored snapshot, a new leader) resets the tracker to 0, so the next query returns at once; an
index is never used below 1.
"""

from __future__ import annotations

__all__ = ["IndexTracker"]


class IndexTracker:
    """The index to send with the next blocking query of one view."""

    def __init__(self) -> None:
        self.index: int | None = None  # None until the first answer

    @property
    def first(self) -> bool:
        return self.index is None

    def advance(self, answer_index: int) -> bool:
        """Take an answer's `X-Consul-Index`; False when it cannot carry news."""
        answer_index = max(answer_index, 1)
        if self.index is not None and answer_index == self.index:
            return False
        went_back = self.index is not None and answer_index < self.index
        self.index = 0 if went_back else answer_index
        return True

    def reset(self) -> None:
        """Forget the index (after an error), so the next query does not block."""
        self.index = None
