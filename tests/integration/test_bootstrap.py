"""The composition root: one place builds what a process shares, and refuses a bad start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ledger import bootstrap
from ledger.config import Settings
from ledger.domain.errors import ValidationError
from ledger.domain.references import ReferenceKind
from ledger.store import migrate
from ledger.store.database import make_engine


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, database_url="sqlite://")


def test_a_given_engine_is_used_and_left_open(engine: Engine, settings: Settings) -> None:
    def clock() -> datetime:
        return datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    runtime = bootstrap.build(settings, engine=engine, clock=clock)
    assert runtime.engine is engine
    assert runtime.owns_engine is False
    with runtime.unit_of_work(readonly=True) as uow:
        assert uow.now() == clock()
        assert uow.zone == settings.zone
    runtime.close()
    with engine.connect() as conn:  # still usable: the caller owns it
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_the_runtime_carries_the_funds_rules(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "fund-2027-01"\nmax_months = 18\n', encoding="utf-8")
    runtime = bootstrap.build(settings.model_copy(update={"rules_file": rules}), engine=engine)
    assert runtime.policy.rules.version == "fund-2027-01"
    assert runtime.policy.rules.max_months == 18


def test_a_swiss_fund_with_a_qr_iban_gives_its_loans_qr_references(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    chf = settings.model_copy(update={"currency": "CHF", "fund_iban": "CH9300762011623852957"})
    assert bootstrap.build(chf, engine=engine).policy.kind_for("CHF") is ReferenceKind.RF
    with_qr = chf.model_copy(update={"fund_qr_iban": "CH4431999123000889012"})
    assert bootstrap.build(with_qr, engine=engine).policy.kind_for("CHF") is ReferenceKind.QRR
    # a rules file asking for QR references without a QR-IBAN is refused at start
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "v1"\nreference_kind = "qrr"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="QR-IBAN"):
        bootstrap.build(chf.model_copy(update={"rules_file": rules}), engine=engine)
    policy = bootstrap.build(with_qr.model_copy(update={"rules_file": rules}), engine=engine).policy
    assert policy.kind_for("CHF") is ReferenceKind.QRR


def test_a_bad_rules_file_is_refused_before_anything_is_served(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'fund.db'}"
    migrate.upgrade(make_engine(url))
    rules = tmp_path / "rules.toml"
    rules.write_text("version = \n", encoding="utf-8")
    bad = settings.model_copy(update={"database_url": url, "rules_file": rules})
    with pytest.raises(ValidationError, match="not valid TOML"):
        bootstrap.build(bad)


def test_an_outdated_schema_is_refused_and_the_engine_disposed(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    migrate.upgrade(old, "0001")
    old.dispose()
    with pytest.raises(migrate.SchemaOutdated, match="fundledger init"):
        bootstrap.build(settings.model_copy(update={"database_url": url}))
