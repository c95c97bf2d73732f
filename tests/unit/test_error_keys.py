"""Refusals that carry a message key (``LedgerError(..., key=, params=)``): every key raised in
ledger/ has its wording in every language, needing no placeholder the raise site does not give,
and every ``err.*`` wording is raised somewhere (no dead text)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger.domain import errors
from ledger.domain.errors import Conflict, LedgerError, ValidationError
from ledger.domain.loans import LoanAction
from ledger.domain.money import money
from ledger.domain.statuses import LoanStatus
from ledger.web.i18n import UI_LANGUAGES, WebText, web_catalog

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(LEDGER.rglob("*.py"))]


def _refusal_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """The names of LedgerError and of every class that derives from it, in ledger/."""
    names = {"LedgerError"}
    grew = True
    while grew:
        grew = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _raised() -> Iterator[tuple[str, str, frozenset[str] | None]]:
    """(where, key, placeholder names given, or None when not a dict literal) per refusal made
    with a key."""
    trees = _trees()
    refusals = _refusal_classes(trees)
    for path, tree in trees:
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in refusals
            ):
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            if "key" not in kw:
                continue
            given: frozenset[str] | None = frozenset()
            if "params" in kw:
                p = kw["params"]
                given = (
                    frozenset(str(k.value) for k in p.keys if isinstance(k, ast.Constant))
                    if isinstance(p, ast.Dict)
                    else None
                )
            where = f"{path.relative_to(LEDGER)}:{node.lineno}"
            for key in _keys_of(kw["key"]):
                yield where, key, given


def _keys_of(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _keys_of(node.body) + _keys_of(node.orelse)
    if isinstance(node, ast.JoinedStr) and ast.unparse(node) == "f'err.status.{action.value}'":
        return [f"err.status.{a.value}" for a in LoanAction]
    raise AssertionError(f"a refusal's key the test cannot read: {ast.unparse(node)}")


RAISED = list(_raised())


def test_refusals_carry_keys() -> None:
    """The scan finds the keyed refusals (a broken scan would pass everything below)."""
    assert len({key for _, key, _ in RAISED}) >= 50


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_every_raised_key_has_its_words_with_the_placeholders_given(language: str) -> None:
    catalog = web_catalog(language) or {}
    wrong = []
    for where, key, given in RAISED:
        if key not in catalog:
            wrong.append(f"{where}: {key} missing")
        elif given is not None and not set(_PLACEHOLDER.findall(catalog[key])) <= given:
            wrong.append(f"{where}: {key} needs {sorted(_PLACEHOLDER.findall(catalog[key]))}")
    assert wrong == []


def test_every_refusal_wording_is_raised_somewhere() -> None:
    english = web_catalog("en") or {}
    raised = {key for _, key, _ in RAISED}
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, LedgerError)
    }
    dead = [
        k
        for k in english
        if k.startswith("err.")
        and k not in raised
        and not (k.startswith("err.title.") and k.removeprefix("err.title.") in codes)
    ]
    assert dead == []


def test_a_refusal_is_said_in_the_users_language_with_its_values_in_the_locale() -> None:
    fr = WebText("fr", "BE", _zone())
    exc = ValidationError(
        "returned plus kept is more than the deposit",
        "returned",
        key="err.release.too_much",
        params={"total": money("1500.50", "EUR"), "deposit": money("1200", "EUR")},
    )
    said = fr.refusal(exc)
    assert said.startswith("Rendu plus gardé (1\u202f500,50\xa0€)")
    assert "1\u202f200,00\xa0€" in said
    de = WebText("de", "CH", _zone())
    dated = Conflict(
        "loan was paid out earlier",
        "on",
        key="err.date.before_payout",
        params={"loan": "L000007", "day": date(2026, 3, 1)},
    )
    assert de.refusal(dated) == (
        "Darlehen L000007 wurde am 01.03.2026 ausgezahlt. "
        "Wählen Sie dieses Datum oder ein späteres."
    )


def test_a_status_is_said_in_words_and_a_number_in_the_locale() -> None:
    nl = WebText("nl", "BE", _zone())
    exc = Conflict(
        "cannot submit",
        "status",
        key="err.status.submit",
        params={"status": LoanStatus.ACTIVE},
    )
    assert "‘" + (web_catalog("nl") or {})["status.active"] + "’" in nl.refusal(exc)
    long = ValidationError("too long", "reason", key="err.reason.too_long", params={"most": 1000})
    assert "1.000" in nl.refusal(long)


def test_a_refusal_without_words_or_with_misfit_values_is_said_as_the_service_said_it() -> None:
    fr = WebText("fr", "BE", _zone())
    assert fr.refusal(Conflict("no key here")) == "no key here"
    assert fr.refusal(Conflict("unknown key", key="err.nowhere")) == "unknown key"
    misfit = Conflict("values missing", key="err.release.too_much", params={"total": "1"})
    assert fr.refusal(misfit) == "values missing"


def test_error_page_titles_follow_the_code_with_a_fallback_by_status() -> None:
    de = WebText("de", "CH", _zone())
    assert de.refusal_title(Conflict("x")) == "Jetzt nicht möglich"
    assert de.refusal_title(errors.ClosedPeriod("x")) == "Der Monat ist abgeschlossen"
    assert de.refusal_title(errors.AlreadyReversed("x")) == "Nicht möglich"
    assert de.refusal_title(errors.PermissionDenied("x")) == "Für Ihre Rolle nicht erlaubt"


def _zone() -> ZoneInfo:
    return ZoneInfo("Europe/Brussels")
