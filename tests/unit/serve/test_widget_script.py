"""The widget's script inserts data as text only and loads no code: the rule is cheap to check
on the source itself (the widget in a real browser: tests/browser/test_widget.py)."""

from __future__ import annotations

from tests.conftest import ROOT


def test_widget_script_never_parses_markup_nor_loads_code() -> None:
    """Data is inserted as text only; the rule is cheap to check on the source itself."""
    source = (ROOT / "qa" / "serve" / "static" / "widget.js").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("*"))
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in code, forbidden
    for loader in ("import(", "@import", "url(", "new Function", "XMLHttpRequest"):
        assert loader not in code, loader
