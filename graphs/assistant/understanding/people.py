"""Role changes and questions about people, read from whole sentences with names.

"Please grant Ms. Keller the viewer role for the plant", "Change Robert's role to
administrator", "make @tom operator at both home and barn", "let my brother tom
approve stuff" → ``set_role`` with the person as written (a mention, an id or a
name; the tool checks who may grant and whom). "Who is Ms. Keller and what
permissions does she have?", "who's @lee, what sites", "can jake approve stuff or
not" → ``who_is``. A role change needs a verb that gives, a role and a person; a
question about a person needs a question shape and a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphs.assistant.understanding import tokens
from graphs.assistant.understanding.lexicon import Intent

ROLE_WORDS: dict[str, str] = {
    "admin": "admin",
    "admins": "admin",
    "administrator": "admin",
    "administrators": "admin",
    "operator": "operator",
    "operators": "operator",
    "op": "operator",
    "manager": "manager",
    "managers": "manager",
    "viewer": "viewer",
    "viewers": "viewer",
    "read-only": "viewer",
    "readonly": "viewer",
    "view-only": "viewer",
    "finance": "finance",
}
_ROLE = re.compile(
    r"\b(?P<role>admins?|administrators?|operators?|op|managers?|viewers?|read-?only|view-only"
    r"|finance)\b",
    re.IGNORECASE,
)
# What a role lets a person do, when the message says that instead of the role's name.
_ABILITY = (
    (re.compile(r"\bapprov\w*\b", re.I), "operator"),
    (re.compile(r"\b(?:see|view|watch|look\s+at|read)\b", re.I), "viewer"),
)
_GIVE = re.compile(
    r"\b(?:grant|give|make|set|promote|demote|change|assign|switch|move|upgrade|downgrade|let"
    r"|allow|add|turn|put|bump|elevate|appoint|update)\b",
    re.IGNORECASE,
)
_HONORIFIC = r"(?:(?:mr|ms|mrs|miss|dr|prof)\.?\s+)"
_RELATIVE = (
    r"(?:(?:my|our|the)\s+(?:\w+\s+)?(?:brother|sister|wife|husband|son|daughter|partner"
    r"|friend|colleague|neighbou?r|dad|mum|mom|father|mother|installer|electrician|tech"
    r"|technician|guy|boss)\s+)"
)
_NAME = r"[A-Za-z][A-Za-z0-9_.'-]{1,39}"
_SURNAME = r"(?:\s+(?-i:[A-Z][a-z]+))"  # "Mark Ellis": a second capitalised word
# A chat handle written out: "Priya (priya_k)", "user tomas_r", "lee_w", "u123".
_HANDLE = re.compile(
    r"\(\s*@?(?P<paren>[A-Za-z][\w.-]{1,39})\s*\)"
    r"|\b(?:user(?:\s*(?:id|name))?|handle|login)\s*:?\s+@?(?P<user>[A-Za-z][\w.-]{1,39})"
    r"|\b(?P<snake>[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+|[A-Za-z]{1,3}\d{2,})\b",
    re.IGNORECASE,
)
# "lee_w needs finance access", "priya_k should be a manager": a role wanted for a handle.
_NEEDS = re.compile(r"\b(?:needs?|should\s+(?:be|have|get)|wants?|gets?)\b", re.IGNORECASE)
_WHOAMI = re.compile(r"^\W*(?:who\s*am\s*i|whoami|my\s+role)\W*$", re.IGNORECASE)
_MENTION = re.compile(
    r"<@!?(?P<mention>[A-Za-z0-9]+)>|(?<![\w.])@(?P<handle>[A-Za-z0-9._-]{2,40})"
    r"|\b(?P<uid>U[A-Z0-9]{6,}|\d{17,20})\b"  # Slack ids; Discord ids (snowflakes)
)
# Things a giving verb may name that are not people ("set the inverter to ...").
_DOMAIN_WORDS = frozenset(
    [
        "battery",
        "batteries",
        "inverter",
        "generator",
        "genny",
        "gen",
        "miners",
        "miner",
        "rigs",
        "grid",
        "solar",
        "alert",
        "alerts",
        "floor",
        "units",
        "channel",
        "system",
        "site",
        "sites",
        "plant",
        "mode",
        "charger",
        "load",
        "loads",
    ]
)
_NOT_NAMES = (
    frozenset(
        [
            "the",
            "a",
            "an",
            "me",
            "my",
            "our",
            "it",
            "this",
            "that",
            "him",
            "her",
            "them",
            "he",
            "she",
            "they",
            "i",
            "we",
            "you",
            # "what can ya do mate", "whit can ye dae": the bot asked what it does (help)
            "u",
            "ya",
            "yah",
            "ye",
            "yall",
            "youse",
            "thou",
            "us",
            "role",
            "roles",
            "access",
            "rights",
            "everyone",
            "everybody",
            "someone",
            "somebody",
            "all",
            "new",
            "user",
            "person",
            "guy",
            "stuff",
            "to",
            "as",
            "be",
            "sure",
            "permission",
            "permissions",
            "sites",
            "site",
            "what",
            "who",
            "whos",
            "which",
            "is",
            "are",
            "can",
            "does",
            "do",
            "have",
            "has",
            "and",
            "or",
            "on",
            "in",
            "at",
            "there",
            "here",
            "online",
            "going",
            "using",
            "logged",
            "allowed",
            "responsible",
            "next",
            "your",
            "its",
            "up",
            "down",
            "off",
        ]
    )
    | set(ROLE_WORDS)
    | _DOMAIN_WORDS
)
# The person after a giving verb, or whose role is named ("Robert's role", "role of Linda").
_PERSON_AFTER = re.compile(
    rf"\b(?:grant|give|make|set|promote|demote|assign|switch|move|upgrade|downgrade|let"
    rf"|allow|add|bump|elevate|appoint|turn|put)\s+{_RELATIVE}?{_HONORIFIC}?"
    rf"(?P<name>{_NAME}{_SURNAME}?)",
    re.IGNORECASE,
)
_PERSON_OWNS = re.compile(
    rf"\b{_HONORIFIC}?(?P<owner>{_NAME})'s\s+(?:role|access|permissions?|rights)\b"
    rf"|\b(?:role|access|permissions?|rights)\s+(?:of|for)\s+{_HONORIFIC}?(?P<of>{_NAME})",
    re.IGNORECASE,
)
# A question about a person: "who is X", "what can X do", "can X approve", "is X an admin".
_ASKS_WHO = re.compile(
    rf"^\W*(?:who\s+is|who's|whos|whois)\s+{_HONORIFIC}?(?P<who>@?{_NAME}{_SURNAME}?)"
    rf"|^\W*(?:what|which)\s+(?:role|roles|access|permissions?|rights|sites)\s+(?:does|has|do)"
    rf"\s+{_HONORIFIC}?(?P<what>@?{_NAME})"
    rf"|^\W*(?:can|could|may|is)\s+{_HONORIFIC}?(?P<can>@?{_NAME})\s+(?:an?\s+)?"
    r"(?:approve|admin|operator|manager|viewer|finance|allowed|see|access|use|do)\b"
    rf"|^\W*(?:what\s+(?:can|may|could)|what's|whats)\s+{_HONORIFIC}?(?P<whats>@?{_NAME})(?:'s)?\s+"
    r"(?:do|role|access|allowed)\b",
    re.IGNORECASE,
)
_SELF = frozenset({"me", "i", "myself"})


def mention(text: str) -> str | None:
    """The chat mention or platform id a message writes (``<@U123>``, ``@lee``, a Discord
    snowflake), if any."""
    match = _MENTION.search(text)
    if match is None:
        return None
    return match["mention"] or match["handle"] or match["uid"]


def _handle(text: str) -> str | None:
    for match in _HANDLE.finditer(text):
        value = match["paren"] or match["user"] or match["snake"]
        if value and value.lower() not in _NOT_NAMES and _role_of(value) is None:
            return value
    return None


def _person(match: re.Match[str] | None, *groups: str) -> str | None:
    if match is None:
        return None
    for group in groups:
        value = match.groupdict().get(group)
        if value:
            name = value.strip().lstrip("@")
            first = name.split()[0].lower().rstrip("'s")
            if first not in _NOT_NAMES:
                return name[:-2] if name.endswith("'s") else name
    return None


def _role_of(text: str) -> str | None:
    match = _ROLE.search(text)
    if match is not None:
        return ROLE_WORDS[match["role"].lower().replace("readonly", "read-only")]
    return None


_QUESTION = re.compile(r"^\W*(?:who|what|which|can|could|is|does|do)\b", re.IGNORECASE)
# "could you make ...", "can u give ...": a polite request, not a question about a person.
_POLITE = re.compile(
    r"^\W*(?:could|can|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+|kindly\s+)?"
    r"(?:grant|give|make|set|promote|change|assign|upgrade|let|allow|add|turn|put)\b",
    re.IGNORECASE,
)
_GIVE_CLAUSE = re.compile(
    r"(?:[,;?.!]|\band\b)\s*(?:(?:please|pls|then|also|and)\s+)*(?=(?:grant|give|make|set|promote"
    r"|change|assign|upgrade|let|allow)\b)",
    re.IGNORECASE,
)


def role_change(text: str) -> Intent | None:
    """``set_role`` from a sentence that gives a named person a role, else None (a
    question about a person gives none, but may be followed by one: "who is Mark, and
    please make him an operator")."""
    give = _GIVE.search(text)
    if give is None:
        if _NEEDS.search(text) and (mention(text) or _handle(text)) and _role_of(text):
            return _granted(text, text)  # "my accountant lee_w needs finance access"
        return None
    if _QUESTION.match(text) and not _POLITE.match(text):
        after = _GIVE_CLAUSE.search(text)
        if after is None:
            return None
        return _granted(text[after.end() :], text)
    return _granted(text, text)


def _granted(text: str, whole: str) -> Intent | None:
    role = _role_of(text)
    if role is None and re.search(r"\b(?:let|allow)\b", text, re.I):
        role = next((r for pattern, r in _ABILITY if pattern.search(text)), None)
    if role is None:
        return None
    person = (
        mention(text)
        or _handle(text)
        or _person(_PERSON_OWNS.search(text), "owner", "of")
        or _person(_PERSON_AFTER.search(text), "name")
        or _pronoun_person(whole)
    )
    if person is None or person.lower() in _SELF:
        return None
    return Intent("set_role", {"site": None, "user_id": person, "role": role})


def _pronoun_person(text: str) -> str | None:
    """'Who is Mark, and please make him an operator': the person named before 'him'."""
    if not re.search(r"\b(?:him|her|them)\b", text, re.I):
        return None
    return _person(_ASKS_WHO.search(text), "who", "what", "can", "whats") or _person(
        _PERSON_OWNS.search(text), "owner", "of"
    )


def who_is(text: str) -> Intent | None:
    """``who_is`` from a question about a named person, else None."""
    if _WHOAMI.match(text):
        return Intent("who_is", {"site": None, "user_id": "me"})
    person = mention(text) if _ASKS_WHO.search(text) else None
    person = person or _person(_ASKS_WHO.search(text), "who", "what", "can", "whats")
    if person is None:  # "the role of Linda?", "Linda's role? make her an operator"
        give = _GIVE_CLAUSE.search(text)
        head = text if give is None else text[: give.start()]
        if _GIVE.search(head) is None:
            person = _person(_PERSON_OWNS.search(head), "owner", "of")
    if person is None:
        return None
    if person.lower() in _SELF:
        person = "me"
    return Intent("who_is", {"site": None, "user_id": person})


# Capitalised words that name no person.
_NOT_PROPER_WORDS = (
    "monday tuesday wednesday thursday friday saturday sunday january february march april"
    " may june july august september october november december fahrenheit celsius kelvin"
    " slack discord victron solark sunsynk shelly pinecone openai commandcenter ok okay hi"
    " hey hello please thanks thank kindly dear sir madam team good morning evening"
    " afternoon night"
)
_NOT_PROPER = frozenset(_NOT_PROPER_WORDS.split())
_CAPITALISED = re.compile(r"(?<![\w@.'-])(?P<word>[A-Z][a-z][\w-]{0,30})(?:'s)?\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")
_HONORIFIC_NAME = re.compile(r"\b(?:Mr|Ms|Mrs|Miss|Dr|Prof)\.?\s+(?P<word>[A-Z][\w'-]+)")
# How common an English word may be and still be read as a name: inside a sentence, a
# capitalised word is mostly a name ("Mark" 50,000 is the most common one seen); at its
# start it is capitalised anyway, so only a rare one is ("Kofi", "Sarah", not "Battery").
_NAME_MAX_COUNT = 60_000
_FIRST_NAME_MAX_COUNT = 5_000


def name_in(text: str, site_names: Sequence[str] = ()) -> str | None:
    """A person named in passing ("give the new field tech Kofi viewer role", "what access
    does the contractor Ravi have", "Grant operator privileges to Dr. Okafor"): the name
    after a title, else the first capitalised word that is no common English word, role,
    site, day or brand; None when there is none."""
    titled = _HONORIFIC_NAME.search(text)
    if titled is not None:
        return titled["word"]
    sites = {s.lower() for s in site_names}
    for match in _CAPITALISED.finditer(text):
        word = match["word"]
        low = word.lower()
        if low in _NOT_NAMES or low in _NOT_PROPER or low in sites:
            continue
        first = _SENTENCE_START.search(text[: match.start()]) is not None
        limit = _FIRST_NAME_MAX_COUNT if first else _NAME_MAX_COUNT
        if tokens.english_count(low) < limit:
            return word
    return None
