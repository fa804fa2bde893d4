"""The planner's own replies: help, "I didn't understand", "I can't do that" (pure)."""

from __future__ import annotations

import itertools
import re

from graphs.assistant.understanding import commands
from graphs.assistant.understanding.patterns import help_text

__all__ = [
    "EXAMPLES",
    "SCHEDULE",
    "cannot",
    "compound_threshold",
    "greeting",
    "help_text",
    "not_understood",
    "scheduled",
]

# What each tool does, in a few words, with a phrasing that routes to it.
EXAMPLES: dict[str, tuple[str, str]] = {
    "site_status": ("the site overview now", "how is the site?"),
    "battery_status": ("battery state of charge and power", "how is the battery?"),
    "solar_now": ("solar power right now", "solar now?"),
    "solar_forecast": ("the solar forecast for today or tomorrow", "solar forecast tomorrow"),
    "battery_outlook": ("when the battery reaches its floor", "will the battery last the night?"),
    "week_outlook": (
        "the week ahead: solar, battery, generator",
        "will the battery charge this week?",
    ),
    "load_forecast": ("expected consumption today or tomorrow", "load tomorrow?"),
    "solar_scorecard": ("how good yesterday's solar forecast was", "forecast vs actual yesterday"),
    "miner_plan": ("which hours to run the miners", "when should the miners run tomorrow?"),
    "grid_charge_advice": ("whether to charge from the grid tonight", "should I grid charge?"),
    "generator_plan": ("when to run the generator", "generator plan"),
    "fuel_outlook": (
        "days of diesel left, when to order, L/kWh and litres for 30 days",
        "how many days of diesel left?",
    ),
    "generator_service": (
        "run hours until the generator service",
        "when is the genset service due?",
    ),
    "energy_report": ("reports on past periods", "weekly report"),
    "compare_periods": ("two periods side by side", "this month vs last"),
    "compare_sites": ("your sites side by side", "status of all sites"),
    "cost_projection": ("this month's bill projected to its end", "projected bill"),
    "active_alerts": ("the open alerts", "any alerts?"),
    "timeline": (
        "what happened in a period: alerts, actions, readings",
        "what happened overnight?",
    ),
    "anomalies": ("what was unusual this week against the weeks before", "anything unusual?"),
    "panel_readings": ("panel voltage, current and chip temperature (INA228)", "panel voltage?"),
    "acknowledge_alert": ("acknowledge an alert", "ack 12"),
    "snooze_alert": ("snooze an alert", "snooze 12 for 1 h"),
    "silence_alerts": ("silence a group of alerts for a while", "silence solar alerts for 2 days"),
    "list_silences": ("the active silences", "show silences"),
    "pending_approvals": ("the requests waiting for approval", "anything waiting for approval?"),
    "who_is": ("a person's role and sites", "what's my role?"),
    "decide_action": ("approve or reject a request by its id", "approve 8c41fea3"),
    "remove_silence": ("end a silence", "remove silence 3"),
    "set_alert_preferences": ("critical-only alerts and quiet hours", "quiet hours 22:00-07:00"),
    "set_alert_rule": ("an alert on a reading", "alert me if the battery drops below 30 %"),
    "list_alert_rules": ("the alert rules set in chat", "what alert rules do I have?"),
    "remove_alert_rule": ("delete an alert rule", "delete rule 3"),
    "set_preferences": ("a battery floor and your units", "keep the battery above 40 %"),
    "set_role": ("give someone a role (admins)", "make olga an operator"),
    "search_knowledge": ("how-to and what an alert means, from the runbooks", "how do I ..."),
    "stop_miners": ("stop miners (you approve first)", "stop miner-2"),
    "start_miners": ("start miners (you approve first)", "start the miners"),
    "set_grid_charge": ("grid charging on or off (you approve first)", "turn on grid charging"),
    "start_generator": ("start the generator (you approve first)", "start the generator"),
    "stop_generator": ("stop the generator (you approve first)", "stop the generator"),
}

_THRESHOLD = re.compile(
    r"\b(alert|notify|tell|warn|text|email|message|ping|let|call|sms|page)\b.*\b(me|us|someone)\b"
    # "tell me if we should grid charge tonight": whether, a question, not a condition
    r".*\b(if|when|whenever|once|as soon as)\b(?!\s+(?:i|we|you|u)\s+(?:should|shall|ought"
    r"|need|must|can|could|would|better)\b)"
    r"|\b(alert rule|threshold|alarm when|alert when|alarm if|alert if|rule for)\b",
    re.IGNORECASE,
)
SCHEDULE = re.compile(
    r"\bevery\s+(day|night|morning|evening|week|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|hour)\b|\b(timer|daily at|each (day|night|morning|evening))\b"
    r"|\bschedule\s+(?:the\s+|a\s+|an\s+|my\s+|our\s+)?\w+(?:\s+\w+)?\s+(?:to|at)\b"
    r"|\b(every|each)\s+\d+\s*(h|hours?|min(ute)?s?|days?)\b",
    re.IGNORECASE,
)
_ACTING = re.compile(
    r"\b(?:start|stop|run|turn|switch|shut|charge|charging|alert|notify|remind|send|e-?mail|text"
    r"|report|schedule|set|fire|kill|ping|tell|give|message|post|check|do|make|timer|daily|put"
    r"|generator|genny|gen|miners?|rigs?|grid)\b",
    re.IGNORECASE,
)
_SENTENCE_ENDS = re.compile(r"(?<=[.?!;])\s+")


# What is expected each day ("whether the battery will fill up each day", "how much solar
# will we get every day this week"): a forecast asked, not a schedule.
_EXPECTED = re.compile(
    r"\b(?:whether|how\s+much|how\s+many|will\s+(?:the|it|we|there|our|my)|would\s+(?:the|it"
    r"|we|there)|is\s+(?:it|the)\s+\w+\s+going\s+to|gonna)\b",
    re.IGNORECASE,
)


def scheduled(text: str) -> bool:
    """A schedule asked for: "every morning" beside something to do ("start the miners every
    morning"), not beside news ("price dey go up every week") or what is expected ("will the
    battery fill up each day?")."""
    return any(
        SCHEDULE.search(sentence) and _ACTING.search(sentence) and not _EXPECTED.search(sentence)
        for sentence in _SENTENCE_ENDS.split(text)
    )


# A standing rule ("whenever the battery falls below 25 %, stop the miners"): automation,
# which the bot does not do (an alert on it is read before this, as an alert rule).
STANDING = re.compile(
    r"^\W*(?:(?:please|pls|from\s+now\s+on,?)\s+)*(?:whenever|every\s+time|each\s+time"
    r"|any\s*time)\b",
    re.IGNORECASE,
)
# An order that stands or repeats ("run the rigs only on weekends", "stop genny whenever
# soc > 95", "start the miners automatically when the battery is full") or waits for
# something still to happen ("stop the miners when the battery drops below 30%", "start
# the miners when the price of bitcoin goes up"): automation, which the bot does not do; a
# request made now would run now.
_STANDING_ORDER = re.compile(
    r"\b(?:whenever|every\s*time|each\s+time|automatic(?:ally)?|auto[\s-]*(?:start|stop|run|on|off)"
    r"|tuwing|kapag|jab\s+bhi|setiap"
    r"|(?:only\s+)?on\s+weekends?|weekends?\s+only|on\s+weekdays|nightly|daily"
    r"|ev(?:e)?ry\s*day|each\s+day|every\s+(?:morning|night|evening|week|weekday|hour))\b"
    r"|\b(?:when|wen|once|as\s+soon\s+as|after)\s+"
    r"(?!(?:is|are|was|were|will|would|do|does|did|can|could|should|shall|you|u|ya|ye|i|we"
    r"|possible|ready|needed|necessary)\b)"
    r"(?:(?:the|da|my|our|its|it'?s)\s+)?[\w-]+(?:\s+(?:of\s+)?[\w-]+){0,2}?\s+"
    r"(?:drops?|falls?|go|goes|gets|reaches|hits?|rises|exceeds|is|are|comes?|dips?|climbs?"
    r"|passes|crosses|tops|fills?|empties|sets|clears?|melts?|slides?)\b"
    # "when the sun's up", "once the battery's full"
    r"|\b(?:when|wen|once|as\s+soon\s+as)\s+(?:(?:the|da|my|our)\s+)?[\w-]+'s\s+"
    r"(?:up|down|out|back|full|empty|charged|flat|low|high|gone|over)\b",
    re.IGNORECASE,
)
# "if the battery drops under 20, start the genny": a condition that waits for a reading to
# change, as "when" does ("if the battery is under 20 %" is the state now: see
# routing._conditional_order; "if it has dropped" has happened).
_IF_CHANGES = re.compile(
    # "Should the battery fall below 25 percent, please start the generator"
    r"^\W*(?:and\s+)?should\s+(?:the|my|our)\s+[\w-]+(?:\s+[\w-]+)?\s+(?:ever\s+)?"
    r"(?:fall|drop|go|get|dip|reach|hit|rise|climb|exceed|sink|run\s+(?:low|out))\b"
    r"|\b(?:if|iff|in\s+case)\s+(?!(?:is|are|was|were|you|u|ya|ye|i|we|it\s+is)\b)"
    # "if t'battery gets below 20" (Yorkshire's "the")
    r"(?:(?:the|da|my|our|its|it'?s|die|la|el)\s+|t')?[\w-]+(?:\s+(?:of\s+)?[\w'-]+){0,2}?\s+"
    r"(?:ever\s+|then\s+|again\s+)?"
    r"(?:drops?|falls?|go|goes|gets|reaches|hits?|rises|exceeds|dips?|climbs?|sinks?"
    r"|passes|crosses|tops|fills?|empties|comes?\s+(?:out|up|back|on)|goes\s+(?:out|off|down))\b",
    re.IGNORECASE,
)
# "alert me if the battery drops below 30 %": the condition is the alert's, not an order's
# The words that ask to be told ("alert me", "text us", "let me know").
_TELL_ME = (
    r"(?:alert|notify|warn|ping|tell|text|txt|message|msg|page|inform|buzz|call|email"
    r"|shout\s+at|let)\s+(?:me|us|someone)"
)
_ALERT_ASKED = re.compile(rf"\b{_TELL_ME}(?:\s+know)?\s+(?:only\s+)?$", re.IGNORECASE)
# "... and tell me when its next service is due": a question inside, not a condition;
# "when the battery is below 20 % at the moment, start the generator": a condition now.
_ASKED_WHEN = re.compile(
    r"\b(?:tell\s+(?:me|us)|let\s+(?:me|us)\s+know|know|ask|see|show|check|wonder\w*|idea|say"
    r"|find\s+out)\s+$",
    re.IGNORECASE,
)
_NOW_WORDS = re.compile(r"\b(?:now|right\s+now|rn|currently|at\s+the\s+moment|atm)\b", re.I)


def standing_order(text: str) -> bool:
    """Whether an order in ``text`` stands, repeats or waits for something to happen."""
    for match in _IF_CHANGES.finditer(text):
        if not _ALERT_ASKED.search(text[: match.start()]):
            return True
    for match in _STANDING_ORDER.finditer(text):
        if not match[0].lower().startswith(("when", "wen", "once", "as soon", "after")):
            return True
        if _ASKED_WHEN.search(text[: match.start()]):
            continue
        clause = re.split(r"[,;.!?]", text[match.start() :], maxsplit=1)[0]
        if not _NOW_WORDS.search(clause):
            return True
    return False


_THANKS = re.compile(r"^\W*(thanks?|thank (you|u)|thx|ty|cheers|great|cool|ok(ay)?|nice)\b", re.I)
_GREETING = re.compile(r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|yo)\b\W*$", re.I)


_CONDITION = re.compile(
    r"\b(below|above|under|over|drops?|falls?|exceeds?|goes|gets|reaches|hits|less than"
    r"|more than|offline|stops|fails|starts|trips)\b|[<>]",
    re.IGNORECASE,
)


# One comparison with its number: "< 30", "below 12 V", "more than 5 kW", "over 60C".
_COMPARISON = re.compile(
    r"(?:[<>]=?|=<|=>|\b(?:below|above|under|over|less\s+than|more\s+than|greater\s+than"
    r"|higher\s+than|lower\s+than|exceeds?|tops?|hits?|reaches)\b)\s*(?:about\s+)?-?\d",
    re.IGNORECASE,
)
_JOINED = re.compile(r"\b(?:and|or|but|while|plus)\b|&&?|\|\|", re.IGNORECASE)


# "if the battery < 30 % and the load > 5 kW, alert me": the condition said first
_CONDITION_FIRST = re.compile(rf"^\W*(?:if|when|whenever|once)\b.*\b{_TELL_ME}\b", re.IGNORECASE)
_FLOOR_KEPT = re.compile(
    r"\b(?:keep|keeping|hold|maintain|floor|reserve|(?:don'?t|do\s+not|never)\s+let)\b", re.I
)


def compound_threshold(text: str) -> bool:
    """An alert on two conditions at once ("alert me if the battery < 30 % and the load
    > 5 kW"): a rule watches one reading, so the second condition would be dropped."""
    if not (_THRESHOLD.search(text) or _CONDITION_FIRST.search(text)):
        return False
    # "keep the battery above 40 % and alert me if it goes under 35 %": a floor to keep is
    # a setting of its own, not a second condition of the rule
    found = [
        c
        for c in _COMPARISON.finditer(text)
        if not _FLOOR_KEPT.search(re.split(r"[,;.]|\band\b", text[: c.start()])[-1])
    ]
    return any(
        _JOINED.search(text, first.end(), second.start())
        for first, second in itertools.pairwise(found)
    )


# "weather in zermatt tomorrow?", "what's the forecast for Rome next week": the weather
# of a named place that is no site (the forecasts are the sites' own).
WEATHER_IN = re.compile(
    r"\b(?:weather|temperatures?|temps?|rain|snow|sunshine)\s+(?:(?:be|like|going\s+to\s+be"
    r"|go\s+fall|gonna\s+fall|will\s+fall)\s+)?(?:in|at|for|over|around|of)\s+"
    r"(?P<place>[a-z][a-z'-]{2,})\b",
    re.IGNORECASE,
)
# "Istanbul weather tomorrow?", "how is the Dhaka weather": a proper name before it.
WEATHER_OF = re.compile(
    r"\b(?P<place>[A-Z][a-z'-]{2,})(?:'s)?\s+(?:weather|temperatures?|temps?|rain|snow)\b"
)
_NOT_PLACE_WORDS = (
    "the our my this that next coming tomorrow today tonight tmrw yesterday last weekend week"
    " month morning"
    " evening afternoon night noon midday monday tuesday wednesday thursday friday saturday"
    " sunday here there site house home farm cabin place days hours a an each all"
    " fahrenheit celsius centigrade kelvin degrees f c units"
)
NOT_PLACES = frozenset(_NOT_PLACE_WORDS.split())


def ordered_for_later(text: str) -> bool:
    """Whether a machine named in ``text`` is given a later time ("at 5am tomorrow")."""
    return any(commands.for_later(text, family) for family in commands.FAMILIES)


def greeting(text: str) -> bool:
    """A bare greeting ("good morning"): it asks nothing."""
    return bool(_GREETING.search(text))


def cannot(text: str) -> bool:
    """A request for something the bot cannot do: an alert on a condition, or a schedule."""
    conditional = bool(_THRESHOLD.search(text) and _CONDITION.search(text))
    return conditional or bool(scheduled(text) or STANDING.search(text)) or compound_threshold(text)


def _closest(tools: list[str]) -> str:
    lines = []
    for tool in tools[:3]:
        what, example = EXAMPLES[tool]
        lines.append(f'• {what}: "{example}"')
    return "\n".join(lines)


# An order taken back after it is given ("Stop the miners. Wait, the battery is fine.",
# "start the genny, actually no", "..., never mind", "..., scratch that"): said after the
# order, never as the message's first word ("wait, stop the miners" still orders).
_TAKEN_BACK = re.compile(
    r"(?<=[.!?,;:\-\u2013\u2014])\s*(?:(?:oh|ah+|aah+|hmm+|um+|uh|ok|okay|no|nah|nope|naw|sorry"
    r"|err?m?|actually)\W+)*"
    r"(?:wait\b|actually\s+(?:no|nah|don'?t|do\s+not|never|not|leave|forget|cancel)\b"
    r"|never\s*mind|nvm\b|scratch\s+that|forget\s+(?:it|that|about\s+(?:it|that))\b"
    r"|on\s+second\s+thoughts?|cancel\s+(?:that|it)\b|ignore\s+(?:that|this|me|my\s+last)\b"
    r"|hold\s+on\b|don'?t\s+(?:do\s+(?:it|that)|bother)\b|no\s+don'?t\b|disregard\b"
    # "..., leave them", "Leave it running.", "it is not needed", "wacha" (Swahili: leave it)
    r"|leave\s+(?:it|them|em|'em)\b(?:\s+(?:running|working|on|off|alone|be|as\s+(?:is|it\s+is)))?"
    r"\s*(?:[.,;!]|$)|(?:it\s+is\s+|it'?s\s+)?not\s+needed\b|no\s+need\b|wacha\b|achana\b)",
    re.IGNORECASE,
)


_ORDER_TOOLS = frozenset(
    {"stop_miners", "start_miners", "set_grid_charge", "start_generator", "stop_generator"}
)


def taken_back(text: str) -> bool:
    """Whether ``text`` takes back what it said before ("..., wait, ...", "never mind")."""
    return _TAKEN_BACK.search(text) is not None


def not_understood(text: str, reason: str, closest: list[str]) -> str:
    """The reply when the planner calls no tool: why, what is closest, and how to ask.

    ``reason`` is ``unsupported`` (a request the bot cannot carry out), ``none``
    (a statement or chit-chat: nothing to do) or ``unsure`` (not understood well
    enough to act); ``closest`` are tools by likeness to the message.
    """
    quoted = text.strip()
    if len(quoted) > 80:
        quoted = quoted[:77] + "..."
    if reason == "unsupported":
        if compound_threshold(text) and not scheduled(text):
            return (
                "An alert rule watches one reading against one threshold, so I set nothing "
                "rather than drop half of that. Set one rule per condition (each alerts on "
                'its own), e.g. "alert me if the battery drops below 30 %" and "alert me if '
                'the load goes over 5 kW". Closest:\n'
                + _closest(["set_alert_rule", "list_alert_rules", "active_alerts"])
            )
        if _THRESHOLD.search(text) and not (scheduled(text) or STANDING.search(text)):
            return (
                "I couldn't read a threshold from that, so no alert was set. An alert rule "
                "needs a reading, a comparison and a number (with a unit, and optionally how "
                'long it must hold), e.g. "alert me if the panel voltage drops below 12 V for '
                '10 min". Devices going offline are already watched by the built-in rules. '
                "Closest:\n" + _closest(["set_alert_rule", "list_alert_rules", "active_alerts"])
            )
        if scheduled(text) or STANDING.search(text) or ordered_for_later(text):
            return (
                "I can't schedule commands: every change is a one-off request that a person "
                "approves, and it runs when approved. Ask again when it is time, or ask now "
                "without a time. Closest:\n"
                + _closest(["miner_plan", "generator_plan", "stop_miners"])
            )
        if standing_order(text):
            return (
                "I can't act later on a condition or on a schedule: every change is a one-off "
                "request that a person approves, and it runs when approved. I can alert you "
                'when a reading crosses a threshold ("alert me if the battery drops below '
                '30 %"), and you ask for the change then. Closest:\n'
                + _closest(["set_alert_rule", "miner_plan", "generator_plan"])
            )
        if WEATHER_IN.search(text):
            return (
                "I only forecast the weather at your sites, as the solar it brings: I have "
                f'no forecast for other places ("{quoted}"). Closest:\n'
                + _closest(["solar_forecast", "week_outlook", "battery_outlook"])
            )
        return (
            f'I can\'t do that from chat ("{quoted}"). I read the site, forecast, report, '
            "manage alerts, and propose starting or stopping miners, the generator and grid "
            "charging for a person to approve. Closest:\n" + _closest(closest or ["site_status"])
        )
    if reason == "none":
        if _GREETING.search(text):
            return 'Hello! Ask me about your site, e.g. "how is the site?" or "any alerts?".'
        if _THANKS.search(text):
            return "You're welcome."
        return (
            "I didn't take that as a question or a request, so I did nothing. "
            'To act or look something up, ask e.g. "how is the site?" or "stop the miners"; '
            'say "help" for everything I can do.'
        )
    if taken_back(text) and closest[:1] and closest[0] in _ORDER_TOOLS:
        return (
            "You took that back as you asked it, so I made no request. If you do want the "
            'change, ask for it again on its own (e.g. "stop the miners"); a request still '
            "waits for a person to approve it."
        )
    hint = _closest(closest) if closest else ""
    return (
        f'I didn\'t understand "{quoted}" well enough to act on it.'
        + (f" Closest things I can do:\n{hint}" if hint else "")
        + '\nSay "help" for everything I can do.'
    )
