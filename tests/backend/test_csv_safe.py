"""One rule for CSV cells a spreadsheet would run as a formula."""

from __future__ import annotations

import pytest

from backend.csv_safe import spreadsheet_cell


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_like_a_formula_is_quoted(text: str) -> None:
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Rosa", "", "a=b", -3, 2.5, None])
def test_other_values_are_written_as_they_are(value: object) -> None:
    assert spreadsheet_cell(value) == value
