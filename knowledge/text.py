"""Index terms: the same tokenizer for documents and queries (pure functions)."""

from __future__ import annotations

import re
from collections import Counter

_WORD_RE = re.compile(r"[a-z0-9]+")
MAX_TERM_LEN = 64

# Common English words that say nothing about what a passage is about.
_STOPWORD_TEXT = """a about above after again against all am an and any are as at be
    because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def normalise_term(word: str) -> str:
    """A light suffix stripper so "miners"/"miner" and "charging"/"charge" meet."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) >= 7 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) >= 6 and w.endswith("ed"):
        w = w[:-2]
    if len(w) >= 5 and w.endswith("e"):
        w = w[:-1]
    return w[:MAX_TERM_LEN]


def terms(text: str) -> list[str]:
    """Index terms of ``text`` in order (lowercased, stop words dropped, normalised)."""
    return [normalise_term(w) for w in _WORD_RE.findall(text.lower()) if w not in STOPWORDS]


def term_counts(text: str) -> Counter[str]:
    return Counter(terms(text))
