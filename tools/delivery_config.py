"""Where alerts go besides chat (e-mail, webhooks): the site file's ``delivery`` block.

Kept free of heavy imports so that the site file schema can use it.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["info", "warning", "critical"]

DELIVERY_HEADER = "X-CommandCenter-Delivery"
EVENT_HEADER = "X-CommandCenter-Event"
SIGNATURE_HEADER = "X-CommandCenter-Signature"
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, "Content-Type", "Content-Length")
)


def short_url(url: str) -> str:
    """A URL safe for messages: scheme, host and port only (paths often carry tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _no_line_breaks(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must be on one line")
    return value


class EmailTarget(_Model):
    """One email sent per alert event to every address in ``to`` through one SMTP server."""

    to: list[str] = Field(min_length=1)
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="name of the environment variable holding the SMTP password"
    )
    sender: str = Field(min_length=3, description="From address, e.g. 'CommandCenter <cc@x.io>'")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            _no_line_breaks(address, "an email address")
            if "@" not in parseaddr(address)[1]:
                raise ValueError(f"{address!r} is not an email address")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        _no_line_breaks(value, "sender")
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"sender {value!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _login(self) -> EmailTarget:
        if self.username and not self.password_env:
            raise ValueError(
                "username is set but password_env is not: name the environment variable "
                "that holds the SMTP password"
            )
        return self

    @property
    def server(self) -> str:
        return f"{self.smtp_host}:{self.smtp_port}"


class WebhookTarget(_Model):
    """A URL that receives each alert event as a JSON POST."""

    url: str
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="extra headers; stored with each queued delivery, so keep secrets "
        "in secret_env rather than here",
    )
    secret_env: str | None = Field(
        default=None,
        description="environment variable holding the HMAC-SHA256 signing secret",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL must be http(s)://host/..., got {short_url(value)!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            _no_line_breaks(name, "a header name")
            _no_line_breaks(header_value, f"header {name}")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name} is set by CommandCenter itself")
        return value


class DeliveryConfig(_Model):
    """Where alerts go besides chat, and from which severity on."""

    email: EmailTarget | None = None
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    min_severity: Severity = "warning"
