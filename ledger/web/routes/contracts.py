"""Contracts: pages of the web application (see docs/web.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
