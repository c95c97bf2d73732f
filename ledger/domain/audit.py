"""One line of the audit log: who did or read what, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] | None


#: The actions with which the services record a read of a person's data: their record, a
#: loan's lease, a search's results, a document of their loan.
PERSONAL_READS = ("read_personal_data", "read_document")


@dataclass(frozen=True, slots=True)
class PersonalRead:
    """A read of personal data as an auditor sees it: who read whose record when, the people
    by their opaque ids (never a name), and the loan or the search it was made through."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    beneficiary_ids: tuple[str, ...]
    loan_id: str | None
    via: str | None  # the page or the purpose the service recorded ("worklist", "search"...)
