"""The layout of the test code: test modules and conftest files import shared code only from
tests/support/, conftest files hold only fixtures and hooks, and bench/ imports no tests.

A test module importing another (or a conftest) couples tests that should stand alone, and a
conftest imported as a module is loaded twice under some import modes; bench/ is run on its own
and must not depend on the test suite.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
BENCH = ROOT / "bench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """Every module the file at ``path`` (or ``source``, as if it were there) imports, anywhere
    in it, relative imports resolved, with its line; ``from package import name`` yields
    ``package.name`` too, since ``name`` may be a module."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def python_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.py") if ".venv" not in p.parts)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", python_files(TESTS), ids=rel)
def test_tests_import_only_support(path: Path) -> None:
    """No test module imports a conftest, a ``test_*`` module or anything else of tests/
    outside tests/support/."""
    wrong = [
        f"{rel(path)}:{line}: imports {module}"
        for line, module in imported_modules(path)
        if in_package(module, "tests")
        and module != "tests"
        and not in_package(module, "tests.support")
    ]
    assert wrong == []


@pytest.mark.parametrize("path", python_files(BENCH), ids=rel)
def test_bench_imports_no_tests(path: Path) -> None:
    wrong = [
        f"{rel(path)}:{line}: imports {module}"
        for line, module in imported_modules(path)
        if in_package(module, "tests")
    ]
    assert wrong == []


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture"
    )


@pytest.mark.parametrize("path", sorted(TESTS.rglob("conftest.py")), ids=rel)
def test_conftest_holds_only_fixtures(path: Path) -> None:
    """A conftest defines fixtures and pytest hooks, and settings it applies (Hypothesis
    profiles); classes, helpers and public constants belong in tests/support/."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    wrong: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith("pytest_") and not any(
                is_fixture(d) for d in node.decorator_list
            ):
                wrong.append(f"{rel(path)}:{node.lineno}: function {node.name} is no fixture")
        elif isinstance(node, ast.ClassDef):
            wrong.append(f"{rel(path)}:{node.lineno}: class {node.name}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and not name.id.startswith("_"):
                        wrong.append(f"{rel(path)}:{node.lineno}: public name {name.id}")
    assert wrong == []


def test_the_checks_see_a_forbidden_import() -> None:
    """The import walk itself: absolute, relative and ``from tests import x`` forms, and an
    import inside a function."""
    source = (
        "from tests.conftest import Clock\n"
        "from . import test_money\n"
        "from ..support import api\n"
        "from tests import support\n"
        "def f() -> None:\n"
        "    import tests.integration.test_cli\n"
    )
    found = {
        module
        for _, module in imported_modules(TESTS / "unit" / "test_sample.py", source)
        if in_package(module, "tests") and not in_package(module, "tests.support")
    }
    assert found == {
        "tests",
        "tests.conftest",
        "tests.conftest.Clock",
        "tests.unit",
        "tests.unit.test_money",
        "tests.integration.test_cli",
    }
