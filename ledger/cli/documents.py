"""`fundledger keys ...` and `fundledger documents ...`: the fund's signing key and the stored
documents (thin, like the API). Registered in ``ledger/cli/app.py``."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import fail, get_settings, open_engine, operator, unit_of_work
from ledger.domain.errors import LedgerError

if TYPE_CHECKING:
    from ledger.documents.signing import FundKey

keys_app = typer.Typer(help="The fund's signing key (PKCS#12).", no_args_is_help=True)
documents_app = typer.Typer(help="Stored contracts and their signatures.", no_args_is_help=True)

DEFAULT_KEY_FILE = Path("fund-signing-key.p12")
MIN_PASSWORD = 12


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    configured = get_settings().signing_key_password
    if configured is not None:
        return configured.get_secret_value()
    first = getpass.getpass("password for the key file: ")
    if getpass.getpass("again: ") != first:
        fail("the two passwords differ")
    return first


@keys_app.command("init")
def keys_init(
    out: Annotated[
        Path | None,
        typer.Option(help="PKCS#12 file to create (default: FUNDLEDGER_SIGNING_KEY_FILE)"),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name in the certificate (default: FUNDLEDGER_FUND_NAME)")
    ] = None,
    years: Annotated[int, typer.Option(min=1, max=30, help="Validity in years")] = 10,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a key and a self-signed certificate for the fund, as a password-protected
    PKCS#12 file. An existing file is never overwritten: contracts signed with it must stay
    verifiable."""
    from ledger.documents import signing

    settings = get_settings()
    path = out or settings.signing_key_file or DEFAULT_KEY_FILE
    if path.exists():
        fail(
            f"{path} exists; a key file is never overwritten (what it signed must stay "
            "verifiable): choose another --out"
        )
    password = _password(password_stdin)
    if len(password) < MIN_PASSWORD:
        fail(f"the password must have at least {MIN_PASSWORD} characters")
    data = signing.create_fund_key(name or settings.fund_name, password, years=years)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} was created meanwhile; it is left as it is")
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    key = signing.load_fund_key(data, password)
    typer.echo(f"signing key written to {path} (keep it and its password safe; back it up)")
    _describe(key)
    typer.echo(
        f"use it with FUNDLEDGER_SIGNING_KEY_FILE={path.resolve()} and "
        "FUNDLEDGER_SIGNING_KEY_PASSWORD=<the password>"
    )


def _describe(key: FundKey) -> None:
    typer.echo(f"certificate: {key.subject}")
    typer.echo(f"SHA-256 fingerprint: {key.fingerprint}")
    typer.echo(f"valid until: {key.not_after:%Y-%m-%d}")


def _configured_key() -> FundKey:
    from ledger.documents import signing

    settings = get_settings()
    password = settings.signing_key_password
    try:
        return signing.read_fund_key(
            settings.signing_key_file, password.get_secret_value() if password else None
        )
    except LedgerError as exc:
        fail(exc.detail)


@keys_app.command("show")
def keys_show(
    pem: Annotated[bool, typer.Option("--pem", help="Print the certificate as PEM")] = False,
) -> None:
    """The configured key's certificate (FUNDLEDGER_SIGNING_KEY_FILE)."""
    key = _configured_key()
    if pem:
        typer.echo(key.certificate_pem().decode("ascii"), nl=False)
        return
    _describe(key)


@documents_app.command("validate")
def documents_validate(
    file: Annotated[Path, typer.Argument(help="A signed contract (PDF)", exists=True)],
) -> None:
    """Check a signed PDF against the fund's certificate: intact, signed by the fund, nothing
    added after signing. Exit 1 if not."""
    from ledger.documents import signing

    check = signing.validate(file.read_bytes(), _configured_key().certificate)
    typer.echo(f"signer: {check.signer or 'none'}")
    typer.echo(f"signed at: {check.signed_at or 'unknown'} (as the signer states)")
    for problem in check.problems:
        typer.echo(f"problem: {problem}")
    typer.echo("valid: the fund's signature is intact" if check.ok else "NOT VALID")
    if not check.ok:
        raise typer.Exit(1)


@documents_app.command("verify")
def documents_verify() -> None:
    """Check every stored document: its file is there, still has its SHA-256, and a contract
    signed by the fund still validates. Exit 1 naming what is wrong."""
    from ledger.services import contracts

    settings = get_settings()
    docs = contracts.DocumentSettings.from_settings(settings)
    uow = unit_of_work(open_engine(settings), readonly=True)
    with uow:
        loan_ids = [
            loan.id
            for loan in uow.loans.page(status=None, beneficiary_id=None, limit=10**9, offset=0)[0]
        ]
    bad = total = 0
    for loan_id in loan_ids:
        for doc in contracts.list_documents(uow, operator(), loan_id):
            total += 1
            check = contracts.validate_document(uow, operator(), docs, doc.id)
            if not check.ok:
                bad += 1
                path = docs.store.path_for(doc.sha256)
                typer.echo(f"document {doc.id} ({doc.kind.value}, loan {loan_id}), file {path}:")
                for problem in check.problems:
                    typer.echo(f"  {problem}")
    typer.echo(f"{total} document(s) checked in {docs.store.root}, {bad} with problems")
    if bad:
        raise typer.Exit(1)
