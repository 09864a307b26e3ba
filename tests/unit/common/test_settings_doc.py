"""The README's environment table is generated from the settings classes; it must match them."""

from __future__ import annotations

from pathlib import Path

from symphony_common.settings_doc import BEGIN, END, table

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_table_matches_the_settings_classes() -> None:
    text = README.read_text()
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert block == table().strip(), "README drifted from the settings: run `make docs`"


def test_every_variable_is_described() -> None:
    undescribed = [line for line in table().splitlines() if line.endswith("|  |")]
    assert undescribed == [], "add a comment above these settings fields"
