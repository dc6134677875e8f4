"""The test tree itself: module names pytest can import side by side.

Test directories without an ``__init__.py`` are imported by their file's basename (pytest's
default "prepend" import mode), so two such files with the same name make collection fail
with "import file mismatch" — but only when both are collected in one run, as in CI.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent


def top_level_module_name(path: Path) -> str:
    """The name pytest imports `path` under: its package path up to the first directory
    that is not a package."""
    parts = [path.stem]
    parent = path.parent
    while (parent / "__init__.py").exists():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts)


def test_no_two_test_modules_share_an_import_name() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name in ("__init__.py", "conftest.py"):
            continue
        seen[top_level_module_name(path)].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"
