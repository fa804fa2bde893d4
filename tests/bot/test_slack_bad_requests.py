"""Slack's HTTP endpoint answers malformed requests with 400 and one log line, never a
500 with a traceback: a timestamp header that is not a number, and bodies that are
properly signed but do not parse."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.bot.test_slack import CHANNEL, SECRET, sign, slack_rig

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

MALFORMED = [
    ("payload=%7Bnot-json", FORM),  # interactivity payload that is not JSON
    ("payload=%5B1%2C2%5D", FORM),  # a JSON list where an object belongs
    ("payload=%22text%22", FORM),  # a JSON string
    ("payload=null", FORM),
    ('{"type": "event_callback", "event": ', JSON),  # truncated JSON
    ("[1, 2, 3]", JSON),  # JSON, but not an object
    ('{"type": "event_callback", "event": "not an object"}', JSON),
    ('{"type": "block_actions", "actions": "x", "user": 5}', JSON),
]


def _signed_with(ts: str, body: str) -> dict[str, str]:
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_timestamp_that_is_not_a_number_gets_400(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_rig(tmp_path) as rig:
        for ts in ("abc", "1e9", "", "12:00", " 17000000000000000000000000000 x"):
            body = "command=%2Fenergy&text=status"
            caplog.clear()
            with caplog.at_level(logging.INFO):
                status, text, _s = await rig.post(
                    body, content_type=FORM, headers=_signed_with(ts, body)
                )
            assert status == 400, (ts, status, text)
            assert "Traceback" not in text and "X-Slack-Request-Timestamp" in text
            lines = _request_lines(caplog)
            assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
        # unsigned with a bad timestamp: still a clean 400, nothing runs
        status, _t, _s = await rig.post(
            "x=1", content_type=FORM, headers={"X-Slack-Request-Timestamp": "soon"}
        )
        assert status == 400
        assert rig.fake.posts(CHANNEL) == []


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
async def test_a_signed_but_malformed_body_gets_400(
    body: str, content_type: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_rig(tmp_path) as rig:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, text, _s = await rig.post(body, content_type=content_type, headers=sign(body))
        assert status == 400, (status, text)
        assert "Traceback" not in text
        lines = _request_lines(caplog)
        assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
        assert "\n" not in lines[0].getMessage()
        # The endpoint still works for the next, well-formed request.
        good = "command=%2Fenergy&text=help&user_id=U1&channel_id=C1"
        status, _t, _s = await rig.post(good, content_type=FORM, headers=sign(good))
        assert status == 200


async def test_a_stale_numeric_timestamp_is_still_401(tmp_path: Path) -> None:
    async with slack_rig(tmp_path) as rig:
        body = "command=%2Fenergy&text=status"
        old = _signed_with(str(int(time.time()) - 3600), body)
        status, _t, _s = await rig.post(body, content_type=FORM, headers=old)
        assert status == 401
