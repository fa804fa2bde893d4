"""A tool's arguments read from the words of a message (pure).

Used when the classifier chose a tool the rule router did not: the same rules
that the router uses read the site, loads, ids, durations, times and periods.
``None`` means a required argument is missing (the planner then asks instead of
guessing).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from graphs.assistant.understanding import (
    clause_reader,
    lexicon,
    patterns,
    people,
    shorthand,
    tokens,
)
from tools.reports.windows import window_spec

_ROLE = re.compile(
    r"\b(?P<role>admin|administrator|operator|viewer|finance|read-only)\b", re.IGNORECASE
)
_USER = re.compile(
    r"(?:<@(?P<mention>[A-Za-z0-9]+)>|@(?P<at>[A-Za-z0-9._-]+)|\b(?P<id>U[A-Z0-9]{4,})\b"
    r"|\b(?:make|set|give|promote|demote|let)\s+(?P<name>[A-Za-z][A-Za-z0-9._-]{1,39})\b"
    r"|\bto\s+(?P<to>[A-Za-z][A-Za-z0-9._-]{1,39})\s*[.!]?$)",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset({"the", "me", "my", "a", "an", "role", "it", "this", "that", "him", "her"})


def clause_of(
    text: str, site_names: Sequence[str], load_names: Sequence[str]
) -> clause_reader._Clause:
    """The whole message read as one clause (names marked, typos corrected, concepts found)."""
    items = tokens._mark_names(tokens._tokenize(text), site_names, load_names)
    words: list[str] = []
    site: str | None = None
    loads: list[str] = []
    for kind, value in items:
        if kind == "site":
            site = site or value
            words.append("@site")
        elif kind == "load":
            loads.append(value)
            words.append("@load")
        elif value not in lexicon._SEPARATORS:
            words.append(tokens._correct(value))
    concepts = clause_reader._scan_concepts(words)
    return clause_reader._Clause(
        concepts=concepts, site=site, loads=list(dict.fromkeys(loads)), words=words
    )


def for_tool(
    tool: str, text: str, site_names: Sequence[str], load_names: Sequence[str]
) -> dict[str, Any] | None:
    """Arguments of ``tool`` for ``text``, or None when a required one is missing."""
    clause = clause_of(text, site_names, load_names)
    site = clause.site
    base: dict[str, Any] = {"site": site}
    words = clause.words
    if tool in ("solar_forecast", "load_forecast"):
        return {**base, "day": clause_reader._day(clause)}
    if tool == "energy_report":
        period, focus = patterns.report_args(text)
        return {**base, "period": period, "focus": focus}
    if tool == "fuel_outlook":
        return {**base, "focus": patterns.fuel_focus(text)}
    if tool == "who_is":
        person = patterns.who_args(text)
        if person is None or person == "me":
            person = people.name_in(text, site_names) or person
        return None if person is None else {"site": None, "user_id": person}
    if tool == "pending_approvals":
        return {"site": None}
    if tool == "decide_action":
        return _decision_args(text)
    if tool == "compare_periods":
        first, second = patterns.compare_args(text)
        return {**base, "first": first, "second": second}
    if tool == "compare_sites":
        return patterns.sites_args(text, site_names)
    if tool == "acknowledge_alert":
        _, consumed = tokens._duration(words)
        return {**base, "alert_id": tokens._first_number(words, consumed)}
    if tool == "snooze_alert":
        return {**base, **clause_reader._snooze_args(clause)}
    if tool == "silence_alerts":
        return {**base, **clause_reader._silence_args(clause, clause.has(lexicon.PREVIEW))}
    if tool == "remove_silence":
        return {**base, "silence_id": tokens._first_number(words, set())}
    if tool == "set_alert_preferences":
        prefs = clause_reader._preference_args(clause)
        if prefs is None and "critical" in words:
            prefs = {"critical_only": True, "quiet_hours": None, "clear": False}
        return None if prefs is None else {**base, **prefs}
    if tool in ("set_preferences", "set_alert_rule", "remove_alert_rule"):
        text = shorthand.numbers_as_digits(text)  # "above forty percent", "below half"
    if tool == "set_preferences":
        intent = patterns._preference_change(text, site_names)
        return dict(intent.args) if intent is not None else _preference_args(clause)
    if tool == "set_role":
        return _role_args(text, site_names)
    if tool == "set_alert_rule":
        return patterns.alert_rule_args(text, site_names)
    if tool == "remove_alert_rule":
        return patterns.remove_rule_args(text, base)
    if tool == "timeline":
        return {**base, "window": window_spec(text), "full": bool(_FULL.search(text))}
    if tool == "panel_readings":
        quantity = patterns.panel_quantity(text)
        if quantity == "power" and not patterns.NAMES_SENSOR.search(text) and "panel" not in words:
            return None  # "power now from panels?": the solar power, not the test panel's
        return {**base, "quantity": quantity}
    if tool == "search_knowledge":
        return {**base, "query": text.strip()[:500]}
    if tool in ("stop_miners", "start_miners"):
        return {**base, "loads": clause.loads or None}
    if tool == "set_grid_charge":
        return {**base, "enabled": _grid_enabled(clause)}
    return base


# A request id as shown in chat ("8c41fea3", "#8c41"): hex with at least one digit.
_ACTION_ID = re.compile(
    r"(?<![\w-])#?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![\w-])"
    r"|(?<![\w-])#?(?=[0-9a-f]*\d)([0-9a-f]{4,32})(?![\w-])",
    re.I,
)
_REJECT = re.compile(
    r"\b(?:reject\w*|rej\w*|den(?:y|ied)|declin\w*|refus\w*|no|nope|nah|cancel\w*|veto\w*"
    r"|block\w*|turn\s+down|rather\s+not)\b|[❌👎✖✗]",
    re.I,
)
_APPROVE = re.compile(
    r"\b(?:approv\w*|aprov\w*|apprv\w*|grant\w*|accept\w*|ok|okay|yes|yeah|yep|go(?!\s+(?:through|with))|go\s+ahead|confirm\w*|sign(?:ed)?"
    r"[\s-]*off|tick|lgtm|authori[sz]\w*|allow\w*|agreed?|fine)\b|[✅👍✔✓]",
    re.I,
)


def _decision_args(text: str) -> dict[str, Any] | None:
    """The request id and the decision said around it ("I approve the request 4e2a9f10",
    "4e2a9f10 is refused"); None without exactly one id or a clear decision."""
    ids = {(m[1] or m[2]).lower() for m in _ACTION_ID.finditer(text)}
    approve, reject = bool(_APPROVE.search(text)), bool(_REJECT.search(text))
    if len(ids) != 1 or approve == reject:
        return None
    return {"site": None, "action_id": ids.pop(), "approve": approve}


_FULL = re.compile(r"\b(full|whole|entire|complete|every(?:thing)?|all (?:the )?events)\b", re.I)


def _fuzzy(word: str, choices: Sequence[str]) -> str | None:
    if word in choices:
        return word
    if len(word) < 3:
        return None
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return match[0] if match else None


# Words that change a role ("give ... viewer access", "could he be made an operator"),
# not a statement of one ("priya_k is my property manager").
_GIVES_ROLE = re.compile(
    r"\b(?:give|make|made|grant|set|change|promote|demote|upgrade|downgrade|assign|add|want"
    r"|like|should|could|let|be|for\s+(?:him|her|them))\b",
    re.IGNORECASE,
)


def _role_args(text: str, site_names: Sequence[str] = ()) -> dict[str, Any] | None:
    intent = patterns._role_change(text.strip())
    if intent is not None:
        return dict(intent.args)
    role: str | None = None
    for word in re.findall(r"[a-z-]+", text.lower()):
        role = _fuzzy(word, tuple(patterns._ROLE_WORDS))
        if role is not None:
            break
    if role is None:
        return None
    for match in _USER.finditer(text):
        user = match["mention"] or match["at"] or match["id"] or match["name"] or match["to"]
        if user and user.lower() not in _NOT_NAMES and _fuzzy(user.lower(), (role,)) is None:
            return {"site": None, "user_id": user, "role": patterns._ROLE_WORDS[role]}
    handle = patterns.user_handle(text)  # "her handle is aisha.r", "my sister Ruth (ruth_o)"
    if handle is not None and _GIVES_ROLE.search(text):
        return {"site": None, "user_id": handle, "role": patterns._ROLE_WORDS[role]}
    # "give the new field tech Kofi viewer role", "Priya (priya_k) is leaving, drop her to
    # viewer": the id or handle written, else the name said in passing
    named = people.mention(text) or handle or people.name_in(text, site_names)
    if named is not None and _fuzzy(named.lower(), (role,)) is None:
        return {"site": None, "user_id": named, "role": patterns._ROLE_WORDS[role]}
    return None


_PCT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|pct|per\s*cent)?")
_POWER = {"w": "W", "watt": "W", "watts": "W", "kw": "kW", "kilowatt": "kW", "kilowatts": "kW"}
_TEMP = {"fahrenheit": "F", "celsius": "C", "centigrade": "C", "°f": "F", "°c": "C"}
_TEMPERATURE_WORDS = frozenset({"temp", "temps", "temperature", "temperatures", "degrees", "deg"})


def _preference_args(clause: clause_reader._Clause) -> dict[str, Any] | None:
    """A battery floor ("keep the batt above 20%") or units ("switch to watts"), loosely."""
    words = clause.words
    base: dict[str, Any] = {"site": clause.site}
    for word in words:
        match = _PCT.fullmatch(word)
        if match is not None and 0 <= float(match[1]) <= 100:
            return {**base, "min_soc_pct": float(match[1])}
    power: str | None = None
    temp: str | None = None
    for word in words:
        # "batt" and "batts" are one letter from "watt(s)": the battery, never a unit
        near = len(word) > 2 and not word.startswith(("bat", "bet", "bit"))
        unit = _fuzzy(word, tuple(_POWER)) if near else word
        if unit in _POWER and power is None:
            power = _POWER[unit]
        unit = _fuzzy(word, tuple(_TEMP))
        if unit is not None and temp is None:
            temp = _TEMP[unit]
    if temp is None and _TEMPERATURE_WORDS & set(words):
        # "temps in F", "degrees C": the unit's letter alone
        temp = next((w.upper() for w in words if w in ("f", "c")), None)
    if power is None and temp is None:
        return None
    return {**base, "power_unit": power, "temperature_unit": temp}


def _grid_enabled(clause: clause_reader._Clause) -> bool:
    """On unless the words say off/stop/disable; a negation before the verb flips it."""
    words = clause.words
    off_words = {"off", "disable", "disabled", "stop", "stopped", "deactivate", "no", "cancel"}
    on_words = {"on", "enable", "enabled", "start", "activate", "resume"}
    first = next((w for w in words if w in off_words or w in on_words), None)
    enabled = first is None or first in on_words
    negate = clause.first(lexicon.NEGATE)
    if negate is not None and first is not None and negate < words.index(first):
        enabled = not enabled
    return enabled
