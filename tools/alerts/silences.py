"""Silences: label matchers that mute notifications for a while (pure logic).

Every alert carries labels — ``site``, ``rule`` (the rule's name, e.g.
``solar_underperformance``), ``category`` (``solar``, ``battery``, ...),
``severity`` and, for per-device rules, ``device``. A silence matches an alert
when every matcher matches its labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

MatchOp = Literal["=", "!=", "=~"]
LABELS = ("site", "rule", "category", "severity", "device")


class MatcherError(ValueError):
    """A matcher that cannot be used (unknown label, bad regular expression)."""


@dataclass(frozen=True, slots=True)
class Matcher:
    label: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise MatcherError(f"unknown label {self.label!r}; use one of {', '.join(LABELS)}")
        if self.op == "=~":
            try:
                re.compile(self.value)
            except re.error as err:
                raise MatcherError(f"bad pattern {self.value!r}: {err}") from err

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        return re.fullmatch(self.value, have) is not None

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


def matchers_from(data: Sequence[Mapping[str, Any]]) -> list[Matcher]:
    return [Matcher(str(m["label"]), m["op"], str(m["value"])) for m in data]


def alert_labels(*, site: str, rule: str, category: str, severity: str) -> dict[str, str]:
    """Labels of an alert from its fingerprint parts (``rule`` may carry ``:device``)."""
    base, _, device = rule.partition(":")
    labels = {"site": site, "rule": base, "category": category, "severity": severity}
    if device:
        labels["device"] = device.split(":")[-1]
    return labels


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return bool(matchers) and all(m.matches(labels) for m in matchers)


def is_active(*, starts_at: datetime, ends_at: datetime, removed: bool, now: datetime) -> bool:
    return not removed and starts_at <= now < ends_at
