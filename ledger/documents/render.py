"""Contracts and schedules to PDF/A (WeasyPrint) and HTML, in the beneficiary's language."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.documents.model import ContractData, ScheduleData


@dataclass(frozen=True, slots=True)
class Rendered:
    pdf: bytes
    sha256: str  # hex digest of ``pdf``
    language: str  # the catalog used: the one asked for, or "en" when it fell back
    missing: tuple[str, ...]  # message ids that fell back to English


def render_contract(data: ContractData) -> Rendered:
    raise NotImplementedError


def render_schedule(data: ScheduleData) -> Rendered:
    raise NotImplementedError


def render_schedule_html(data: ScheduleData) -> str:
    raise NotImplementedError
