"""The long commands' progress bars: drawn on a terminal, silent when piped."""

from __future__ import annotations

import io
import sys

import pytest

from bot.progress import progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_and_nothing_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Tty()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("backtest pv", unit="days") as advance:
        for day in range(5):
            advance(day + 1, 5)
    assert "backtest pv" in terminal.getvalue()

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with progress_bar("backtest pv", unit="days") as advance:
        advance(1, 5)
    assert piped.getvalue() == ""
