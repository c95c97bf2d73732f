"""The content-addressed store: named by SHA-256, never overwritten, checked when read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.documents.store import DocumentStore, DocumentUnavailable


def test_put_and_get(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs")
    digest = store.put(b"%PDF-1.7 contract")
    assert digest == hashlib.sha256(b"%PDF-1.7 contract").hexdigest()
    path = store.path_for(digest)
    assert path == tmp_path / "docs" / digest[:2] / digest
    assert path.stat().st_mode & 0o222 == 0  # read-only
    assert store.get(digest) == b"%PDF-1.7 contract"
    assert store.put(b"%PDF-1.7 contract") == digest  # the same bytes: nothing written again
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary file left


def test_a_changed_or_missing_file_is_refused(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    digest = store.put(b"original")
    path = store.path_for(digest)
    path.chmod(0o640)
    path.write_bytes(b"forged")
    with pytest.raises(DocumentUnavailable, match="no longer matches"):
        store.get(digest)
    with pytest.raises(DocumentUnavailable, match="no longer matches"):
        store.put(b"original")  # never overwrites, even a damaged file
    assert path.read_bytes() == b"forged"
    path.unlink()
    with pytest.raises(DocumentUnavailable, match="missing"):
        store.get(digest)


def test_names_are_hashes_only(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            store.path_for(bad)
