"""The wrk driver's own errors and its Lua strings (wrk against a real local HTTP server:
tests/integration/test_loadgen.py)."""

from __future__ import annotations

import pytest

from bench import loadgen
from bench.loadgen import LoadGeneratorError, LoadSpec, run_load


def test_a_missing_wrk_is_one_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadgen, "WRK", "wrk-not-installed-here")
    with pytest.raises(
        LoadGeneratorError, match="wrk is not installed: `sudo apt-get install wrk`"
    ):
        run_load(LoadSpec(url="http://127.0.0.1:1/"))


def test_lua_strings_escape_everything_but_printable_ascii() -> None:
    assert loadgen.lua_string('a"b\\é\n') == '"a\\034b\\092\\195\\169\\010"'
