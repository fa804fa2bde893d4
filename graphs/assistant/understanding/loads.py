"""Loads named by their number, as people say it.

A site's switchable loads are named with a number ("miner-1", "miner-2"). People say
"miner two", "the second miner", "miner number 3", "number 2 miner", "miners one and
three", "miners 1-3", and call miners rigs, machines or ASICs ("the third rig"): those
are rewritten as the load names so that every reader finds them. A machine named by a
number that is no load of the site ("miner 4" where there are three, "miners 1-5"), or
counted without being named ("stop one miner"), must not become an order for every
miner: it is returned as said, so that the action is refused with the names of the
loads the site has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_SMALL = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_ORDINAL_WORDS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)
_VALUE = {w: n for n, w in enumerate(_SMALL, start=1)} | {
    w: n for n, w in enumerate(_ORDINAL_WORDS, start=1)
}
_NUMBER = rf"(?:\d{{1,2}}|{'|'.join(_SMALL)})"
_ORDINAL = rf"(?:{'|'.join(_ORDINAL_WORDS)}|\d{{1,2}}(?:st|nd|rd|th))"
# "number 2", "no. 2", "#2", "nr 2": what may stand between the noun and its number
_NUMBERED = r"\s*(?:number\s+|no\.?\s*|nr\.?\s*|#\s*)?"
# A number that counts or measures rather than names ("miner 2 hours", "rig 3 kW").
_MEASURE = re.compile(
    r"^\s*(?:%|percent|h\b|hrs?\b|hours?|mins?\b|minutes?|days?|kw|w\b|watts?|v\b|volts?"
    r"|am\b|pm\b|o'?clock)",
    re.IGNORECASE,
)
# Things people also number in chat: with one named, a bare number may be theirs
# ("silences please, then kill #3").
_OTHER_NUMBERED = re.compile(
    r"\b(?:alerts?|silences?|rules?|requests?|approvals?|actions?)\b", re.IGNORECASE
)
# The verbs of an order to a machine, as they stand before what they switch.
_ORDER_WORDS = (
    r"start|stop|kill|restart|reboot|reset|switch\s+(?:on|off)|turn\s+(?:on|off)"
    r"|shut\s+(?:down|off)|power\s+(?:on|off|up|down)|boot|unplug"
)
# "1-3", "1 to 3", "one through three": a range of numbers
_TO = r"\s*(?:-|\u2013|\u2014|to|through|thru|till|until)\s*"
# What people call a miner when it is not the load's own word.
_MACHINE_WORDS = r"(?:miners?|rigs?|asics?|antminers?|s19s?|s9s?|s21s?|machines?|units?)"


def _value(word: str) -> int:
    word = word.lower()
    if word in _VALUE:
        return _VALUE[word]
    return int(re.sub(r"\D", "", word))


def _numbered(load_names: Sequence[str]) -> dict[str, dict[int, str]]:
    """The loads named "<noun>-<number>", by noun and number."""
    out: dict[str, dict[int, str]] = {}
    for name in load_names:
        said = re.fullmatch(r"([a-z][a-z ]*?)[\s_-]*(\d{1,2})", name.lower())
        if said is not None:
            out.setdefault(said[1], {})[int(said[2])] = name
    return out


def spoken(text: str, load_names: Sequence[str]) -> str:
    """``text`` with loads named by a spoken number or an ordinal written as their names
    ("stop miner two" → "stop miner-2", "the second miner" → "miner-2", "miners one and
    three" → "miner-1 and miner-3"); a number that names no load is left as said."""
    numbered = _numbered(load_names)
    miner_like = [noun for noun in numbered if re.fullmatch(_MACHINE_WORDS, noun)]
    for noun, by_number in numbered.items():
        word = rf"{re.escape(noun)}s?"
        if miner_like == [noun]:
            # "the third rig", "rig 2", "ASIC number 1" where the loads are miner-1..3:
            # the machines have one name, whatever people call them
            word = _MACHINE_WORDS
            if not _OTHER_NUMBERED.search(text):
                text = _bare_numbers(text, by_number)
        for rewrite in (_numbers_first, _ranges, _lists, _ordinals):
            text = rewrite(text, word, by_number)
    return text


def _sub(pattern: str, named: Callable[[re.Match[str]], str], text: str) -> str:
    return re.sub(pattern, named, text, flags=re.IGNORECASE)


def _bare_numbers(text: str, by_number: dict[int, str]) -> str:
    """ "start number 3", "stop number 2 and number 3": an order's machine by number."""

    def named(match: re.Match[str]) -> str:
        name = by_number.get(_value(match["n"]))
        return match[0] if name is None else f"{match['v']} {name}"

    return _sub(
        rf"\b(?P<v>{_ORDER_WORDS}|and|&)\s+(?:the\s+)?(?:number|no\.?|nr\.?|#)\s*"
        rf"(?P<n>{_NUMBER})\b(?![-\w/:%]|\.\d|\s+(?:{_MACHINE_WORDS}|alerts?|rules?"
        r"|silences?|requests?)\b)",
        named,
        text,
    )


def _numbers_first(text: str, word: str, by_number: dict[int, str]) -> str:
    """ "number 2 miner", "#3 rig": the number before the noun."""

    def named(match: re.Match[str]) -> str:
        name = by_number.get(_value(match["n"] or match["h"]))
        return match[0] if name is None else name

    return _sub(
        rf"\b(?:number|no\.?|nr\.?)\s*(?P<n>{_NUMBER})\s+{word}\b|#\s*(?P<h>{_NUMBER})\s+{word}\b",
        named,
        text,
    )


def _ranges(text: str, word: str, by_number: dict[int, str]) -> str:
    """ "miners 1-3", "miners two to three": each load in the range, when all exist."""

    def named(match: re.Match[str]) -> str:
        if _MEASURE.match(match.string[match.end() :]):
            return match[0]  # "run miner 2 to 3 hours"
        first, last = _value(match["a"]), _value(match["b"])
        names = [by_number.get(n) for n in range(first, last + 1)]
        if not 2 <= len(names) <= len(by_number) or None in names:
            return match[0]  # "miners 1-5" at a site with three: left as said
        return ", ".join(str(n) for n in names[:-1]) + f" and {names[-1]}"

    return _sub(
        rf"\b{word}{_NUMBERED}(?P<a>{_NUMBER}){_TO}(?P<b>{_NUMBER})\b(?![-\w/:%]|\.\d)",
        named,
        text,
    )


def _lists(text: str, word: str, by_number: dict[int, str]) -> str:
    """ "miner two", "miners one and three", "machine number 1 and number 3"."""

    def named(match: re.Match[str]) -> str:
        if _MEASURE.match(match.string[match.end() :]):
            return match[0]
        numbers = re.findall(rf"\b{_NUMBER}\b", match["list"], re.IGNORECASE)
        names = [by_number.get(_value(n)) for n in numbers]
        if not names or None in names:
            return match[0]
        joins = re.findall(r"\s*(?:,|&|and|or)\s*", match["list"], re.IGNORECASE)
        out = str(names[0])
        for join, name in zip(joins, names[1:], strict=False):
            out += f"{join}{name}"
        return out

    return _sub(
        rf"\b{word}{_NUMBERED}(?P<list>{_NUMBER}(?:\s*(?:,|&|and|or)\s*{_NUMBERED}{_NUMBER})*)\b"
        r"(?![-\w/:%]|\.\d)",
        named,
        text,
    )


def _ordinals(text: str, word: str, by_number: dict[int, str]) -> str:
    """ "the second miner", "the first and third rigs"."""

    def named(match: re.Match[str]) -> str:
        said = re.findall(rf"\b{_ORDINAL}", match["o"], re.IGNORECASE)
        names = [by_number.get(_value(o)) for o in said]
        if None in names:
            return match[0]
        return " and ".join(str(n) for n in names)

    return _sub(
        rf"\b(?:the\s+)?(?P<o>{_ORDINAL}(?:\s*(?:,|&|and|or)\s*(?:the\s+)?{_ORDINAL})*)"
        rf"\s+{word}\b",
        named,
        text,
    )


def unknown(text: str, load_names: Sequence[str]) -> list[str]:
    """Machines the text names by a number or an ordinal that are none of the loads
    ("miner 4" or "miner-4" at a site with three, "the fifth miner", "miners 1-5"), and
    machines it counts without naming ("stop one miner", "two of the rigs" where there
    are three), as said: neither may become an order for every miner."""
    known = {n.lower() for n in load_names}
    out: list[str] = []
    numbered = sum(len(by) for by in _numbered(load_names).values())
    for counted in re.finditer(
        rf"\b(?:(?P<n>{_NUMBER})|a\s+single|just\s+(?:a|an))\s+(?:(?:of\s+)?the\s+)?"
        rf"{_MACHINE_WORDS}\b(?![-_]?\s*(?:#\s*)?\d)"
        # "one of the miners is overheating, stop them": told, not counted for the order
        r"(?!\s+(?:is|are|was|were|has|have|keeps|seems|looks|sounds|runs|'s)\b)(?!'s)",
        text,
        re.IGNORECASE,
    ):
        count = _value(counted["n"]) if counted["n"] else 1
        if count < max(numbered, 2):  # "stop 3 miners" where there are three: all of them
            out.append(counted[0])
    for said in re.finditer(
        rf"\b{_MACHINE_WORDS}{_NUMBERED}{_NUMBER}{_TO}{_NUMBER}\b(?![-\w/:%]|\.\d)"
        rf"|\b{_MACHINE_WORDS}(?:[-_]|{_NUMBERED}){_NUMBER}\b(?![-\w/:%]|\.\d)"
        rf"|\b{_ORDINAL}\s+{_MACHINE_WORDS}\b",
        text,
        re.IGNORECASE,
    ):
        if _MEASURE.match(text[said.end() :]):
            continue  # "run the rigs 2 hours"
        name = said[0]
        if name.lower() not in known:
            out.append(name)
    return list(dict.fromkeys(out))


def known(text: str, load_names: Sequence[str]) -> list[str]:
    """The site's loads the text names as written ("miner-2"), in the order of the text."""
    found = [
        (said.start(), name)
        for name in load_names
        for said in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
    ]
    return list(dict.fromkeys(name for _, name in sorted(found)))
