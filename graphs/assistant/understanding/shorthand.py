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


_UNITS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    w: 10 * n
    for n, w in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_TENS["fourty"] = 40  # as often written
_UNIT_RE = "|".join(sorted(_UNITS, key=len, reverse=True))
_TENS_RE = "|".join(_TENS)
_TEENS_RE = "|".join(sorted((w for w, n in _UNITS.items() if n >= 10), key=len, reverse=True))
# A number from ten to ninety-nine said in words ("forty", "thirty-five", "fifteen").
SPOKEN_TENS = rf"(?:{_TENS_RE})(?:[\s-]+(?:{_UNIT_RE}))?|(?:{_TEENS_RE})"
# Fractions of a full battery, in percent ("below half", "under a quarter").
FRACTION_PCT = {"half": 50, "quarter": 25, "third": 33}


def spoken_value(words: str) -> int:
    """The value of a number said in words matched by :data:`SPOKEN_TENS` ("thirty-five")."""
    return sum(_TENS.get(w, _UNITS.get(w, 0)) for w in re.split(r"[\s-]+", words.lower()) if w)


# "twenty five", "forty-five", "a hundred and twenty", "fifteen": a number said in words.
_NUMBER_WORDS = re.compile(
    rf"\b(?:(?P<hundreds>a|one|{_UNIT_RE})\s+hundred(?:\s+and)?\s*)?"
    rf"(?:(?P<tens>{_TENS_RE})(?:[\s-]+(?P<tail>{_UNIT_RE}))?|(?P<unit>{_UNIT_RE}))?\b",
    re.IGNORECASE,
)
# What a lone small number word must be followed by to be a quantity ("the battery one" is not).
_QUANTITY_AFTER = re.compile(
    r"\s*(?:%|percent|per\s*cent|pct|v\b|volts?|kw|kilo\s*watts?|w\b|watts?|amps?|a\b|"
    r"[ap]\.?m\b\.?|o'?clock|"
    r"litres?|liters?|l\b|gallons?|degrees?|°|hours?|minutes?|mins?|days?)",
    re.IGNORECASE,
)
# ... or after a word that numbers things ("rule three", "alert two").
_ID_BEFORE = re.compile(r"\b(?:rule|alert|silence|number|no\.?|#)\s*$", re.IGNORECASE)
# "below half", "above half": half the battery.
_HALF = re.compile(r"\b(below|under|above|over|at|to|than)\s+(?:a\s+)?half\b", re.IGNORECASE)


def numbers_as_digits(text: str) -> str:
    """``text`` with numbers said in words as digits ("keep it above forty percent" →
    "keep it above 40 percent", "below half" → "below 50 %"). A lone word from one to
    nine is a number only before a unit ("the battery one" stays a word)."""

    def digits(m: re.Match[str]) -> str:
        if not m[0].strip():
            return m[0]
        hundreds = m["hundreds"]
        value = (
            0
            if hundreds is None
            else 100 * (1 if hundreds.lower() == "a" else _UNITS[hundreds.lower()])
        )
        if m["tens"]:
            value += _TENS[m["tens"].lower()] + (_UNITS[m["tail"].lower()] if m["tail"] else 0)
        elif m["unit"]:
            unit = _UNITS[m["unit"].lower()]
            if (
                hundreds is None
                and unit < 10
                and not _QUANTITY_AFTER.match(text, m.end())
                and not _ID_BEFORE.search(text, 0, m.start())
            ):
                return m[0]
            value += unit
        return str(value) + m[0][len(m[0].rstrip()) :]

    out = _NUMBER_WORDS.sub(digits, text)
    return _HALF.sub(lambda m: f"{m[1]} 50 %", out)


def abbreviations_out(text: str) -> str:
    """``text`` with common shorthand written as words ("grid chg off": "grid charge off")."""
    return _WORD.sub(lambda m: _WORDS[m[1].lower()], text)


def spelled_out(text: str) -> str:
    """``text`` with common shorthand written as words and numbers as digits."""
    out = _WORD.sub(lambda m: _WORDS[m[1].lower()], numbers_as_digits(text))
    return _SPAN.sub(lambda m: f"next {m[1]} {'days' if m[2].lower() == 'd' else 'hours'}", out)
