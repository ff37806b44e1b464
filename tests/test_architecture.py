"""The layout's import rules (docs/architecture.md), checked by reading every module's imports.

Imports inside functions count too: a lazy import still makes the package depend on another.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "reports", "survey_flows")
#: Libraries that are channel code: provider SDKs.
CHANNEL_LIBRARIES = ("twilio", "telegram")


def imported(source: str, module: str) -> set[str]:
    """Every module `source` (the text of `module`) imports, as absolute dotted names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = module.split(".")[: -node.level]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def modules(package: str) -> dict[str, set[str]]:
    """Each module of `package` (dotted name) with what it imports."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = imported(path.read_text(encoding="utf-8"), name)
    return found


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def breaches(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """`module imports name` for every import from `package` into a forbidden package."""
    return sorted(
        f"{module} imports {name}"
        for module, names in modules(package).items()
        for name in names
        if within(name, forbidden)
    )


@pytest.mark.parametrize("package", ["reports", "storage"])
def test_reports_and_storage_never_import_the_host(package: str) -> None:
    assert breaches(package, ("bot",)) == []


def test_the_engine_imports_no_other_package() -> None:
    assert breaches("survey_flows", ("bot", "storage", "reports")) == []


def test_storage_does_not_import_reports() -> None:
    assert breaches("storage", ("reports",)) == []


def test_reports_import_no_channel_code() -> None:
    assert breaches("reports", ("bot", *CHANNEL_LIBRARIES)) == []


def test_channel_adapters_know_no_database_reports_or_other_wings() -> None:
    found = [
        line
        for line in breaches("bot", ("storage", "reports", "bot"))
        if line.startswith("bot.channels") and " imports bot.channels" not in line
    ]
    assert found == []


def test_only_the_cli_imports_commands() -> None:
    found = [
        line
        for line in breaches("bot", ("bot.commands",))
        if not line.startswith(("bot.commands", "bot.cli "))
    ]
    assert found == []


def test_every_package_says_what_lives_there_and_what_it_may_import() -> None:
    missing = []
    for package in PACKAGES:
        for init in sorted((ROOT / package).rglob("__init__.py")):
            if "migrations" in init.parts:
                continue
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            if "Import" not in doc or len(doc) < 80:
                missing.append(str(init.relative_to(ROOT)))
    assert missing == []


def test_the_checker_finds_a_planted_breach() -> None:
    source = "import os\nfrom bot.delivery import outbox\n\ndef f():\n    import twilio.rest\n"
    names = imported(source, "reports.planted")
    assert within("bot.delivery.outbox", ("bot",)) and "bot.delivery.outbox" in names
    assert "twilio.rest" in names  # lazy imports count
    assert imported("from ..build import analyse\n", "reports.formats.html") == {
        "reports.build",
        "reports.build.analyse",
    }
