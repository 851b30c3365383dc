"""DESIGN's layering: roaming knows OCPI and nothing of drivers or money beyond what OCPI carries,
so no module of it imports `drivers` or `payments` (they depend on it, never the reverse); and the
tariff engine is pure Python, without Django."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert len(modules) > 5, f"found no modules under {package}/"
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules
        for name in sorted(_imports(path))
        if name.split(".")[0] in forbidden
    ]


def test_roaming_never_imports_drivers_or_payments():
    assert _offenders("roaming", ("drivers", "payments")) == []


def test_the_tariff_engine_imports_no_django():
    assert _offenders("roaming/pricing", ("django", "drivers", "payments")) == []


@pytest.mark.parametrize("source", ["from payments.models import PriceRuleSet\n", "import drivers.views as v\n"])
def test_the_check_sees_an_import(tmp_path, source):
    module = tmp_path / "m.py"
    module.write_text(source)
    assert _imports(module) & {"payments.models", "drivers.views"}
