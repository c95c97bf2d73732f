"""The posting path's statements, written once with ``:name`` placeholders for both drivers."""

from __future__ import annotations

from ledger.store.driver import Sql


def test_named_placeholders_become_pyformat_for_postgresql() -> None:
    sql = Sql.both(
        """UPDATE accounts
           SET balance_minor = balance_minor + :delta WHERE id = :aid""",
        pg_suffix=" RETURNING id",
    )
    assert (
        sql.sqlite == "UPDATE accounts SET balance_minor = balance_minor + :delta WHERE id = :aid"
    )
    assert sql.postgresql == (
        "UPDATE accounts SET balance_minor = balance_minor + %(delta)s WHERE id = %(aid)s"
        " RETURNING id"
    )


def test_casts_and_literals_are_left_alone() -> None:
    sql = Sql.both("SELECT :a::bigint, 'x', b::text FROM t WHERE c = :c_2")
    assert sql.postgresql == "SELECT %(a)s::bigint, 'x', b::text FROM t WHERE c = %(c_2)s"
