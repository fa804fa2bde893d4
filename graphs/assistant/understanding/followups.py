"""Follow-ups that lean on the previous question: "and tomorrow?", "what about the barn?".

A follow-up is a short message that starts with "and", "what about", "how about",
"same for", ... or that names only a site or a time. It asks the previous question
again with what it changes: another site (the previous intents with that site), or
another day or period (the previous question and the fragment read together, as
the rules read "solar now and tomorrow").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from graphs.assistant.understanding import lexicon, patterns, rules, tokens
from graphs.assistant.understanding.lexicon import HELP_TOOL, Intent
from tools.agent import TOOL_SPECS
from tools.reports.windows import window_spec

_LEAD = re.compile(
    r"^\s*(?:and|&|also|plus|ok|so|then)?\s*(?:(?:what|how)\s+about|same\s+(?:for|at)|for|at|in"
    r"|on)?\s*(?:the\s+)?",
    re.IGNORECASE,
)
_STARTS = re.compile(
    r"^\s*(and\b|&|what about\b|how about\b|same (for|at)\b|also\b|plus\b)", re.IGNORECASE
)
MAX_WORDS = 6
# Only questions carry over to a follow-up: the tools that change nothing.
READS = frozenset(spec.name for spec in TOOL_SPECS if not spec.mutates)
# "more", "show me the rest": the previous list in full (a timeline shows its newest 15).
_MORE = re.compile(
    r"^\s*(?:ok\s+|and\s+)?(?:show\s+(?:me\s+)?|give\s+me\s+|tell\s+me\s+)?(?:the\s+)?"
    r"(?:more|rest|all(?:\s+of\s+it)?|everything|full\s+(?:list|timeline)|the\s+rest)"
    r"(?:\s+please|\s+pls)?\s*[.!?]*\s*$",
    re.IGNORECASE,
)
FULL_TOOLS = frozenset({"timeline"})
# Tools the rules never produce: a follow-up reads the question before with the planner.
CLASSIFIER_ONLY = frozenset({"timeline", "anomalies", "panel_readings"})


def is_follow_up(text: str) -> bool:
    """A short message that reads as a continuation of the previous question."""
    words = tokens._tokenize(text)
    return 0 < len(words) <= MAX_WORDS and bool(_STARTS.search(text) or _MORE.search(text))


def resolve(
    previous: str, text: str, *, site_names: Sequence[str], load_names: Sequence[str]
) -> list[Intent]:
    """The intents of ``text`` read as a follow-up of ``previous``; [] when it is not one.

    Only questions carry over: a follow-up never repeats a command or a change
    ("stop the miners" then "what about the barn?" asks, it does not stop them).
    """
    return [i for i in _resolve(previous, text, site_names, load_names) if i.tool in READS]


def _resolve(
    previous: str, text: str, site_names: Sequence[str], load_names: Sequence[str]
) -> list[Intent]:
    if not previous.strip() or len(tokens._tokenize(text)) > MAX_WORDS:
        return []
    from graphs.assistant.understanding import routing  # the classifier trains on first use

    planned = routing.route(previous, site_names=site_names, load_names=load_names)
    if any(i.tool in CLASSIFIER_ONLY for i in planned):
        # a question only the classifier reads ("what happened overnight?")
        before = [i for i in planned if i.tool in READS]
    else:
        before = [
            i
            for i in rules.route(previous, site_names=site_names, load_names=load_names)
            if i.tool != HELP_TOOL
        ]
    if not before:
        return []
    if _MORE.search(text):
        return [Intent(i.tool, {**i.args, "full": True}) for i in before if i.tool in FULL_TOOLS]
    rest = _LEAD.sub("", text.strip()).strip(" ?.!")
    items = tokens._mark_names(tokens._tokenize(rest), site_names, load_names)
    sites = [value for kind, value in items if kind == "site"]
    others = [value for kind, value in items if kind == "word" and value not in lexicon._SEPARATORS]
    if sites and not [w for w in others if w not in ("and", "the", "at", "for", "site")]:
        # "what about the barn?": the same question about another site (or several).
        return [Intent(i.tool, {**i.args, "site": site}) for site in sites for i in before]
    if all(i.tool == "timeline" for i in before):
        spec = window_spec(rest)  # "and since noon?"
        return [] if spec is None else [Intent(i.tool, {**i.args, "window": spec}) for i in before]
    if all(i.tool == "energy_report" for i in before):
        period = next((p for p, pattern in patterns._REPORT_PERIODS if pattern.search(rest)), None)
        if period is None:
            return []
        return [Intent(i.tool, {**i.args, "period": period}) for i in before]  # "and last month?"
    if all(i.tool == "compare_periods" for i in before):  # "and this week?"
        if not patterns.period_words(rest):
            return []
        first, second = patterns.compare_args(rest)
        return [Intent(i.tool, {**i.args, "first": first, "second": second}) for i in before]
    stem = previous.strip().rstrip("?.! ")
    joined = rules.route(f"{stem} and {rest}", site_names=site_names, load_names=load_names)
    return [i for i in joined[len(before) :] if i.tool != HELP_TOOL]


# "more" and "why?": follow-ups about the previous answer itself, not a new question.
DetailKind = Literal["more", "why"]
_POLITE = r"(?:(?:ok(?:ay)?|and|but|so|hm+|please)[\s,]+)*"
_MORE = re.compile(
    _POLITE + r"(?:(?:can\s+you\s+|could\s+you\s+)?(?:tell|show|give|send)\s+me\s+)?"
    r"(?:some\s+|the\s+|a\s+)?(?:more(?:\s+(?:details?|detail|info(?:rmation)?))?"
    r"|details?|(?:full\s+)?breakdown|full\s+(?:report|details?|answer|version)"
    r"|go\s+on|expand|elaborate|all\s+of\s+it|everything)(?:\s+please)?",
)
_WHY = re.compile(
    _POLITE + r"(?:why(?:\s+(?:is\s+that|that|so|not|is\s+it|did\s+you\s+say\s+that))?"
    r"|how\s+come|explain(?:\s+(?:that|this|it|why|yourself))?|reason|reasons"
    r"|what(?:'s|\s+is|\s+are)\s+the\s+reasons?|on\s+what\s+basis|based\s+on\s+what)"
    r"(?:\s+please)?",
)


def detail_request(text: str) -> DetailKind | None:
    """ "more" (the breakdown of the previous answer) or "why" (its reasons) when the
    whole message asks only that; None for anything else ("why is the battery low?"
    is a new question)."""
    clean = re.sub(r"[?!.…]+", " ", text.lower().replace("’", "'"))
    clean = " ".join(clean.split())
    if not clean or len(clean.split()) > 6:
        return None
    if _MORE.fullmatch(clean):
        return "more"
    if _WHY.fullmatch(clean):
        return "why"
    return None
