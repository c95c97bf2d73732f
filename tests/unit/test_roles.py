"""Separation of duties: who may do what."""

from __future__ import annotations

import pytest

from ledger.domain.errors import PermissionDenied
from ledger.domain.roles import SYSTEM, Actor, Permission, Role

P = Permission
#: Written out by hand (not read from GRANTS) so that a change to the grants fails here.
ALLOWED: dict[Role, set[Permission]] = {
    Role.ADMIN: {
        P.LEDGER_READ,
        P.ACCOUNTS_MANAGE,
        P.PERIOD_CLOSE,
        P.PERIOD_CLOSE_UNRECONCILED,
        P.PERIOD_REOPEN,
        P.USERS_MANAGE,
        P.AUDIT_READ,
        P.LOANS_READ,
        P.LOANS_APPLY,
        P.LOANS_APPROVE,
        P.LOANS_SERVICE,
        P.ELIGIBILITY_OVERRIDE,
        P.PERSONAL_READ,
        P.PERSONAL_WRITE,
        P.WRITE_OFF_PROPOSE,
        P.PAYMENT_FILES,
    },
    Role.TREASURER: {
        P.LEDGER_READ,
        P.LEDGER_POST,
        P.ACCOUNTS_MANAGE,
        P.PERIOD_CLOSE,
        P.LOANS_READ,
        P.LOANS_DISBURSE,
        P.PAYMENTS_RECORD,
        P.WRITE_OFF_PROPOSE,
        P.WRITE_OFF_APPROVE,
        P.PAYMENT_FILES,
    },
    Role.AUDITOR: {P.LEDGER_READ, P.AUDIT_READ, P.LOANS_READ},
    Role.CASEWORKER: {
        P.LOANS_READ,
        P.LOANS_APPLY,
        P.LOANS_APPROVE,
        P.LOANS_SERVICE,
        P.PERSONAL_READ,
        P.PERSONAL_WRITE,
        P.WRITE_OFF_PROPOSE,
    },
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_require_per_role(role: Role, permission: Permission) -> None:
    actor = Actor("someone", role)
    if permission in ALLOWED[role]:
        actor.require(permission)
        assert actor.can(permission)
    else:
        assert not actor.can(permission)
        with pytest.raises(PermissionDenied) as err:
            actor.require(permission)
        assert role.value in err.value.detail
        assert permission.value in err.value.detail
        assert err.value.status == 403


def test_refusal_names_who_may() -> None:
    with pytest.raises(PermissionDenied, match="admin") as err:
        Actor("tina", Role.TREASURER).require(Permission.PERIOD_REOPEN)
    assert "treasurer" in err.value.detail
    with pytest.raises(PermissionDenied, match="treasurer"):
        Actor("adam", Role.ADMIN).require(Permission.LEDGER_POST)


def test_only_treasurer_posts() -> None:
    # Four eyes: an admin manages users and reopens months but does not move money.
    posters = {role for role in Role if Actor("x", role).can(Permission.LEDGER_POST)}
    assert posters == {Role.TREASURER}


@pytest.mark.parametrize("permission", list(Permission))
def test_system_actor_may_do_everything(permission: Permission) -> None:
    SYSTEM.require(permission)
    assert SYSTEM.can(permission)


def test_system_flag_only_on_system_actor() -> None:
    assert not Actor("root", Role.ADMIN).can(Permission.LEDGER_POST)
    assert Actor("cli", Role.CASEWORKER, system=True).can(Permission.LEDGER_POST)
