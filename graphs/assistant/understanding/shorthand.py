"""Shorthand people type, spelled out before the whole-message patterns read it.

"load fcst tmrw barn", "report yday", "gen svc hrs", "home diesel 30d outlook": the
patterns are written for words, so the common abbreviations become those words first
(the classifier reads the message as typed and learns the shorthand from its corpus).
"""

from __future__ import annotations

import re

_WORDS: dict[str, str] = {
    "fcst": "forecast",
    "frcst": "forecast",
    "forcast": "forecast",
    "yday": "yesterday",
    "yest": "yesterday",
    "ystrdy": "yesterday",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tmw": "tomorrow",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "tomoz": "tomorrow",
    "tonite": "tonight",
    "nite": "night",
    "svc": "service",
    "hrs": "hours",
    "hr": "hour",
    "proj": "projection",
    "chg": "charge",
    "chrg": "charge",
    "minr": "miner",
    "minrs": "miners",
    "batt": "battery",
    "bat": "battery",
    "wk": "week",
    "genny": "generator",
    "genset": "generator",
    "rn": "right now",
}
_WORD = re.compile(r"\b(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b", re.I)
# "30d", "48h", "2d": a number of days or hours.
_SPAN = re.compile(r"\b(\d{1,3})\s*(d|h)\b", re.IGNORECASE)


def spelled_out(text: str) -> str:
    """``text`` with common shorthand written as words."""
    out = _WORD.sub(lambda m: _WORDS[m[1].lower()], text)
    return _SPAN.sub(lambda m: f"next {m[1]} {'days' if m[2].lower() == 'd' else 'hours'}", out)
