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
    PERIOD_CLOSE_UNRECONCILED = "close a month that does not reconcile"
    PERIOD_REOPEN = "reopen a closed month"
    USERS_MANAGE = "manage users"
    AUDIT_READ = "read the audit log"
    LOANS_READ = "read loans"
    LOANS_APPLY = "open and submit loan applications"
    LOANS_APPROVE = "approve or reject loan applications"
    LOANS_SERVICE = "change schedules (holidays, rescheduling)"
    ELIGIBILITY_OVERRIDE = "override an eligibility decision"
    PERSONAL_READ = "see beneficiaries' personal data"
    PERSONAL_WRITE = "record or erase beneficiaries' personal data"
    LOANS_DISBURSE = "pay out loans"
    PAYMENTS_RECORD = "record payments, deposit releases and refunds"
    WRITE_OFF_PROPOSE = "propose a write-off"
    WRITE_OFF_APPROVE = "approve a write-off"
    PAYMENT_FILES = "make, download, send and cancel payment files"


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.LEDGER_READ: frozenset({Role.ADMIN, Role.TREASURER, Role.AUDITOR}),
    Permission.LEDGER_POST: frozenset({Role.TREASURER}),
    Permission.ACCOUNTS_MANAGE: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.PERIOD_CLOSE: frozenset({Role.ADMIN, Role.TREASURER}),
    # With a written reason; the treasurer who keeps the books may not overrule them.
    Permission.PERIOD_CLOSE_UNRECONCILED: frozenset({Role.ADMIN}),
    Permission.PERIOD_REOPEN: frozenset({Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_READ: frozenset({Role.ADMIN, Role.AUDITOR}),
    Permission.LOANS_READ: frozenset({Role.ADMIN, Role.CASEWORKER, Role.TREASURER, Role.AUDITOR}),
    Permission.LOANS_APPLY: frozenset({Role.ADMIN, Role.CASEWORKER}),
    Permission.LOANS_APPROVE: frozenset({Role.ADMIN, Role.CASEWORKER}),
    Permission.LOANS_SERVICE: frozenset({Role.ADMIN, Role.CASEWORKER}),
    # The admin is the fund's supervisor.
    Permission.ELIGIBILITY_OVERRIDE: frozenset({Role.ADMIN}),
    Permission.PERSONAL_READ: frozenset({Role.ADMIN, Role.CASEWORKER}),
    Permission.PERSONAL_WRITE: frozenset({Role.ADMIN, Role.CASEWORKER}),
    Permission.LOANS_DISBURSE: frozenset({Role.TREASURER}),
    Permission.PAYMENTS_RECORD: frozenset({Role.TREASURER}),
    Permission.WRITE_OFF_PROPOSE: frozenset({Role.ADMIN, Role.CASEWORKER, Role.TREASURER}),
    Permission.WRITE_OFF_APPROVE: frozenset({Role.TREASURER}),
    # The file carries creditors' names and IBANs: not for auditors (they read its metadata).
    Permission.PAYMENT_FILES: frozenset({Role.ADMIN, Role.TREASURER}),
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
