"""`fundledger --help` starts fast: the command line imports no heavy library until a command
that needs it runs; and the CLI's package boundaries hold (no import cycle, the API only in
`serve`, the demo only in `demo`).

What is imported is checked, not how long it takes (a timing depends on the machine; the
figures are in docs/performance.md).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "ledger"

#: Never imported by `import ledger.cli` or `fundledger --help`: the libraries that made the
#: help take seconds, the API, the demo, and the database layer the commands load themselves.
HEAVY = (
    "weasyprint",
    "pyhanko",
    "fastapi",
    "starlette",
    "uvicorn",
    "ledger.api",
    "ledger.demo",
    "sqlalchemy",
    "alembic",
    "ledger.services",
    "ledger.store",
    "ledger.documents",
    "moneyed",  # with Babel's locale data: a money amount is formatted by the commands only
    "babel",
    "lxml",
)

_LOADED = """
import sys
{run}
print("\\n".join(sorted(sys.modules)))
"""
_HELP = """
sys.argv = ["fundledger", "--help"]
from ledger.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def _loaded(run: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(run=run)],
        capture_output=True,
        text=True,
        check=True,
        cwd=LEDGER.parent,
    )
    return set(done.stdout.split())


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "run",
    ["import ledger.cli", _HELP],
    ids=["import ledger.cli", "fundledger --help"],
)
def test_the_command_line_starts_without_the_heavy_libraries(run: str) -> None:
    modules = _loaded(run)
    assert "ledger.cli.app" in modules  # the check ran what it says
    assert _heavy(modules) == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(LEDGER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(node: ast.AST) -> list[str]:
    """The modules an import statement names (``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return []


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Imports run when the module is imported (not those under ``if TYPE_CHECKING``)."""
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, ast.FunctionDef) else []:
            found += _imports(sub)
    return found


def _sources() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in LEDGER.rglob("*.py")}


def test_the_cli_modules_import_each_other_without_a_cycle() -> None:
    sources = _sources()
    cli = {name for name in sources if name == "ledger.cli" or name.startswith("ledger.cli.")}
    graph = {
        name: {m for m in _module_level_imports(sources[name]) if m in cli and m != name}
        for name in cli
    }
    # The package runs its modules' imports; a cycle is between the modules themselves.
    graph["ledger.cli"] = set()
    path: list[str] = []

    def visit(name: str, seen: set[str]) -> None:
        assert name not in path, f"import cycle: {' -> '.join([*path, name])}"
        if name in seen:
            return
        path.append(name)
        for nxt in sorted(graph[name]):
            visit(nxt, seen)
        path.pop()
        seen.add(name)

    done: set[str] = set()
    for name in sorted(cli):
        visit(name, done)


def _importers(prefix: str) -> dict[str, set[str]]:
    """Where in ledger/ a module under ``prefix`` is imported: {module: {function, '<module>'}}."""
    found: dict[str, set[str]] = {}
    for name, tree in _sources().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for sub in ast.walk(node):
                if any(m == prefix or m.startswith(prefix + ".") for m in _imports(sub)):
                    found.setdefault(name, set()).add(node.name)
        for m in _module_level_imports(tree):
            if m == prefix or m.startswith(prefix + "."):
                found.setdefault(name, set()).add("<module>")
    return found


def test_the_cli_imports_the_api_only_in_the_serve_command() -> None:
    in_cli = {
        name: where
        for name, where in _importers("ledger.api").items()
        if name.startswith("ledger.cli")
    }
    assert in_cli == {"ledger.cli.serve": {"serve"}}


def test_no_production_module_imports_the_demo() -> None:
    """Only the `demo` command, and the sign-in page of a fund that is a demo (to list its
    logins; ``_demo_logins`` runs only when ``settings.demo``), inside those functions."""
    outside = {
        name: where
        for name, where in _importers("ledger.demo").items()
        if not (name == "ledger.demo" or name.startswith("ledger.demo."))
    }
    assert outside == {"ledger.cli.demo": {"demo"}, "ledger.web.routes.auth": {"_demo_logins"}}
