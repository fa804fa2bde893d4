"""A job that keeps failing is logged once in full, reminded with a count, and its
recovery is said: a database outage must not write an error line every second."""

from __future__ import annotations

import logging

import pytest

from bot.runtime import FailureStreaks


def _lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def test_a_failing_job_is_logged_once_then_reminded_then_recovered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.jobs")
    streaks = FailureStreaks(log, repeat_s=3600.0)
    with caplog.at_level(logging.DEBUG, logger="test.jobs"):
        for _ in range(600):  # ten minutes of a poll job failing every second
            streaks.failed("poll", "failed: the database did not answer")
        streaks.failed("rollup", "failed: the database did not answer")
        streaks.succeeded("poll")
        streaks.succeeded("poll")  # nothing to say twice
    assert _lines(caplog) == [
        "scheduled job poll failed: the database did not answer",
        "scheduled job rollup failed: the database did not answer",
        _lines(caplog)[2],
    ]
    assert _lines(caplog)[2].startswith("scheduled job poll recovered after 600 failure(s)")
    assert len(_lines(caplog, logging.DEBUG)) == 602  # the 599 repeats are kept at debug level


def test_a_long_streak_is_reminded_with_its_count(caplog: pytest.LogCaptureFixture) -> None:
    streaks = FailureStreaks(logging.getLogger("test.jobs"), repeat_s=0.0)
    with caplog.at_level(logging.INFO, logger="test.jobs"):
        for _ in range(3):
            streaks.failed("poll", "failed: x")
    assert _lines(caplog)[0] == "scheduled job poll failed: x"
    assert _lines(caplog)[1].startswith("scheduled job poll still failing (2 times in ")
    assert _lines(caplog)[2].startswith("scheduled job poll still failing (3 times in ")
