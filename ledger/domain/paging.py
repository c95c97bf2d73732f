"""Pages of a list read newest first by a row number that only grows (journal entries, the
audit log): a page starts from the last number seen (keyset paging), not from a count of rows
to skip, so a page deep in a long list costs what the first one does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Window:
    """Which page: the newest (neither bound), the next older than number ``before`` (the
    items numbered below it), or the next newer than number ``after`` (the items numbered
    above it). A page is always shown newest first. ``offset`` (the links made before keyset
    paging, still bookmarked) skips that many of the newest, only without a bound."""

    before: int | None = None
    after: int | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if self.before is not None and self.after is not None:
            raise ValidationError("a page is either before an item or after one", "before")
        for name in ("before", "after", "offset"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValidationError(f"{name} must not be negative", name)


NEWEST = Window()
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IdPage(Generic[T]):
    """A page of a list newest first: its items, how many the list holds in all, and how many
    of them are newer than the page's first item (so the page's items are numbers ``newer +
    1`` to ``newer + len(items)`` of ``total``)."""

    items: list[T]
    total: int
    newer: int
    first_id: int | None  # the number of the page's newest item (None: an empty page)
    last_id: int | None  # and of its oldest

    @property
    def first(self) -> int:
        return self.newer + 1

    @property
    def last(self) -> int:
        return self.newer + len(self.items)

    @property
    def has_newer(self) -> bool:
        return self.newer > 0 and self.first_id is not None

    @property
    def has_older(self) -> bool:
        return self.last < self.total and self.last_id is not None
