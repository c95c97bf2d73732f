"""A content-addressed file store: each file is named by its SHA-256 and never overwritten.

A file is written to a temporary name in its final directory, flushed to disk, then hard-linked
to its name, which fails if the name exists: a reader never sees half a file and nothing is ever
replaced. Reading checks the hash again, so a file changed on disk is caught, not served.

Files are grouped in 256 directories by the first two hex digits (``ab/abcdef...``). A file
whose database row was never committed (a failed request) is harmless and can be swept up.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from ledger.domain.errors import LedgerError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DocumentUnavailable(LedgerError):
    """A stored file is missing or no longer matches its hash: restore it from the backup."""

    code = "document-unavailable"
    status = 500
    title = "Stored document missing or damaged"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 in lowercase hex")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (if not there yet) and return its SHA-256."""
        digest = sha256_of(data)
        path = self.path_for(digest)
        if path.exists():
            self.get(digest)  # the same name must hold the same bytes; never overwrite it
            return digest
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o440)
            try:
                os.link(tmp, path)
            except FileExistsError:  # written meanwhile by another request: same name, same bytes
                self.get(digest)
        finally:
            os.unlink(tmp)
        _fsync_dir(path.parent)
        return digest

    def get(self, sha256: str) -> bytes:
        """The file's bytes, after checking they still hash to ``sha256``."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentUnavailable(
                f"the stored file {sha256[:12]}... is missing from the document store; restore "
                "it from the backup"
            ) from None
        if sha256_of(data) != sha256:
            raise DocumentUnavailable(
                f"the stored file {sha256[:12]}... no longer matches its SHA-256: it was changed "
                "on disk; restore it from the backup"
            )
        return data

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
