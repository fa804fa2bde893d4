"""Whole-message patterns: role changes, preferences, outlooks, reports, knowledge, help."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphs.assistant.understanding.lexicon import (
    Intent,
)
from tools.reports.windows import window_spec

_ROLE_WORDS = {
    "admin": "admin",
    "administrator": "admin",
    "operator": "operator",
    "manager": "manager",
    "viewer": "viewer",
    "finance": "finance",
    "read-only": "viewer",
}
_ROLE_CHANGE = re.compile(
    r"^(?:please\s+)?(?:make|set|give|promote|demote)\s+(?:the\s+role\s+of\s+)?"
    r"<?@?(?P<user>[A-Za-z0-9._-]{2,40})>?\s+(?:to\s+|an?\s+|the\s+)?(?:role\s+)?"
    r"(?P<role>admin|administrator|manager|operator|viewer|finance|read-only)(?:\s+role)?[.!]?$",
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
_WHEN = r"(hours?|when|due|next|how (long|soon)|left|until|till|overdue|time for)"
_SERVICE = r"(service[ds]?|servicing|oil change|maintenance|check-?up|inspection|tune-?up)"

# Within one clause: any text up to a clause break ("and", ",", "?", ...).
_GAP = r"(?:(?!\b(?:and|plus|also|then)\b)[^,;&+?.!])*"
_BATT = r"(battery|batteries|batt|soc|bank|pack|state of charge)"
_LATER = r"(morning|sunrise|dawn|night|overnight|tonight|tomorrow|later|evening|midnight)"

# The week ahead: forward-looking questions about the coming days (not fuel: fuel_outlook).
_WEEK = re.compile(
    # named outright ("week outlook, gen hrs + fuel", "outlook for the coming week"), or
    r"^.*\b(week(ly)?\s+outlook|outlook\s+for\s+the\s+(coming|next)\s+week|week\s+ahead"
    r"|(outlook|forecast|prospect|view)\s+for\s+(the\s+)?(next\s+|coming\s+)?(7|seven)\s+days"
    r"|(7|seven)[- ]?day\s+(outlook|forecast))\b"
    # ... a week to come, not fuel alone nor the past
    r"|^(?!.*\b(diesel|fuel|did|was|were|so far|last week|report)\b)(?:"
    r".*\b(week\s+ahead|coming\s+week|next\s+week|(next|coming|following)\s+(few|several"
    r"|[3-9]|1[0-6]|seven|five)\s+days|(7|seven)[- ]?day\s+(outlook|forecast|view|picture|plan))\b"
    r"|.*\b(this|the\s+coming|next)\s+week\b.*\b(gonna|going\s+to|will|enough|sunny|need)\b"
    r"|.*\b(will|gonna|going\s+to|need|needed|look\w*|outlook|forecast|expect\w*|charg\w*"
    r"|fill\w*|enough)\b.*\b(this|the|rest\s+of\s+the|for\s+the)\s+week\b"
    r"|.*\b(this|the)\s+week\b.*\b(outlook|forecast|look\w*|ahead)\b"
    r"|\s*week(ly)?\s+(outlook|forecast|ahead)\b)",
    re.IGNORECASE,
)
_POWER_WORDS = r"(power|energy|electricity|juice|kwh|kilowatt[- ]?hours|load)"
# Expected consumption today or tomorrow.
_LOAD_FORECAST = re.compile(
    r"\b(load|consumption|usage|demand)\s+(forecast|prediction|projection|outlook|estimate"
    r"|profile)\b"
    r"|\b(expected|predicted|projected|forecast(ed)?|estimated|likely)\s+((kwh|energy|power"
    r"|electricity)\s+)?(load|consumption|usage|use|demand)\b"
    r"|\b(load|consumption|usage|demand)\b.*\blook\w*\b.*\b(today|tomorrow|tmrw|2moro)\b"
    r"|^\s*(load|consumption|usage|demand)\s+(tomorrow|tmrw|today|2moro)\b"
    r"|\bwhat\s+will\s+(the\s+|our\s+|my\s+)?(load|consumption|usage|demand)\b"
    rf"|\bhow\s+much\s+{_POWER_WORDS}\b.*\b(will|gonna|going\s+to|do)\b.*\b(use|consume|draw"
    r"|need|pull)\b.*\b(tomorrow|tmrw|today|2moro)\b"
    rf"|\bhow\s+much\b.*\b(will|gonna|going\s+to)\b.*\b(use|consume|draw|pull)\b.*"
    r"\b(tomorrow|tmrw|today|2moro)\b",
    re.IGNORECASE,
)

_OUTLOOKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("solar_scorecard", _SCORECARD),
    (
        "grid_charge_advice",
        re.compile(
            r"\b(should|do|shall)\s+(i|we)\b.*\b(grid[- ]?charg\w*|charge\b.*\bgrid)"
            r"|\bgrid[- ]?charg\w*\b.*\b(tonight|overnight)\b.*\?"
            r"|\b(worth|good idea|make sense|sensible|economical|cheaper|cost[- ]effective|wise"
            r"|smart)\b.*\bcharg\w*\b.*\b(grid|mains|utility)\b"
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
            r"|\b(should|shall|can|could|sensible|wise|worth|safe|ok|okay|how many|which hours"
            r"|what hours)\b.*\b(miners?|rigs?|hash\w*|mining|machines)\b.*\b(tonight|overnight"
            r"|through the night|all night|today|tomorrow|this (afternoon|evening|weekend)|all day"
            r"|next day|hours|curtail)\b"
            r"|\b(recommended|best|optimal)\s+(schedule|plan|hours|times?)\b.*\b(mining|miners?|rigs?)\b"
            r"|\bwhich hours\b.*\bhash\w*"
            r"|\bhow many (miners|rigs)\b.*\b(can|could|should|to)\b"
            r"|\b(can|could|should)\s+(we|i)\s+(run|keep|mine)\b.*\bminers?\b"
            r".*\b(tomorrow|today|tonight|overnight|this (morning|afternoon|evening)|all day)\b",
            re.IGNORECASE,
        ),
    ),
    ("week_outlook", _WEEK),
    ("load_forecast", _LOAD_FORECAST),
    (
        "generator_service",
        re.compile(
            rf"\b{_GEN}\b.*\b{_WHEN}\b.*\b{_SERVICE}\b|\b{_WHEN}\b.*\b{_GEN}\b.*\b{_SERVICE}\b"
            rf"|\b{_WHEN}\b.*\b{_SERVICE}\b.*\b{_GEN}\b"
            rf"|\b{_GEN}\b.*\b{_SERVICE}\b.*\b(due|left|overdue|soon)\b"
            rf"|\b{_GEN}\b.*\b(run[- ]?hours|hour ?meter|hours? counter|engine hours)\b"
            r"|\b(next|due for( an?)?)\s+(service|servicing|oil change)\b",
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
            rf"|\b(need|gotta|have to|got to)\b.*\b{_GEN}\b.*\b(tonight|tomorrow|today"
            r"|this (evening|weekend)|weekend|next [12] days?|next \d+ hours"
            r"|next (two|couple) days)\b"
            r"|\b(when|what time|which hours|best time)\b.*\b(fire up|crank|kick on|turn on"
            rf"|switch on)\b.*\b{_GEN}\b"
            rf"|\b{_GEN}\s+runs?\b.*\b(next [12] days?|next \d+ hours|tonight|tomorrow|today"
            r"|plan)\b"
            rf"|\b(should|do|shall)\s+(i|we)\s+(run|start|use)\b.*\b{_GEN}\b.*"
            r"\b(tonight|tomorrow|today|this (evening|morning|afternoon|week))\b"
            # "will we need the generator for the Christmas Eve service?", "the generator
            # is necessary in the weekend?", "advise on the generator for tomorrow"
            rf"|^\W*(will|would|do|does|shall|are|is)\s+(we|i|you|they)\s+(going\s+to\s+)?"
            rf"(need|want|require)\s+(the\s+|our\s+|my\s+)?{_GEN}\b(?!\s+(service|servicing))"
            rf"|\b{_GEN}\s+(is|be|will\s+be)\s+(necessary|needed|required)\b"
            rf"|\badvi[sc]e\s+(me\s+|us\s+)?(on|about|regarding)\s+(the\s+|our\s+)?{_GEN}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "fuel_outlook",
        re.compile(
            r"\b(diesel|fuel)\b.*\b(month|30 days|weeks?|burn|need|use)\b"
            r"|\bhow much (diesel|fuel)\b"
            r"|\b(diesel|fuel)\s+(situation|status|position|picture|state|level|levels)\b"
            r"|\btank\b.*\b(days?|last|left|remaining|empty|outlook)\b"
            r"|\b(diesel|fuel|tank)(\s+next \d+ days)?\s+outlook\b"
            r"|\b(diesel|fuel|tank)\s+next \d+ days\b"
            r"|\b(diesel|fuel)\s+(outlook|forecast|projection|runway)\b"
            r"|\b(days?|weeks?|hours?)\s+of\s+(diesel|fuel)\b"
            r"|\bhow (long|many days)\b.*\b(diesel|fuel)\b.*\b(last|left)\b"
            r"|\b(diesel|fuel)\b.*\b(run out|last)\b"
            r"|\b(run|running)\s+(out|low|short)\s+(of|on)\s+(diesel|fuel|gas)\b"
            r"|\b(order|buy|reorder)\w*\b.*\b(diesel|fuel)\b|\b(diesel|fuel)\b.*\border\b"
            r"|\bl\s*/\s*kwh\b|\b(litres?|liters?)\s+per\s+kwh\b",
            re.IGNORECASE,
        ),
    ),
    (
        "battery_outlook",
        re.compile(
            rf"\b{_BATT}\b{_GAP}\b(run out|until|empty|outlook|projection|forecast"
            r"|prediction|tonight|tomorrow)\b"
            rf"|\b{_BATT}\b{_GAP}\blast\b{_GAP}\b{_LATER}\b"
            rf"|\b{_BATT}\b{_GAP}\b(next|over|coming|for)\s+(the\s+)?(\d+|two|three|couple|few"
            r"|forty[- ]eight)\s*(of\s+)?(days?|hours?|hrs?)\b"
            r"|\bwhen will the battery\b"
            rf"|\b{_BATT}\b{_GAP}\b(through the night|make it|hold out|get us through)\b"
            rf"|\bhow long\b{_GAP}\b(can|will|could)\s+(we|i|it|the site)\b{_GAP}\b(run|last|go)\b"
            rf"{_GAP}\b(on|from)\s+(the\s+)?battery\b"
            rf"|\bhow long\b{_GAP}\b{_BATT}\b{_GAP}\b(last|hold|run)\b{_GAP}\b{_LATER}\b"
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
_BANK = r"(?:battery|batteries|batt|bank|accu|lithium|storage|powerwall)"
_FLOOR_CHANGE = re.compile(
    r"^(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+|from\s+now\s+on,?\s+"
    r"|i'?d\s+(?:like|prefer|want)\s+|i\s+(?:would\s+)?(?:like|prefer|want)\s+"
    r"|(?:make\s+sure|ensure)\s+(?:that\s+)?)*"
    r"(?:"
    r"(?:the\s+|my\s+|our\s+)?(?:battery|batteries|batt|bank|accu|lithium|storage|powerwall|soc)\s+(?:is\s+|are\s+)?(?:never|not)"
    r"\s+(?:to\s+)?(?:be\s+)?(?:go(?:es)?|drops?|falls?|gets?|dips?|runs?|discharged?|drained)"
    r"?\s*(?:down\s+)?(?:below|under|lower\s+than)\s+" + _PCT + r"|"
    r"(?:always\s+)?(?:keep|hold|maintain)\s+(?:the\s+|my\s+|our\s+)?(?:battery|batt|soc)"
    r"(?:\s+soc|\s+charge|\s+level)?\s+(?:at\s+or\s+)?(?:above|over|at\s+least|>=?)\s+"
    + _PCT
    + r"|(?:do\s*n[o']?t|never)(?:\s+ever)?\s+let\s+(?:the\s+|my\s+|our\s+)?"
    + _BANK[:-1]
    + r"|pack|soc)"
    r"(?:\s+soc|\s+charge|\s+level)?\s+(?:go|drop|fall|get|dip|run)\s+(?:below|under|lower\s+than)\s+"
    + _PCT
    + r"|(?:always\s+)?(?:keep|leave|reserve|hold)\s+(?:at\s+least\s+|a\s+minimum\s+of\s+)?"
    + _PCT
    + r"\s+(?:in|of)\s+(?:the\s+|my\s+|our\s+)?"
    + _BANK
    + r"|(?:set|change|raise|put|make)\s+(?:the\s+|my\s+|our\s+)?(?:battery\s+)?"
    r"(?:floor|minimum(?:\s+soc)?|min(?:imum)?\s+soc|min\s+soc|reserve|soc\s+floor|soc\s+minimum)"
    r"(?:\s+(?:of|for)\s+the\s+battery)?\s+(?:to|at|=)\s+"
    + _PCT
    + r"|(?:battery\s+)?(?:floor|minimum\s+soc|min\s+soc|soc\s+floor|reserve)\s*(?:=|:|of|at)?\s*"
    + _PCT
    + r"(?:\s+(?:please|from\s+now\s+on))?"
    r")(?:\s+(?:please|from\s+now\s+on|at\s+all\s+times))?"
    # a reason after it ("..., it's the rule now"), not a second request
    r"(?:\s*[,;]\s*(?:it'?s|its|that'?s|thats|this\s+is|we|i|because|as|since|the)\b[^?]*)?"
    r"[.!]?$",
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


# Fractions said in words ("never below half", "above a quarter") as percentages.
_FRACTIONS = (
    (re.compile(r"\b(?:three[- ]quarters|3/4)(?:\s+full)?\b", re.I), "75%"),
    (re.compile(r"\b(?:a\s+|one\s+)?(?:half|1/2)(?:\s+full|\s+charged)?\b", re.I), "50%"),
    (re.compile(r"\b(?:a\s+|one\s+)?(?:quarter|1/4)(?:\s+full|\s+charged)?\b", re.I), "25%"),
    (re.compile(r"\b(?:a\s+|one\s+)?(?:third|1/3)(?:\s+full|\s+charged)?\b", re.I), "33%"),
)
# Where a standing floor ends and its reason or courtesy begins ("keep the battery above
# 40 % from now on, the chillers can't lose power", "... in the plans, remember that").
_FLOOR_TAIL = re.compile(
    r"\s*(?:[,;:!]|\.(?:\s|$)|\s[-–—]\s|\band\s+(?=please\b)|\bplease\s+remember\b|\bremember\s+that\b"
    r"|\bin\s+(?:the\s+|all\s+|your\s+)?plans?\b|\bit'?s\s+better\b|\bbecause\b)",
    re.IGNORECASE,
)


def _floor_clauses(text: str) -> list[str]:
    """The whole text, then each of its clauses, with fractions in words as percentages."""
    for pattern, pct in _FRACTIONS:
        text = pattern.sub(pct, text)
    clauses = [c.strip() for c in _FLOOR_TAIL.split(text) if c and c.strip()]
    if "?" in text or not clauses or clauses == [text.strip()]:
        return [text]  # a question beside it is read by the clause reader
    return [text, *clauses]


def _preference_change(text: str, site_names: Sequence[str]) -> Intent | None:
    """'keep the battery above 45 %', 'I prefer kW and °F', 'show temperatures in F'."""
    stripped = text.strip()
    lowered = stripped.lower()
    site = next((s for s in site_names if re.search(rf"\b{re.escape(s.lower())}\b", lowered)), None)
    if site is not None:
        stripped = re.sub(
            rf"\s*(?:at|for|on)?\s*\b{re.escape(site)}\b", "", stripped, flags=re.IGNORECASE
        ).strip()
    for said in _floor_clauses(stripped):
        floor = _FLOOR_CHANGE.match(said)
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
    r"|\b(solar|pv|sun|production|produced|generation|usage|consumption|imports?"
    r"|exports?|kwh|energy|cost|costs|fuel|diesel)\b.*\bso\s+far\b|\bso\s+far\b.*\b(solar|pv"
    r"|sun|production|generation|usage|consumption|imports?|exports?|kwh|energy"
    r"|cost|costs|fuel|diesel)\b"
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
    r"|produce|produced|import|imported|export|exported|generate|generated|make|made|catch|caught"
    r"|collect|collected|harvest|harvested|bring\s+in|brought\s+in)\b",
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
    r"|acknowledge[sd]?|dismiss|postpone[sd]?|defer)\b",
    re.IGNORECASE,
)


_TOMORROW = re.compile(r"\b(tomorrow|tmrw|tomorow|2moro|next day)\b", re.IGNORECASE)


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
    for tool, pattern in _READINGS:
        if pattern.search(text):
            return _reading_intent(tool, text, named)
    for tool, pattern in _OUTLOOKS:
        if pattern.search(text):
            if tool == "fuel_outlook":
                return Intent(tool, {"site": named, "focus": fuel_focus(text)})
            if tool == "load_forecast":
                day = "tomorrow" if _TOMORROW.search(text) else "today"
                return Intent(tool, {"site": named, "day": day})
            return Intent(tool, {"site": named})
    return None


# Questions answered from the live readings or the history, matched before the outlooks.
_READINGS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "battery_status",  # "how long until the floor at this rate": the battery now
        re.compile(
            r"^(?!.*\b(?:diesel|fuel|tank|petrol|gas|propane)\b).*(?:"
            r"\b(?:at\s+(?:this|the\s+(?:present|current))\s+(?:rate|pace)|runway"
            r"|at\s+the\s+present\s+rate\s+of\s+discharge)\b"
            # "at current draw", "at the rate the chiller is pulling", "if we keep using
            # power like this": the runtime at the present load, not the forecast
            r"|\b(?:at|with|on|under)\s+(?:the\s+|this\s+|our\s+)?(?:current|present|today'?s"
            r"|existing)\s+(?:draw|load|usage|consumption|demand|discharge|rate|pace|use)\b"
            r"|\bat\s+the\s+rate\s+(?:the|we|it|they|our|my|things|that|of)\b"
            r"|\b(?:if|when|while)\s+(?:we|i|it|they|you|things|the\s+\w+)\s+(?:keep|keeps|carry"
            r"|carries|go|goes)\s+(?:on\s+)?(?:\w+\s+){0,4}?(?:like\s+this|like\s+that|as\s+(?:is|now"
            r"|it\s+is)|at\s+this|on)\b"
            r"|\b(?:using|drawing|burning|pulling)\s+(?:\w+\s+)?like\s+this\b"
            r")",
            re.IGNORECASE,
        ),
    ),
    (
        "anomalies",
        re.compile(
            r"\b(?:odd|weird|strange|unusual|abnormal|funny)\s+(?:readings?|values?|data|numbers"
            r"|figures|behaviou?r|patterns?|spikes?|usage|consumption)\b|\banomal\w*|\boutliers?\b"
            r"|\b(?:anything|something)\s+(?:odd|weird|strange|unusual|abnormal|out\s+of\s+the"
            r"\s+ordinary)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "timeline",
        re.compile(
            r"^\W*(?:and\s+)?(?:overnight|last\s+night|while\s+i\s+was\s+(?:away|out|asleep))\W*$"
            r"|\bwhat\s+(?:happened|went\s+(?:on|down|wrong))\b.*\b(?:since|overnight|last\s+night"
            r"|while|today|this\s+morning|yesterday|in\s+the\s+last)\b"
            r"|\bwhat\s+(?:happened|went\s+(?:on|down|wrong))\s+since\b",
            re.IGNORECASE,
        ),
    ),
    (
        "panel_readings",
        re.compile(
            r"\bina\s*228\b|\bpanels?\s+(?:v\s*/\s*[ai]|volt\w*|current|amps?|amperage|temp\w*)\b"
            r"|\b(?:volt\w*|current|amps?)\b.*\b(?:test|the|my|on\s+the|on\s+my)\s+panel\b",
            re.IGNORECASE,
        ),
    ),
)


def _reading_intent(tool: str, text: str, site: str | None) -> Intent:
    args: dict[str, object] = {"site": site}
    if tool == "timeline":
        args["window"] = window_spec(text)
        args["full"] = False
    elif tool == "panel_readings":
        args["quantity"] = panel_quantity(text)
    return Intent(tool, args)


_PANEL_QUANTITIES = (
    ("temperature", re.compile(r"\b(temp\w*|hot|warm|heat\w*|die)\b", re.I)),
    ("current", re.compile(r"\b(current|amps?|amperage|a)\b", re.I)),
    ("voltage", re.compile(r"\b(volt\w*|v)\b", re.I)),
    ("power", re.compile(r"\b(power|watts?|w)\b", re.I)),
)


# The INA228 sensor on a test panel, named ("ina228 power", "the test panel's watts").
NAMES_SENSOR = re.compile(r"\bina\s*228\b|\btest\s+panel|\bsensor\b|\breadings?\b", re.I)


def panel_quantity(text: str) -> str:
    """Which INA228 reading a message asks about first ("all" when several or none)."""
    asked = [name for name, pattern in _PANEL_QUANTITIES if pattern.search(text)]
    return asked[0] if len(asked) == 1 else "all"


_FUEL_RATE = re.compile(
    r"\bl\s*/\s*kwh\b|\b(litres?|liters?|l)\s+(per|a|an|each)\s+kwh\b|\bper\s+kwh\b"
    r"|\befficien|\bconsumption\s+rate\b|\bburn\s+rate\b|\bspecific\s+(fuel|consumption)\b"
    r"|\bfuel\s+rate\b|\bhow\s+thirsty\b",
    re.IGNORECASE,
)
_FUEL_ORDER = re.compile(
    r"\b(order|reorder|re-order|buy|purchase|deliver\w*|refuel|refill|top\s+up)\b",
    re.IGNORECASE,
)
_FUEL_LEFT = re.compile(
    r"\b(left|remaining|last|run(ning)?\s+(out|dry|low)|(we|i)\s+(have|got)|have\s+(we|i)"
    r"|in\s+the\s+tank|is\s+there)\b",
    re.IGNORECASE,
)
_FUEL_MONTH = re.compile(
    r"\b(month|30\s+days|weeks?|how\s+much\s+(diesel|fuel)|burn|need|use)\b", re.IGNORECASE
)


def fuel_focus(text: str) -> str:
    """What a fuel question asks first: the L/kWh, when to order, days left, or litres ahead."""
    if _FUEL_RATE.search(text):
        return "rate"
    if _FUEL_ORDER.search(text):
        return "order"
    if _FUEL_LEFT.search(text):
        return "days_left"
    if _FUEL_MONTH.search(text):
        return "month"
    return "days_left"


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
    rf"|\bhow\s+(do|can|should|would)\s+(i|we|you|u|ya|one)\s+{_HOW_TO_VERBS}\b"
    r"|\bwhat\s+(triggers|causes|sets\s+off|fires)\b|\bhow\s+does\s+(the\s+)?\w+(\s+\w+)?\s+work\b"
    r"|\b(error|fault|alarm)\s*(code\s*)?#?\s*[a-z]{0,2}\d{1,4}\b|\b(wiring|pinout|wired)\b"
    r"|^\W*what\s+(is|are|does)\s+(an?\s+)?(soc|state\s+of\s+charge|mppt|bms|ess|lifepo4|dod"
    r"|depth\s+of\s+discharge|float|absorption|equali[sz]ation|c-?rate)\W*(\?|$)"
    r"|\b(that|this)\s+term\b|\bstand\s+for\b|\bacronym\b"
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


# "how to use this bot", "how do I use you": the bot itself, not a runbook.
_USING_THE_BOT = re.compile(
    r"\bhow\s+(?:to|do\s+i|can\s+i|should\s+i)\s+(?:use|work|talk\s+to|ask)\s+"
    r"(?:this\s+bot|the\s+bot|this\s+thing|this|you|u|it)\b(?!\s+(?:to|for|with|when|if)\b)",
    re.IGNORECASE,
)


def _knowledge(text: str, site_names: Sequence[str]) -> Intent | None:
    """How-to, procedure and "what does this alert mean" questions: the runbooks answer."""
    if not _KNOWLEDGE.search(text) or _USING_THE_BOT.search(text):
        return None
    if _ALERT_HOUSEKEEPING.search(text) and not re.search(r"\bhow\b|\bmean", text, re.I):
        return None  # "lift the silence; maintenance is complete": housekeeping, not a manual
    return Intent("search_knowledge", {"site": _site_named(text, site_names), "query": text})


_WHO_IS = re.compile(
    r"^(?:who\s+is|who's|whois|what\s+(?:role|access)\s+(?:does|has))\s+"
    r"<?@?(?P<user>[A-Za-z0-9._-]{2,40})>?(?:\s+(?:have|do|see|got))?\s*[?.!]*$",
    re.IGNORECASE,
)
_DECIDE = re.compile(
    r"^(?:please\s+)?(?P<verb>approve|ok|okay|accept|reject|deny|decline|refuse)\s+"
    r"(?:request\s+|action\s+|#)?(?P<id>[0-9a-f]{4,32})"
    r"(?:\s+(?:too|as\s+well|also|thanks|thx|please|pls|now|while\s+you(?:'re|\s+are)\s+at\s+it))*"
    r"\s*[.!]*$",
    re.IGNORECASE,
)
_PENDING = re.compile(
    r"^(?:(?:what|which|any(?:thing)?|are\s+there\s+any|show(?:\s+me)?|list)\s+)?"
    r"(?:is\s+|are\s+)?(?:the\s+)?(?:pending|waiting|open|outstanding)\s+"
    r"(?:approvals?|requests?|action\s+requests?)"
    r"(?:\s+(?:waiting|pending|for\s+(?:me|approval)))?\s*[?.!]*$"
    r"|^(?:what|anything)\s+(?:is\s+|'s\s+)?(?:waiting|needs?)\s+(?:for\s+)?"
    r"(?:my\s+)?approv\w*\s*[?.!]*$"
    r"|^(?:anything|what(?:'s|s|\s+is|\s+are)?)\s+(?:still\s+)?(?:pending|waiting)\s*[?.!]*$"
    r"|\bsay\s+yes\s+to\b|\b(?:anything|something)\s+(?:awaiting|waiting\s+for|that\s+needs)\s+"
    r"(?:my\s+)?(?:approval|ok|sign[- ]?off)\b"
    r"|\b(?:anything|something)\s+(?:for\s+me\s+)?to\s+approve\b",
    re.IGNORECASE,
)
# Tools read only from these exact shapes (ids and names): no classifier guess needed.
EXACT_TOOLS = frozenset({"who_is", "pending_approvals", "decide_action"})


_SELF = re.compile(r"\b(i|me|my|mine|myself|i'm|im|am\s+i)\b", re.IGNORECASE)
_PERSON = re.compile(
    r"<@!?(?P<mention>[A-Za-z0-9]+)>|@(?P<handle>[A-Za-z0-9._-]{2,40})"
    r"|\b(?P<uid>U[A-Z0-9]{6,}|\d{17,20})\b"  # Slack ids; Discord ids (snowflakes)
    r"|\b(?:role|access|permissions?|rights|sites)\s+(?:does|has|of|for)\s+"
    r"(?:(?:mr|ms|mrs|dr)\.?\s+)?(?P<of>[A-Za-z][A-Za-z0-9._-]{1,39})"
    r"|\b(?:who\s+is|who's|can|is|does|check)\s+(?:(?:mr|ms|mrs|dr)\.?\s+)?"
    r"(?P<subject>[A-Za-z][A-Za-z0-9._-]{1,39})(?:'s)?\s+(?:an?\s+|the\s+)?"
    r"(?:role|access|approve|admin|operator|manager|viewer|finance|allowed|permissions?|have"
    r"|see|use)"
    r"|\b(?P<owner>[A-Za-z][A-Za-z0-9._-]{1,39})'s\s+(?:role|access|permissions?|rights)",
    re.IGNORECASE,
)
_NOT_A_PERSON = frozenset(
    {"the", "it", "that", "this", "i", "we", "he", "she", "they", "who", "what", "my", "me"}
    | {"user", "account"}
)


def who_args(text: str) -> str | None:
    """The person a role question is about: a mention, an id or a name, else "me" when
    the asker asks about themself; None when it names nobody."""
    for match in _PERSON.finditer(text):
        name = next((v for v in match.groupdict().values() if v), None)
        if name is not None and name.lower() not in _NOT_A_PERSON:
            return name
    # "could you tell me who Mark is?": the person asked about, not the "me" of the asker
    # "which is the role of marie_d", "role and site scope for user ops_kvn": the name
    # after the word for a role, wherever another reading took the words before it
    for match in _ROLE_OF.finditer(text):
        name = match["name"] or match["name2"]
        if name.lower() not in _NOT_A_PERSON:
            return name
    named = _WHO_INSIDE.search(text)
    if named is not None and named["name"].lower() not in _NOT_A_PERSON:
        return named["name"]
    handle = user_handle(text)
    if handle is not None:
        return handle  # "what can bill_k actually do?", "is tomas_r still a viewer"
    return "me" if _SELF.search(text) else None


# A chat handle or user id written anywhere ("ruth_o", "mara.b", "U09GRAND1", "@lee").
_HANDLE = re.compile(
    r"(?<![\w@.])@(?P<at>[A-Za-z][\w.-]{1,39})"
    r"|(?<![\w@.])(?P<handle>[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+|U[A-Z0-9]{6,})(?![\w@])",
)
_NOT_HANDLES = frozenset({"e.g", "i.e", "etc", "a.m", "p.m"})


def user_handle(text: str) -> str | None:
    """The one handle or user id a message writes, if exactly one."""
    found = {
        m["at"] or m["handle"]
        for m in _HANDLE.finditer(text)
        if (m["at"] or m["handle"]).lower().rstrip(".") not in _NOT_HANDLES
        and not (m["handle"] or "").endswith(".")
    }
    return found.pop() if len(found) == 1 else None


_ROLE_OF = re.compile(
    r"\b(?:role|roles|access|permissions?|rights|scope)\s+(?:does|has|of|for|is)\s+"
    r"(?:(?:the\s+)?user\s+|(?:mr|ms|mrs|dr)\.?\s+)?(?P<name>@?[A-Za-z][A-Za-z0-9._-]{1,39})"
    r"|\buser\s+(?P<name2>[A-Za-z][A-Za-z0-9._-]*[_.\d][A-Za-z0-9._-]*)",
    re.IGNORECASE,
)
_WHO_INSIDE = re.compile(
    r"\bwho\s+(?P<name>@?[A-Za-z][\w.'-]{1,39}(?:\s+(?-i:[A-Z][a-z]+))?)\s+(?:is|was)\b",
    re.IGNORECASE,
)


def _who_is(text: str) -> Intent | None:
    """'who is U024BE7LH?', 'what role does olga have?'."""
    match = _WHO_IS.match(text)
    if match is None or match["user"].lower() in {"the", "it", "that", "this", "i", "we"}:
        return None
    return Intent("who_is", {"site": None, "user_id": match["user"]})


def _approvals(text: str) -> Intent | None:
    """'approve 8c41fea3', 'reject 8c41', 'pending approvals?'."""
    decided = _DECIDE.match(text)
    if decided is not None:
        approve = decided["verb"].lower() in {"approve", "ok", "okay", "accept"}
        return Intent(
            "decide_action",
            {"site": None, "action_id": decided["id"].lower(), "approve": approve},
        )
    if _PENDING.search(text):
        return Intent("pending_approvals", {"site": None})
    return None


_PART_BREAK = re.compile(r"\s*(?:[?;]|[.,!](?=\s|$)|\b(?:and|then|also)\b)\s*", re.IGNORECASE)
_PART_LEAD = re.compile(r"^(?:(?:and|then|also|please|pls|now)\s+)+", re.IGNORECASE)


def approvals_in_parts(text: str) -> list[Intent] | None:
    """'anything pending? approve 2f8a61cd', 'approve 2f8e6a1c, reject 7c90b3d4': every
    part of the message an approval shape, in order; None otherwise."""
    parts = [_PART_LEAD.sub("", p.strip()) for p in _PART_BREAK.split(text)]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return None
    found = [_approvals(part) for part in parts]
    if any(i is None for i in found):
        return None
    return [i for i in found if i is not None]


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
            "• solar forecast for today or tomorrow; expected load (consumption) today or tomorrow",
            "• the week ahead: will the battery charge, is the generator needed, day by day",
            "• active alerts and alarms",
            "• acknowledge or snooze an alert (by number, or all of them)",
            "• silence alerts by category, rule or severity for a while; list or remove silences",
            "• alert preferences: critical alerts only, quiet hours such as 22:00-07:00",
            "• alert rules on a reading (alert me if the panel voltage drops below 12 V);"
            " list or delete them",
            "• remember a battery floor (keep the battery above 45 %) and your units (kW, °F)",
            "• stop or start the miners (all of them, or one by name)",
            "• grid charging on or off",
            "• start or stop the generator, and when to run it (a fuel-saving run plan)",
            "• reports on past periods: weekly report, carbon this month, fuel efficiency trend,"
            " cost per kWh of generator vs grid, miner uptime last week",
            "• comparisons: this month vs last, summer vs winter, status of all sites,"
            " compare home and barn, what will this month cost",
            "• how-to, procedures and what an alert means, from the runbooks, with sources",
            "• what happened overnight or since a time; anything unusual this week",
            "• panel voltage, current and chip temperature from an INA228 monitor",
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


# --- comparisons: periods, sites, and the month's projected bill -------------------------------

_MONTH_NAMES = {
    "jan": "january",
    "january": "january",
    "feb": "february",
    "february": "february",
    "mar": "march",
    "march": "march",
    "apr": "april",
    "april": "april",
    "may": "may",
    "jun": "june",
    "june": "june",
    "jul": "july",
    "july": "july",
    "aug": "august",
    "august": "august",
    "sep": "september",
    "sept": "september",
    "september": "september",
    "oct": "october",
    "october": "october",
    "nov": "november",
    "november": "november",
    "dec": "december",
    "december": "december",
}
_SEASON_NAMES = {
    "spring": "spring",
    "summer": "summer",
    "autumn": "autumn",
    "fall": "autumn",
    "winter": "winter",
}
_UNIT = r"(day|week|month|year)"
_PERIOD_TOKEN = re.compile(
    r"\b(?P<rel>this|current|last|previous|past|prior|the\s+previous|the\s+prior)\s+"
    rf"(?P<unit>{_UNIT})\b(?:'s)?"
    r"|\b(?P<today>today|todays|today's|2day)\b|\b(?P<yesterday>yesterday|yesterdays|yesterday's"
    r"|yday)\b"
    r"|\b(?P<sofar>month|week|year)\s+(?:so\s+far|to\s+date)\b|\b(?P<td>mtd|ytd|wtd)\b"
    r"|\b(?P<month>" + "|".join(sorted(_MONTH_NAMES, key=len, reverse=True)) + r")\b"
    r"|\b(?P<season>spring|summer|autumn|fall|winter)s?\b"
    r"|\b(?:vs\.?|versus|to|with|against|than|and|or)\s+(?:the\s+)?(?P<bare>last|previous|prior"
    r"|before)\b(?!\s+(?:day|week|month|year)\b)",
    re.IGNORECASE,
)
_COMPARE_WORDS = re.compile(
    r"\b(vs\.?|versus|compar\w*|contrast\w*|benchmark\w*|stack\w* up|line\w* up|against|than"
    r"|differ\w*|change[ds]?|(?:up|down)\s+(?:on|from)"
    r"|(?:month|week|year|day)[- ]on[- ](?:month|week|year|day)|side\s+by\s+side|better|worse"
    r"|more|less|fewer|higher|lower)\b",
    re.IGNORECASE,
)
_NOT_PERIODS = re.compile(
    r"\b(forecast\w*|predict\w*|clear[- ]?sky|expected|will|tomorrow|tonight|next)\b",
    re.IGNORECASE,
)
_MULTI_SITE = re.compile(
    r"\b(all|every|each|both|across|multiple|several|other)\s+(?:of\s+)?(?:the\s+|my\s+|our\s+)?"
    r"(sites?|locations?|installs?|installations?|systems?|places?|properties|farms?)\b"
    r"|\bwhich\s+(site|location|install\w*|system|place)\b"
    r"|\b(fleet|portfolio|sites\s+side\s+by\s+side|site\s+by\s+site|per[- ]site|everywhere)\b"
    r"|\b(rank|league\s+table)\b.*\bsites?\b|\bsites\b.*\b(rank\w*|compare\w*|comparison)\b",
    re.IGNORECASE,
)
_COST_PROJECTION = re.compile(
    r"\b(project\w*|forecast\w*|estimat\w*|expect\w*|predict\w*|likely|going\s+to|heading"
    r"|end\s+up|on\s+track|run[- ]?rate)\b.*\b(cost|costs|bill|spend\w*|budget|invoice"
    r"|expenses?|money)\b"
    r"|\b(cost|costs|bill|spend\w*|invoice|expenses?)\b.*\b(project\w*|forecast|estimate\w*"
    r"|predict\w*|by\s+(?:the\s+)?end\s+of\s+(?:the\s+)?month|(?:at\s+)?month[- ]end"
    r"|end\s+of\s+(?:the\s+)?month|on\s+track|run[- ]?rate|heading|look\s+like\s+at)\b"
    r"|\bwhat\s+(?:will|would|is)\s+(?:this|the)\s+month\s+(?:going\s+to\s+)?cost\b"
    r"|\bbudget\b|\bhow\s+much\s+will\b.*\b(pay|spend|cost|owe|come\s+to|add\s+up|total)\b"
    r"|\bhow\s+much\b.*\b(gonna|going\s+to|will)\b.*\b(pay|spend|cost|owe)\b"
    r"|\bend[- ]of[- ](the[- ])?month\b.*\b(cost|costs|bill|spend\w*|expenditure|expenses?)\b",
    re.IGNORECASE,
)
_RANK_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("alerts", re.compile(r"\b(alerts?|alarms?|warnings?|faults?|problems?|issues?)\b", re.I)),
    (
        "solar_now",
        re.compile(
            r"\b(solar|pv|sun|panels?|producing|production|generating)\b.*\b(now|right\s+now"
            r"|currently|at\s+the\s+moment|atm|rn)\b|\b(now|right\s+now|currently)\b.*\b(solar"
            r"|pv|producing|generating)\b",
            re.I,
        ),
    ),
    (
        "solar_today",
        re.compile(
            r"\b(most|best|least|highest|lowest|more|top|rank\w*|winning|leading)\b.*\b(solar"
            r"|pv|sun|yield|production|produc\w*|generat\w*|harvest\w*|kwh)\b"
            r"|\b(solar|pv|yield|production|produc\w*|generat\w*)\b.*\b(most|best|highest"
            r"|more|rank\w*|top)\b",
            re.I,
        ),
    ),
    (
        "battery",
        re.compile(
            r"\b(fullest|emptiest|lowest|highest|most|least|best|worst)\b.*\b(battery|batteries"
            r"|batt|soc|charge[ds]?)\b|\b(battery|batt|soc)\b.*\b(fullest|emptiest|lowest"
            r"|highest|best|worst)\b",
            re.I,
        ),
    ),
    (
        "load",
        re.compile(
            r"\b(most|highest|biggest|heaviest)\b.*\b(load|consum\w*|usage|using|draw\w*|demand)\b",
            re.I,
        ),
    ),
)


def period_words(text: str) -> list[str]:
    """The periods a message names, in order, as the comparison tool's words
    (``this_month``, ``january``, ``summer`` ...); "vs last" repeats the first unit."""
    found: list[str] = []
    last_unit: str | None = None
    for m in _PERIOD_TOKEN.finditer(text):
        word: str | None = None
        if m["unit"]:
            unit = m["unit"].lower()
            rel = m["rel"].lower().split()[-1]
            last_unit = unit
            if unit == "day":
                word = "today" if rel in ("this", "current") else "yesterday"
            else:
                word = f"{'this' if rel in ('this', 'current') else 'last'}_{unit}"
        elif m["today"]:
            word, last_unit = "today", "day"
        elif m["yesterday"]:
            word, last_unit = "yesterday", "day"
        elif m["sofar"]:
            last_unit = m["sofar"].lower()
            word = f"this_{last_unit}"
        elif m["td"]:
            last_unit = {"mtd": "month", "ytd": "year", "wtd": "week"}[m["td"].lower()]
            word = f"this_{last_unit}"
        elif m["month"]:
            name = m["month"].lower()
            if name == "may" and not re.search(
                r"\b(in|of|during|for|vs\.?|versus|and|with|to|than)\s+may\b|\bmay\s+(vs|versus"
                r"|and|with|compared|against)\b|^\s*may\b",
                text,
                re.IGNORECASE,
            ):
                continue  # "may" the verb
            word = _MONTH_NAMES[name]
        elif m["season"]:
            word = _SEASON_NAMES[m["season"].lower()]
        elif m["bare"] and last_unit is not None:
            word = "yesterday" if last_unit == "day" else f"last_{last_unit}"
        if word is not None and word not in found:
            found.append(word)
    return found


def compare_args(text: str) -> tuple[str, str | None]:
    """``first`` and ``second`` of a period comparison (the second None: the one before)."""
    words = period_words(text)
    if not words:
        month_on_month = re.search(r"\b(month|week|year|day)[- ](?:on|over)[- ]\1\b", text, re.I)
        unit = month_on_month[1].lower() if month_on_month else "month"
        return ("today" if unit == "day" else f"this_{unit}"), None
    if len(words) == 1:
        word = words[0]
        base = re.search(
            r"\b(on|than|to|with|vs\.?|versus|against|from|over)\s+(the\s+)?(last|previous|past"
            r"|prior|yesterday)",
            text,
            re.IGNORECASE,
        )
        current = {"yesterday": "today"}.get(word) or (
            word.replace("last_", "this_") if word.startswith("last_") else None
        )
        if base is not None and current is not None:  # "up on last month": against it
            return current, word
        return word, None
    return words[0], words[1]


def sites_args(text: str, site_names: Sequence[str]) -> dict[str, object]:
    """The sites a side-by-side names (None: all the person may see) and what ranks them."""
    lowered = text.lower()
    named = sorted(
        (m.start(), s)
        for s in site_names
        for m in [re.search(rf"\b{re.escape(s.lower())}\b", lowered)]
        if m is not None
    )
    sites = [s for _, s in named]
    rank = next((r for r, pattern in _RANK_WORDS if pattern.search(text)), "status")
    if rank == "alerts" and not re.search(r"\b(most|fewest|least|which|more)\b", text, re.I):
        rank = "status"
    return {"site": None, "sites": sites if len(sites) >= 1 else None, "rank_by": rank}


_INSTRUCTIONS = re.compile(
    r"\b(where\s+(can|do|could|would)\s+(i|we)\s+find|instructions?|manual|procedure"
    r"|how\s+(do|should|can|to)\s+(i|we)?\s*(change|set|adjust|configure|switch))\b",
    re.IGNORECASE,
)


def _comparison(text: str, site_names: Sequence[str]) -> Intent | None:
    """'this month vs last', 'compare home and barn', 'status of all sites',
    'projected bill', 'are we on track for the energy budget'."""
    if _ALERT_HOUSEKEEPING.search(text) or _SCORECARD.search(text):
        return None
    site = _site_named(text, site_names)
    if _COST_PROJECTION.search(text) and not re.search(
        r"\b(last|previous|yesterday)\b", text, re.I
    ):
        return Intent("cost_projection", {"site": site})
    lowered = text.lower()
    named = [s for s in site_names if re.search(rf"\b{re.escape(s.lower())}\b", lowered)]
    if _MULTI_SITE.search(text) or (len(named) >= 2 and _COMPARE_WORDS.search(text)):
        return Intent("compare_sites", sites_args(text, site_names))
    periods = period_words(text)
    about_periods = not _NOT_PERIODS.search(text)  # "forecast vs actual", "tomorrow": not this
    two = len(periods) >= 2 and bool(
        _COMPARE_WORDS.search(text) or re.search(r"\b(and|or)\b", text, re.I)
    )
    one = bool(periods) and bool(
        re.search(r"\b(vs\.?|versus|compar\w*|against|than|chang(e|ed|es)|differ\w*)\b", text, re.I)
    )
    if _INSTRUCTIONS.search(text):
        return None  # "where can I find the instructions for the winter settings?"
    on_last = re.search(r"\b(month|week|year|day)[- ](on|over)[- ]\1\b", text, re.I)
    if ((two or one) and about_periods) or on_last:
        first, second = compare_args(text)
        return Intent("compare_periods", {"site": site, "first": first, "second": second})
    return None


# --- alert rules set in chat: "alert me if the panel voltage drops below 12 V" ----------------

# Asking to be told when something happens (the condition follows "if"/"when").
_NOTIFY = re.compile(
    r"\b(?:alert|notify|tell|warn|text|email|e-mail|message|ping|msg|sms|page|buzz|call|inform"
    r"|remind|wake)\s+(?:me|us|someone|everyone|the team|the channel|here)\b"
    r"|\blet\s+(?:me|us)\s+know\b|\bgive\s+(?:me|us)\s+a\s+(?:shout|heads[- ]up|ping)\b"
    r"|\b(?:send|post)\s+(?:me\s+|us\s+)?(?:an?\s+)?(?:alert|message|notification|warning)\b"
    r"|\b(?:alert|alarm|notify|warn|rule|notification|warning|threshold)s?\b"
    r"\s+(?:me\s+)?(?:if|when|whenever|once|for|on)\b"
    r"|\b(?:alerted|notified|warned|told|pinged|messaged)\s+(?:if|when|whenever|once|as\s+soon)\b"
    r"|\b(?:add|create|set|make|set\s+up|new|put|raise)\s+(?:up\s+)?(?:an?\s+|the\s+)?"
    r"(?:alert|alarm|threshold|notification|warning)\b"
    r"|^\W*(?:new\s+)?(?:alert\s+)?rule\s*:",
    re.IGNORECASE,
)
_RULE_WHEN = re.compile(
    r"\b(?:if|when|whenever|once|as soon as|should|in case)\b|\bfor\b|\bon\b|[<>]", re.IGNORECASE
)
# Comparison words, longest first, to the comparator ("~" below/above by the metric).
_COMPARE: tuple[tuple[str, str], ...] = (
    (r"<=|=<|≤", "<="),
    (r">=|=>|≥", ">="),
    (r"<", "<"),
    (r">", ">"),
    (r"at\s+or\s+below|at\s+most|no\s+more\s+than|not\s+more\s+than", "<="),
    (r"at\s+or\s+above|at\s+least|no\s+less\s+than|not\s+less\s+than", ">="),
    (
        r"(?:drops?|dropping|dropped|falls?|falling|fell|goes|going|gets|getting|dips?|dipping"
        r"|sinks?|is|are|reads|stays|sits|runs|slips?|slides?)\s+(?:below|under|beneath"
        r"|lower\s+than|less\s+than)",
        "<",
    ),
    (r"below|under|beneath|lower\s+than|less\s+than|smaller\s+than|<\s*", "<"),
    (
        r"(?:goes|going|gets|getting|rises?|rising|rose|climbs?|climbing|jumps?|is|are|reads"
        r"|stays|spikes?|shoots)\s+(?:above|over|past|beyond|higher\s+than|more\s+than"
        r"|greater\s+than)",
        ">",
    ),
    (
        r"above|over|exceeds?|exceeding|higher\s+than|more\s+than|greater\s+than|tops|beyond"
        r"|pass(?:es)?|passed",
        ">",
    ),
    (r"(?:drops?|falls?|dips?|sinks?|gets\s+down|goes\s+down|comes\s+down)\s+to", "<="),
    (r"(?:rises?|climbs?|goes\s+up|gets\s+up|jumps?)\s+to", ">="),
    (r"hits|reaches|gets\s+to|touches|is\s+at|equals|crosses|passes|goes\s+to", "~"),
)
_COMPARE_RE = [
    (re.compile(rf"(?<![\w<>=])(?:{p})(?![a-z_])", re.IGNORECASE), c) for p, c in _COMPARE
]
# "low" / "high" words without a number: fuel and battery have a sensible default.
_LOW = re.compile(
    r"\b(?:runs?|running|gets?|getting|goes|going|is|are|becomes?)\s+(?:low|short|empty)"
    r"|\blow\s+(?:on\s+)?(?:fuel|diesel|battery|charge|soc)\b|\b(?:fuel|diesel|battery)\s+"
    r"(?:is\s+|gets\s+|goes\s+|runs\s+)?low\b|\brun(?:s|ning)?\s+out\b|\bnearly\s+empty\b",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"\b(?:if|when|whenever|once|as\s+soon\s+as|in\s+case|before)\b", re.I)
_VALUE = re.compile(
    r"(?<![\d.,])(?P<num>-?\d+(?:[.,]\d+)?)\s*(?P<unit>°\s*[cf]\b|°|%|percent\b|per\s*cent\b|pct\b"
    r"|kw\b|mw\b|w\b|watts?\b|kilowatts?\b|megawatts?\b|mv\b|kv\b|v\b|volts?\b|ma\b|a\b|amps?\b"
    r"|amperes?\b|degrees?(?:\s+(?:c|f|celsius|fahrenheit)\b)?|deg(?:\s+[cf])?\b|celsius\b"
    r"|fahrenheit\b|centigrade\b|c\b|f\b|l\b|litres?\b|liters?\b|gal\b|gallons?\b|hz\b"
    r"|hertz\b)?",
    re.IGNORECASE,
)
_HOLD = re.compile(
    r"\bfor\s+(?:more\s+than\s+|over\s+|longer\s+than\s+|at\s+least\s+)?"
    r"(?P<amount>\d+(?:\.\d+)?|an?|half\s+an|one|two|three|five|ten|fifteen|thirty)\s*"
    r"(?P<unit>s\b|secs?\b|seconds?\b|m\b|mins?\b|minutes?\b|h\b|hrs?\b|hours?\b)",
    re.IGNORECASE,
)
_HOLD_WORDS = {
    "a": 1.0,
    "an": 1.0,
    "half an": 0.5,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "five": 5.0,
    "ten": 10.0,
    "fifteen": 15.0,
    "thirty": 30.0,
}
# The metric the words name, most specific first; the tool matches it to the site's metrics.
_METRIC_WORDS: tuple[tuple[str, str], ...] = (
    (r"(?:panel|string|pv|solar|shunt|bus|ina228|circuit)\s+volt", "panel voltage"),
    (r"(?:battery|batt|bank|lifepo4)\s+volt", "battery voltage"),
    (r"(?:grid|mains|utility|line)\s+volt", "grid voltage"),
    (r"(?:panel|string|pv|solar|shunt|ina228|circuit)\s+(?:current|amps?)", "panel current"),
    (r"(?:battery|batt|bank)\s+(?:current|amps?)", "battery current"),
    (r"(?:panel|string|ina228|circuit)\s+power", "panel power"),
    (r"(?:die|chip|ina228|inverter|device|shelly)\s+(?:temp|temperature)", "die temperature"),
    (r"(?:battery|batt|bank|cell)\s+(?:temp|temperature)", "battery temperature"),
    (r"(?:grid\s+)?frequency|\bhz\b", "grid frequency"),
    (r"fuel|diesel|tank|gas\s+level", "fuel"),
    (r"generator\s+(?:power|output|load)|(?:generator|genset|gen)\b.*\bkw", "generator power"),
    (r"volt|voltage", "voltage"),
    (r"current|amps?\b|amperage", "current"),
    (r"temp|temperature|hot|cold|heat|degrees|°", "temperature"),
    (r"grid\s+(?:import|power|draw)|import(?:ing)?|grid", "grid power"),
    (r"solar|pv\b|panels?|production|producing|array|generation|yield", "solar power"),
    (r"load|consumption|consuming|usage|demand|draw(?:ing)?|use\b|using", "load"),
    (
        r"soc|state\s+of\s+charge|battery|batteries|batt\b|bank|charge|storage|powerwall"
        r"|lifepo4|accu",
        "battery",
    ),
)
_METRIC_RE = [(re.compile(rf"\b(?:{p})", re.IGNORECASE), m) for p, m in _METRIC_WORDS]
# A number's unit says what is meant when no metric is named ("alert me below 12 V").
_METRIC_OF_UNIT = {
    "V": "voltage",
    "A": "current",
    "%": "battery",
    "°C": "temperature",
    "°F": "temperature",
    "L": "fuel",
    "W": "load",
    "Hz": "grid frequency",
}
_UNIT_WORDS: dict[str, str] = {
    "°c": "C",
    "°f": "F",
    "°": "C",
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "pct": "%",
    "degrees c": "C",
    "degrees f": "F",
    "degree c": "C",
    "degree f": "F",
    "degrees celsius": "C",
    "degrees fahrenheit": "F",
    "degrees": "C",
    "degree": "C",
    "deg": "C",
    "deg c": "C",
    "deg f": "F",
    "c": "C",
    "f": "F",
}
# Metrics where "below" is the worry (a "reaches 20 %" rule fires on the way down).
_FALLING = frozenset({"battery", "fuel", "voltage", "panel voltage", "battery voltage"})
_DEFAULT_LOW: dict[str, tuple[float, str]] = {"fuel": (20.0, "%"), "battery": (30.0, "%")}
_SEVERITY = re.compile(r"\b(critical|urgent|emergency|severe|info|informational|fyi)\b", re.I)

_LIST_RULES = re.compile(
    r"\b(?:alert|alarm|notification|warning|threshold|custom|my|our)\s+(?:rules?|thresholds?)\b"
    r"|\brules?\s+(?:i|we)\s+(?:set|made|created|have)\b"
    r"|\bthresholds?\s+(?:i|we|you)\s+(?:set|made|created|have)\b"
    r"|\b(?:what|which|list|show)\b.*\b(?:thresholds|rules)\b"
    r"|\bwhat\s+(?:am\s+i|are\s+we)\s+(?:alerted|notified|warned)\s+(?:on|about|for)\b"
    r"|\b(?:alerts?|alarms?|warnings?|notifications?|thresholds?)\s+(?:that\s+|which\s+)?(?:i|we)"
    r"\s+(?:have\s+|had\s+|'ve\s+)?(?:set|made|created|added|asked|configured|put)\b"
    r"|\b(?:alerts?|alarms?|warnings?|thresholds?)\b.*\b(?:did|have)\s+(?:i|we)\s+(?:set|create"
    r"|add|make)\b",
    re.IGNORECASE,
)
_REMOVE_RULE = re.compile(
    r"\b(?:delete|del|rm|remove|drop|cancel|disable|clear|kill|scrap|erase|get\s+rid\s+of|turn\s+off"
    r"|stop|undo)\b(?:\s+(?:the|my|our|that))?(?:\s+(?:custom|user))?"
    r"(?:\s+(?:alert|alarm|notification|warning|threshold))?\s*(?:rule|threshold)?\s*"
    r"(?:number\s+|no\.?\s*|#\s*)?(?P<id>\d{1,9})\b"
    r"(?!\s*(?:%|percent|v\b|volts?|kw|w\b|watts?|a\b|amps?|l\b|lit|°|deg|c\b|f\b|hz))",
    re.IGNORECASE,
)
_RULE_THEN_REMOVE = re.compile(
    r"\b(?:rule|threshold)\s*(?:number\s+|no\.?\s*|#\s*)?(?P<id>\d{1,9})\b.*"
    r"\b(?:delete|remove|drop|cancel|disable|clear|kill|scrap|erase|get\s+rid\s+of)\s+it\b",
    re.IGNORECASE,
)
_RULE_WORD = re.compile(r"\b(?:rule|threshold)s?\b", re.IGNORECASE)
_NOT_A_LIST = re.compile(
    r"\b(?:explain|mean|means|meaning|why|how\s+(?:do|does|can|should|to|are|is))\b", re.I
)
ALERT_RULE_TOOLS = frozenset({"set_alert_rule", "list_alert_rules", "remove_alert_rule"})
# Read from their exact shape (a parsed threshold, a rule number): trusted as written.
PARSED_TOOLS = frozenset({"set_alert_rule", "remove_alert_rule"})


_RULE_NUMBER = re.compile(r"\b(?:rule|threshold|#|no\.?|number)\s*#?\s*(?P<id>\d{1,9})\b", re.I)
_VALUE_WITH_UNIT = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?:%|percent|v\b|volts?|kw\b|w\b|watts?|a\b|amps?|°|deg|c\b"
    r"|f\b|l\b|litres?|liters?|hz)",
    re.I,
)
_BARE_NUMBER = re.compile(r"\b(?P<id>\d{1,9})\b")


def remove_rule_args(text: str, base: dict[str, object]) -> dict[str, object] | None:
    """'delete rule 3' (by number), or 'remove my 30 % battery warning' (by its reading
    and threshold); None when it names neither."""
    numbered = _RULE_NUMBER.search(text)
    if numbered is not None:
        return {**base, "rule_id": int(numbered["id"])}
    valued = _VALUE_WITH_UNIT.search(text)
    metric = _metric_words(text)
    if metric is None and valued is None:
        bare = _BARE_NUMBER.search(text)
        return None if bare is None else {**base, "rule_id": int(bare["id"])}
    out: dict[str, object] = {**base}
    if metric is not None:
        out["metric"] = metric
    if valued is not None:
        out["value"] = float(valued["value"])
    return out


def _metric_words(text: str) -> str | None:
    for pattern, metric in _METRIC_RE:
        if pattern.search(text):
            return metric
    return None


def _hold_minutes(text: str) -> tuple[float | None, str]:
    """Minutes of "for 10 minutes" / "for an hour", and the text without it."""
    match = _HOLD.search(text)
    if match is None:
        return None, text
    raw = match["amount"].lower()
    amount = _HOLD_WORDS.get(re.sub(r"\s+", " ", raw))
    if amount is None:
        amount = float(raw)
    unit = match["unit"].lower()
    minutes = amount / 60 if unit.startswith("s") else amount * 60 if unit[0] == "h" else amount
    return minutes, text[: match.start()] + " " + text[match.end() :]


_FAMILIES: tuple[tuple[str, frozenset[str]], ...] = (
    ("V", frozenset({"v", "volt", "volts", "mv", "kv"})),
    ("A", frozenset({"a", "amp", "amps", "ampere", "amperes", "ma"})),
    ("W", frozenset({"w", "kw", "mw", "watt", "watts", "kilowatt", "kilowatts", "megawatts"})),
    ("L", frozenset({"l", "litre", "litres", "liter", "liters", "gal", "gallon", "gallons"})),
    ("Hz", frozenset({"hz", "hertz"})),
    ("°C", frozenset({"c", "f", "celsius", "fahrenheit", "centigrade"})),
    ("%", frozenset({"%"})),
)


def _unit_family(unit: str | None) -> str:
    key = (unit or "").lower()
    return next((family for family, words in _FAMILIES if key in words), "")


def _unit_word(raw: str | None) -> str | None:
    if not raw:
        return None
    key = re.sub(r"\s+", " ", raw.strip().lower())
    key = key.replace("° ", "°")
    return _UNIT_WORDS.get(key, raw.strip())


_WHETHER = re.compile(r"\bwhether\b", re.IGNORECASE)
_SPAN = re.compile(
    r"\b(?:over|across|during|for)\s+(?:the\s+)?(?:next|coming|last|past)\s+"
    r"(?:\d+|one|two|three|four|five|six|seven|couple(?:\s+of)?|few)?\s*"
    r"(?:days?|hours?|hrs?|h|nights?|weeks?|weekend)\b",
    re.IGNORECASE,
)


def alert_rule_args(text: str, site_names: Sequence[str] = ()) -> dict[str, object] | None:
    """The arguments of ``set_alert_rule`` in ``text`` ("warn me when the battery drops under
    30% for 10 min"), or None when it does not state a reading, a comparison and a value."""
    if _WHETHER.search(text):
        return None  # "tell me whether the battery will hold ...": a question, no rule
    site = _site_named(text, site_names)
    body = _SPAN.sub(" ", text)  # "over the next two days" is how long, no comparison
    if site is not None:
        body = re.sub(
            rf"\s*\b(?:at|for|on|in)?\s*(?:the\s+)?{re.escape(site)}\b", " ", body, flags=re.I
        )
    hold, body = _hold_minutes(body)
    when = _RULE_WHEN.search(body)
    condition = body[when.start() :] if when is not None else body
    comparator: str | None = None
    cmp_at = -1
    for pattern, found in _COMPARE_RE:
        match = pattern.search(condition)
        if match is not None:
            comparator, cmp_at = found, match.start()
            break
    value_match = None
    for candidate in _VALUE.finditer(condition):
        if candidate.start() >= cmp_at:
            value_match = candidate
            break
    metric = _metric_words(condition[: max(cmp_at, 0)] if cmp_at > 0 else condition)
    metric = metric or _metric_words(body)
    value: float | None = None
    unit: str | None = None
    if value_match is not None and comparator is not None:
        value = float(value_match["num"].replace(",", "."))
        unit = _unit_word(value_match["unit"])
    elif _LOW.search(body) is not None and _CONDITIONAL.search(body) is not None:
        if metric is None and re.search(r"\b(?:gen\w*|genset|genny|tank)\b", body, re.I):
            metric = "fuel"
        if metric not in _DEFAULT_LOW:
            return None
        value, unit = _DEFAULT_LOW[metric]
        comparator = "<"
    else:
        return None
    if metric is None:
        metric = _METRIC_OF_UNIT.get(_unit_family(unit))
        if metric is None:
            return None
    if comparator == "~":
        comparator = "<=" if metric in _FALLING or unit == "%" else ">="
    severity_word = _SEVERITY.search(body)
    severity = "warning"
    if severity_word is not None:
        word = severity_word[1].lower()
        severity = "info" if word in ("info", "informational", "fyi") else "critical"
    return {
        "site": site,
        "metric": metric,
        "comparator": comparator,
        "value": value,
        "unit": unit,
        "hold_minutes": hold,
        "severity": severity,
    }


# "Delete the diesel tank threshold we created", "I don't need the soc 90 alert anymore,
# remove it": a rule named by what it watches rather than its number.
_REMOVE_DESCRIBED = re.compile(
    # "drop" removes a rule, but "let the battery drop under 40 %" is a level falling
    r"\b(?:delete|remove|drop(?!\s+(?:under|below|beneath|to|past|down|lower|further)\b)|scrap"
    r"|erase|get\s+rid\s+of|cancel)\b",
    re.IGNORECASE,
)
_A_RULE = re.compile(
    r"\b(?:threshold|rule)s?\b|\b(?:we|i)\s+(?:created|set|made|added|set\s+up)\b|\banymore\b",
    re.IGNORECASE,
)


def _described_removal(text: str, site_names: Sequence[str]) -> Intent | None:
    if not (_REMOVE_DESCRIBED.search(text) and _A_RULE.search(text)):
        return None
    if re.search(r"\b(?:mute|silence|snooze)\b", text, re.IGNORECASE):
        return None
    args = remove_rule_args(text, {"site": _site_named(text, site_names)})
    if args is None or ("metric" not in args and "rule_id" not in args):
        return None
    return Intent("remove_alert_rule", args)


def _alert_rule(text: str, site_names: Sequence[str]) -> Intent | None:
    """'alert me if voltage < 12 V', 'what alert rules do I have?', 'delete rule 3'."""
    removal = _REMOVE_RULE.search(text) or _RULE_THEN_REMOVE.search(text)
    if removal is not None and _RULE_WORD.search(text):
        return Intent(
            "remove_alert_rule",
            {"site": _site_named(text, site_names), "rule_id": int(removal["id"])},
        )
    described = _described_removal(text, site_names)
    if described is not None:
        return described
    if _NOTIFY.search(text):
        args = alert_rule_args(text, site_names)
        if args is not None:
            return Intent("set_alert_rule", args)
    if _LIST_RULES.search(text) and not _NOT_A_LIST.search(text):
        return Intent("list_alert_rules", {"site": _site_named(text, site_names)})
    return None
