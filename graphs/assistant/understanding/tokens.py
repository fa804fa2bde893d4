"""Words: tokens, site and load names (typo-tolerant), typo correction, numbers,
durations and clock times."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import cache, lru_cache

from graphs.assistant.understanding.lexicon import (
    _APOSTROPHE_RE,
    _BREAK_ITEMS,
    _CLOCK_RE,
    _CLOCK_WORDS,
    _FUZZY_CUTOFF,
    _MERIDIEM,
    _MIN_FUZZY_LEN,
    _NAME_TOKEN_RE,
    _NUMBER_WORDS,
    _SEPARATORS,
    _SPLIT_WORDS,
    _TOKEN_RE,
    _UNIT_MINUTES,
    _VOCABULARY,
)

# --- tokens and names -------------------------------------------------------------------------


def _tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(_APOSTROPHE_RE.sub("", text.lower()))


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(_NAME_TOKEN_RE.findall(_APOSTROPHE_RE.sub("", name.lower())))


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _close_to_name(token: str, want: str) -> bool:
    """A small typo of one alphabetic name part (same first letter, 1 edit; 2 from 8 chars)."""
    if token.isdigit() or want.isdigit() or len(want) < _MIN_FUZZY_LEN:
        return False
    if token[0] != want[0] or abs(len(token) - len(want)) > 2:
        return False
    return _edit_distance(token, want) <= (1 if len(want) < 8 else 2)


def _name_matches(window: Sequence[str], name: tuple[str, ...]) -> bool:
    if tuple(window) == name:
        return True
    exact = sum(1 for token, want in zip(window, name, strict=True) if token == want)
    for token, want in zip(window, name, strict=True):
        if token == want:
            continue
        # A vocabulary word ("miners") only bends to a name part when another part matched.
        if token in _VOCABULARY and exact == 0:
            return False
        if not _close_to_name(token, want):
            return False
    return True


def _mark_names(
    tokens: list[str], site_names: Sequence[str], load_names: Sequence[str]
) -> list[tuple[str, str]]:
    """Replace site and load names in the token stream by ("site"|"load", name) items."""
    candidates = [("site", name, _name_tokens(name)) for name in site_names]
    candidates += [("load", name, _name_tokens(name)) for name in load_names]
    candidates = [c for c in candidates if c[2]]
    candidates.sort(key=lambda c: -len(c[2]))
    loads_by_parts = {parts: name for kind, name, parts in candidates if kind == "load"}
    items: list[tuple[str, str]] = []
    last_load: tuple[str, ...] = ()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        for kind, name, parts in candidates:
            window = tokens[i : i + len(parts)]
            if len(window) == len(parts) and _name_matches(window, parts):
                items.append((kind, name))
                last_load = parts if kind == "load" else ()
                i += len(parts)
                break
        else:
            # "stop miner 1 and 2": a bare number after a numbered load names its sibling.
            sibling = (*last_load[:-1], token)
            after_split = bool(items) and items[-1] in _BREAK_ITEMS
            if token.isdigit() and last_load and after_split and sibling in loads_by_parts:
                items.append(("load", loads_by_parts[sibling]))
            else:
                items.append(("word", token))
                if token not in _SPLIT_WORDS and token not in _SEPARATORS:
                    last_load = ()
            i += 1
    return items


# How often a word must occur in the English word list (pyspellchecker's, counts from
# subtitles) to be taken as a word in its own right rather than a typo: "watts", "shunt"
# and "curtail" are above; "batery", "tomorow" and "alrets" never occur.
_ENGLISH_MIN_COUNT = 100
# Real words that here are nearly always a slip for the vocabulary word.
_DOMAIN_SLIPS = frozenset({"minor", "minors", "toady", "tody", "abut", "wile", "pease", "sock"})
# Endings by which a word and the vocabulary word it bends to are the same word
# ("turned" → "turn", "month" → "monthly", "serviced" → "service").
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ly", "y")


@cache
def _english_counts() -> dict[str, int]:
    """How often each word common enough in English to be no typo occurs (loaded on
    first use)."""
    from spellchecker import SpellChecker

    counts = SpellChecker(language="en").word_frequency.dictionary
    return {word: n for word, n in counts.items() if n >= _ENGLISH_MIN_COUNT}


def english_count(word: str) -> int:
    """How often ``word`` occurs in the English word counts (0 when rare or unknown)."""
    return _english_counts().get(word.lower(), 0)


def _same_word(a: str, b: str) -> bool:
    """``a`` and ``b`` differ only by an inflection ("stops"/"stop", "charging"/"charge")."""
    short, long = sorted((a, b), key=len)
    if long.startswith(short) and long[len(short) :] in _INFLECTIONS:
        return True
    stem = short[:-1] if short.endswith("e") else ""
    return bool(stem) and long.startswith(stem) and long[len(stem) :] in ("ing", "ed")


@lru_cache(maxsize=4096)
def _correct(token: str) -> str:
    """The vocabulary word a typo most likely stands for, or the token unchanged.

    A common English word is no typo: "asked" does not become "acked", nor "watts"
    "whats"; it only bends to a vocabulary word that is the same word inflected.
    """
    if token in _VOCABULARY or len(token) < _MIN_FUZZY_LEN or not token.isalpha():
        return token
    same_initial = [word for word in _VOCABULARY if word[0] == token[0]]
    match = difflib.get_close_matches(token, same_initial, n=1, cutoff=_FUZZY_CUTOFF)
    if not match:
        return token
    if token in _english_counts() and token not in _DOMAIN_SLIPS:
        return match[0] if _same_word(token, match[0]) else token
    return match[0]


def _lookup(words: list[str], table: dict[tuple[str, ...], str]) -> str | None:
    """The value of the first (longest) phrase of ``table`` found in ``words``."""
    longest = max(len(phrase) for phrase in table)
    for i in range(len(words)):
        for length in range(min(longest, len(words) - i), 0, -1):
            value = table.get(tuple(words[i : i + length]))
            if value is not None:
                return value
    return None


def _number(word: str) -> float | None:
    if word.isdigit():
        return float(word)
    if word.replace(".", "", 1).isdigit():
        return float(word)
    return _NUMBER_WORDS.get(word)


def _duration(words: list[str], *, bare_unit: float = 1) -> tuple[float | None, set[int]]:
    """Minutes of the first duration ("30 min", "2h", "half an hour", "for 3") and its words.

    A bare number after "for" counts in ``bare_unit`` minutes.
    """
    for i, word in enumerate(words):
        amount = _number(word)
        if amount is None:
            continue
        j = i + 1
        if j < len(words) and words[j] in ("of", "a", "an") and not word.isdigit():
            j += 1  # "half an hour", "a couple of hours"
        if j < len(words) and words[j] in _UNIT_MINUTES:
            return amount * _UNIT_MINUTES[words[j]], set(range(i, j + 1))
        next_is_clock = j < len(words) and words[j] in _MERIDIEM
        if i > 0 and words[i - 1] == "for" and word[0].isdigit() and not next_is_clock:
            return amount * bare_unit, {i}
    for i, word in enumerate(words[2:], start=2):
        if word in ("weekend", "wkend") and words[i - 2] in ("for", "over", "through", "thru"):
            return 2 * 1440, {i}  # "for the weekend": two days
    return None, set()


_AT_TIME = frozenset({"at", "by", "around", "till", "til", "until", "before", "after"})


def _first_number(words: list[str], consumed: set[int]) -> int | None:
    """The first whole number not part of a duration nor a time of day: "alert 12", "#12",
    "silence 3"; not "the technician comes at 9"."""
    return next(
        (
            int(word)
            for i, word in enumerate(words)
            if word.isdigit() and i not in consumed and (i == 0 or words[i - 1] not in _AT_TIME)
        ),
        None,
    )


def _evening(following: list[str]) -> bool:
    return following[:2] in (["at", "night"], ["at", "nite"]) or following[:3] in (
        ["in", "the", "evening"],
        ["in", "the", "night"],
    )


def _clock_times(words: list[str]) -> list[str]:
    """Clock times as "HH:MM": "22:00", "10pm", "7 am", "10:30pm", "midnight", "22"."""
    times: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        after = words[i + 1] if i + 1 < len(words) else ""
        hour: int | None = None
        minute = 0
        match = _CLOCK_RE.fullmatch(word)
        if match:
            hour, minute = int(match[1]), int(match[2])
        elif word.isdigit() and len(word) in (3, 4):
            hour, minute = divmod(int(word), 100)  # "2200", "700"
        elif word.isdigit() and len(word) <= 2:
            hour = int(word)
        elif word in _CLOCK_WORDS:
            hour, minute = _CLOCK_WORDS[word]
        if hour is not None and after in _MERIDIEM:
            if hour == 12:
                hour = 0
            hour += 12 if after == "pm" else 0
            i += 1
        elif hour is not None and hour < 12 and _evening(words[i + 1 : i + 4]):
            hour += 12  # "10 at night", "9 in the evening"
        if hour is not None and 0 <= hour <= 24 and 0 <= minute < 60:
            times.append(f"{hour % 24:02d}:{minute:02d}")
        i += 1
    return times
