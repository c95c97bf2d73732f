"""Beneficiaries' personal data, apart from the ledger (ARCHITECTURE promise 8): the one place
it is written, read and erased. Never commits."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, func, insert, or_, select, update

from ledger.domain.beneficiaries import Beneficiary, PersonalData
from ledger.domain.errors import NotFound
from ledger.domain.money import from_minor, to_minor
from ledger.store.tables import (
    beneficiaries,
    eligibility_decisions,
    leases,
    loans,
)


class BeneficiaryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, bid: str, currency: str, data: PersonalData, *, actor: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert(beneficiaries).values(
                id=bid, currency=currency, created_at=now, created_by=actor, **_personal_row(data)
            )
        )

    def get(self, bid: str) -> Beneficiary:
        row = self.conn.execute(select(beneficiaries).where(beneficiaries.c.id == bid)).first()
        if row is None:
            raise NotFound(f"beneficiary {bid} does not exist", "beneficiary_id")
        return _person(row)

    def get_many(self, bids: list[str]) -> dict[str, Beneficiary]:
        """Those of ``bids`` that exist, by id: one query for a page's people."""
        if not bids:
            return {}
        rows = self.conn.execute(select(beneficiaries).where(beneficiaries.c.id.in_(bids)))
        return {r.id: _person(r) for r in rows}

    def update(self, bid: str, data: PersonalData) -> None:
        self.conn.execute(
            update(beneficiaries)
            .where(beneficiaries.c.id == bid, beneficiaries.c.erased_at.is_(None))
            .values(**_personal_row(data))
        )

    def set_reminders_opt_out(self, bid: str, opt_out: bool) -> None:
        self.conn.execute(
            update(beneficiaries).where(beneficiaries.c.id == bid).values(reminders_opt_out=opt_out)
        )

    def erase(self, bid: str, *, actor: str, now: datetime) -> None:
        blank = dict.fromkeys(_personal_row(PersonalData("x")).keys())
        self.conn.execute(
            update(beneficiaries)
            .where(beneficiaries.c.id == bid)
            .values(erased_at=now, erased_by=actor, **blank)
        )
        loan_ids = select(loans.c.id).where(loans.c.beneficiary_id == bid)
        self.conn.execute(
            update(leases)
            .where(leases.c.loan_id.in_(loan_ids))
            .values(landlord_name=None, property_address=None, landlord_iban=None)
        )
        # The rules' reasons quote the facts (savings, income share, the permit's end date):
        # they go too, each rule's name and outcome stay.
        decisions = self.conn.execute(
            select(eligibility_decisions.c.id, eligibility_decisions.c.results).where(
                eligibility_decisions.c.loan_id.in_(loan_ids)
            )
        ).all()
        for decision_id, results in decisions:
            kept = [
                {"rule": r["rule"], "outcome": r["outcome"], "reason": "erased"}
                for r in json.loads(results)
            ]
            self.conn.execute(
                update(eligibility_decisions)
                .where(eligibility_decisions.c.id == decision_id)
                .values(facts=json.dumps({"erased": True}), results=json.dumps(kept))
            )

    def search(self, text: str, *, limit: int, offset: int) -> tuple[list[Beneficiary], int]:
        """People whose name holds ``text`` (any case: "élodie" finds "Élodie"), or whose id
        is ``text`` (an erased person too, by id only); all who are not erased for an empty
        ``text``. By name, then id; with the number of them all."""
        wanted = text.strip()
        where: ColumnElement[bool] = beneficiaries.c.erased_at.is_(None)
        if wanted:
            escaped = wanted.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            by_name = and_(
                where, self._lower(beneficiaries.c.full_name).like(f"%{escaped}%", escape="\\")
            )
            where = or_(by_name, beneficiaries.c.id == wanted.upper())
        total = self.conn.execute(
            select(func.count()).select_from(beneficiaries).where(where)
        ).scalar_one()
        rows = self.conn.execute(
            select(beneficiaries)
            .where(where)
            .order_by(self._lower(beneficiaries.c.full_name), beneficiaries.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_person(r) for r in rows], int(total)

    def _lower(self, column: ColumnElement[str]) -> ColumnElement[str]:
        """``lower()`` of every letter on both engines: SQLite's own lowers only A to Z, so
        there it is Python's ``str.lower`` (PostgreSQL's, in a UTF-8 locale, agrees)."""
        if self.conn.dialect.name != "sqlite":
            return func.lower(column)
        raw = self.conn.connection.driver_connection
        if raw is not None:
            raw.create_function("fl_lower", 1, _lower_text, deterministic=True)
        return func.fl_lower(column)

    def page(self, *, limit: int, offset: int) -> tuple[list[str], int]:
        total = self.conn.execute(select(func.count()).select_from(beneficiaries)).scalar_one()
        rows = self.conn.execute(
            select(beneficiaries.c.id).order_by(beneficiaries.c.id).limit(limit).offset(offset)
        )
        return [r.id for r in rows], int(total)


def _person(row: Row[Any]) -> Beneficiary:
    personal = None
    if row.erased_at is None:
        cur = row.currency
        personal = PersonalData(
            full_name=row.full_name,
            preferred_language=row.preferred_language,
            email=row.email,
            phone=row.phone,
            residence_status=row.residence_status,
            permit_end_date=row.permit_end_date,
            monthly_net_income=_money(row.monthly_net_income_minor, cur),
            household_size=row.household_size,
            own_savings=_money(row.own_savings_minor, cur),
            iban=row.iban,
        )
    return Beneficiary(
        row.id, row.currency, personal, row.erased_at is not None, bool(row.reminders_opt_out)
    )


def _lower_text(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _money(minor: int | None, currency: str) -> Any:
    return from_minor(int(minor), currency) if minor is not None else None


def _personal_row(data: PersonalData) -> dict[str, Any]:
    return {
        "full_name": data.full_name,
        "preferred_language": data.preferred_language,
        "email": data.email,
        "phone": data.phone,
        "residence_status": data.residence_status,
        "permit_end_date": data.permit_end_date,
        "monthly_net_income_minor": to_minor(data.monthly_net_income)
        if data.monthly_net_income is not None
        else None,
        "household_size": data.household_size,
        "own_savings_minor": to_minor(data.own_savings) if data.own_savings is not None else None,
        "iban": data.iban,
    }
