"""`fundledger keys` and `fundledger documents`: the fund's key, offline validation, and the
check of every stored document, on a demo fund."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from ledger.cli import app
from ledger.config import get_settings
from ledger.documents.signing import read_fund_key, sign_pdf
from ledger.documents.store import DocumentStore
from ledger.store.tables import documents

src = documents.alias("source")

runner = CliRunner()
PASSWORD = "a long key file password"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'fund.db'}")
    monkeypatch.setenv("FUNDLEDGER_FUND_NAME", "Fonds Exemple asbl")
    monkeypatch.delenv("FUNDLEDGER_SIGNING_KEY_FILE", raising=False)
    monkeypatch.delenv("FUNDLEDGER_SIGNING_KEY_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_keys_init_never_overwrites(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = env / "keys" / "fund.p12"
    code, out = invoke("keys", "init", "--out", str(key), "--password-stdin", input="short\n")
    assert code == 1 and "at least 12" in out and not key.exists()
    code, out = invoke("keys", "init", "--out", str(key), "--password-stdin", input=PASSWORD)
    assert code == 0, out
    assert "certificate: Fonds Exemple asbl" in out
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    code, out = invoke("keys", "init", "--out", str(key), "--password-stdin", input=PASSWORD)
    assert code == 1 and "never overwritten" in out
    assert key.read_bytes() == before

    monkeypatch.setenv("FUNDLEDGER_SIGNING_KEY_FILE", str(key))
    monkeypatch.setenv("FUNDLEDGER_SIGNING_KEY_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    code, out = invoke("keys", "show", "--pem")
    assert code == 0 and out.startswith("-----BEGIN CERTIFICATE-----")

    signed = sign_pdf(_minimal_pdf(), read_fund_key(key, PASSWORD), reason="test")
    good, tampered = env / "good.pdf", env / "tampered.pdf"
    good.write_bytes(signed)
    tampered.write_bytes(signed + b"\n1 0 obj\n<<>>\nendobj\n")
    code, out = invoke("documents", "validate", str(good))
    assert code == 0 and "signer: Fonds Exemple asbl" in out, out
    code, out = invoke("documents", "validate", str(tampered))
    assert code == 1 and "added to the file after it was signed" in out

    monkeypatch.setenv("FUNDLEDGER_SIGNING_KEY_PASSWORD", "wrong password!")
    get_settings.cache_clear()
    code, out = invoke("keys", "show")
    assert code == 1 and "wrong password" in out


def test_documents_verify_on_the_demo(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = f"sqlite:///{env / 'demo' / 'demo.db'}"
    code, out = invoke("demo", "--database", database)
    assert code == 0, out
    assert (env / "demo" / "demo-fund-signing-key.p12").exists()
    store = DocumentStore(env / "demo" / "documents")
    files = sorted(p for p in store.root.rglob("*") if p.is_file())
    assert files

    monkeypatch.setenv("FUNDLEDGER_DATABASE_URL", database)
    get_settings.cache_clear()
    code, out = invoke("documents", "verify")
    assert code == 0 and " 0 with problems" in out, out

    # Damage a document that another one was made from (the beneficiary's signed contract, of
    # which the fund's signed contract is an incremental update).
    engine = create_engine(database)
    with engine.connect() as conn:
        signed_id, source_id, source_kind, source_sha = conn.execute(
            select(documents.c.id, src.c.id, src.c.kind, src.c.sha256)
            .join(src, src.c.id == documents.c.source_id)
            .where(documents.c.kind == "signed_contract")
            .order_by(documents.c.id)
            .limit(1)
        ).one()
    engine.dispose()
    path = store.path_for(source_sha)
    path.chmod(0o640)
    path.write_bytes(path.read_bytes() + b" ")
    code, out = invoke("documents", "verify")
    assert code == 1, out
    blocks = _blocks(out)
    (own,) = (b for h, b in blocks.items() if h.startswith(f"document {source_id} "))
    assert f"file {store.path_for(source_sha)}" in next(
        h for h in blocks if h.startswith(f"document {source_id} ")
    )
    assert f"the stored file {source_sha[:12]}... no longer matches its SHA-256" in own[0]
    (header,) = (h for h in blocks if h.startswith(f"document {signed_id} "))
    assert source_sha[:12] not in header  # its own file is named there, not the source's
    (problem,) = blocks[header]
    assert problem.startswith(f"document {source_id} ({source_kind}), which this one was made")
    assert "the stored file" not in problem
    assert "2 with problems" in out


def _blocks(out: str) -> dict[str, list[str]]:
    """verify's report: each document's heading line with the problem lines under it."""
    blocks: dict[str, list[str]] = {}
    heading = ""
    for line in out.splitlines():
        if line.startswith("document "):
            heading = line
            blocks[heading] = []
        elif line.startswith("  ") and heading:
            blocks[heading].append(line.strip())
    return blocks


def _minimal_pdf() -> bytes:
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter()
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]
                ),
                generic.NameObject("/Resources"): generic.DictionaryObject(),
            }
        )
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
