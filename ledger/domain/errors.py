"""Errors the domain and services raise; entry points turn them into messages for people.

Each error carries a stable ``code`` (for machines), the ``field`` it is about (if any) and a
sentence that says what was wrong and what to do. The sentence is English (the API's problem+json
and the logs); a refusal that staff meet on the web pages also carries a message ``key`` and
its ``params``, from which the pages say it in the user's language (``err.*`` keys of the web
catalogs, ``ledger/web/locale``; ``tests/unit/test_error_keys.py`` holds each key to them).
"""

from __future__ import annotations

from collections.abc import Mapping


class LedgerError(Exception):
    """Base class of every refusal the ledger makes on purpose."""

    code = "ledger-error"
    status = 400
    title = "Request refused"

    def __init__(
        self,
        detail: str,
        field: str | None = None,
        *,
        key: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.key = key
        #: str, int, Decimal, date or Money values: the page formats them in the reader's locale.
        self.params: Mapping[str, object] = dict(params or {})


class ValidationError(LedgerError):
    code = "validation-error"
    status = 422
    title = "Invalid input"


class NotFound(LedgerError):
    code = "not-found"
    status = 404
    title = "Not found"


class Conflict(LedgerError):
    """The request is well formed but clashes with the ledger's state."""

    code = "conflict"
    status = 409
    title = "Conflict with the ledger's state"


class UnbalancedEntry(ValidationError):
    code = "unbalanced-entry"
    title = "Entry does not balance"


class ClosedPeriod(Conflict):
    code = "closed-period"
    title = "Month is closed"


class NotReconciled(Conflict):
    """A month whose bank statements or loan sub-ledger the ledger does not explain."""

    code = "not-reconciled"
    title = "Month does not reconcile"


class ClosedAccount(Conflict):
    code = "closed-account"
    title = "Account is closed"


class Overdraft(Conflict):
    code = "overdraft"
    title = "Account may not be overdrawn"


class AlreadyReversed(Conflict):
    code = "already-reversed"
    title = "Entry already reversed"


class IdempotencyConflict(Conflict):
    """Same idempotency key, different content: names the first field that differs."""

    code = "idempotency-key-reused"
    title = "Idempotency key already used for a different request"


class PermissionDenied(LedgerError):
    code = "forbidden"
    status = 403
    title = "Not allowed for your role"


class AuthenticationFailed(LedgerError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class TooManyAttempts(LedgerError):
    """Sign-in refused for a while after repeated failures (guessing passwords)."""

    code = "too-many-attempts"
    status = 429
    title = "Too many failed sign-ins"

    #: Seconds after which a sign-in is taken again, at the latest (the ``Retry-After`` header).
    retry_after: int = 0


class StatementRefused(ValidationError):
    """A statement file that cannot be imported: broken, hostile, or figures that disagree."""

    code = "statement-refused"
    title = "Bank statement refused"

    def __init__(
        self,
        detail: str,
        field: str | None = "file",
        *,
        key: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail, field, key=key, params=params)
