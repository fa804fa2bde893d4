"""Logs: secrets redacted, JSON lines, a correlation id per chat request."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, RedactingFilter, correlated, redact


def test_secrets_are_redacted() -> None:
    line = (
        "token xoxb-1234-5678-abcdef app xapp-1-A0-999 Authorization: Bearer eyJhbGciOi.abc "
        "key sk-proj-ABCDEFGHIJKLMN url postgresql://bot:hunter2@db:5432/cc password=swordfish"
    )
    clean = redact(line)
    for secret in ("xoxb-1234", "xapp-1-A0", "eyJhbGciOi", "sk-proj-ABC", "hunter2", "swordfish"):
        assert secret not in clean
    assert "postgresql://bot:***@db:5432/cc" in clean


def test_json_lines_carry_the_correlation_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cc-test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with correlated("abc123"):
            logger.info("approved with token %s", "xoxb-9-9-secret")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["correlation_id"] == "abc123"
    assert first["message"] == "approved with token xox?-***"
    assert first["level"] == "INFO" and first["logger"] == "cc-test-logs"
    assert "correlation_id" not in second
