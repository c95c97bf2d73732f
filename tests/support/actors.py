"""The staff the service-level tests act as, one per role."""

from __future__ import annotations

from ledger.domain.roles import Actor, Role

TREASURER = Actor("tina.treasurer", Role.TREASURER)
ADMIN = Actor("adam.admin", Role.ADMIN)
AUDITOR = Actor("aude.auditor", Role.AUDITOR)
CASEWORKER = Actor("carl.caseworker", Role.CASEWORKER)
