"""A page of rows newest first by an id that only grows, from the last id seen (keyset paging,
``ledger.domain.paging``): the journal and the audit log are read this way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Row, Select, case, func, select

from ledger.domain.paging import Window


def page_rows(
    conn: Connection,
    rows: Select[Any],
    id_column: ColumnElement[int],
    where: ColumnElement[bool],
    window: Window,
    limit: int,
) -> list[Row[Any]]:
    """The page's rows (``rows``, which selects ``id_column`` as ``id``, filtered by
    ``where``), newest first.

    The page's ids are found first, from an index on the filter's columns and the id (or the
    primary key) from where the window starts, whatever its depth; then only their rows are
    read (a filter whose index does not give the id's order sorts ids, not whole rows). A page
    after an id that finds fewer rows than a page holds is the newest page: the first page is
    always whole.
    """
    ids = select(id_column).where(where)
    newest = ids.order_by(id_column.desc()).limit(limit)
    if window.before is not None:
        found = list(conn.scalars(newest.where(id_column < window.before)))
    elif window.after is not None:
        oldest_first = ids.where(id_column > window.after).order_by(id_column).limit(limit)
        found = list(conn.scalars(oldest_first))
        if len(found) < limit:
            found = list(conn.scalars(newest))
    else:
        found = list(conn.scalars(newest.offset(window.offset)))
    if not found:
        return []
    return list(conn.execute(rows.where(id_column.in_(found)).order_by(id_column.desc())))


def page_counts(
    conn: Connection,
    id_column: ColumnElement[int],
    where: ColumnElement[bool],
    source: FromClause,
    window: Window,
    first_id: int | None,
) -> tuple[int, int]:
    """How many rows of ``source`` match ``where``, and how many of those are newer than the
    page's first row (``first_id``; None: the page is empty), in one pass over them."""
    newer: ColumnElement[bool]
    if first_id is not None:
        newer = id_column > first_id
    elif window.before is not None:
        newer = id_column >= window.before
    else:
        newer = id_column.is_not(None)  # past the end of the list: every row is newer
    total, above = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((newer, 1), else_=0)), 0))
        .select_from(source)
        .where(where)
    ).one()
    return int(total), int(above)
