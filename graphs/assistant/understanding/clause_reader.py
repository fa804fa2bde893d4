"""Clauses: split a message, read each clause's concepts, and turn them into intents."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from graphs.assistant.understanding.lexicon import (
    _AGAIN_WORDS,
    _ALERT_NOUNS_PLURAL,
    _ALERT_NOUNS_SINGULAR,
    _ALERT_VERBS,
    _ALL_WORDS,
    _CATEGORIES,
    _CLOCK_WORDS,
    _DIRECTIONS,
    _FILLERS,
    _IMPERATIVE_LEADS,
    _MAX_PHRASE_LEN,
    _MERIDIEM,
    _MUTE_WORDS,
    _ONLY_WORDS,
    _PHRASES,
    _PLURAL_SEVERITY,
    _POLITE_PREFIXES,
    _QUESTION_STARTERS,
    _RULES,
    _SEPARATORS,
    _SEVERITIES,
    _SPLIT_WORDS,
    _STATE_WORDS,
    _STATEMENT_LEADS,
    _THIS_WORDS,
    _TIME_WORDS,
    _TOPICS,
    _UNTIL_TOMORROW_WORDS,
    ACK,
    ADVISE,
    ALERT,
    BATTERY,
    CHARGE,
    CRITICAL_ONLY,
    FORECAST,
    FUTURE,
    GENERATOR,
    GRID,
    HELP,
    HELP_TOOL,
    LIST,
    LOAD,
    MINERS,
    NEGATE,
    NEUTRAL,
    NOW,
    OFF,
    ON,
    PREFS,
    PREVIEW,
    PRODUCE,
    QUIET,
    REMOVE,
    SILENCE,
    SILENCES,
    SNOOZE,
    SOLAR,
    START,
    STATUS,
    STOP,
    SUBJECT,
    TODAY,
    TOMORROW,
    UNSILENCE,
    WEATHER,
    Intent,
    _Add,
)
from graphs.assistant.understanding.tokens import (
    _clock_times,
    _correct,
    _duration,
    _first_number,
    _lookup,
)

# --- clauses ----------------------------------------------------------------------------------


def _split_clauses(
    items: list[tuple[str, str]],
) -> list[tuple[list[tuple[str, str]], bool]]:
    """Clauses with whether each ended in a question mark."""
    clauses: list[tuple[list[tuple[str, str]], bool]] = []
    current: list[tuple[str, str]] = []
    for index, (kind, value) in enumerate(items):
        if value == "and" and (_between_times(items, index) or _between_loads(items, index)):
            current.append((kind, value))  # "between 11pm and 6am", "miner-2 and miner-3 on"
        elif kind == "word" and (value in _SEPARATORS or value in _SPLIT_WORDS):
            if current:
                clauses.append((current, value == "?"))
            elif clauses and value == "?":  # "battery??" or "solar ?"
                clauses[-1] = (clauses[-1][0], True)
            current = []
        else:
            current.append((kind, value))
    if current:
        clauses.append((current, False))
    return clauses


def _between_loads(items: list[tuple[str, str]], index: int) -> bool:
    """True for the "and" of "turn miner-2 and miner-3 back on": one order for both."""
    before = items[index - 1] if index > 0 else ("", "")
    after = items[index + 1] if index + 1 < len(items) else ("", "")
    return before[0] == "load" and after[0] == "load"


def _between_times(items: list[tuple[str, str]], index: int) -> bool:
    """True for the "and" of "11pm and 6am" or "22:00 and 07:00"."""
    if index == 0 or index + 1 >= len(items):
        return False
    (before_kind, before), (after_kind, after) = items[index - 1], items[index + 1]
    if before_kind != "word" or after_kind != "word":
        return False
    clock_before = (
        before in _MERIDIEM
        or before in _CLOCK_WORDS
        or ":" in before
        or before in ("night", "nite", "evening")  # "between 10 at night and 8 ..."
    )
    clock_after = after.isdigit() or after in _CLOCK_WORDS or ":" in after
    return clock_before and clock_after


@dataclass(slots=True)
class _Clause:
    concepts: list[tuple[str, int]]  # (concept, token position), in order
    site: str | None
    loads: list[str] = field(default_factory=list)
    question: bool = False
    imperative: bool = False
    direction: str | None = None  # "start" | "stop", explicit or inherited
    words: list[str] = field(default_factory=list)  # corrected words; names as "@site"/"@load"
    continues: bool = False  # the alert verb came from the previous clause ("ack 12 and 13")

    def has(self, concept: str) -> bool:
        return any(c == concept for c, _ in self.concepts)

    def first(self, *concepts: str) -> int | None:
        return next((pos for c, pos in self.concepts if c in concepts), None)

    def topics(self) -> set[str]:
        return {c for c, _ in self.concepts if c in _TOPICS}


def _scan_concepts(words: list[str]) -> list[tuple[str, int]]:
    concepts: list[tuple[str, int]] = []
    i = 0
    while i < len(words):
        for length in range(min(_MAX_PHRASE_LEN, len(words) - i), 0, -1):
            concept = _PHRASES.get(tuple(words[i : i + length]))
            if concept is not None:
                if concept != NEUTRAL:
                    concepts.append((concept, i))
                i += length
                break
        else:
            i += 1
    return concepts


def _lead_index(words: list[str]) -> tuple[int, bool]:
    """Index of the first meaningful word, and whether a polite command prefix preceded it."""
    i = 0
    polite = False
    while True:
        while i < len(words) and words[i] in _FILLERS:
            i += 1
        prefix = next(
            (p for p in _POLITE_PREFIXES if tuple(words[i : i + len(p)]) == p),
            None,
        )
        if prefix is None:
            return i, polite
        polite = True
        i += len(prefix)


_RESTATING = frozenset({"from", "to", "with", "on", "of", "in", "at", "mean", "ie", "i", "that"})


def _restates(clause: _Clause, previous: _Clause | None, has_qmark: bool) -> bool:
    """A short clause that only names again what the clause before named ("..., from the
    grid", "..., I mean the generator")."""
    if previous is None or has_qmark or clause.site is not None or len(clause.words) > 4:
        return False
    if not clause.words or clause.words[0] not in _RESTATING or not clause.concepts:
        return False
    return {c for c, _ in clause.concepts} <= {c for c, _ in previous.concepts}


_RANGE_WORDS = frozenset({"to", "till", "til", "until", "and", "from", "between", "-", "am", "pm"})


def _clock_range(words: list[str]) -> bool:
    """Whether ``words`` are only a window of two clock times ("11 to 7", "22:00-06:00")."""
    return len(_clock_times(words)) == 2 and all(
        w in _RANGE_WORDS or _clock_times([w]) for w in words
    )


def _is_fragment(words: list[str]) -> bool:
    """True for "home", "and tomorrow?", "what about barn"; False for "how is barn"."""
    lead, _ = _lead_index(words)
    if tuple(words[lead : lead + 2]) in (("what", "about"), ("how", "about")):
        return True
    return lead >= len(words) or words[lead] not in _QUESTION_STARTERS


def _analyse_clause(
    raw: list[tuple[str, str]], has_qmark: bool, previous: _Clause | None
) -> _Clause | None:
    words: list[str] = []
    site: str | None = None
    loads: list[tuple[str, int]] = []
    for kind, value in raw:
        if kind == "site":
            site = site or value
            words.append("@site")
        elif kind == "load":
            loads.append((value, len(words)))
            words.append("@load")
        else:
            words.append(_correct(value))
    concepts = _scan_concepts(words) + [(LOAD, pos) for _, pos in loads]
    concepts.sort(key=lambda c: c[1])
    clause = _Clause(concepts=concepts, site=site, loads=[name for name, _ in loads], words=words)
    if _restates(clause, previous, has_qmark):
        return None  # "activate the charging from the rete, from the grid": said again

    if not clause.topics():
        quiet_before = previous is not None and previous.first(QUIET, SILENCE) is not None
        if previous is not None and quiet_before and _clock_range(words):
            # "stop alerting me during the night, 11 to 7": the window of the clause before
            previous.words = [*previous.words, *words]
            return None
        if (
            previous is not None
            and not previous.question
            and previous.first(*_ALERT_VERBS) is not None
            and any(word.isdigit() for word in words)
        ):
            # "ack 12 and 13": the number is another alert (or silence) for the same verb.
            clause.concepts = [(c, p) for c, p in previous.concepts if c not in (ALERT,)]
            clause.continues = True
            return clause
        if site is None and not any(c in _TIME_WORDS for c, _ in concepts):
            return None  # nothing we understand: "thanks", "hey bot"
        if previous is not None and _is_fragment(words):
            # "battery at barn and home", "solar now and tomorrow": reuse the previous topic.
            times = {c for c, _ in concepts if c in _TIME_WORDS}
            kept = [(c, p) for c, p in previous.concepts if not (times and c in _TIME_WORDS)]
            clause.concepts = kept + [(c, p) for c, p in concepts if c in _TIME_WORDS]
            clause.loads = list(previous.loads)
            clause.question = previous.question
            clause.imperative = previous.imperative
            clause.direction = previous.direction
            return clause
        if site is None:
            return None

    lead, polite = _lead_index(words)
    lead_concept = next((c for c, pos in concepts if pos == lead), None)
    advice_pos = clause.first(ADVISE)
    direction_pos = clause.first(*_DIRECTIONS)
    if polite or lead_concept in _STATEMENT_LEADS:  # "I've seen it", "do not disturb ..."
        clause.question = False
    elif lead < len(words) and words[lead] in _QUESTION_STARTERS and not _i_do(clause, lead):
        clause.question = True
    elif lead_concept in _IMPERATIVE_LEADS:
        clause.question = False
    elif has_qmark:
        clause.question = True
    else:
        clause.question = previous.question if previous is not None else False
    if advice_pos is not None and (direction_pos is None or advice_pos < direction_pos):
        clause.question = True
    # "do not send me messages at night unless it is urgent": a quiet-hours lead asks
    commanded = polite or lead_concept in _IMPERATIVE_LEADS or lead_concept == QUIET
    stated = any(word in _STATE_WORDS for word in words) or (
        direction_pos is not None and words[direction_pos] in ("up", "down")
    )
    if not clause.question and not commanded and stated:
        # "the miners are off", "miners down": a report of state. "up" and "down" only
        # command after a verb ("bring the miners down", "fire the gen up").
        clause.question = True
    clause.imperative = not clause.question and (polite or lead_concept in _IMPERATIVE_LEADS)

    if direction_pos is not None:
        first_direction = next(c for c, pos in concepts if pos == direction_pos)
        clause.direction = "stop" if first_direction in (STOP, OFF) else "start"
    elif (
        previous is not None
        and not previous.question
        and not clause.question
        and not clause.has(NEGATE)
    ):
        clause.direction = previous.direction  # "stop the miners and the generator"
    alert_pos = clause.first(ALERT)
    if (
        previous is not None
        and alert_pos is not None
        and not previous.question
        and not clause.question
        and direction_pos is None
        and clause.first(*_ALERT_VERBS) is None
    ):
        # "silence battery and solar alerts": the second clause keeps the verb.
        verb = next((c for c, _ in previous.concepts if c in _ALERT_VERBS), None)
        if verb is not None:
            clause.concepts = sorted([*clause.concepts, (verb, alert_pos)], key=lambda c: c[1])
            clause.continues = True
    return clause


def _i_do(clause: _Clause, lead: int) -> bool:
    """ "I acknowledge the alert", "we snooze it": the person does, not asks."""
    if clause.words[lead] not in ("i", "we"):
        return False
    return any(c in _ALERT_VERBS and pos == lead + 1 for c, pos in clause.concepts)


def _clause_intents(clause: _Clause, site: str | None) -> list[Intent]:
    """The intents of one clause, in the order their topics appear."""
    found: list[tuple[int, Intent]] = []

    def add(pos: int | None, tool: str, **extra: Any) -> None:
        if pos is not None:
            found.append((pos, Intent(tool, {"site": site, **extra})))

    if _alert_admin_intents(clause, add):
        return [intent for _, intent in found]
    if not _action_intents(clause, add):
        battery_pos = clause.first(BATTERY)
        if battery_pos is None and not clause.has(GRID) and not clause.has(SOLAR):
            battery_pos = clause.first(CHARGE)  # "is it charging?" (not "is the sun charging")
        add(battery_pos, "battery_status")
        _solar_intents(clause, add)
    add(clause.first(ALERT), "active_alerts")
    if not found and not ("usage" in clause.words and clause.first(*_TIME_WORDS) is not None):
        add(clause.first(HELP), HELP_TOOL)  # not "tomorrow usage": the energy used
    if not found:
        # Status words, the site itself, or machines asked about rather than commanded.
        status_pos = clause.first(STATUS, SUBJECT, MINERS, LOAD, GENERATOR, GRID)
        if status_pos is None and clause.site is not None:
            status_pos = 0
        add(status_pos, "site_status")
    found.sort(key=lambda pair: pair[0])
    return [intent for _, intent in found]


def _action_intents(clause: _Clause, add: _Add) -> bool:
    """Add the commands of an imperative clause; True when any was added."""
    if clause.question:
        return False
    negated_pos = clause.first(NEGATE)
    direction_pos = clause.first(*_DIRECTIONS)
    negated = negated_pos is not None and (direction_pos is None or negated_pos < direction_pos)
    added = False

    grid_pos, charge_pos = clause.first(GRID), clause.first(CHARGE)
    if grid_pos is not None and charge_pos is not None:
        enabled: bool | None = None
        if direction_pos is not None or (clause.direction is not None and charge_pos > grid_pos):
            enabled = clause.direction == "start"  # "grid charging off", "... and grid charge"
        elif charge_pos < grid_pos or clause.imperative:
            enabled = True  # "charge from the grid"
        if negated:
            enabled = not enabled if enabled is not None else False
        if enabled is not None:
            add(min(grid_pos, charge_pos), "set_grid_charge", enabled=enabled)
            added = True

    if clause.direction is None or negated:
        return added
    miners_pos = clause.first(MINERS, LOAD)
    if miners_pos is not None:
        loads = list(dict.fromkeys(clause.loads)) or None
        add(miners_pos, f"{clause.direction}_miners", loads=loads)
        added = True
    generator_pos = clause.first(GENERATOR)
    if generator_pos is not None:
        add(generator_pos, f"{clause.direction}_generator")
        added = True
    return added


# --- alert housekeeping ------------------------------------------------------------------------


def _alert_admin_intents(clause: _Clause, add: _Add) -> bool:
    """Add acknowledge/snooze/silence/preference intents; True when the clause was one."""
    words = clause.words
    silence_pos = clause.first(SILENCE, SILENCES)
    verb_pos = clause.first(*_ALERT_VERBS)
    if silence_pos is not None and clause.has(PREVIEW):
        # "what would silencing the solar alerts match?", "preview a silence of ...": read-only.
        add(
            clause.first(PREVIEW, SILENCE, SILENCES),
            "silence_alerts",
            **_silence_args(clause, True),
        )
        return True
    if clause.question:
        if clause.has(SILENCES) and not clause.has(ADVISE):
            add(clause.first(SILENCES), "list_silences")  # "what is silenced?"
            return True
        if _asks_what_was_silenced(clause):
            add(clause.first(SILENCE, STOP, OFF, ALERT), "list_silences")
            return True
        if verb_pos is not None:
            add(verb_pos, "active_alerts")  # "should I snooze?": advice, not a command
            return True
        return False

    preferences = _preference_args(clause)
    if preferences is not None:
        prefs_pos = clause.first(QUIET, CRITICAL_ONLY, PREFS, ALERT) or 0
        add(prefs_pos, "set_alert_preferences", **preferences)
        return True
    if _turns_alerts_back_on(clause):
        # "turn the warnings back on", "I'd like the battery warnings to come back"
        add(clause.first(ALERT), "remove_silence", silence_id=_first_number(words, set()))
        return True
    negate_pos = clause.first(NEGATE)
    if verb_pos is not None and negate_pos is not None and negate_pos < verb_pos:
        add(verb_pos, "active_alerts")  # "don't snooze it"
        return True
    if clause.has(UNSILENCE) or (
        silence_pos is not None and (clause.has(REMOVE) or clause.has(STOP))
    ):
        pos = clause.first(UNSILENCE, REMOVE, STOP, SILENCE, SILENCES)
        add(pos, "remove_silence", silence_id=_first_number(words, set()))
        return True
    if silence_pos is not None and (clause.has(LIST) or verb_pos is None):
        add(clause.first(LIST, SILENCE, SILENCES), "list_silences")  # "show mutes"
        return True
    if clause.has(ACK):
        _, consumed = _duration(words)
        add(clause.first(ACK), "acknowledge_alert", alert_id=_first_number(words, consumed))
        return True
    if clause.has(SNOOZE) or clause.has(SILENCE) or _stops_alerts(clause):
        pos = clause.first(SNOOZE, SILENCE, STOP, OFF, ALERT) or 0
        if _is_snooze(clause):
            add(pos, "snooze_alert", **_snooze_args(clause))
        else:
            add(pos, "silence_alerts", **_silence_args(clause, False))
        return True
    return False


_PAST = frozenset({"did", "have", "has", "had", "earlier", "already", "before", "ive"})


def _asks_what_was_silenced(clause: _Clause) -> bool:
    """ "what alerts did I mute", "have I turned off any warnings?": existing silences."""
    if clause.has(ADVISE) or not _PAST & set(clause.words):
        return False
    words = set(clause.words)
    turned = bool(words & {"turned", "switched", "disabled"}) or clause.has(STOP)
    turned_off = clause.has(ALERT) and (turned or clause.has(OFF))
    return clause.has(SILENCE) or turned_off


def _turns_alerts_back_on(clause: _Clause) -> bool:
    """Alerts switched back on: the end of a silence, not a machine started."""
    if not clause.has(ALERT) or clause.first(MINERS, LOAD, GENERATOR, GRID) is not None:
        return False
    words = set(clause.words)
    back = "back" in words and bool(words & {"on", "come", "again", "coming", "bring", "turn"})
    return back or clause.has(START) or (clause.has(ON) and bool(words & {"turn", "switch"}))


def _share_durations(clauses: list[_Clause]) -> None:
    """ "silence battery and solar alerts for 2 days": the duration said last applies to all."""
    for earlier, later in reversed(list(pairwise(clauses))):
        if not later.continues or _duration(earlier.words)[0] is not None:
            continue
        if _until_tomorrow(earlier):
            continue
        minutes, consumed = _duration(later.words)
        if minutes is not None:
            earlier.words = [*earlier.words, "for", *(later.words[i] for i in sorted(consumed))]
        elif _until_tomorrow(later):
            earlier.words = [*earlier.words, "until", "tomorrow"]


def _stops_alerts(clause: _Clause) -> bool:
    """ "turn off the battery alerts", "disable notifications": a silence in other words."""
    if not clause.has(ALERT) or clause.first(MINERS, LOAD, GENERATOR) is not None:
        return False
    if clause.has(GRID) and clause.has(CHARGE):
        return False
    return clause.has(STOP) or "off" in clause.words


def _is_snooze(clause: _Clause) -> bool:
    """Snooze one alert ("mute this for 2h") rather than silence a group ("mute all ...")."""
    words = clause.words
    severity_word = any((word,) in _SEVERITIES and word in _PLURAL_SEVERITY for word in words)
    plural = any(w in _ALL_WORDS or w in _ALERT_NOUNS_PLURAL for w in words)
    if clause.has(SNOOZE) and not clause.has(SILENCE) and not plural:
        return True  # "snooze the battery alert till morning": one alert
    scoped = _lookup(words, _CATEGORIES) or _lookup(words, _RULES) or severity_word
    if scoped:
        return False
    if clause.has(SNOOZE) and not clause.has(SILENCE):
        return True
    _, consumed = _duration(words)
    if _first_number(words, consumed) is not None or any(w in _THIS_WORDS for w in words):
        return True
    broad = (
        clause.site is not None
        or clause.has(SUBJECT)
        or any(w in _ALL_WORDS or w in _ALERT_NOUNS_PLURAL for w in words)
    )
    if broad:
        return False
    if any(w in _ALERT_NOUNS_SINGULAR for w in words):
        return True  # "silence the alarm"
    return any(w in _MUTE_WORDS for w in words)  # "mute" alone: this alert; "silence": all


def _snooze_args(clause: _Clause) -> dict[str, Any]:
    words = clause.words
    minutes, consumed = _duration(words)
    until = None
    if minutes is None and _until_tomorrow(clause):
        until = "tomorrow"
    elif minutes is None:
        minutes = 60.0
    return {
        "alert_id": _first_number(words, consumed),
        "minutes": None if minutes is None else max(1, round(minutes)),
        "until": until,
    }


def _silence_args(clause: _Clause, preview: bool) -> dict[str, Any]:
    words = clause.words
    minutes, _ = _duration(words, bare_unit=60)
    return {
        "category": _lookup(words, _CATEGORIES),
        "rule": _lookup(words, _RULES),
        "severity": _lookup(words, _SEVERITIES),
        "hours": 24.0 if minutes is None else minutes / 60,
        "preview": preview,
    }


def _until_tomorrow(clause: _Clause) -> bool:
    return clause.has(TOMORROW) or any(
        w in _UNTIL_TOMORROW_WORDS or w == "tomorrow" for w in clause.words
    )


def _preference_args(clause: _Clause) -> dict[str, Any] | None:
    """Arguments of set_alert_preferences, or None when the clause sets none."""
    words = clause.words
    off = clause.has(NEGATE) or clause.has(STOP) or clause.has(REMOVE) or "off" in words
    critical_only: bool | None = None
    if clause.first(*_ALERT_VERBS) is None and not clause.has(SILENCES):
        critical = any(
            (word,) in _SEVERITIES and _SEVERITIES[(word,)] == "critical" for word in words
        )
        if critical and any(w in ("unless", "except", "but") for w in words):
            critical_only = True  # "no alerts at night unless they are critical"
        elif critical and any(w in _ONLY_WORDS for w in words):
            critical_only = not off  # "critical alerts only"; "not only critical"
        elif (
            clause.has(ALERT)
            and any(w in _AGAIN_WORDS for w in words)
            and any(w in _ALL_WORDS for w in words)
        ):
            critical_only = False  # "all alerts again"
    quiet_hours: list[str] | None = None
    clear = False
    if clause.has(QUIET):
        times = _clock_times(words)
        if _KEEP_AS_IS & set(words) and clause.has(NEGATE):
            return None  # "don't change my quiet hours": nothing to set
        if off and not _NO_ALERTS & set(words):
            clear = True  # "no quiet hours", "turn off do not disturb"
        elif len(times) >= 2:
            quiet_hours = times[:2]
        else:
            quiet_hours = _quiet_from(words, times)
    elif clause.has(PREFS) and clause.has(ALERT) and clause.has(REMOVE):
        clear = True  # "clear my alert preferences"
    else:
        quiet_hours = _quiet_said(words)
    if critical_only is None and quiet_hours is None and not clear:
        return None
    return {"critical_only": critical_only, "quiet_hours": quiet_hours, "clear": clear}


_KEEP_AS_IS = frozenset({"change", "touch", "modify", "alter", "edit", "mess"})
_NO_ALERTS = frozenset({"ping", "alerts", "notifications", "messages", "pings", "alarms"})
_NIGHT = frozenset({"night", "nite", "nights", "overnight", "tonight", "sleeping", "asleep"})
QUIET_END = "07:00"  # when a night's quiet ends if the message gives no end
QUIET_START = "22:00"


# Quiet hours said without naming them: "please do not send me messages between 10 pm and
# 7 am unless it is urgent", "in the night from 22 to 7 send me only the important alarms",
# "stop alerting me during the night". It takes a way of reaching the person, a night or a
# window of two clock times, and a word that holds messages back.
_REACH_WORDS = frozenset(
    {
        "send", "sending", "alert", "alerting", "ping", "pinging", "message", "messaging",
        "notify", "notifying", "text", "texting", "wake", "waking", "bother", "bothering",
        "disturb", "disturbing", "buzz", "buzzing", "messages", "notifications", "pings",
        "alerts", "alarms", "texts",
    }
)  # fmt: skip
_HOLD_BACK = frozenset({"not", "dont", "no", "never", "stop", "only", "unless", "except", "but"})
_ALL_NIGHT = frozenset({"night", "nights", "overnight", "nighttime", "nite"})


def _quiet_said(words: list[str]) -> list[str] | None:
    if not {"me", "us"} & set(words) or not _REACH_WORDS & set(words):
        return None
    if not _HOLD_BACK & set(words) or _lookup(words, _CATEGORIES) is not None:
        return None  # "send me the alerts from 10 to 7"; "no battery alerts tonight": a silence
    times = _clock_times(words)
    if len(times) >= 2:
        start, end = times[:2]
        if _ALL_NIGHT & set(words) and end < start < "12:00":
            start = f"{int(start[:2]) + 12:02d}{start[2:]}"  # "during the night, 11 to 7"
        return [start, end]
    if not times and _ALL_NIGHT & set(words):
        return [QUIET_START, QUIET_END]
    return None


def _quiet_from(words: list[str], times: list[str]) -> list[str] | None:
    """Quiet hours from one time ("no alerts after 11pm") or the night alone ("don't ping
    me at night unless it's critical"); None when the words give neither."""
    if len(times) == 1 and {"after", "from", "past"} & set(words):
        return [times[0], QUIET_END]
    if not times and _NIGHT & set(words):
        return [QUIET_START, QUIET_END]
    return None


def _solar_intents(clause: _Clause, add: _Add) -> None:
    solar_pos = clause.first(SOLAR)
    others = clause.first(BATTERY, GENERATOR, MINERS, LOAD, GRID, ALERT, HELP)
    if solar_pos is None and others is None:
        solar_pos = clause.first(PRODUCE)
    future = clause.first(FUTURE, FORECAST, TOMORROW, TODAY)
    if solar_pos is None and others is None:
        forecast_pos = clause.first(FORECAST)
        weather_pos = clause.first(WEATHER)
        if forecast_pos is None and weather_pos is not None and future is not None:
            forecast_pos = weather_pos
        if forecast_pos is not None:
            add(forecast_pos, "solar_forecast", day=_day(clause))
        return
    if solar_pos is None:
        return
    now_only = clause.has(NOW) and not clause.has(TOMORROW)
    if future is not None and not now_only:
        add(solar_pos, "solar_forecast", day=_day(clause))
    else:
        add(solar_pos, "solar_now")


def _day(clause: _Clause) -> str:
    return "tomorrow" if clause.has(TOMORROW) else "today"


def _merge(intents: list[Intent]) -> list[Intent]:
    """Drop duplicates; fold "stop miner-1 and miner-2" into one call per tool and site."""
    merged: list[Intent] = []
    acked = {
        i.args["site"] for i in intents if i.tool == "acknowledge_alert" and i.args["alert_id"]
    }
    for intent in intents:
        if intent in merged:
            continue
        if (
            intent.tool == "acknowledge_alert"
            and intent.args["alert_id"] is None
            and intent.args["site"] in acked
        ):
            continue  # "got it, ack 22": the bare "got it" is the same acknowledgement
        if intent.tool in ("stop_miners", "start_miners"):
            earlier = next(
                (
                    i
                    for i, seen in enumerate(merged)
                    if seen.tool == intent.tool and seen.args["site"] == intent.args["site"]
                ),
                None,
            )
            if earlier is not None:
                old, new = merged[earlier].args["loads"], intent.args["loads"]
                loads = None if old is None or new is None else list(dict.fromkeys(old + new))
                merged[earlier] = Intent(intent.tool, {**merged[earlier].args, "loads": loads})
                continue
        merged.append(intent)
    return merged
