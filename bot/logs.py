"""Logging: plain text for people, JSON lines for machines, secrets always redacted.

A correlation id (set per chat message, click or job run) follows the work into
every log line, so one request can be traced from the message to the tool
calls to the action it created.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")

_SECRETS = [
    (re.compile(r"xox[abprs]-[A-Za-z0-9-]+"), "xox?-***"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "xapp-***"),
    (re.compile(r"(?i)(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"sk-[A-Za-z0-9_-]{10,}"), "sk-***"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),  # passwords in URLs
    (re.compile(r"(?i)(password|secret|api_key|apikey)(\s*[=:]\s*)\S+"), r"\1\2***"),
]


def redact(text: str) -> str:
    """The text with tokens, API keys and URL passwords replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@contextmanager
def correlated(cid: str | None = None) -> Iterator[str]:
    """Run a block of work under a correlation id (a new one unless given)."""
    value = cid or uuid.uuid4().hex[:12]
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", "")
        if cid:
            data["correlation_id"] = cid
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO", *, fmt: str = "text") -> None:
    """Set up the root logger once for a process (the CLI calls this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for noisy in ("alembic", "apscheduler", "httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
