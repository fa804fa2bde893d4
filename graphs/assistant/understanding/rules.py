"""The rule router: the hand-written reading the planner started from.

The classifier (:mod:`.classifier`) decides intents; the rules read the arguments
(sites, loads, alert and silence ids, durations, clock times, report periods) and
split combined questions into clauses, and :mod:`.routing` uses :func:`route` as
a precise second opinion. The rules live in :mod:`.lexicon` (concepts and phrase
tables), :mod:`.tokens` (tokens, names, typos, numbers, durations, clock times),
:mod:`.clause_reader` (clauses to intents) and :mod:`.patterns` (whole-message
patterns: role changes, preferences, outlooks, reports, knowledge). The router is
pure and table-driven:

1. normalise the text (lowercase, drop apostrophes, split into word tokens and separators);
2. find site names and load names (whole words, a small typo tolerated for names of 4+ chars);
3. split combined questions into clauses on "and", ",", "&", "plus", "also", "then", "?", ...;
4. correct typos token by token against the vocabulary (``difflib``, tokens of 4+ chars);
5. turn each clause into *concepts* (battery, solar, stop, tomorrow, ...) with the phrase table;
6. map the concepts of each clause to intents, in the order they were asked.

Commands are only produced from imperative clauses: questions about state ("are the miners
on?") and requests for advice ("should I stop the miners?") become ``site_status``; questions
about acknowledging, snoozing or silencing alerts ("should I snooze?") become ``active_alerts``.

Alert housekeeping (acknowledge, snooze, silence, list and remove silences, alert preferences)
reads its arguments from the clause's words: alert and silence ids ("alert 12", "#12"),
durations ("30 min", "2h", "for 2 days", "half an hour"), "until tomorrow", clock times
("22:00", "10pm"), and the category, rule and severity words of a silence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphs.assistant.understanding import people, shorthand
from graphs.assistant.understanding.clause_reader import (
    _analyse_clause,
    _Clause,
    _clause_intents,
    _merge,
    _share_durations,
    _split_clauses,
)
from graphs.assistant.understanding.lexicon import (
    HELP_TOOL,
    Intent,
)
from graphs.assistant.understanding.patterns import (
    _alert_rule,
    _approvals,
    _comparison,
    _knowledge,
    _outlook,
    _preference_change,
    _role_change,
    _who_is,
    approvals_in_parts,
)
from graphs.assistant.understanding.tokens import (
    _mark_names,
    _tokenize,
)

# "..., please. Exact figure.", "... Two numbers.": how the answer should look, no request.
ONLY_FORM = re.compile(
    r"^\W*(?:(?:the|an?|just|only|exact|precise|rough|round|one|two|three|in|as)\s+)*"
    r"(?:figures?|numbers?|values?|digits?|percent(?:age)?|kwh|kw|report|answer|reply|over)"
    r"(?:\s+(?:only|please|pls|back))?\W*$",
    re.IGNORECASE,
)
# Clauses beside an alert rule that ask something of their own ("... and stop the miners").
_CLAUSE_BREAK = re.compile(r"\s*(?:;|,\s*(?:and\s+)?|\band\s+then\b|\bthen\b|\band\b|\balso\b)\s*")
_OWN_REQUEST = frozenset(
    {
        "stop",
        "start",
        "turn",
        "switch",
        "shut",
        "kill",
        "fire",
        "run",
        "show",
        "list",
        "what",
        "whats",
        "how",
        "hows",
        "is",
        "are",
        "any",
        "check",
        "snooze",
        "ack",
        "acknowledge",
        "silence",
        "mute",
        "approve",
        "reject",
        "give",
    }
)


def _with_other_requests(
    alert_rule: Intent, text: str, site_names: Sequence[str], load_names: Sequence[str]
) -> list[Intent]:
    """The alert rule and, in the order asked, what the message's other clauses ask for,
    when they start as requests of their own (a condition clause is part of the rule)."""
    parts = [p for p in _CLAUSE_BREAK.split(text) if p.strip()]
    if len(parts) < 2:
        return [alert_rule]
    intents: list[Intent] = []
    placed = False
    silent: int | None = None  # where the first part that read as nothing else was
    for part in parts:
        words = re.findall(r"[a-z]+", part.lower().replace("'", ""))
        own = _alert_rule(part, site_names)
        if own is not None and own.tool != alert_rule.tool:
            intents.append(own)  # "delete rule 3 and show my alert rules"
            continue
        if own is not None or not words:
            if not placed:
                intents.append(alert_rule)
                placed = True
            continue
        found: list[Intent] = []
        if words[0] in _OWN_REQUEST or (
            words[0] in ("please", "pls") and words[1:2] and words[1] in _OWN_REQUEST
        ):
            found = [
                i
                for i in route(part, site_names=site_names, load_names=load_names)
                if i.tool != HELP_TOOL
            ]
        if not found and silent is None:
            silent = len(intents)
        intents.extend(found)
    if not placed:
        # "show the alert rules and delete the one for fuel": the rule where it was said
        intents.insert(silent or 0, alert_rule)
    return intents


# --- public API -------------------------------------------------------------------------------


def route(
    text: str, *, site_names: Sequence[str] = (), load_names: Sequence[str] = ()
) -> list[Intent]:
    """Intents in the order asked; [] when nothing is understood."""
    stripped = text.strip()
    if stripped and set(stripped) <= {"?", " "}:
        return [Intent(HELP_TOOL, {"site": None})]
    decided = approvals_in_parts(stripped)  # before "anything awaiting approval" matches all
    if decided is not None:
        return decided
    role_change = _role_change(stripped) or _who_is(stripped) or _approvals(stripped)
    if role_change is not None:
        return [role_change]
    about_people = [i for i in (people.who_is(stripped), people.role_change(stripped)) if i]
    if about_people:
        return about_people  # "Who is Mark, and please make him an operator."
    whole = _whole_message(stripped, site_names, load_names)
    if whole is not None:
        return whole
    tokens = _tokenize(shorthand.abbreviations_out(text))  # "grid chg off"
    if not tokens:
        return []
    items = _mark_names(tokens, site_names, load_names)
    global_site = next((value for kind, value in items if kind == "site"), None)

    clauses: list[_Clause] = []
    previous: _Clause | None = None
    split = _split_clauses(items)
    for raw_clause, has_qmark in split:
        said = " ".join(value for kind, value in raw_clause if kind == "word")
        if len(split) > 1 and ONLY_FORM.match(said):
            continue  # "battery state of charge, please. exact figure."
        clause = _analyse_clause(raw_clause, has_qmark, previous)
        if clause is None:
            continue
        clauses.append(clause)
        previous = clause
    _share_durations(clauses)
    intents: list[Intent] = []
    for clause in clauses:
        intents.extend(_clause_intents(clause, clause.site or global_site))
    return _preview_alone(_merge(intents))


# What a silence's preview shows: the alerts it would match (not the open alerts again,
# a snooze of "muting" said beside it, or the silences already set).
_PREVIEW_SHOWS = frozenset({"active_alerts", "snooze_alert", "list_silences", "silence_alerts"})


def _preview_alone(intents: list[Intent]) -> list[Intent]:
    """A silence only previewed ("preview only: what a silence on generator alerts would
    match. Do not mute.") is that preview alone."""
    previews = [i for i in intents if i.tool == "silence_alerts" and i.args.get("preview")]
    if previews and all(i.tool in _PREVIEW_SHOWS for i in intents):
        return previews[:1]
    return intents


def _whole_message(
    text: str, site_names: Sequence[str], load_names: Sequence[str]
) -> list[Intent] | None:
    """What a whole-message pattern reads (alert rules, preferences, comparisons,
    knowledge, outlooks, reports), or None when none matches."""
    stripped = shorthand.spelled_out(text)  # "load fcst tmrw" → "load forecast tomorrow"
    alert_rule = _alert_rule(stripped, site_names)
    if alert_rule is not None:
        return _with_other_requests(alert_rule, stripped, site_names, load_names)
    for read in (_preference_change, _comparison, _knowledge, _outlook):
        found = read(stripped, site_names)
        if found is not None:
            return [found]
    return None


def from_pattern(text: str, site_names: Sequence[str] = (), load_names: Sequence[str] = ()) -> bool:
    """Whether a whole-message pattern, not the clause reader, reads ``text``."""
    return _whole_message(text.strip(), site_names, load_names) is not None
