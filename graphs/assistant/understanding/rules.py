"""The rules of the offline planner: arguments from words, clauses, and a rule router.

The classifier (:mod:`.classifier`) decides intents; these rules read the arguments
(sites, loads, alert and silence ids, durations, clock times, report periods) and
split combined questions into clauses. :func:`route` is the hand-written router
the planner started from; :mod:`.routing` uses it as a precise second opinion.
The rule router is pure and table-driven:

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

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any

TOOL_NAMES: tuple[str, ...] = (
    "site_status",
    "battery_status",
    "solar_now",
    "solar_forecast",
    "active_alerts",
    "stop_miners",
    "start_miners",
    "set_grid_charge",
    "start_generator",
    "stop_generator",
    "acknowledge_alert",
    "snooze_alert",
    "silence_alerts",
    "list_silences",
    "remove_silence",
    "set_alert_preferences",
    "set_role",
    "battery_outlook",
    "miner_plan",
    "grid_charge_advice",
    "fuel_outlook",
    "solar_scorecard",
    "set_preferences",
    "energy_report",
    "search_knowledge",
    "generator_plan",
)

HELP_TOOL = "help"

_Add = Callable[..., None]  # add(position, tool, **extra_args)


@dataclass(frozen=True, slots=True)
class Intent:
    """One tool call the assistant should make."""

    tool: str  # one of TOOL_NAMES, or "help"
    args: dict[str, Any]  # arguments for the tool; always holds "site"


# --- concepts ---------------------------------------------------------------------------------

HELP = "help"
STATUS = "status"  # "status", "overview", "what's going on"
SUBJECT = "subject"  # the site as a whole: "site", "system", "everything", "power"
BATTERY = "battery"
SOLAR = "solar"
PRODUCE = "produce"  # "producing", "output": solar when nothing else is named
FORECAST = "forecast"  # the noun: "forecast", "outlook", "prediction"
FUTURE = "future"  # "will", "going to", "expected"
TOMORROW = "tomorrow"
TODAY = "today"
NOW = "now"
WEATHER = "weather"  # solar forecast only together with a time in the future
ALERT = "alert"
MINERS = "miners"
LOAD = "load"  # a specific load named in load_names
GENERATOR = "generator"
GRID = "grid"
CHARGE = "charge"
STOP = "stop"
START = "start"
OFF = "off"
ON = "on"
VERB = "verb"  # neutral imperative verbs: "turn", "switch", "shut"
NEGATE = "negate"
ADVISE = "advise"  # "should", "safe to": asking for advice, not giving a command
NEUTRAL = "neutral"  # known words that must not be "corrected" into something else
# Alert housekeeping.
ACK = "ack"  # "ack", "acknowledge", "I've seen it", "got it"
SNOOZE = "snooze"  # "snooze", "remind me later"
SILENCE = "silence"  # the verb (and the noun "silence"): "silence", "mute", "suppress"
SILENCES = "silences"  # existing silences or muted state: "silences", "mutes", "silenced"
UNSILENCE = "unsilence"  # "unsilence", "unmute"
REMOVE = "remove"  # "remove", "delete", "end", "cancel", "lift", "clear"
LIST = "list"  # "list", "show", "display"
PREVIEW = "preview"  # "preview", "dry run", "what would ... match"
QUIET = "quiet"  # "quiet hours", "do not disturb"
PREFS = "prefs"  # "preferences", "settings"
CRITICAL_ONLY = "critical_only"  # "only critical", "just critical ones"

# Each concept and the phrases that express it ("|" separates phrases). Longest phrase wins.
_PHRASE_TABLE: tuple[tuple[str, str], ...] = (
    (
        HELP,
        "help|commands|command list|usage|menu|capabilities|what can you do|what do you do"
        "|what can i ask|what can i say|what do you understand|what do you know"
        "|how does this work|how do i use this|how do i use you|instructions",
    ),
    (
        STATUS,
        "status|overview|summary|sitrep|report|update|dashboard|stats|health|state|numbers"
        "|readings|figures"
        "|whats going on|what is going on|whats happening|what is happening|whats up|sup"
        "|all good|all ok|all okay|hows it going|how is it going|how are we doing|how we doing"
        "|hows it looking|how is it looking|how does it look|how do things look",
    ),
    (
        SUBJECT,
        "site|sites|system|plant|setup|house|farm|inverter|inverters|power|energy|consumption"
        "|everything|things|overall|place|load|demand|usage|house load|site load|draw|drawing"
        "|exporting|importing|export|import|exports|imports|feeding in|feed in|selling back",
    ),
    (
        BATTERY,
        "battery|batteries|batt|batts|bat|soc|state of charge|charge level|charge left"
        "|how much charge|how full|charged|bank|battery bank|cells|percent|percentage|juice"
        "|kwh left|kwh remaining|energy left|energy remaining|stored energy|energy stored",
    ),
    (
        SOLAR,
        "solar|pv|panel|panels|array|arrays|sun|sunny|sunshine|sunlight|photovoltaic"
        "|photovoltaics|irradiance|solar power|modules",
    ),
    (PRODUCE, "producing|production|output|yield|generating|generation|harvest"),
    (FORECAST, "forecast|forecasts|forecasted|prediction|predictions|predict|outlook"),
    (
        FUTURE,
        "will|going to|gonna|expected|expect|expecting|projected|later|this afternoon"
        "|this evening|rest of the day",
    ),
    (TOMORROW, "tomorrow|tomorrows|tmrw|tmr|tmw|next day"),
    (TODAY, "today|todays|tonight|tonights"),
    (NOW, "now|right now|currently|current|at the moment|atm|live|instant"),
    (WEATHER, "weather|cloudy|clouds|cloud|overcast|rain|rainy|clear sky|clear skies"),
    (
        ALERT,
        "alert|alerts|alarm|alarms|warning|warnings|problem|problems|issue|issues|fault"
        "|faults|error|errors|wrong|broken|trouble|failure|failures|notifications|worry"
        "|firing|fired|triggered|tripped",
    ),
    (
        MINERS,
        "miner|miners|mining|rig|rigs|asic|asics|mining machines|mining machine|mining rigs"
        "|hashers|hashing|antminer|antminers|bitcoin miners|bitcoin mining|btc miners",
    ),
    (
        GENERATOR,
        "generator|generators|genset|gensets|gen set|gen|genny|genie|diesel|backup generator",
    ),
    (GRID, "grid|mains|utility|utility power|from the grid"),
    (CHARGE, "charge|charging|charger"),
    (
        STOP,
        "stop|halt|kill|pause|disable|suspend|deactivate|cut|cease|turn off|switch off"
        "|shut off|shut down|shutdown|power off|power down|cut off|take offline|unplug"
        "|put to sleep|stop all|shut",
    ),
    (
        START,
        "start|resume|restart|enable|run|activate|launch|begin|boot|reboot|unpause|turn on"
        "|switch on|power on|power up|fire up|spin up|kick on|crank up|bring back|back on"
        "|start up|startup|crank|reenable|re enable",
    ),
    (
        ACK,
        "ack|acks|acked|ackd|acknowledge|acknowledged|acknowledging|acknowledgement"
        "|acknowledgment|ive seen it|i have seen it|i saw it|seen it|saw it|got it|dismiss"
        "|ive seen alert|i have seen alert|i saw alert|seen alert|saw alert|ive seen the alert"
        "|i have seen the alert|i saw the alert|seen the alert|saw the alert|weve seen it"
        "|ive seen alarm|seen alarm|seen the alarm|saw the alarm"
        "|dismissed|mark as seen|mark as read|mark seen|mark read",
    ),
    (SNOOZE, "snooze|snoozes|snoozed|snoozing|remind me later|remind me|ask me later"),
    (
        SILENCES,
        "silences|mutes|silenced|muted|suppressed|suppressions|active silence|active silences"
        "|current silence|current silences|silence list|list of silences|on mute",
    ),
    (SILENCE, "silence|silencing|mute|muting|suppress|suppressing|hush|shush|shut up"),
    (UNSILENCE, "unsilence|unsilenced|unmute|unmuted|unsnooze"),
    (REMOVE, "remove|delete|del|rm|end|cancel|lift|clear|drop|undo|get rid of"),
    (LIST, "list|show|display|view|see|show me"),
    (
        PREVIEW,
        "preview|previews|dry run|dryrun|what would|which would|would match|would it match"
        "|would that match|simulate",
    ),
    (
        QUIET,
        "quiet hours|quiet hour|quiet hrs|quiet time|quiet times|quiet period|quite hours"
        "|do not disturb|dnd|night mode|dont bother me|do not bother me|dont disturb me"
        "|dont wake me|do not wake me|silent hours|sleep hours|quiet|dont ping me|do not ping me"
        "|dont message me|do not message me|dont notify me|do not notify me|dont alert me"
        "|do not alert me|dont disturb|dont text me|no pings|no notifications",
    ),
    (PREFS, "preferences|preference|prefs|settings|notification settings|alert settings"),
    (
        CRITICAL_ONLY,
        "only critical|critical only|just critical|only the critical|only urgent|urgent only"
        "|just urgent|critical ones only|only critical ones|just the critical",
    ),
    (OFF, "off|offline|down"),
    (ON, "on|online|up"),
    (VERB, "turn|switch|shut|put|set|bring|fire|go ahead and|lets|let us"),
    (NEGATE, "dont|do not|never|no|not|without|stop using"),
    (ADVISE, "should|shall|ought|safe|worth|whether|ok to|okay to|fine to|advisable"),
    (
        NEUTRAL,
        "what|whats|how|hows|is|are|the|a|an|there|their|some|come|much|many|tell|me|make"
        "|making|thanks|thank|please|joke|time|mine|ring|star|stopped|started|running"
        "|stopping|starting|with|from|this|that|these|those|have"
        "|been|being|about|also|plus|then|when|where|which|would|could|doing|going|getting"
        "|looking|like|level|full|right|enough|last|until|over|under|into|onto|just|good"
        "|okay|fine|well|funny|song|story|name|hello|hey|weekend|sunset|sunrise|mind|shop",
    ),
)

# Topics: concepts that say *what* is asked about (a clause without one inherits its topic).
_TOPICS = frozenset(
    {
        HELP,
        STATUS,
        SUBJECT,
        BATTERY,
        SOLAR,
        PRODUCE,
        FORECAST,
        WEATHER,
        ALERT,
        MINERS,
        LOAD,
        GENERATOR,
        GRID,
        ACK,
        SNOOZE,
        SILENCE,
        SILENCES,
        UNSILENCE,
        QUIET,
        PREFS,
        CRITICAL_ONLY,
    }
)
_ALERT_VERBS = (ACK, SNOOZE, SILENCE, UNSILENCE)
# Leading phrases that make a statement, even when they start with "i" or "do".
_STATEMENT_LEADS = frozenset({ACK, QUIET})
# Modifiers a topic-less clause may add to an inherited topic ("solar now and tomorrow?").
_TIME_WORDS = frozenset({TOMORROW, TODAY, NOW, FUTURE})
_DIRECTIONS = frozenset({STOP, START, OFF, ON})
_IMPERATIVE_LEADS = frozenset(
    {STOP, START, VERB, CHARGE, NEGATE, ACK, SNOOZE, SILENCE, UNSILENCE, REMOVE}
)

# Words that split a message into clauses, and clause-ending punctuation.
_SPLIT_WORDS = frozenset({"and", "plus", "also", "then", "n"})
_SEPARATORS = frozenset({",", ";", "&", "+", "?", ".", "!", "/"})
_BREAK_ITEMS = frozenset(("word", word) for word in _SPLIT_WORDS | _SEPARATORS)

# Words skipped at the start of a clause when deciding between question and command.
_FILLERS = frozenset(
    {
        "hey",
        "hi",
        "hello",
        "ok",
        "okay",
        "so",
        "bot",
        "please",
        "pls",
        "plz",
        "kindly",
        "yo",
        "um",
        "uh",
        "hmm",
        "well",
        "now",
        "quick",
        "quickly",
        "just",
        "oh",
        "right",
        "alright",
        "go",
        "immediately",
        "asap",
    }
)
# Words that make a clause without an imperative lead a statement about state, never a command.
_STATE_WORDS = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "been",
        "went",
        "seems",
        "seem",
        "looks",
        "still",
        "already",
    }
)
# A polite wrapper around a command: "can you stop the miners?" is still a command.
_POLITE_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("can", "you"),
    ("could", "you"),
    ("would", "you"),
    ("will", "you"),
    ("can", "u"),
    ("could", "u"),
    ("would", "you", "mind"),
    ("i", "want", "you", "to"),
    ("i", "need", "you", "to"),
    ("i", "want", "to"),
    ("i", "would", "like", "to"),
    ("id", "like", "to"),
    ("i", "wanna"),
    ("go", "ahead", "and"),
    ("lets",),
    ("let", "us"),
)
# First words that make a clause a question (unless a polite prefix matched first).
_QUESTION_STARTERS = frozenset(
    {
        "should",
        "shall",
        "is",
        "are",
        "am",
        "was",
        "were",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "why",
        "when",
        "what",
        "whats",
        "which",
        "who",
        "whos",
        "where",
        "wheres",
        "how",
        "hows",
        "will",
        "would",
        "could",
        "can",
        "must",
        "may",
        "might",
        "isnt",
        "arent",
        "didnt",
        "doesnt",
        "wont",
        "if",
        "whether",
        "any",
        "anything",
        "we",
        "i",
        "maybe",
        "perhaps",
    }
)

# Silence matchers, read from a clause's words ("|" separates phrases; longest phrase wins).
_CATEGORY_TABLE: tuple[tuple[str, str], ...] = (
    (
        "battery",
        "battery|batteries|batt|batts|bat|soc|state of charge|charge level|bank|battery bank|cells",
    ),
    ("grid", "grid|mains|utility"),
    ("inverter", "inverter|inverters"),
    (
        "device",
        "device|devices|sensor|sensors|meter|meters|connection|connectivity|comms"
        "|communication|communications|telemetry",
    ),
    (
        "solar",
        "solar|pv|panel|panels|array|arrays|photovoltaic|photovoltaics|modules|solar power",
    ),
    (
        "load",
        "load|loads|consumption|usage|demand|miner|miners|mining|rig|rigs|asic|asics|@load",
    ),
    (
        "generator",
        "generator|generators|genset|gensets|gen set|gen|genny|diesel|fuel|backup generator",
    ),
    (
        "cost",
        "cost|costs|price|prices|pricing|bill|bills|tariff|tariffs|spend|spending|money"
        "|budget|expensive",
    ),
    (
        "opportunity",
        "opportunity|opportunities|tip|tips|suggestion|suggestions|recommendation"
        "|recommendations|surplus|excess",
    ),
)
_RULE_TABLE: tuple[tuple[str, str], ...] = (
    ("battery_soc_low", "low battery|battery low|low soc|soc low|low charge"),
    ("battery_discharge_high", "discharge|discharging|high discharge|discharge rate"),
    ("device_offline", "offline|off line|went offline|disconnected|unreachable"),
    (
        "grid_outage",
        "outage|outages|blackout|blackouts|power cut|power cuts|power outage|grid down",
    ),
    ("inverter_fault", "inverter fault|inverter faults|inverter error|inverter errors"),
    ("battery_full_curtailed", "curtailed|curtailment|curtailing"),
    ("daily_cost_high", "daily cost|daily costs|daily spend|daily spending"),
    ("monthly_cost_high", "monthly cost|monthly costs|monthly bill|monthly spend"),
    ("fuel_use_high", "fuel use|fuel usage|fuel consumption|high fuel"),
    ("fuel_tank_low", "fuel tank|low fuel|fuel low|fuel level|tank low|low tank"),
    ("generator_service_due", "service|servicing|maintenance|service due"),
    ("stuck_value", "stuck|stuck value|stuck values|frozen|stale|stale data"),
    ("high_load", "high load|overload|overloaded|overloading|load high"),
    ("excess_solar_idle_miners", "idle miners|idle miner|excess solar|spare solar"),
    (
        "solar_underperformance",
        "underperformance|under performance|underperforming|under performing"
        "|underproducing|under producing|underproduction|low production|low yield",
    ),
)
_SEVERITY_TABLE: tuple[tuple[str, str], ...] = (
    ("critical", "critical|criticals|crit|urgent|severe|emergency|emergencies"),
    ("warning", "warning|warnings|warn"),
    ("info", "info|infos|informational|information|notice|notices|fyi"),
)
_PLURAL_SEVERITY = frozenset({"criticals", "warnings", "infos", "notices", "emergencies"})
_ALERT_NOUNS_PLURAL = frozenset(
    {"alerts", "alarms", "warnings", "notifications", "problems", "issues", "faults", "errors"}
)
_ALERT_NOUNS_SINGULAR = frozenset(
    {"alert", "alarm", "warning", "notification", "problem", "issue", "fault", "error"}
)
_ALL_WORDS = frozenset({"all", "every", "everything", "anything", "everyone", "whole"})
_THIS_WORDS = frozenset({"this", "it", "that", "one"})
_MUTE_WORDS = frozenset({"mute", "muting", "hush", "shush", "shut"})
_ONLY_WORDS = frozenset({"only", "just", "solely", "exclusively"})
_AGAIN_WORDS = frozenset({"again", "back"})
_UNTIL_TOMORROW_WORDS = frozenset({"overnight", "morning", "tonight", "night"})

# Durations: number words and units in minutes ("2h", "30 min", "half an hour", "a day").
_NUMBER_WORDS: dict[str, float] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "half": 0.5,
    "couple": 2,
    "few": 3,
}
_UNIT_MINUTES: dict[str, float] = {
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "d": 1440,
    "day": 1440,
    "days": 1440,
    "w": 10080,
    "wk": 10080,
    "wks": 10080,
    "week": 10080,
    "weeks": 10080,
}
_CLOCK_RE = re.compile(r"(\d{1,2})[:.](\d{2})")
_CLOCK_WORDS = {"midnight": (0, 0), "noon": (12, 0), "midday": (12, 0)}
_MERIDIEM = frozenset({"am", "pm"})
# Known words that take part in no phrase but must not be "corrected" into one.
_EXTRA_WORDS = frozenset(
    {
        "only",
        "solely",
        "exclusively",
        "again",
        "quite",
        "quiet",
        "oclock",
        "clock",
        "remind",
        "performance",
        "performing",
    }
    | _ALL_WORDS
    | _THIS_WORDS
    | _MUTE_WORDS
    | _UNTIL_TOMORROW_WORDS
    | _MERIDIEM
    | set(_NUMBER_WORDS)
    | set(_UNIT_MINUTES)
    | set(_CLOCK_WORDS)
)

_TOKEN_RE = re.compile(r"\d{1,2}:\d{2}|\d+\.\d+|[a-z]+|\d+|[?,;&+.!/]")
_NAME_TOKEN_RE = re.compile(r"[a-z]+|\d+")
_APOSTROPHE_RE = re.compile(r"['’‘`´]")
_FUZZY_CUTOFF = 0.8
_MIN_FUZZY_LEN = 4


def _build_phrases() -> dict[tuple[str, ...], str]:
    phrases: dict[tuple[str, ...], str] = {}
    for concept, spelled in _PHRASE_TABLE:
        for phrase in spelled.split("|"):
            words = tuple(phrase.split())
            phrases.setdefault(words, concept)  # first concept listed wins
    return phrases


def _build_table(table: tuple[tuple[str, str], ...]) -> dict[tuple[str, ...], str]:
    return {tuple(p.split()): value for value, spelled in table for p in spelled.split("|")}


_PHRASES: dict[tuple[str, ...], str] = _build_phrases()
_MAX_PHRASE_LEN = max(len(words) for words in _PHRASES)
_CATEGORIES = _build_table(_CATEGORY_TABLE)
_RULES = _build_table(_RULE_TABLE)
_SEVERITIES = _build_table(_SEVERITY_TABLE)
_VOCABULARY: frozenset[str] = frozenset(
    word
    for table in (_PHRASES, _CATEGORIES, _RULES, _SEVERITIES)
    for words in table
    for word in words
    if word.isalpha()
) | (_FILLERS | _QUESTION_STARTERS | _SPLIT_WORDS | _EXTRA_WORDS)


# --- public API -------------------------------------------------------------------------------


def route(
    text: str, *, site_names: Sequence[str] = (), load_names: Sequence[str] = ()
) -> list[Intent]:
    """Intents in the order asked; [] when nothing is understood."""
    stripped = text.strip()
    if stripped and set(stripped) <= {"?", " "}:
        return [Intent(HELP_TOOL, {"site": None})]
    role_change = _role_change(stripped)
    if role_change is not None:
        return [role_change]
    preference = _preference_change(stripped, site_names)
    if preference is not None:
        return [preference]
    knowledge = _knowledge(stripped, site_names)
    if knowledge is not None:
        return [knowledge]
    outlook = _outlook(stripped, site_names)
    if outlook is not None:
        return [outlook]
    tokens = _tokenize(text)
    if not tokens:
        return []
    items = _mark_names(tokens, site_names, load_names)
    global_site = next((value for kind, value in items if kind == "site"), None)

    clauses: list[_Clause] = []
    previous: _Clause | None = None
    for raw_clause, has_qmark in _split_clauses(items):
        clause = _analyse_clause(raw_clause, has_qmark, previous)
        if clause is None:
            continue
        clauses.append(clause)
        previous = clause
    _share_durations(clauses)
    intents: list[Intent] = []
    for clause in clauses:
        intents.extend(_clause_intents(clause, clause.site or global_site))
    return _merge(intents)


_ROLE_WORDS = {
    "admin": "admin",
    "administrator": "admin",
    "operator": "operator",
    "viewer": "viewer",
    "finance": "finance",
    "read-only": "viewer",
}
_ROLE_CHANGE = re.compile(
    r"^(?:please\s+)?(?:make|set|give|promote|demote)\s+(?:the\s+role\s+of\s+)?"
    r"<?@?(?P<user>[A-Za-z0-9._-]{2,40})>?\s+(?:to\s+|an?\s+|the\s+)?(?:role\s+)?"
    r"(?P<role>admin|administrator|operator|viewer|finance|read-only)(?:\s+role)?[.!]?$",
    re.IGNORECASE,
)


_SCORECARD = re.compile(
    r"\bscorecard\b|\b(forecast|prediction)\b.*\b(accura\w*|vs\.?|versus|did|right|wrong|good"
    r"|well|close|off)\b"
    r".*\byesterday\b|\byesterday'?s?\b.*\b(forecast|prediction)\b"
    r"|\b(accura\w*|good|well|close|right|wrong)\b.*\b(forecast|prediction)\b.*\byesterday\b"
    r"|\b(accura\w*|reliab\w*|trustworthy|spot on)\b.*\b(forecasts?|predictions?)\b"
    r"|\b(forecasts?|predictions?)\b.*\b(accuracy|accurate|reliab\w*|error|bias"
    r"|(vs\.?|versus|against|compared (to|with)) (the )?(actual|measured|real))\b",
    re.IGNORECASE,
)


_GEN = r"(generator|genset|gen|genny|generater|genrator)"

# Within one clause: any text up to a clause break ("and", ",", "?", ...).
_GAP = r"(?:(?!\b(?:and|plus|also|then)\b)[^,;&+?.!])*"
_BATT = r"(battery|batteries|batt|soc|bank)"
_LATER = r"(morning|sunrise|dawn|night|overnight|tonight|tomorrow|later|evening|midnight)"

_OUTLOOKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("solar_scorecard", _SCORECARD),
    (
        "grid_charge_advice",
        re.compile(
            r"\b(should|do|shall)\s+(i|we)\b.*\b(grid[- ]?charg\w*|charge\b.*\bgrid)"
            r"|\bgrid[- ]?charg\w*\b.*\b(tonight|overnight)\b.*\?"
            r"|\b(worth|good idea|make sense|sensible)\b.*\bcharg\w*\b.*\bgrid\b"
            r"|\bcharg\w*\s+from\s+(the\s+)?grid\b.*\b(tonight|overnight)\b"
            r"|\bgrid[- ]?charg\w*\b.*\b(good idea|worth it|sensible|make sense|needed|necessary)"
            r"|\bgrid[- ]?charg\w*\s+(advice|advise|recommendation|plan|suggestion)s?\b"
            r"|\b(advice|advise|recommend\w*)\b.*\bgrid[- ]?charg\w*"
            r"|\b(worth|good idea|make sense|sensible|cheaper)\b.*\b(top\w* up|buy\w*|import\w*"
            r"|pull\w*)\b.*\bgrid\b"
            r"|\b(should|do|shall)\s+(i|we)\b.*\b(top\w* up|buy|import|pull)\b.*\bgrid\b"
            r"|\b(should|do|shall)\s+(i|we)\b.*\bgrid\b.*\b(tonight|overnight)\b"
            r"|\b(need|have)\s+to\s+(grid[- ]?charge|charge\b.*\bgrid)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "miner_plan",
        re.compile(
            r"\bminers?\b.*\b(plan|schedule|carry|enough|all day|when (should|can|to))\b"
            r"|\b(plan|schedule)\b.*\bminers?\b"
            r"|\b(sun|solar)\b.*\b(carry|enough)\b.*\bminers?\b"
            r"|\benough\b.*\b(sun|solar)\b.*\bminers?\b"
            r"|\b(when|what time|which hours|best (time|hours))\b.*\bminers?\b"
            r".*\b(today|tonight|tomorrow|this (morning|afternoon|evening))\b"
            r"|\b(best|which|what) (hours?|time)\b.*\b(mining|to mine)\b"
            r"|\bmining\b.*\b(plan|schedule|window|hours)\b"
            r"|\b(can|could|should|will)\b.*\bminers?\b.*\b(run|mine)\b"
            r".*\b(tomorrow|today|tonight|on (solar|sun|surplus))\b"
            r"|\b(when|what time|which hours)\s+(should|can|could|do|to)\b.*\b(run|start|mine)\b"
            r".*\bminers?\b"
            r"|\b(when|what time)\s+(should|can|could|will|do)\b.*\b(miners?|rigs?)\b"
            r".*\b(run|mine|go|be on|start)\b"
            r"|\b(should|can|could)\s+(we|i)\s+mine\b"
            r"|\bhow many (miners|rigs)\b.*\b(can|could|should|to)\b"
            r"|\b(can|could|should)\s+(we|i)\s+(run|keep|mine)\b.*\bminers?\b"
            r".*\b(tomorrow|today|tonight|overnight|this (morning|afternoon|evening)|all day)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "generator_plan",
        re.compile(
            rf"\b{_GEN}\b.*\b(plan|schedule|timetable)\b|\b(plan|schedule)\b.*\b{_GEN}\b"
            rf"|\b(when|what time|best time|which hours)\b.*\b(run|start|use)\b.*\b{_GEN}\b"
            rf"|\b(when|what time|which hours)\b.*\b{_GEN}\b.*\b(run|start|on)\b"
            rf"|\bhow (long|many hours)\b.*\b(should|to|do|must|need|will)\b.*\b{_GEN}\b"
            rf"|\bhow (long|many hours)\b.*\b{_GEN}\b.*\b(should|need|will|must)\b"
            rf"|\b(need|have)\s+to\s+run\b.*\b{_GEN}\b"
            rf"|\bneed\b.*\b{_GEN}\b.*\b(tonight|tomorrow|today|this (evening|week))\b"
            rf"|\b(should|do|shall)\s+(i|we)\s+(run|start|use)\b.*\b{_GEN}\b.*"
            r"\b(tonight|tomorrow|today|this (evening|morning|afternoon|week))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "fuel_outlook",
        re.compile(
            r"\b(diesel|fuel)\b.*\b(month|30 days|weeks?|burn|need|use)\b"
            r"|\bhow much (diesel|fuel)\b"
            r"|\b(diesel|fuel)\s+(outlook|forecast|projection|runway)\b"
            r"|\b(days?|weeks?|hours?)\s+of\s+(diesel|fuel)\b"
            r"|\bhow (long|many days)\b.*\b(diesel|fuel)\b.*\b(last|left)\b"
            r"|\b(diesel|fuel)\b.*\b(run out|last)\b"
            r"|\b(run|running)\s+(out|low|short)\s+(of|on)\s+(diesel|fuel|gas)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "battery_outlook",
        re.compile(
            rf"\b{_BATT}\b{_GAP}\b(run out|last|until|empty|outlook|projection|forecast"
            r"|prediction|tonight|tomorrow)\b"
            r"|\bwhen will the battery\b"
            rf"|\b{_BATT}\b{_GAP}\b(through the night|make it|hold out|get us through)\b"
            rf"|\bhow long\b{_GAP}\b(can|will|could)\s+(we|i|it|the site)\b{_GAP}\b(run|last|go)\b"
            rf"{_GAP}\b(on|from)\s+(the\s+)?battery\b"
            rf"|\bhow long\b{_GAP}\b{_BATT}\b{_GAP}\b(last|hold|run)\b"
            rf"|\b(soc|charge)\b{_GAP}\b(projection|outlook|forecast|prediction)\b"
            rf"|\b(projected|predicted|expected|forecast)\s+(battery|soc|charge)\b"
            rf"|\b(will|gonna|going to)\b{_GAP}\b{_BATT}\b{_GAP}\b{_LATER}\b"
            rf"|\b{_BATT}\b{_GAP}\b(will|gonna|going to)\b{_GAP}\b{_LATER}\b"
            rf"|\b{_BATT}\b{_GAP}\b(hit|reach|get to|drop to|fall to|go below|drop below)\b{_GAP}"
            r"\b(floor|minimum|min|empty|zero|reserve|bottom)\b"
            r"|\brun\s+out\s+of\s+(battery|charge|power|juice)\b"
            rf"|\bhow long (until|till|before)\b{_GAP}\b{_BATT}\b"
            rf"|\b{_BATT}\b{_GAP}\b(be|go|goes|get|gets|is)\s+(flat|dead|drained|depleted)\b"
            rf"|\b(make it|last|get us|hold)\b{_GAP}\b(sunrise|dawn|morning)\b",
            re.IGNORECASE,
        ),
    ),
)


_PCT = r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|pct|per\s*cent)?"
_FLOOR_CHANGE = re.compile(
    r"^(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+|from\s+now\s+on,?\s+)*"
    r"(?:"
    r"(?:always\s+)?(?:keep|hold|maintain)\s+(?:the\s+|my\s+|our\s+)?(?:battery|batt|soc)"
    r"(?:\s+soc|\s+charge|\s+level)?\s+(?:at\s+or\s+)?(?:above|over|at\s+least|>=?)\s+"
    + _PCT
    + r"|(?:do\s*n[o']?t|never)\s+let\s+(?:the\s+|my\s+|our\s+)?(?:battery|batt|soc)"
    r"(?:\s+soc|\s+charge|\s+level)?\s+(?:go|drop|fall|get|dip|run)\s+(?:below|under|lower\s+than)\s+"
    + _PCT
    + r"|(?:always\s+)?(?:keep|leave|reserve|hold)\s+(?:at\s+least\s+|a\s+minimum\s+of\s+)?"
    + _PCT
    + r"\s+(?:in|of)\s+(?:the\s+|my\s+|our\s+)?(?:battery|batteries|batt|bank)"
    + r"|(?:set|change|raise|put|make)\s+(?:the\s+|my\s+|our\s+)?(?:battery\s+)?"
    r"(?:floor|minimum(?:\s+soc)?|min(?:imum)?\s+soc|min\s+soc|reserve|soc\s+floor|soc\s+minimum)"
    r"(?:\s+(?:of|for)\s+the\s+battery)?\s+(?:to|at|=)\s+"
    + _PCT
    + r"|(?:battery\s+)?(?:floor|minimum\s+soc|min\s+soc|soc\s+floor|reserve)\s*(?:=|:|of|at)?\s*"
    + _PCT
    + r"(?:\s+(?:please|from\s+now\s+on))?"
    r")(?:\s+(?:please|from\s+now\s+on|at\s+all\s+times))?[.!]?$",
    re.IGNORECASE,
)
_UNIT_CHANGE = re.compile(
    r"^(?:please\s+)?(?:i\s+(?:would\s+)?(?:prefer|like|want)|i'd\s+(?:prefer|like)|prefer|"
    r"(?:always\s+)?(?:use|show(?:\s+me)?|display|give\s+me|switch\s+to|talk\s+in)|units?:?|"
    r"(?:set|change)\s+(?:my\s+)?units?\s+to)\b",
    re.IGNORECASE,
)
_ONE_OFF_SUBJECT = re.compile(
    r"\b(battery|solar|load|status|forecast|grid|generator|miners?|pv|site|alerts?)\b"
)
_STANDING = re.compile(r"\b(prefer|units?|always|from now on|by default)\b")
_POWER_UNITS = {
    "kw": "kW",
    "kilowatt": "kW",
    "kilowatts": "kW",
    "w": "W",
    "watt": "W",
    "watts": "W",
}
_TEMP_UNITS = {
    "°f": "F",
    "f": "F",
    "fahrenheit": "F",
    "farenheit": "F",
    "°c": "C",
    "c": "C",
    "celsius": "C",
    "celcius": "C",
    "centigrade": "C",
}


def _preference_change(text: str, site_names: Sequence[str]) -> Intent | None:
    """'keep the battery above 45 %', 'I prefer kW and °F', 'show temperatures in F'."""
    stripped = text.strip()
    lowered = stripped.lower()
    site = next((s for s in site_names if re.search(rf"\b{re.escape(s.lower())}\b", lowered)), None)
    if site is not None:
        stripped = re.sub(
            rf"\s*(?:at|for|on)?\s*\b{re.escape(site)}\b", "", stripped, flags=re.IGNORECASE
        ).strip()
    floor = _FLOOR_CHANGE.match(stripped)
    if floor is not None:
        pct = next(g for g in floor.groups() if g is not None)
        return Intent("set_preferences", {"site": site, "min_soc_pct": float(pct)})
    if stripped.endswith("?") or _UNIT_CHANGE.match(stripped) is None:
        return None
    if _ONE_OFF_SUBJECT.search(lowered) and not _STANDING.search(lowered):
        return None  # "show me the battery in kW": a question, not a standing preference
    words = re.findall(r"°?[a-z]+", lowered)
    power = next((_POWER_UNITS[w] for w in words if w in _POWER_UNITS), None)
    temp = next(
        (
            _TEMP_UNITS[w]
            for i, w in enumerate(words)
            if w in _TEMP_UNITS
            and (len(w) > 1 or (i > 0 and words[i - 1] in ("degrees", "deg", "in", "and")))
        ),
        None,
    )
    if power is None and temp is None:
        return None
    return Intent("set_preferences", {"site": site, "power_unit": power, "temperature_unit": temp})


# Reports on past periods: "weekly report", "carbon this month", "fuel efficiency trend".
_REPORT_WORDS = re.compile(
    r"\b(daily|weekly|monthly)\s+(digest|report|summary|management report)\b"
    r"|\b(energy|management|site)\s+report\b|\bdigest\b"
    r"|\breport\b.*\b(yesterday|today|week|month)\b"
    r"|\b(yesterday|week|month)'?s?\s+(report|summary|numbers|figures)\b"
    r"|\b(carbon|co2|co₂|emissions?|footprint)\b"
    r"|\b(spend|spent|spending|savings?|saved)\b"
    r"|\bcost\s+per\s+kwh\b|\bper\s+kwh\b.*\b(generator|grid|solar|diesel)\b"
    r"|\bl\s*/\s*kwh\b|\blitres?\s+per\s+kwh\b|\bfuel\s+efficiency\b|\befficiency\s+trend\b"
    r"|\b(solar|pv|production|produced|generation|usage|consumption|imports?|exports?|kwh|energy"
    r"|cost|costs|fuel|diesel)\b.*\bso\s+far\b|\bso\s+far\b.*\b(solar|pv|production|generation"
    r"|usage|consumption|imports?|exports?|kwh|energy|cost|costs|fuel|diesel)\b"
    r"|\buptime\b|\bpeak\s+(demand|load|power)\b|\benergy\s+flows?\b"
    r"|\b(yesterday|(last|past|previous)\s+(week|month|\d+\s+days))\b.*\b(solar|pv|production"
    r"|produced|generation|generated|usage|used|consumption|consumed|imports?|imported|exports?"
    r"|exported|grid|generator|gen|genset|diesel|fuel|kwh|energy|cost|costs|bill|miners?|mining"
    r"|load|peak|yield|harvest|battery|cycles?)\b"
    r"|\b(solar|pv|production|generation|usage|consumption|imports?|exports?|grid|generator"
    r"|diesel|fuel|kwh|energy|cost|costs|bill|miners?|mining|load|peak|yield)\b.*"
    r"\b(yesterday|(last|past|previous)\s+(week|month|\d+\s+days))\b"
    r"|\bhow\s+(much|many)\b.*\b(did|was|were)\b.*\b(pay|paid|save|saved|run|ran|mine|mined)\b"
    r"|\bhow\s+much\b.*\b(did|was|were)\b.*\b(spend|cost|use|used|burn|burned|burnt"
    r"|produce|produced|import|imported|export|exported|generate|generated|make|made)\b",
    re.IGNORECASE,
)
_NOT_REPORT = re.compile(
    r"\b(silence|silenced|mute|unmute|unsilence|snooze|alerts?|will|tomorrow|tonight)\b",
    re.IGNORECASE,
)
_REPORT_PERIODS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("yesterday", re.compile(r"\byesterday\b|\bdaily\b|\blast night\b", re.IGNORECASE)),
    ("last_month", re.compile(r"\b(last|previous|past)\s+month\b|\bmonthly\b", re.IGNORECASE)),
    ("this_month", re.compile(r"\b(this|current)\s+month\b|\bmonth so far\b", re.IGNORECASE)),
    ("last_week", re.compile(r"\b(last|previous|past)\s+week\b|\bweekly\b", re.IGNORECASE)),
    ("this_week", re.compile(r"\b(this|current)\s+week\b|\bweek so far\b", re.IGNORECASE)),
    ("today", re.compile(r"\btoday\b|\bso far\b", re.IGNORECASE)),
)
_REPORT_FOCUS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("carbon", re.compile(r"\b(carbon|co2|co₂|emissions?|footprint)\b", re.IGNORECASE)),
    ("miners", re.compile(r"\b(miners?|mining|uptime)\b", re.IGNORECASE)),
    ("peak", re.compile(r"\bpeak\b", re.IGNORECASE)),
    (
        "fuel",
        re.compile(r"\befficiency\b|\bl\s*/\s*kwh\b|\blitres?\s+per\s+kwh\b", re.IGNORECASE),
    ),
    (
        "cost",
        re.compile(
            r"\b(cost|costs|spend|spent|spending|money|bill|savings?|saved|price|per kwh)\b",
            re.IGNORECASE,
        ),
    ),
    ("fuel", re.compile(r"\b(fuel|diesel|burn|burned|burnt)\b", re.IGNORECASE)),
    ("solar", re.compile(r"\b(solar|pv)\b", re.IGNORECASE)),
)
# Without a period word, a trend or a cost comparison reads best over a month.
_REPORT_DEFAULT_PERIOD = {"fuel": "last_month", "cost": "last_month", "carbon": "this_month"}


def _report(text: str, site: str | None) -> Intent | None:
    """'weekly report', 'how much did we spend on diesel last month', 'carbon this month'."""
    if not _REPORT_WORDS.search(text) or _NOT_REPORT.search(text):
        return None
    period, focus = report_args(text)
    return Intent("energy_report", {"site": site, "period": period, "focus": focus})


def report_args(text: str) -> tuple[str, str]:
    """The period and focus of a report question (defaults when the text names none)."""
    focus = next((f for f, pattern in _REPORT_FOCUS if pattern.search(text)), "all")
    if re.search(r"\b(digest|report|summary)\b", text, re.IGNORECASE) and not re.search(
        r"\b(carbon|co2|emissions?|uptime|peak|efficiency|spend|spent)\b", text, re.IGNORECASE
    ):
        focus = "all"
    period = next((p for p, pattern in _REPORT_PERIODS if pattern.search(text)), None)
    if period is None:
        period = _REPORT_DEFAULT_PERIOD.get(focus, "last_week" if focus != "all" else "yesterday")
    return period, focus


# Alert housekeeping verbs: a clause with one is never a forecast or planning question.
_ALERT_HOUSEKEEPING = re.compile(
    r"\b(silence[sd]?|silencing|mute[sd]?|muting|unmute|unsilence|snooze[sd]?|snoozing|ack"
    r"|acknowledge[sd]?|dismiss)\b",
    re.IGNORECASE,
)


def _outlook(text: str, site_names: Sequence[str]) -> Intent | None:
    """Forecast and planning questions ('should I charge from the grid tonight?'), and
    reports on past periods."""
    lowered = text.lower()
    named = next(
        (s for s in site_names if re.search(rf"\b{re.escape(s.lower())}\b", lowered)), None
    )
    if not _SCORECARD.search(text):
        report = _report(text, named)
        if report is not None:
            return report
    if _ALERT_HOUSEKEEPING.search(text):
        return None  # "mute battery warnings till tomorrow": not a battery outlook
    for tool, pattern in _OUTLOOKS:
        if pattern.search(text):
            return Intent(tool, {"site": named})
    return None


def _site_named(text: str, site_names: Sequence[str]) -> str | None:
    lowered = text.lower()
    return next((s for s in site_names if re.search(rf"\b{re.escape(s.lower())}\b", lowered)), None)


_HOW_TO_VERBS = (
    r"(set\s*up|setup|configure|install|wire|connect|commission|service|maintain|calibrate"
    r"|replace|change|reset|clear|update|adjust|troubleshoot|diagnose|fix|pair|add|store"
    r"|refuel|protect|choose|pick|size|prepare|handle|deal with|respond to|recover|enable"
    r"|disable|program|interpret|restart|reboot|power\s*cycle|start|stop|shut\s*down|turn\s+on"
    r"|turn\s+off|bring\s+back|clean|test|check|bleed|prime|bypass|upgrade|flash|swap"
    r"|remove|disconnect|isolate|read|monitor|use|log\s*in|access|equalize|balance)"
)
_KNOWLEDGE = re.compile(
    r"\bwhat\s+(does|do|is|are)\b.*\bmean(s|t)?\b"
    r"|\bmeaning of\b.*\b(alerts?|alarms?|faults?|errors?|codes?|warnings?|registers?|modes?"
    r"|settings?|lights?|leds?|messages?|[a-z]+_[a-z_]+|soc|mppt|ess|bms|inverters?|battery"
    r"|solar|pv|grid|generator|genset|miners?|relay|shelly|victron|solark|sol-ark)\b"
    rf"|\bhow\s+(do|can|should|would)\s+(i|we|you|one)\s+{_HOW_TO_VERBS}\b"
    rf"|\bhow\s+to\s+{_HOW_TO_VERBS}\b"
    r"|\b(procedure|procedures|runbook|runbooks|playbook|manual|manuals|documentation|docs"
    r"|guide|guidance|checklist|best practices?|steps (to|for)|instructions (to|for|on))\b"
    r"|\bwhat\s+(should|do|must)\s+(i|we)\s+do\b.*\b(when|if|about|after|before|during)\b"
    r"|\bwhat\s+to\s+do\b.*\b(when|if|about|after|before|during)\b"
    r"|\bexplain\b.*\b(alerts?|alarms?|warnings?|faults?|settings?|registers?|modes?|ess"
    r"|floors?|rules?)\b"
    r"|\brecommended\b|\bwhich\s+registers?\b|\btroubleshoot(ing)?\b|\btutorial\b"
    r"|\b(maintenance|servicing|service interval|oil change|oil and filter)\b",
    re.IGNORECASE,
)


def _knowledge(text: str, site_names: Sequence[str]) -> Intent | None:
    """How-to, procedure and "what does this alert mean" questions: the runbooks answer."""
    if not _KNOWLEDGE.search(text):
        return None
    return Intent("search_knowledge", {"site": _site_named(text, site_names), "query": text})


def _role_change(text: str) -> Intent | None:
    """'make U024BE7LH an operator', 'set olga to viewer', 'promote <@123> to admin'."""
    match = _ROLE_CHANGE.match(text)
    if match is None:
        return None
    return Intent(
        "set_role",
        {"site": None, "user_id": match["user"], "role": _ROLE_WORDS[match["role"].lower()]},
    )


def help_text() -> str:
    """A short reply listing what the assistant understands, with 5-8 example questions."""
    return "\n".join(
        (
            "I can answer questions about your site and, with your approval, act on it:",
            "• site status and overview",
            "• battery state of charge (SOC) and battery power",
            "• solar power right now",
            "• solar forecast for today or tomorrow",
            "• active alerts and alarms",
            "• acknowledge or snooze an alert (by number, or all of them)",
            "• silence alerts by category, rule or severity for a while; list or remove silences",
            "• alert preferences: critical alerts only, quiet hours such as 22:00-07:00",
            "• remember a battery floor (keep the battery above 45 %) and your units (kW, °F)",
            "• stop or start the miners (all of them, or one by name)",
            "• grid charging on or off",
            "• start or stop the generator, and when to run it (a fuel-saving run plan)",
            "• reports on past periods: weekly report, carbon this month, fuel efficiency trend,"
            " cost per kWh of generator vs grid, miner uptime last week",
            "• how-to, procedures and what an alert means, from the runbooks, with sources",
            "",
            "Try for example:",
            '  "how is the site?"',
            '  "battery level and solar?"',
            '  "will tomorrow be sunny?"',
            '  "any alerts?"',
            '  "ack alert 12"',
            '  "snooze alert 7 for 30 min"',
            '  "silence solar alerts for 2 days"',
            '  "stop miner-2"',
            "Add a site name to ask about a specific site.",
        )
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


@lru_cache(maxsize=4096)
def _correct(token: str) -> str:
    """The vocabulary word a typo most likely stands for, or the token unchanged."""
    if token in _VOCABULARY or len(token) < _MIN_FUZZY_LEN or not token.isalpha():
        return token
    same_initial = [word for word in _VOCABULARY if word[0] == token[0]]
    match = difflib.get_close_matches(token, same_initial, n=1, cutoff=_FUZZY_CUTOFF)
    return match[0] if match else token


# --- clauses ----------------------------------------------------------------------------------


def _split_clauses(
    items: list[tuple[str, str]],
) -> list[tuple[list[tuple[str, str]], bool]]:
    """Clauses with whether each ended in a question mark."""
    clauses: list[tuple[list[tuple[str, str]], bool]] = []
    current: list[tuple[str, str]] = []
    for index, (kind, value) in enumerate(items):
        if value == "and" and _between_times(items, index):
            current.append((kind, value))  # "quiet hours between 11pm and 6am"
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


def _between_times(items: list[tuple[str, str]], index: int) -> bool:
    """True for the "and" of "11pm and 6am" or "22:00 and 07:00"."""
    if index == 0 or index + 1 >= len(items):
        return False
    (before_kind, before), (after_kind, after) = items[index - 1], items[index + 1]
    if before_kind != "word" or after_kind != "word":
        return False
    clock_before = before in _MERIDIEM or before in _CLOCK_WORDS or ":" in before
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

    if not clause.topics():
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
    elif lead < len(words) and words[lead] in _QUESTION_STARTERS:
        clause.question = True
    elif lead_concept in _IMPERATIVE_LEADS:
        clause.question = False
    elif has_qmark:
        clause.question = True
    else:
        clause.question = previous.question if previous is not None else False
    if advice_pos is not None and (direction_pos is None or advice_pos < direction_pos):
        clause.question = True
    commanded = polite or lead_concept in _IMPERATIVE_LEADS
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
        if battery_pos is None and not clause.has(GRID):
            battery_pos = clause.first(CHARGE)  # "is it charging?"
        add(battery_pos, "battery_status")
        _solar_intents(clause, add)
    add(clause.first(ALERT), "active_alerts")
    if not found:
        add(clause.first(HELP), HELP_TOOL)
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
        if verb_pos is not None:
            add(verb_pos, "active_alerts")  # "should I snooze?": advice, not a command
            return True
        return False

    preferences = _preference_args(clause)
    if preferences is not None:
        prefs_pos = clause.first(QUIET, CRITICAL_ONLY, PREFS, ALERT) or 0
        add(prefs_pos, "set_alert_preferences", **preferences)
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
        if critical and any(w in _ONLY_WORDS for w in words):
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
        if off:
            clear = True  # "no quiet hours", "turn off do not disturb"
        elif len(times) >= 2:
            quiet_hours = times[:2]
    elif clause.has(PREFS) and clause.has(ALERT) and clause.has(REMOVE):
        clear = True  # "clear my alert preferences"
    if critical_only is None and quiet_hours is None and not clear:
        return None
    return {"critical_only": critical_only, "quiet_hours": quiet_hours, "clear": clear}


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
    return None, set()


def _first_number(words: list[str], consumed: set[int]) -> int | None:
    """The first whole number not part of a duration: "alert 12", "#12", "silence 3"."""
    return next(
        (int(word) for i, word in enumerate(words) if word.isdigit() and i not in consumed),
        None,
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
        if hour is not None and 0 <= hour <= 24 and 0 <= minute < 60:
            times.append(f"{hour % 24:02d}:{minute:02d}")
        i += 1
    return times


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
