"""Reading a fund's own chart of accounts from a TOML file.

```toml
currency = "EUR"            # default currency of the accounts below

[[account]]
code = "1000"
name = "Bank: current account"
type = "asset"              # asset, liability, equity, income, expense
role = "bank"               # see ledger.domain.accounts.AccountRole
no_overdraft = true

[[account]]
code = "1200"
name = "Loans receivable"
type = "asset"
role = "loans_receivable"
is_control = true
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ledger.domain.accounts import AccountRole, AccountSpec
from ledger.domain.errors import ValidationError

FIELDS = {"code", "name", "type", "role", "currency", "parent_code", "is_control", "no_overdraft"}
#: Roles the ledger's use cases look up; a chart without them cannot run a fund.
REQUIRED_ROLES = (AccountRole.BANK, AccountRole.LOANS_RECEIVABLE, AccountRole.FUND_CAPITAL)


def load_chart(path: Path) -> list[AccountSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read chart file {path}: {exc}", "chart_file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"chart file {path} is not valid TOML: {exc}", "chart_file") from None
    return parse_chart(data, source=str(path))


def parse_chart(data: dict[str, Any], *, source: str = "chart") -> list[AccountSpec]:
    default_currency = data.get("currency", "EUR")
    rows = data.get("account")
    if not isinstance(rows, list) or not rows:
        raise ValidationError(f"{source} has no [[account]] tables", "chart_file")
    specs: list[AccountSpec] = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValidationError(f"{source}: account #{n} is not a table", "chart_file")
        unknown = set(row) - FIELDS
        if unknown:
            raise ValidationError(
                f"{source}: account #{n} has unknown keys {sorted(unknown)}; "
                f"allowed: {sorted(FIELDS)}",
                "chart_file",
            )
        try:
            specs.append(
                AccountSpec(
                    code=row.get("code", ""),
                    name=row.get("name", ""),
                    type=row.get("type", ""),
                    currency=row.get("currency", default_currency),
                    role=row.get("role", AccountRole.OTHER),
                    parent_code=row.get("parent_code"),
                    is_control=bool(row.get("is_control", False)),
                    no_overdraft=bool(row.get("no_overdraft", False)),
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"{source}: account #{n}: {exc.detail}", exc.field) from None
    codes = [s.code for s in specs]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValidationError(f"{source}: account codes used twice: {duplicates}", "chart_file")
    roles = {s.role for s in specs}
    missing = [r.value for r in REQUIRED_ROLES if r not in roles]
    if missing:
        raise ValidationError(f"{source}: the chart needs accounts with roles {missing}", "chart")
    return specs
