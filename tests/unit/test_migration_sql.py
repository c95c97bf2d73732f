"""Migrations stand alone: none loads another's file, and the guard SQL they share is frozen."""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

#: SHA-256 (first 16 hex digits) of each file. A released migration's SQL never changes (a
#: database migrated with it keeps it): a new version of a function is a new file named after
#: the revision that brings it.
FROZEN = {
    "fundledger_entries_seal@0005.sql": "ad367707a96b92ed",
    "fundledger_entries_seal@0007.sql": "bf29d7ba080a7093",
    "fundledger_entry_balanced@0005.sql": "2cd149e5c8faf56c",
    "fundledger_entry_balanced@0007.sql": "12f5a4b2c496f8c1",
    "fundledger_entry_balanced@0008.sql": "68ff16b463c5886d",
    "fundledger_legs_guard@0005.sql": "a63ba0fbdafcf735",
    "fundledger_legs_guard@0007.sql": "72656b5eb273ead5",
    "fundledger_legs_guard@0008.sql": "8f5cf47f4694af93",
}


def test_shared_sql_files_are_unchanged_and_all_listed() -> None:
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in MIGRATIONS.glob("sql/*")
    }
    assert files == FROZEN


def test_each_sql_file_is_named_for_its_function_and_revision_and_used() -> None:
    sources = "".join(p.read_text() for p in (MIGRATIONS / "versions").glob("*.py"))
    for name in FROZEN:
        function, revision = re.fullmatch(r"(\w+)@(\d{4})\.sql", name).groups()  # type: ignore[union-attr]
        text = (MIGRATIONS / "sql" / name).read_text()
        assert text.lstrip().startswith(f"CREATE OR REPLACE FUNCTION {function}()"), name
        assert list((MIGRATIONS / "versions").glob(f"{revision}_*.py")), name
        assert f'sql("{function}@{revision}")' in sources, f"{name} is used by no migration"


def test_no_migration_loads_another_migration() -> None:
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.startswith("importlib") for n in names), path.name
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.fullmatch(r"\d{4}_\w+\.py", node.value), (path.name, node.value)
