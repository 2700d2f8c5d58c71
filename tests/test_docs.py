"""Documentation generated from code stays in sync with it."""

from __future__ import annotations

from pathlib import Path

from common.settings import settings_markdown

REPO = Path(__file__).resolve().parents[1]


def test_settings_doc_is_current() -> None:
    assert (REPO / "docs" / "settings.md").read_text() == settings_markdown(), "run: eldercare settings --markdown"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [line for line in (REPO / "README.md").read_text().splitlines() if line.strip()]
    code = [line for line in lines[:12] if line.startswith("./dev ")]
    assert code[:2] == ["./dev demo", "./dev test"]
    assert "./dev test" in (REPO / ".ci" / "run").read_text()


def test_vendor_guide_is_current() -> None:
    from devices.export import vendor_guide_markdown

    assert (REPO / "docs" / "vendor-guide.md").read_text() == vendor_guide_markdown(), "run: eldercare contract guide"
