"""docs/privacy.md is the contract the code cites: every function and test it names exists, and
every section the code cites ("docs/privacy.md §2.3") is in it. Reads files only."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
SECTIONS = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", DOC, re.MULTILINE))
NAMED = sorted(set(re.findall(r"`(permissions\.\w+)(?:\.(\w+))?`", DOC)))
TESTS = sorted(set(re.findall(r"`(tests/\w+\.py)(?:::(\w+))?`", DOC)))


def _citations() -> list[tuple[str, str]]:
    found = []
    for folder in ("spirit_tours", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for match in re.finditer(r"docs/privacy\.md((?: §[\d.]+,?)+(?: to §[\d.]+)?)", text):
                for section in re.findall(r"§([\d.]*\d)", match.group(1)):
                    found.append((str(path.relative_to(ROOT)), section))
    return sorted(set(found))


def test_the_doc_has_its_sections() -> None:
    assert {"1", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"} <= SECTIONS


@pytest.mark.parametrize(("module", "name"), NAMED)
def test_each_function_the_doc_names_exists(module: str, name: str) -> None:
    loaded = importlib.import_module(f"spirit_tours.{module}")
    assert not name or hasattr(loaded, name), f"{module}.{name} is named in docs/privacy.md"


@pytest.mark.parametrize(("path", "name"), TESTS)
def test_each_test_the_doc_names_exists(path: str, name: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert not name or re.search(rf"def {name}\(", source), f"{path}::{name}"


@pytest.mark.parametrize(("path", "section"), _citations())
def test_each_cited_section_exists(path: str, section: str) -> None:
    assert section in SECTIONS, f"{path} cites docs/privacy.md §{section}"


def test_nothing_cites_a_document_outside_the_repository() -> None:
    citing = [
        str(path.relative_to(ROOT))
        for folder in ("spirit_tours", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"\bSPEC §", path.read_text(encoding="utf-8"))
    ]
    assert citing == []


BARE_TESTS = sorted(set(re.findall(r"`(test_\w+)`", DOC)))


@pytest.mark.parametrize("name", BARE_TESTS)
def test_each_test_named_alone_exists(name: str) -> None:
    defined = any(
        re.search(rf"def {name}\(", path.read_text(encoding="utf-8"))
        for path in (ROOT / "tests").glob("test_*.py")
    )
    assert defined, f"docs/privacy.md names {name}"
