"""The planner's vocabulary: tool names, intents, concepts and the phrase tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphs.assistant.understanding import mixed_languages, shorthand

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
    "set_alert_rule",
    "list_alert_rules",
    "remove_alert_rule",
    "set_role",
    "who_is",
    "pending_approvals",
    "decide_action",
    "battery_outlook",
    "miner_plan",
    "grid_charge_advice",
    "fuel_outlook",
    "solar_scorecard",
    "set_preferences",
    "energy_report",
    "search_knowledge",
    "generator_plan",
    "generator_service",
    "week_outlook",
    "load_forecast",
    "compare_periods",
    "compare_sites",
    "cost_projection",
    "timeline",
    "anomalies",
    "panel_readings",
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
        "|how does this work|how do i use this|how do i use you|instructions"
        "|functions|features|functionality|what functions|what features|your skills"
        "|how to use this bot|how to use this|how to use you|how do i work this|how does it work"
        "|what can it do|what can this do|what you can do|which things i can ask"
        "|what sort of questions|what kind of questions|what questions can i ask",
    ),
    (
        STATUS,
        "status|overview|summary|sitrep|report|update|dashboard|stats|health|state|numbers"
        "|readings|figures"
        "|whats going on|what is going on|whats happening|what is happening|whats up|sup"
        "|all good|all ok|all okay|hows it going|how is it going|how are we doing|how we doing"
        "|hows it looking|how is it looking|how does it look|how do things look"
        "|how are we looking|how we looking|how are things looking|how are things|hows things"
        "|hows everything|how is everything|hows everything looking",
    ),
    (
        SUBJECT,
        "site|sites|system|plant|setup|house|farm|inverter|inverters|power|energy|consumption"
        "|everything|things|overall|place|load|demand|usage|house load|site load|draw|drawing"
        "|exporting|importing|export|import|exports|imports|feeding in|feed in|selling back"
        "|power usage|energy usage|electricity usage|my usage|our usage",
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
        "|faults|error|errors|wrong|broken|trouble|failure|failures|notifications|notification"
        "|messages|worry|the matter|amiss|anything the matter|something the matter"
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
        "|dismissed|mark as seen|mark as read|mark seen|mark read|mark it as seen|mark it seen"
        "|mark it as read|mark it read|seen the warning|saw the warning|ive seen the warning"
        "|i have seen the warning|seen this warning|seen that warning",
    ),
    (
        SNOOZE,
        "snooze|snoozes|snoozed|snoozing|remind me later|remind me|ask me later|postpone"
        "|postponed|defer|delay|hold off",
    ),
    (
        SILENCES,
        "silences|mutes|silenced|muted|suppressed|suppressions|active silence|active silences"
        "|current silence|current silences|silence list|list of silences|on mute",
    ),
    (
        SILENCE,
        "silence|silencing|mute|muting|suppress|suppressing|hush|shush|shut up|stop pinging me"
        "|stop alerting me|stop messaging me|stop notifying me|stop texting me|stop bugging me"
        "|stop spamming me|stop sending me alerts|stop sending me messages|stop nagging me",
    ),
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
        "|do not alert me|dont disturb|dont text me|dont send me|do not send me|no pings"
        "|no notifications|no alerts after"
        "|no alerts at night|no alerts overnight|no alerts between|no notifications between"
        "|no messages between|no messages at night|no messages after|no notifications after",
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
    (NEGATE, "dont|do not|never|no|not|without|stop using|nobody|no one|noone"),
    (ADVISE, "should|shall|ought|safe|worth|whether|ok to|okay to|fine to|advisable"),
    (
        NEUTRAL,
        "what|whats|how|hows|is|are|the|a|an|there|their|some|come|much|many|tell|me|make"
        "|making|thanks|thank|please|joke|time|mine|ring|star|stopped|started|running"
        "|stopping|starting|with|from|this|that|these|those|have"
        "|been|being|about|also|plus|then|when|where|which|would|could|doing|going|getting"
        "|looking|like|level|full|right|enough|last|until|over|under|into|onto|just|good"
        "|okay|fine|well|funny|song|story|name|hello|hey|weekend|sunset|sunrise|mind|shop"
        "|since|once|still|till|after|before|during|while|again|ever|anyway",
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
        "righto",  # "righto shut the genny down"
        "rightio",
        "aight",
        "okie",
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
    ("might", "you"),
    ("i", "want", "you", "to"),
    ("i", "need", "you", "to"),
    ("i", "want", "to"),
    ("i", "would", "like", "to"),
    ("id", "like", "to"),
    ("i", "wanna"),
    ("go", "ahead", "and"),
    # "could we have no alerts between 10pm and 6am", "can I get the report": requests
    ("could", "we", "have"),
    ("can", "we", "have"),
    ("could", "i", "have"),
    ("can", "i", "have"),
    ("could", "we", "get"),
    ("can", "we", "get"),
    ("could", "i", "get"),
    ("can", "i", "get"),
    ("may", "i", "have"),
    ("may", "we", "have"),
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
    ("critical", "critical|criticals|crit|urgent|severe|emergency|emergencies|serious|important"),
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
_ONLY_WORDS = frozenset({"only", "just", "solely", "exclusively", "unless", "except"})
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
        "plan",  # "generator plan" names no site called "plant"
        "plans",
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
        "burn",  # "how much fuel did we burn" names no site called "barn"
        "burns",
        "burnt",
        "born",
        "hope",  # ... nor "home"
        "hole",
        "hose",
        "change",  # "don't change my quiet hours" is no "charge"
        "changed",
        "changes",
        "changing",
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


# Words people mix in from their first language (Portuguese, Spanish, Italian, French,
# German, Dutch) or their own English (Scots), ESL shapes ("stop to charge", "the genset
# shall stop") and shorthand ("reqs"), read as the plain English ones.
_ON_VERBS = (
    r"liga|ligue|ligar|enciende|encienda|encender|prende|prenda|prender|accendi|accenda"
    r"|accendere|allume|allumez|allumer"
)
_OFF_VERBS = (
    r"desliga|desligue|desligar|apaga|apague|apagar|spegni|spenga|spegnere|[ée]teins|[ée]teignez"
    r"|[ée]teindre"
)
_SECOND_LANGUAGE: tuple[tuple[str, str], ...] = (
    (r"\b(?:gerador(?:es)?|generador(?:es)?|generatore|gruppo\s+elettrogeno)\b", "generator"),
    (r"\b(?:notstrom)?aggregats?\b", "generator"),  # German ("aggregate" is English)
    (r"\b(?:baterias?|bater[íi]as?|batteria|batterie|akkus?|accus?)\b", "battery"),
    (r"\b(?:pain[ée]is|paneles|placas\s+solares|pannelli)\b", "panels"),
    (r"\b(?:gasolio|gas[oó]leo|gasoil|gazole)\b", "diesel"),
    (r"\b(?:il\s+|the\s+)?tagliando\b", "the service"),  # Italian: the periodic service
    (rf"\b(?:{_ON_VERBS})\b(?:\s+(?:o|a|os|el|la|los|las|il|lo|le|les)\b)?", "turn on the"),
    (rf"\b(?:{_OFF_VERBS})\b(?:\s+(?:o|a|os|el|la|los|las|il|lo|le|les)\b)?", "turn off the"),
    (r"\bthe\s+the\b", "the"),
    (r"\baff\b", "off"),
    (r"\bthe\s+morn\b", "tomorrow"),
    (r"\btae\b", "to"),
    (r"\blet\s+(me|us)\s+ken\b", r"let \1 know"),
    (r"\breqs\b", "requests"),  # "any pending reqs"
    # Nigerian Pidgin: "abeg wetin dey happen for site", "how far the battery?", "NEPA don
    # bring light", "when I suppose order diesel?", "should I on the gen now?"
    (r"\babeg\b", "please"),
    (r"\bwetin\b", "what"),
    (r"\bdey\s+happen\b", "is happening"),
    (r"\bhow\s+far\s+(?=(?:the|my|our|with)\b)", "how is "),
    (r"\b(?:don|has)\s+bring\s+(?:back\s+)?light\b", "is back"),
    (r"\b(?:take|took|don\s+take)\s+light\b", "cut the power"),
    (r"\blight\s+no\s+dey\b", "there is no power"),
    (r"\b(when|what\s+time|how)\s+(i|we)\s+suppose\s+(?:to\s+)?", r"\1 should \2 "),
    (r"\b(should|shall|can|must)\s+(i|we)\s+(on|off)\s+(?=(?:the|my|our)\s)", r"\1 \2 switch \3 "),
    (r"\bmake\s+we\b", "so we"),
    (r"\b(stop|start)\s+to\s+charg(?:e|ing)\b", r"\1 charging"),
    (r"\b(stop|start)\s+to\s+(?:run|mine|mining)\b", r"\1"),
    (
        r"^(?P<lead>\W*)(?P<obj>(?:the|my|our|all\s+the|all)\s+[\w-]+)\s+shall\s+"
        r"(?P<verb>stop|start|run|switch\s+off|switch\s+on|turn\s+off|turn\s+on|go\s+off"
        r"|go\s+on|charge)\b(?=[^?]*$)",
        r"\g<lead>please \g<verb> \g<obj>",
    ),
)

# Words other people use for what the readers know by another name (French-speaker and
# regional English: "acquit the alert", "launch the group electrogen", "charge by the
# network", "validate the demand 4e2a9f10", "shed the miners"), each rewritten to the
# plain word before the message is read. Only words and phrases that cannot mean anything
# else in the domain are listed: "network" alone (the home network) and "demand" alone
# (power demand) keep their meaning.
_Plain = str | Callable[[re.Match[str]], str]


def _whether_to(match: re.Match[str]) -> str:
    """ "rigs on or nah" → "should we turn rigs on?": a machine and its particle asked
    yes or no, with the verb the particle leaves out."""
    body = match["body"]
    if re.fullmatch(r"[\w\s-]+?\s+(?:on|off)", body, re.IGNORECASE) and not re.match(
        r"\s*(?:turn|switch|put|shut|switch|power|kick|fire|start|stop)\b", body, re.IGNORECASE
    ):
        return f"should we turn {body}?"
    return f"should we {body}?"


def _gerund_order(match: re.Match[str]) -> str:
    """ "propose starting" → "start" (the order the gerund names)."""
    stem = match[1].lower()
    return {"charg": "charge", "shutt": "shut", "resum": "resume"}.get(stem, stem)


_PLAIN_ROWS: tuple[tuple[str, _Plain], ...] = (
    (r"\bacquit(?:s|ted|ting)?\b", "acknowledge"),
    # Arabic and South Asian English: "please to tell me", "kindly to send"
    (r"\b(please|kindly)\s+to\s+(?=\w)", r"\1 "),
    (r"\bwhat'?d\b(?=\s+(?:the|my|our|we|i|you|it|that)\b)", "what did"),
    (r"(?<=[\w%?])\s+n\s+(?=\w)", " and "),  # "alerts n overnight events", "batt % n fuel"
    # "miners off @ 11", "rig 1 on @ barn": "at" (not "@lee", a person's handle)
    (r"(?<!\S)@(?:\s*(?=\d)|\s+(?=\w))", "at "),
    (r"\b(?:2nite|2night|2nyt|tnite|tonite)\b", "tonight"),
    (r"\b2day\b", "today"),
    # "kick off grid charging", "please propose starting the generator": the order itself
    (r"\bkick\s+off\b", "start"),
    # "raise a request to start the generator", "I would ask that a request be raised to
    # enable grid charging": the request is the order (every order is a request anyway)
    (
        r"\b(?:i\s+would\s+(?:ask|request|like)\s+that\s+)?(?:a\s+|an\s+action\s+)?request"
        r"\s+(?:be\s+)?(?:raised|made|created|opened|submitted|filed)\s+(?:to|for)\s+",
        "please ",
    ),
    (
        r"\b(?:raise|make|create|open|submit|file)\s+(?:a|an|the)\s+(?:action\s+)?request\s+"
        r"(?:to|for)\s+(?=\w)",
        "",
    ),
    # "what can this bot do?", "what things you can do for me?": help
    (
        r"\bwhat\s+(?:things\s+|all\s+|else\s+)?(?:can\s+)?(?:this\s+bot|the\s+bot|this\s+thing"
        r"|you|u)\s+(?:can\s+|could\s+)?do\b",
        "what can you do",
    ),
    (r"\bkick\s+(?:it|the\s+\w+)\s+off\b", "start"),
    # the generator by other names: "the jenny" (spelled as said), "jenna rater" (a
    # dictation's hearing), "agregat" (Slavic languages), "le groupe (électrogène)" (French)
    (r"\bthe\s+jenny\b", "the genny"),
    (
        r"\b(start|stop|kill|crank|run|shut\s+down|shut\s+off|turn\s+on|turn\s+off|fire\s+up)"
        r"\s+jenny\b",
        r"\1 the genny",
    ),
    (r"\bjenny\s+(?=(?:on|off|up|down|please|pls)\b)", "genny "),
    (r"\bjenna\s*-?\s*rater\b", "generator"),
    # "if you could stop miner-1 that would be great", "it would be great if you could
    # switch the rigs off": the request, asked
    (
        r"^\W*if\s+(?:you|u)\s+(?:could|can|would)\s+(?P<req>[^,.;!?]+?)[,\s]+(?:that|it|this)"
        r"(?:\s+would|'d|\s+will|'ll)\s+be\s+(?:(?:really|so|very|super)\s+)?(?:great|lovely"
        r"|awesome|perfect|appreciated|brilliant|ace|nice|helpful|good|fab|grand|amazing)\b",
        r"please \g<req>.",
    ),
    (
        r"\b(?:it|that)(?:\s+would|'d)\s+be\s+(?:(?:really|so|very|super)\s+)?(?:great|lovely"
        r"|awesome|perfect|brilliant|nice|helpful|good|fab|grand|amazing)\s+if\s+(?:you|u)\s+"
        r"(?:could|can|would)\s+",
        "please ",
    ),
    # the miners as autocorrect or dictation writes them: "stop the minors", "minor two"
    (r"\bminors\b", "miners"),
    (r"\bminor(?=[\s-]*(?:\d|one|two|three)\b)", "miner"),
    # grid charging as heard: "turn on great charging", "grate charging off"
    (r"\b(?:great|grate|greed|gird)\s+(?=charg(?:e|ing)\b)", "grid "),
    # units as dictation spells them: "five kilo watts", "ten kilo watt hours"
    (r"\bkilo\s*-?\s*watt\s*-?\s*hours?\b", "kWh"),
    (r"\bkilo\s+watts?\b", "kW"),
    (r"\bagregat(?:a|u|y|ul|or|e)?\b", "generator"),
    # Arabic "muwallid" as it is typed in Latin letters, Afrikaans "kragopwekker"
    (r"\b(?:el-?|al-?)?(?:mowall?[ie]d|moall?[ie]d|muwall?[ie]d|mwal+ed)\b", "generator"),
    (r"\bkragopwekker\b", "generator"),
    # Turkish words in English: jeneratör, akü, güneş, mazot, elektrik, hemen
    (r"\bjenerat[öo]r(?:[üu]|e|de|den)?\b", "generator"),
    (r"\bak[üu](?:y[üu]|de|den|n[üu]n)?\b", "battery"),
    (r"\bg[üu]ne[şs](?:\s+panel\w*)?\b", "solar"),
    (r"\bmazot\w*\b", "diesel"),
    (r"\belektri[kc]\b(?!\w)", "power"),
    (r"\bhemen\b", "now"),
    # "generator on since 6am", "rigs off since yesterday": how long a state has held, told
    (
        r"\b(?P<m>generator|genny|genset|gen|miners?|rigs?|miner-\d+|grid\s+charging)\s+"
        r"(?P<p>on|off|running|down|up)\s+(?=since\b|for\s+(?:the\s+)?(?:last|past)\b)",
        r"\g<m> has been \g<p> ",
    ),
    # "send me alarm", "send us a notification if ...": an alert asked for
    (
        r"\bsend\s+(?P<who>me|us)\s+(?:an?\s+)?(?:alarm|alert|notification|warning|sms|text"
        r"|message|msg|ping)s?\b",
        r"alert \g<who>",
    ),
    # Caribbean English: "wha" (what), "yuh" (you), "meh role" (my role)
    (r"\bwha\b(?!')", "what"),
    (r"\byuh\b", "you"),
    (r"\bmeh\s+(?=(?:role|access|permissions?|rights)\b)", "my "),
    # "the power is cut" (an outage told, not an order to cut something)
    (
        r"\b(?P<s>power|electricity|grid|mains|current|lights?|supply)\s+(?:is|are|was|got"
        r"|has\s+been|been|'s)\s+cut(?:\s+off)?\b",
        r"\g<s> is out",
    ),
    # Romanian words in English: opreste / porneste (stop / start), minerii, generatorul,
    # bateria, panourile, motorina, curent, ieri, mâine, luna asta / trecuta, raport
    (r"\bopre(?:s|ș|ş)te\b", "stop"),
    (r"\bporne(?:s|ș|ş)te\b", "start"),
    (r"\bstins\b", "off"),
    (r"\bminerii\b", "the miners"),
    (r"\bgeneratorul\b", "the generator"),
    (r"\bpanourile\b", "the panels"),
    (r"\bmotorin[aă]\b", "diesel"),
    (r"\bieri\b", "yesterday"),
    (r"\bm[aâ]ine\b", "tomorrow"),
    (r"\bluna\s+asta\b", "this month"),
    (r"\bluna\s+trecut[aă]\b", "last month"),
    (r"\braport\b", "report"),
    # Lebanese Arabic in Latin letters: tfi / chaghel (turn off / on), el moteur (the
    # generator), dawle (the grid), kahraba (electricity), mazout, vidange, mbere7
    (r"\b(?:tfi|tfeh|taffi|ta2fi)\b", "turn off"),
    (r"\b(?:chaghel|chaghghel|shaghel|sha88el|sha3el|cha3el)\b", "turn on"),
    (r"\bel\s+(?=(?:miners?|rigs?|moteur|generator|battery|solar|grid|dawle)\b)", "the "),
    (r"\bmoteur\b", "generator"),
    (r"\bdawle?h?\b", "grid"),
    (r"\bkahraba2?\b", "power"),
    (r"\bmazout\b", "diesel"),
    (r"\bvidange\b", "generator service"),
    (r"\b(?:mbere7|mbare7|mbere7a)\b", "yesterday"),
    # Hungarian: aggregátor, akku, napelem, napfény, áram(szünet), holnap, tegnap, gázolaj;
    # "miners ki" / "miners be" (off / on) after the machine
    (r"\baggreg[áa]tor\w*\b", "generator"),
    (r"\bakku(?:mul[áa]tor\w*|s)?\b", "battery"),
    (r"\bnapelem\w*\b", "solar panels"),
    (r"\bnapf[ée]ny\b", "sunshine"),
    (r"\b[áa]ramsz[üu]net\b", "power cut"),
    (r"\b[áa]ram\b", "power"),
    (r"\bholnap\b", "tomorrow"),
    (r"\btegnap\b", "yesterday"),
    (r"\bg[áa]zolaj\b", "diesel"),
    (r"\bk[ée]rem\b", "please"),
    (
        r"\b(?P<m>miners?|rigs?|generator|grid\s+charging)\s+ki\b(?=\s*(?:[!.,;]|$|and\b|please\b))",
        r"\g<m> off",
    ),
    (
        r"\b(?P<m>miners?|rigs?|generator|grid\s+charging)\s+be\b(?=\s*(?:[!.,;]|$|and\b|please\b))",
        r"\g<m> on",
    ),
    # Boston English as typed: the minahs, stahht the genny, grid chahge, ovah, yestahday
    (r"\bminah(s?)\b", r"miner\1"),
    (r"\bminah-(?=\d)", "miner-"),
    (r"\bstah+t(s|ed|ing)?\b", r"start\1"),
    (r"\bchah+ge?(s|d|ing)?\b", r"charge\1"),
    (r"\bovah\b", "over"),
    (r"\bundah\b", "under"),
    (r"\bmanagah\b", "manager"),
    (r"\bnumbahs\b", "numbers"),
    (r"\byestahday('?s)?\b", r"yesterday\1"),
    (r"\bpowah\b", "power"),
    # Swahili: washa / zima (turn on / off), jenereta, betri, jua, mafuta, jana, kesho
    (r"\bwasha\b", "turn on"),
    (r"\bzima\b", "turn off"),
    (r"\bjenereta\b", "generator"),
    (r"\bbetri\b", "battery"),
    (r"\bjua\b", "sun"),
    (r"\bmafuta\b", "diesel"),
    (r"\bjana\b", "yesterday"),
    (r"\bkesho\b", "tomorrow"),
    (r"\bsasa\s+hivi\b|\bhapa\s+sasa\b", "right now"),
    (r"\bharaka\b", "now"),
    # Tamil in Latin letters: "10 mani-ku" (at 10 o'clock), raathiri (tonight), "off
    # pannu" (do off), "battery 20 keezha ponaa" (if it goes below 20), EB (the grid)
    (r"\b(\d{1,2})\s+mani(?:-?k?ku|-?la|kku)?\b", r"at \1 o'clock"),
    (r"\braa?thiri\b", "tonight"),
    (r"\b(on|off|start|stop|check)\s+pannu(?:nga|ngal|ga)?\b", r"\1"),
    (
        r"\b(?P<m>battery|soc|fuel|diesel)\s+(?P<n>\d{1,3})\s*%?\s+keezha\s+po(?:naa?|nal)\b",
        r"if the \g<m> drops below \g<n>",
    ),
    (r"\bippo\b", "now"),
    (r"\bnaalai(?:kku)?\b", "tomorrow"),
    (r"\bnethu\b", "yesterday"),
    (r"\binn(?:iki|aikku)\b", "today"),
    (r"\bEB\s+(?:cut|poiduchu|cut\s+aayiduchu)\b", "grid is out"),
    (r"\bEB\s+vandhachu\b", "grid is back"),
    # Czech: vypni / zapni / nastartuj (turn off / on / start), těžaři (miners), agregát,
    # síť (grid), baterie, nafta, proud, včera, zítra
    (r"\bvypni\b", "turn off"),
    (r"\bzapni\b", "turn on"),
    (r"\bnastartuj\b", "start"),
    (r"\bt[ěe][žz]a[řr]i\b|\bt[ěe][žz]a[řr]e\b", "miners"),
    (r"\bagreg[áa]t\b", "generator"),
    (r"\bs[íi][ťt]\b(?=\W|$)", "grid"),
    (r"\bbaterie\b", "battery"),
    (r"\bnaft[au]\b", "diesel"),
    (r"\bv[čc]era\b", "yesterday"),
    (r"\bz[íi]tra\b", "tomorrow"),
    # Serbian: ugasi / upali / pokreni (turn off / on / start), rudari, agregat, mreža,
    # struja, baterija, dizel, sutra, juče
    (r"\bugasi\b", "turn off"),
    (r"\bupali\b", "turn on"),
    (r"\bpokreni\b", "start"),
    (r"\brudar[ie]\b", "miners"),
    (r"\bagregat\b", "generator"),
    (r"\bmre[žz][aeu]\b", "grid"),
    (r"\bstruj[aeu]\b", "power"),
    (r"\bbaterij[aeu]\b", "battery"),
    (r"\bsutra\b", "tomorrow"),
    (r"\bju[čc]e\b", "yesterday"),
    # Somali: dami / shid (turn off / on), bilow / jooji (start / stop), matoor, koronto,
    # batari, berri
    (r"\bdami\b", "turn off"),
    (r"\bshid\b", "turn on"),
    (r"\bbilow\b", "start"),
    (r"\bjooji\b", "stop"),
    (r"\bmatoor\b", "generator"),
    (r"\bkoronto\b", "power"),
    (r"\bbatari\b", "battery"),
    (r"\bberri\b", "tomorrow"),
    # Cantonese and Mandarin in Latin letters: hoi / kai (turn on), saan / guan (turn off),
    # fat din gei (generator), din chi (battery), dianwang (grid), ting yat (tomorrow)
    (r"\bfat\s+din\s+gei\b|\bfadianji\b", "generator"),
    (r"\bdin\s+chi\b|\bdianchi\b", "battery"),
    (r"\bdianwang\b", "grid"),
    (r"\bting\s+yat\b|\bmingtian\b", "tomorrow"),
    (
        r"\b(?:hoi|kai)\s+(?=(?:the\s+|all\s+(?:the\s+)?)?(?:miners?|rigs?|generator|miner-?\d"
        r"|grid))",
        "turn on ",
    ),
    (
        r"\b(?:saan|guan)\s+(?=(?:the\s+|all\s+(?:the\s+)?)?(?:miners?|rigs?|generator|miner"
        r"|grid))",
        "turn off ",
    ),
    # Swiss German: abstelle / ab (off), aa / ii (on) after the machine, quittier (ack),
    # Aggregat, Netz, morn (tomorrow), Wuche (week)
    (r"\bstell\s+d'?\s*", "turn off the "),
    (r"\babstelle\b", "off"),
    (r"\bquittier(?:e|en)?\b", "acknowledge"),
    (r"\bnetz\b", "grid"),
    (r"\bwuche\b", "week"),
    (r"\bschalt\b", "switch"),
    (
        r"\b(?P<m>miners?|rigs?|generator|grid\s+charging|miner[- ]?\d)\s+(?:aa|ii|ein)\b"
        r"(?=\s*(?:[!.,;]|$|please\b|pls\b|the\b))",
        r"\g<m> on",
    ),
    (r"\b(?:all\s+the\s+)?(?P<m>miners?|rigs?)\s+ii\b", r"\g<m> on"),
    # Maltese: il-ġenerator, għada (tomorrow), il-lejla (tonight), illum (today), ilbieraħ
    (r"\b(?:il-)?[ġg]enerat(?:or|ur)\b", "generator"),
    (r"\bg[ħh]ada\b", "tomorrow"),
    (r"\bil-?lejla\b", "tonight"),
    (r"\billum\b", "today"),
    (r"\bilbiera[ħh]\b", "yesterday"),
    # "yes or no?" in other languages: "sí o no?", "sim ou não?", "sin ou nau?", "oui ou non?"
    (
        r"\b(?:s[ií]\s+o\s+no|sim\s+ou\s+n[ãa]o|sin\s+ou\s+nau|oui\s+ou\s+non"
        r"|ja\s+oder\s+nein|haan\s+ya\s+na|ha\s+ya\s+na|da\s+ili\s+ne)\s*(?=\?)",
        "yes or no",
    ),
    # "bin off request d04f11b9": reject it
    (
        r"\bbin\s+(?:off|it)\s+(?=(?:request|action|the\s+request|that\s+request)?\s*[0-9a-f]{6,})",
        "reject ",
    ),
    # Danish and Norwegian: i morgen, i dag, i går, strøm, måned
    (r"\bi\s+morgen\b", "tomorrow"),
    (r"\bi\s+dag\b", "today"),
    (r"\bi\s+g[åa]r\b", "yesterday"),
    (r"\bstr[øo]m(?:men)?\b", "power"),
    (r"\bm[åa]ned(?:en)?\b", "month"),
    # Geordie and Scots: "the morra neet" (tomorrow night), "leccy", "owt"/"nowt"
    (
        r"\bthe\s+morra\b|(?<!\bin\s)(?<!\bthis\s)\bthe\s+morn\b(?!\s+(?:morning|mornin))",
        "tomorrow",
    ),
    (r"\bneet\b", "night"),
    (r"\b(?:leccy|lecky|lekky)\b", "electricity"),
    (r"\bnowt\b", "nothing"),
    (r"\bowt\b", "anything"),
    # Glaswegian and Scots spellings: "whit can ye dae", "gie's the alerts", "cannae",
    # "get rid o that silence", "I want tae see"
    (r"\bwhit\b", "what"),
    (r"\bdae\b", "do"),
    (r"\bgie'?s\b", "give me"),
    (r"\bgie\b", "give"),
    (r"\bcannae\b", "can't"),
    (r"\bdinnae\b|\bdinna\b", "don't"),
    (r"\bwullnae\b|\bwinnae\b", "won't"),
    (r"\bgonnae\b", "going to"),
    (r"\bo\s+(?=(?:that|the|this|they|those|these|them|it|my|our)\b)", "of "),
    (r"(?<=\w)\s+tae\s+(?=[a-z])", " to "),
    # Arabic "bokra" typed in Latin letters
    (r"\b(?:bokra|bukra|bokrah)\b", "tomorrow"),
    # "shut the generator alerts up": silence them
    (r"\bshut\s+(?P<what>(?:the\s+)?(?:[\w-]+\s+){0,2}?alerts?)\s+up\b", r"silence \g<what>"),
    (r"\bgroupe(?:\s+[ée]lectrog[èe]ne)?\b", "generator"),
    # grid charging in shorthand: "gc on barn", "grid chg on", "ac charge off" (Victron's name)
    (r"\bgc\s+(?=(?:on|off)\b)", "grid charging "),
    (r"\bchg\b", "charging"),
    (r"\bac\s+charg(?:e|ing)\b", "grid charging"),
    # a wish for a machine's state: "could use the rigs off, battery's sagging", "we could do
    # with the miners back on now", "could use some grid charging at the cabin"
    (
        r"\b(?:i\s+|we\s+)?could\s+(?:really\s+)?(?:use|do\s+with)\s+(?P<obj>(?:the|my|our|all"
        r"\s+the)\s+[\w-]+)\s+(?:being\s+)?(?P<state>off|on|back\s+on|running|going)\b",
        lambda m: f"please {'turn off' if m['state'].lower() == 'off' else 'turn on'} {m['obj']}",
    ),
    (
        r"\b(?:i\s+|we\s+)?could\s+(?:really\s+)?(?:use|do\s+with)\s+(?:some\s+)?grid\s+charging\b",
        "please turn on grid charging",
    ),
    (
        r"\b(?:propose|request|queue(?:\s+up)?|raise\s+a\s+request\s+(?:for|to))\s+"
        r"(start|stop|switch|turn|charg|shutt|restart|resum)(?:ing)\b",
        _gerund_order,
    ),
    (r"\b(?:inshallah|insha'?allah|in\s+sha\s+allah|god\s+willing)\b", "hopefully"),
    (r"\b(?:re-?)?launch(?:es|ed|ing)?\b", "start"),
    (
        r"\b(?:group\s+electrogen\w*|electrogen\w*\s+group|electrogen\w*|generating\s+set)\b",
        "generator",
    ),
    (
        r"\b(cut|stop|start|shut\s+down|switch\s+off|turn\s+off|turn\s+on)\s+the\s+group\b",
        r"\1 the generator",
    ),
    (
        r"\b(?:the\s+)?(?:electric(?:al|ity)?\s+network|network\s+electric(?:al|ity)?"
        r"|power\s+network|public\s+network|distribution\s+network)\b",
        "the grid",
    ),
    (r"\b(charg\w*)\s+(?:by|from|on|with)\s+the\s+network\b", r"\1 from the grid"),
    (
        r"\b(?:in|a|of)\s+cut\b|\bcuts?\s+of\s+(?:the\s+)?(?:grid|power|current|electricity)\b",
        "an outage",
    ),
    (r"\btension\b", "voltage"),
    # the grid by another name: Italian "rete", the utilities' own names (Kenya Power,
    # Eskom, ZESA, TANESCO, Umeme, NEPA/PHCN, ECG, Indian state boards), "EB supply"
    (r"\b(?:la\s+|della\s+|dalla\s+)?rete\b", "grid"),
    (
        r"\b(?:KPLC|Kenya\s+Power|Eskom|ZESA|TANESCO|UMEME|NEPA|PHCN|BESCOM|MSEDCL|MSEB|KSEB"
        r"|TNEB|TANGEDCO|Meralco|ZESCO|Electra|PNM|Enemalta|EDL|PLN|EVN|CFE|Ecuacier|ENEL"
        r"|JPS|T&TEC|TTEC|UEDCL|TANESCO|KPC)\b(?:\s+(?:supply|power|line|mains))?|\bEB\s+(?:supply|power"
        r"|line|mains|current)\b"
        r"|\b(?:the\s+)?(?:power|electric(?:ity)?|light|utility)\s+(?:company|co|board)\b",
        "the grid",
    ),
    (r"\bsit-?reps?\b", "status"),  # "sitrep on the barn": radio and army English
    # "silences list, and remove number 4": the number is one of the list just asked for
    (
        r"\b(silences?|mutes?)\b([^.?!]*?)\b(remove|delete|lift|end|cancel|clear|drop)\s+"
        r"(?:number\s+|no\.?\s*)(\d+)\b",
        r"\1\2\3 silence \4",
    ),
    (
        r"\b(rules?)\b([^.?!]*?)\b(remove|delete|drop|cancel)\s+(?:number\s+|no\.?\s*)(\d+)\b",
        r"\1\2\3 rule \4",
    ),
    # the 48-hour outlook is the battery's (the week's is 7 days)
    (
        r"\b(?:(?:the|a)\s+)?(?:next\s+)?(?:48|forty[- ]eight)\s*-?\s*(?:h|hrs?|hours?)"
        r"\s+(?:battery\s+)?(?:outlook|projection)\b",
        "the battery outlook",
    ),
    (r"\b(?:discontinue|cease)\b", "stop"),
    (r"\b(?:DG|D\.G\.)(?:\s+set)?(?=\W|$)", "generator"),  # "start the DG": diesel generator
    (r"\bvalidat(?:e|es|ed|ing)\b", "approve"),
    (r"\b(?:appr|aprv|apprv|appv)\b(?=\W+#?[0-9a-f]{4,}\b)", "approve"),  # "appr 9d0e44ab"
    (r"\b(?:rej|rjct)\b(?=\W+#?[0-9a-f]{4,}\b)", "reject"),
    (r"\binvalidat(?:e|es|ed|ing)\b", "reject"),
    (r"\bdemands?\s+(?=[0-9a-f]{4,}\b)", "request "),
    (
        r"\b(?:demands?|requests?)\s+(?:in|on)\s+(?:attention|attente|waiting|wait)\s+of"
        r"\s+(?:validation|approval)\b",
        "requests waiting for approval",
    ),
    (
        r"\b(?:in|on)\s+(?:attention|attente|waiting|wait)\s+of\s+(?:validation|approval)\b",
        "waiting for approval",
    ),
    (
        r"(\b(?:was|were|did|had|has|happened|passed)\b[^.?!]*?)\bthis\s+night\b",
        r"\1last night",
    ),
    (r"\bthis\s+night\b", "tonight"),
    # a change asked on condition of the answer before it ("any alerts? if so ack
    # them", "should we grid charge tonight? if yes switch it on"): the second request
    (
        r"(?<=[?.,;!])\s*(?:and\s+)?(?:if\s+(?:so|yes|yeah|there\s+are(?:\s+any)?|any|needed"
        r"|necessary|it\s+is|they\s+are|it\s+does|it\s+should|we\s+should|you\s+think\s+so"
        r"|that'?s\s+the\s+case)|in\s+that\s+case|should\s+that\s+be\s+so)\b\s*,?\s*",
        " then ",
    ),
    # polite wrappers around an order: "it would be lovely if you could switch ...",
    # "I'd appreciate it if you would ..."
    (
        r"\b(?:it\s+|that\s+)?(?:would|wd|'d)\s+be\s+(?:\w+\s+)?(?:lovely|great|nice|good|grand"
        r"|brilliant|helpful|awesome|ideal|wonderful|fab|super|handy|perfect)\s+if\s+you"
        r"\s+(?:could|would|can|will)\s+(?:please\s+)?",
        "please ",
    ),
    (
        r"\bi(?:'d|\s+would)\s+(?:really\s+)?appreciate\s+(?:it\s+)?if\s+you\s+(?:could|would"
        r"|can)\s+(?:please\s+)?",
        "please ",
    ),
    (r"\bwhat\s+(?:has\s+)?passed\b", "what happened"),
    (r"\bsay\s+me\b", "tell me"),
    (
        r"\b(?:and\s+)?(?:after\s+that|afterwards|after\s+which|once\s+done|when\s+done)\b,?",
        "then",
    ),
    # "we're expecting a cloudy week so please switch off the miners": the order apart
    (r"(?<=\w)\s+(?:and\s+)?so\s+(?=please\b|pls\b|can\s+you\b|could\s+you\b)", ". "),
    (r"\b(?:the\s+)?good\s+(?:moment|time|hour|hours|period)\b", "the best time"),
    # "7 a.m.", "6 p.m": the clock's am and pm, so that the dots part no sentence
    (r"(?<=\d)\s?([ap])\.\s?m\b\.?", r" \1m"),
    (r"(?<=\d\s)([ap])\.\s?m\b\.?", r"\1m"),
    # "charge from grid or nah", "start the genny yes or no": whether to, asked
    (
        r"^(?!\W*(?:is|are|was|were|do|does|did|can|could|will|would|should|shall|what|how"
        r"|when|which|who|why)\b)"
        r"\W*(?P<body>(?:(?!\b(?:is|are|was|were|will|can|could|would|does|do|did)\b)[^?.!])+?)"
        r"[\s,]+(?:or\s+(?:nah|naw|nope|not|no)|yes\s+or\s+no|y/n)\W*$",
        _whether_to,
    ),
    # "don't let the batt go below 40", "never let the bank drop under half": the floor
    (
        r"\b(?:don'?t|do\s+not|never)\s+let\s+(?P<what>(?:the\s+|my\s+|our\s+)?(?:\w+\s+)?"
        r"(?:batt\w*|bank|soc|pack|accu\w*|storage))\s+(?:go|drop|fall|get|sink|dip)\s+"
        r"(?:below|under|bellow|beneath|lower\s+than)\b",
        lambda m: f"keep {m['what']} above",
    ),
    (
        r"\bshed(?:ding)?\s+(?=(?:all\s+|the\s+|some\s+|both\s+)?(?:miners?|rigs?|asics?"
        r"|mining|miner[- ]?\d))",
        "stop ",
    ),
    *_SECOND_LANGUAGE,
)
_PLAIN_WORDS: tuple[tuple[re.Pattern[str], _Plain], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), plain) for pattern, plain in _PLAIN_ROWS
)


# A level said in words ("below forty per cent", "under a quarter full", "above half"),
# written in figures so that thresholds and floors read it like "below 40 %". The number
# words are :mod:`.shorthand`'s, which reads numbers in the arguments of floors and rules.
_LEVEL_WORDS = re.compile(
    r"\b(?P<lead>below|under|above|over|than|to|hits?|reach(?:es)?|past)\s+(?:"
    rf"(?P<number>{shorthand.SPOKEN_TENS})"
    r"\b(?=\s*(?:%|percent|per\s*cent|pc)|\W*$|\s*[,.;!?)]|\s+(?:full|charged|soc|again))"
    r"|(?:a\s+|one\s+)?(?P<frac>half|quarter|third)\b(?!\s+(?:an?\s+)?(?:hour|day|minute)|\s+(?:of\s+)?(?:the|my|our|them)\b)"
    r"(?:\s+(?:full|charged))?)",
    re.IGNORECASE,
)


def _level(match: re.Match[str]) -> str:
    if match["frac"]:
        return f"{match['lead']} {shorthand.FRACTION_PCT[match['frac'].lower()]}%"
    return f"{match['lead']} {shorthand.spoken_value(match['number'])}"


_PARTICIPLES = {
    "switched": "switch",
    "turned": "turn",
    "shut": "shut",
    "powered": "power",
    "started": "start",
    "stopped": "stop",
    "restarted": "restart",
    "put": "put",
    "brought": "bring",
    "fired": "fire",
    "spun": "spin",
    "charged": "charge",
    "topped": "top",
    "enabled": "enable",
    "disabled": "disable",
    "resumed": "resume",
}
_OBJECT = r"(?P<obj>(?:all\s+)?(?:the|my|our|those|these|all)\s+[\w-]+(?:\s+(?!be\b)[\w-]+)?)"
_OBJECT2 = _OBJECT.replace("?P<obj>", "?P<obj2>")
_DONE = rf"(?P<verb>{'|'.join(_PARTICIPLES)})(?:\s+(?P<part>back\s+on|back\s+up|off|on|down|up))?\b"
# An order said as a wish or in the passive ("could the miners be switched off please",
# "I'd like the miners switched off at the cabin", "I want the generator started"): the
# order itself ("please switch off the miners ...").
_PASSIVE_ORDERS = (
    # as a statement only: "can the miners be turned off?" asks whether they can
    re.compile(rf"\b(?:could|can|would|will)\s+{_OBJECT}\s+be\s+{_DONE}(?=[^?]*$)", re.I),
    re.compile(
        r"\b(?:i'?d\s+like|i\s+would\s+like|i\s+want|we'?d\s+like|we\s+would\s+like"
        rf"|we\s+want|i\s+need|we\s+need|please\s+get|get)\s+{_OBJECT}\s+(?:to\s+be\s+)?{_DONE}",
        re.IGNORECASE,
    ),
    # "Miners to be stopped immediately please", "Generator to be started at the earliest",
    # "All miners at the demo site are to be switched off pending the inspection"
    re.compile(
        r"(?:^|(?<=[.;!]\s))\W*(?P<obj>(?:(?:the|my|our|all)\s+)?[\w-]+"
        r"(?:\s+(?!(?:is|are|to|be|not)\b)[\w-]+){0,5}?)\s+(?:is\s+|are\s+)?to\s+be\s+"
        rf"{_DONE}(?=[^?]*$)",
        re.IGNORECASE,
    ),
    # an opinion with its "do it": "the generator can be stopped now, please do", "the
    # mining machines ought to be turned off; could you do that?"
    re.compile(
        r"(?:\b(?:i|we)\s+(?:think|believe|reckon|feel|guess)\s+(?:that\s+)?)?"
        rf"{_OBJECT}\s+(?:can|could|should|ought\s+to|must|needs?\s+to)\s+be\s+{_DONE}"
        r"(?=.*\b(?:please\s+do|do\s+(?:so|that|it)|make\s+it\s+so)\b)",
        re.IGNORECASE,
    ),
    # an arrangement: "please arrange for the battery to be charged from the grid",
    # "please have the miners switched off", "make sure the generator gets started"
    re.compile(
        r"\b(?:arrange\s+for|please\s+have|make\s+sure|ensure|see\s+(?:to\s+it\s+)?that)"
        rf"\s+{_OBJECT}\s+(?:to\s+be\s+|is\s+|are\s+|gets?\s+)?{_DONE}",
        re.IGNORECASE,
    ),
)


# "the genny needs to be running!", "miners have to be off by six": the order, when said
# as a statement (a question, "does the gen need to be on?", is left as asked).
_NEEDS_TO_BE = re.compile(
    r"^(?P<lead>\W*(?:ok\W+|so\W+|right\W+)?)(?P<obj>(?:the\s+|my\s+|our\s+|all\s+(?:the\s+)?)?"
    r"[\w-]+(?:\s+[\w-]+)?)\s+(?:needs?|has|have|must)\s+(?:to\s+)?be\s+"
    r"(?P<state>running|on|started|going|off|stopped|shut\s+down|switched\s+off|turned\s+off)\b"
    r"(?P<rest>[^?]*)$",
    re.IGNORECASE,
)
# "we need the genny running now", "the genny needs to go on": the same, said as a need.
_NEED_STATE = re.compile(
    r"^(?P<lead>\W*(?:ok\W+|so\W+|right\W+)?)(?:(?:we|i)\s+need\s+(?P<obj>(?:the\s+|my\s+|our\s+"
    r"|all\s+(?:the\s+)?)?[\w-]+(?:\s+[\w-]+)?)|(?P<obj2>(?:the\s+|my\s+|our\s+)?[\w-]+"
    r"(?:\s+[\w-]+)?)\s+(?:needs?|has|have|must)\s+to\s+go)\s+"
    r"(?P<state>running|on|off|going|started|stopped|shut\s+down|switched\s+off|turned\s+off)\b"
    r"(?P<rest>[^?]*)$",
    re.IGNORECASE,
)
_STATE_VERB = {"running": "start", "on": "start", "started": "start", "going": "start"}


def _need_state(match: re.Match[str]) -> str:
    verb = _STATE_VERB.get(match["state"].lower(), "stop")
    return f"{match['lead']}please {verb} {match['obj'] or match['obj2']}{match['rest']}"


# "open all miner ka", "close generator now": on and off, as many languages say it of
# anything switched (Thai, Chinese, Indonesian speakers); an electrician's "open the
# relay" (which stops the load) names the switchgear, and is left alone.
_OPEN_CLOSE = re.compile(
    r"\b(open|close)\s+(?=(?:(?:the|all|all\s+the|my|our|every|both)\s+)*(?:[\w-]+\s+)?"
    r"(?:miners?|rigs?|asics?|machines?|gen|genny|genset|generator|miner-?\d+"
    r"|grid\s+charg\w*)\b)",
    re.IGNORECASE,
)
# "Miners close, now": the particle after the machine
_CLOSE_AFTER = re.compile(
    r"^\W*(?P<m>(?:the\s+|all\s+(?:the\s+)?)?(?:miners?|rigs?|gen|genny|generator|miner-?\d+))"
    r"\s+(?P<v>open|close)\b(?!\s+(?:to|by|at)\b)",
    re.IGNORECASE,
)
_SWITCHGEAR = re.compile(r"\b(?:relays?|breakers?|contactors?|circuits?|valves?)\b", re.I)
# A state asked of a machine ("can the rigs be off pls, it's too loud"; "the miners should
# not be on. make it so."): the order that gives it. As a question ("can the rigs be off?")
# it asks whether they can; an opinion needs its "do it".
_STATE_WISHED = re.compile(
    rf"\b(?:could|can|would|will)\s+{_OBJECT}\s+be\s+(?P<state>off|on|running|going)\b"
    r"(?=[^?]*$)"
    rf"|{_OBJECT2}\s+(?:should|must|ought\s+to)\s+(?P<neg>not\s+)?be\s+(?P<state2>off|on"
    r"|running|going)\b(?=.*\b(?:please\s+do|do\s+(?:so|that|it)|make\s+it\s+so"
    r"|(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:stop|start|turn|switch|shut)\b))",
    re.IGNORECASE,
)


def _wished_state(match: re.Match[str]) -> str:
    state = (match["state"] or match["state2"]).lower()
    on = state != "off"
    if match["neg"]:
        on = not on
    return f"please {'turn on' if on else 'turn off'} {match['obj'] or match['obj2']}"


# The machine first, then the order ("Grid charging, please stop.", "Miner-2 and miner-3,
# operation stop please", "those space heaters you call miners, off. now.").
_TOPIC_FIRST = re.compile(
    r"^\W*(?P<obj>(?:(?:the|my|our|all)\s+)?(?:grid\s+charg\w*|miners?|rigs?|generator|genny"
    r"|gen|miner[- ]?\d+(?:\s+and\s+miner[- ]?\d+)*))\s*,\s*(?:please\s+|pls\s+|kindly\s+)?"
    r"(?:operation\s+)?(?P<verb>stop|start|turn\s+(?:it\s+|them\s+)?(?:off|on)|switch\s+(?:it\s+"
    r"|them\s+)?(?:off|on)|shut\s+(?:it\s+|them\s+)?(?:down|off))\b(?P<rest>[^?]*)$",
    re.IGNORECASE,
)


def _topic_order(match: re.Match[str]) -> str:
    verb = re.sub(r"\s+(?:it|them)\b", "", match["verb"].lower())
    return f"please {verb} {match['obj']}{match['rest']}"


def _needed(match: re.Match[str]) -> str:
    verb = _STATE_VERB.get(match["state"].lower(), "stop")
    return f"{match['lead']}please {verb} {match['obj']}{match['rest']}"


def _as_order(match: re.Match[str]) -> str:
    verb = _PARTICIPLES[match["verb"].lower()]
    said = match["part"] or ""
    if verb == "charge" and said.lower() == "off":
        return f"please charge {match['obj']} off"  # "charged off the grid": from it
    part = f" {said}" if said else ""
    return f"please {verb}{part} {match['obj']}"


# A greeting that opens a message ("Good morning. Please tell me the condition of the
# battery.", "hola, battery?"): said, then the request; a greeting alone stays one.
_GREETING_LEAD = re.compile(
    r"^\W*(?:good\s+(?:morning|afternoon|evening|day)|g'?day|morning|evening|hi|hello|hey|hiya"
    r"|howdy|hola|bonjour|ciao|namaste|konnichiwa)(?:\s+(?:o|oh|there|team|all|everyone|bot|mate|sir"
    r"|madam))*\s*[.!,;:—-]+\s*(?=\w)",
    re.IGNORECASE,
)
# "..., Kind regards", "Best regards, Anil", "Regards.": a letter's sign-off (and the name
# after it) asks nothing.
_SIGN_OFF = re.compile(
    r"(?<=[\w.!?,])[\s.,!]*\b(?:(?:with\s+)?(?:kind|best|warm|warmest|many)\s+)?(?:regards"
    r"|rgds|sincerely|yours\s+(?:truly|faithfully|sincerely))\b[\s.,!]*(?:[A-Z][\w.-]*\s*){0,2}"
    r"[.!]?\s*$",
    re.IGNORECASE,
)
# "silence no. 4": the number, not the end of a sentence
_NUMBER_ABBREVIATION = re.compile(r"\b(?:no|nr|num)\.\s*(?=\d)", re.IGNORECASE)


# A request for an order, in the words of a form ("a request is hereby made to start the
# generator", "A request to switch it off is to be raised", "a request is to be raised to
# stop miner-2"): the order.
_MADE = r"(?:raised|made|created|submitted|filed|opened|lodged|placed)"
_REQUEST_MADE = re.compile(
    r"\ba\s+request\s+(?:is|shall\s+be|should\s+be|must\s+be)\s+(?:hereby\s+)?(?:to\s+be\s+)?"
    rf"{_MADE}\s+(?:hereby\s+)?(?:to|for\s+(?=\w+ing\b))\s+(?P<order>[^.;!?]+)"
    r"|\ba\s+request\s+to\s+(?P<order2>[^.;!?]+?)\s+(?:is|shall\s+be|should\s+be|must\s+be)\s+"
    rf"(?:hereby\s+)?(?:to\s+be\s+)?{_MADE}(?:\s+\w+ly)?(?=\s*(?:$|[.;!]))",
    re.IGNORECASE,
)


# The military hour said in words: "at twenty-three hundred", "zero six hundred hours".
_HUNDRED_HOURS = re.compile(
    rf"\b(?:(?P<at>at|by|from|until|till)\s+)?(?:zero\s+|oh\s+)?"
    rf"(?P<hour>{shorthand.SPOKEN_TENS}|one|two|three|four|five|six|seven|eight|nine)"
    r"\s+hundred(?P<hours>\s+hours?)?\b"
    r"(?!\s*(?:and\b|%|percent|per\b|w\b|watts?|kw|kwh|v\b|volts?|l\b|litres?|liters?"
    r"|dollars?|euros?|pounds?|rand|bucks|miles?|km|amps?|a\b))",
    re.IGNORECASE,
)


# Figures said digit by digit, as on a radio net: "four-zero percent", "one-two volts".
_DIGIT_WORDS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "niner": 9, "fife": 5, "tree": 3,
}  # fmt: skip
_DIGITS_SAID = re.compile(
    rf"\b(?P<a>{'|'.join(_DIGIT_WORDS)})[\s-]+(?P<b>{'|'.join(_DIGIT_WORDS)})\b"
    r"(?=\s*(?:%|percent|per\s*cent|kw\b|kilowatts?|v\b|volts?|litres?|liters?|hours?|amps?))",
    re.IGNORECASE,
)


def _digits_said(match: re.Match[str]) -> str:
    return str(_DIGIT_WORDS[match["a"].lower()] * 10 + _DIGIT_WORDS[match["b"].lower()])


def _hundred_hours(match: re.Match[str]) -> str:
    hour = shorthand.spoken_value(match["hour"])
    if hour > 23 or not (match["at"] or match["hours"]):
        return match[0]  # "two hundred": a number, not an hour
    return f"{match['at'] or 'at'} {hour:02d}:00"


def plain(text: str) -> str:
    """``text`` with other people's words for known things rewritten to the plain ones."""
    text = mixed_languages.rewrite(text)
    text = _HUNDRED_HOURS.sub(_hundred_hours, text)
    text = _DIGITS_SAID.sub(_digits_said, text)
    text = _NUMBER_ABBREVIATION.sub("number ", _GREETING_LEAD.sub("", text))
    text = _SIGN_OFF.sub(".", text) if _SIGN_OFF.search(text) else text
    text = _REQUEST_MADE.sub(lambda m: f"please {m['order'] or m['order2']}", text)
    for order in _PASSIVE_ORDERS:
        text = order.sub(_as_order, text)
    text = _NEEDS_TO_BE.sub(_needed, text)
    text = _NEED_STATE.sub(_need_state, text)
    if not _SWITCHGEAR.search(text):
        text = _OPEN_CLOSE.sub(
            lambda m: "turn on " if m[1].lower() == "open" else "turn off ", text
        )
        text = _CLOSE_AFTER.sub(
            lambda m: f"{m['m']} {'on' if m['v'].lower() == 'open' else 'off'}", text
        )
    text = _STATE_WISHED.sub(_wished_state, text)
    text = _TOPIC_FIRST.sub(_topic_order, text)
    for pattern, word in _PLAIN_WORDS:
        text = pattern.sub(word, text)
    return _LEVEL_WORDS.sub(_level, text)
