"""Who may do what. Roles follow the fund's separation of duties."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    CASEWORKER = "caseworker"
    TREASURER = "treasurer"
    AUDITOR = "auditor"


class Permission(StrEnum):
    LEDGER_READ = "read the ledger"
    LEDGER_POST = "post journal entries"
    ACCOUNTS_MANAGE = "manage the chart of accounts"
    PERIOD_CLOSE = "close a month"
    PERIOD_REOPEN = "reopen a closed month"
    USERS_MANAGE = "manage users"
    AUDIT_READ = "read the audit log"


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.LEDGER_READ: frozenset({Role.ADMIN, Role.TREASURER, Role.AUDITOR}),
    Permission.LEDGER_POST: frozenset({Role.TREASURER}),
    Permission.ACCOUNTS_MANAGE: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.PERIOD_CLOSE: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.PERIOD_REOPEN: frozenset({Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_READ: frozenset({Role.ADMIN, Role.AUDITOR}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting. ``system`` is the local operator at the command line, trusted like root."""

    name: str
    role: Role
    system: bool = False

    def require(self, permission: Permission) -> None:
        if self.system or self.role in GRANTS[permission]:
            return
        allowed = ", ".join(sorted(r.value for r in GRANTS[permission]))
        raise PermissionDenied(
            f"your role ({self.role.value}) may not {permission.value}; ask a user with the role "
            f"{allowed}"
        )

    def can(self, permission: Permission) -> bool:
        return self.system or self.role in GRANTS[permission]


SYSTEM = Actor("system", Role.ADMIN, system=True)
