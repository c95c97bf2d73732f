"""The secret that keys the hashes of payers' IBANs (and statement line fingerprints).

A keyed hash (HMAC-SHA256) lets the next statement recognise a payer without the database
holding the IBAN: whoever reads the database without the key cannot test IBANs against it.
The key comes from FUNDLEDGER_HASH_KEY, else from a file that ``fundledger init`` creates
(readable by its owner only). Losing it only loses suggestions from earlier payments.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ledger.config import Settings
from ledger.domain.errors import ValidationError

MIN_KEY_CHARS = 32


def load_hash_key(settings: Settings) -> bytes:
    """The key as bytes; refused when missing or too short."""
    if settings.hash_key is not None:
        text = settings.hash_key.get_secret_value().strip()
        where = "FUNDLEDGER_HASH_KEY"
    else:
        path = settings.hash_key_path()
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise ValidationError(
                f"no hash key: set FUNDLEDGER_HASH_KEY or run `fundledger init`, which writes "
                f"one to {path}",
                "hash_key",
            ) from None
        where = str(path)
    if len(text) < MIN_KEY_CHARS:
        raise ValidationError(
            f"the hash key in {where} is shorter than {MIN_KEY_CHARS} characters", "hash_key"
        )
    return text.encode()


def ensure_hash_key(settings: Settings) -> Path | None:
    """Write a new random key file unless a key is configured or the file exists; the path
    written, or None."""
    if settings.hash_key is not None:
        return None
    path = settings.hash_key_path()
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path
