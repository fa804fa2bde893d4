"""Which way a command goes: the direction check every action request passes.

A command reads as *stop* ("kill miner 2", "pull the plug on the rigs", "curtail",
"power down", "shut the bitcoin stuff off") or *start* ("fire up the genny", "spin the
rigs back up", "back to hashing", "turn the miners back on"). The planner may have
reached a command through typos, a particle ("on") or the classifier; before an
action request is created the words must agree with its direction:

- a stop phrase and no start phrase for that machine: never a ``start_*`` (and the
  other way round): the command is turned the way the words say;
- both directions for the same machine, or a negated direction ("don't stop"): the
  planner is unsure and says so instead of creating a request.

The same reading creates a command the other readers missed, but only from a message
that gives an order (no question, no report of state such as "miners down!").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from graphs.assistant.understanding import tokens

Direction = Literal["start", "stop"]
Family = Literal["miners", "generator", "grid_charge"]

# A few words between a verb and its particle, none of them a particle itself.
_GAP = r"(?:(?!(?:on|off|up|down|back\s+on)\b)[\w'-]+\s+){0,4}?"
_STOP = re.compile(
    r"\b(?:stop(?:ping)?|stp|halt|kill|nuke|curtail\w*|pause|suspend|disable|deactivate|cease|cut"
    r"|secure|trip|disconnect|isolate|open\s+(?:\w+\s+){0,2}?(?:relays?|breakers?|contactors?)"
    r"|drop\s+(?:the\s+)?load"
    r"|shut(?!\s+up\b)|go\s+(?:off|offline)"
    r"|unplug|shutdown|shut\s*(?:off|down)|pull(?:ing)?\s+the\s+plug"
    r"|power\s*(?:off|down)|cut\s+(?:off|the\s+power|power)|stand\s+(?:\w+\s+){0,3}?down"
    r"|de-?energi[sz]e\w*"
    rf"|(?:turn|switch|shut|power|take|bring|spin|wind|knock|cut|put|pull)\s+{_GAP}"
    r"(?:off|down|offline|to\s+sleep)"
    r"|(?:no|without)\s+(?:more\s+)?grid\s+charg\w*)\b",
    re.IGNORECASE,
)
_START = re.compile(
    r"\b(?:start(?:ing)?|strat|restart|resume|unpause|re-?enable|enable|activate|re-?launch"
    r"|boot|crank|run(?![- ]?(?:hours?|hrs?|h\b|times?|counter|log|meter))"
    rf"|bring\s+{_GAP}back|let\s+{_GAP}(?:run|mine|hash|go)"
    r"|reboot|(?<!de-)(?<!de)energi[sz]e|re-?connect|close\s+(?:\w+\s+){0,2}?(?:relays?|breakers?|contactors?)"
    r"|put\s+(?:\w+\s+){0,2}?back|fire\s+up|spin\s+up|power\s*(?:on|up)|back\s+to\s+(?:hashing|mining|work)"
    r"|bring\s+back|back\s+(?:on(?:line)?|up)"
    rf"|(?:turn|switch|fire|spin|kick|crank|bring|get|power|put|wake)\s+{_GAP}"
    r"(?:back\s+)?(?:on|up|online|going|running)"
    rf"|(?:get|set)\s+{_GAP}(?:hashing|mining)"
    r"|(?:charge|top\s+up)\s+(?:\w+\s+){0,3}?(?:from|off|with)\s+(?:the\s+)?"
    r"(?:grid|mains|utility|shore(?:\s*power)?))\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:do\s*n[o']?t|never|no\s+need\s+to|not|nobody|no\s*-?\s*one|noone)\s+(?:\w+\s+){0,1}?"
    r"(?:stop|start|turn|switch|shut|kill|pause|resume|restart|fire|run|enable|disable|pull"
    r"|power|curtail|spin|charge|enable|grid\s+charge)\b",
    re.IGNORECASE,
)
_TARGETS: dict[Family, re.Pattern[str]] = {
    "miners": re.compile(
        r"\b(?:miners?|minr|mienrs|rigs?|asics?|hash\w*|mining|bitcoin|btc|antminers?|s9s?"
        r"|s19s?|s21s?|machines?)\b|\bminer[- ]?\d+\b",
        re.IGNORECASE,
    ),
    "generator": re.compile(
        r"\b(?:generators?|genset|gen|genny|genie|diesel|generater|genrator"
        r"|electrogen\w*|group\s+electro\w*)\b",
        re.IGNORECASE,
    ),
    "grid_charge": re.compile(r"\b(?:grid|mains|utility|shore(?:\s*power)?)\b", re.IGNORECASE),
}
_TOOLS: dict[str, tuple[Family, Direction]] = {
    "stop_miners": ("miners", "stop"),
    "start_miners": ("miners", "start"),
    "stop_generator": ("generator", "stop"),
    "start_generator": ("generator", "start"),
}
_SEGMENTS = re.compile(
    r"\s*(?:[;,.!?]|\band\s+then\b|\bthen\b|\band\b|&|\+)\s*"
    # a reason has its own verbs ("stop miner-3 because the dryer will start")
    r"|\s+(?=(?:because|cause|coz|cuz|since)\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Reading:
    """The directions the words give one machine: set(), {"stop"}, {"start"} or both."""

    said: frozenset[Direction]
    negated: bool = False

    @property
    def sure(self) -> Direction | None:
        if self.negated or len(self.said) != 1:
            return None
        return next(iter(self.said))

    @property
    def mixed(self) -> bool:
        return self.negated or len(self.said) > 1


def _said(stop: re.Pattern[str], start: re.Pattern[str], text: str) -> frozenset[Direction]:
    found: set[Direction] = set()
    if stop.search(text):
        found.add("stop")
    if start.search(text):
        found.add("start")
    return frozenset(found)


def directions(text: str) -> frozenset[Direction]:
    """Every direction a piece of text gives, whatever it names."""
    return _said(_STOP, _START, text)


# "off the miners and on the generator", "you can off the generator", "kindly on the genny":
# the particle used as the verb (Indian, East African and Nigerian English).
_LEADING_PARTICLE = re.compile(
    r"^(?:off|on)\s+(?=(?:the\s+|all\s+(?:the\s+)?|my\s+|our\s+|both\s+)?"
    r"(?:miners?|rigs?|asics?|mining|generators?|genset|gen|genny|diesel|miner[- ]?\d+)\b)",
    re.IGNORECASE,
)


# "on the generator", "off the grid": a machine after a preposition-like particle.
_PARTICLE_PHRASE = re.compile(
    r"\b(?:on|off|from|to)\s+(?:the\s+|all\s+(?:the\s+)?|my\s+|our\s+)?"
    r"(?:miners?|rigs?|asics?|mining|generators?|genset|gen|genny|diesel|miner[- ]?\d+)\b",
    re.IGNORECASE,
)


def _listed_after(previous: str, part: str, carried: frozenset[Direction]) -> bool:
    """Whether ``part``'s leading particle only lists another place after a part that named
    one the same way and gave no order ("the load on the generator and on the miners")."""
    if carried or _particle_as_verb(part) == part:
        return False
    return bool(_PARTICLE_PHRASE.search(previous))


def _particle_as_verb(text: str) -> str:
    """``text`` with a leading particle that acts as the verb made one ("switch off ...")."""
    lead = _LEAD.match(text)
    at = lead.end() if lead is not None else 0
    if _LEADING_PARTICLE.match(text, at) is None:
        return text
    return f"{text[:at]}switch {text[at:]}"


# "on" that says when or where, never the way a machine goes ("on Thursday", "on the 5th",
# "on site", "on call").
_ON_A_DAY = re.compile(
    r"\bon\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:mon|tue|tues|wed|thu|thur|thurs"
    r"|fri|sat)\b|the\s+\d+\w*|\d+\w*\b|time\b|weekends?\b|weekdays?\b|schedule\b|site\b"
    r"|call\b|hold\b|standby\b|holiday\b|leave\b|my\s+way\b)",
    re.IGNORECASE,
)


def reading(
    text: str,
    family: Family,
    load_names: Sequence[str] = (),
    target: Callable[[str], bool] | None = None,
) -> Reading:
    """The direction the words give ``family`` (or only the parts ``target`` picks out):
    read in the parts that name it, or in the nearest part before them that gives one
    ("stop the miners and the generator"); failing that in the words with typos
    corrected ("shutdwn the rigs"), then in a bare particle ("miners off", "miner-2 on
    barn")."""
    aim = target or _target(family, load_names)
    text = _ON_A_DAY.sub(" ", text)  # "put it to the committee on Thursday": when, not on
    said = _reading(text, aim, directions)
    if said.said or said.negated:
        return said
    fixed = _corrected(text)
    said = _reading(fixed, aim, directions)
    if said.said or said.negated:
        return said
    return _reading(fixed, aim, _particles)


# A particle right after the machine ("miners off", "genny on!", "miner 2 back on").
_MACHINE = (
    r"(?:miners?|rigs?|asics?|mining|generator|genset|gen|genny|diesel|grid\s+charg\w*"
    r"|miner\s*\d+|\w+-\d+|charging)"
)
_PARTICLE_STOP = re.compile(rf"\b{_MACHINE}\s+(?:back\s+)?(?:off|offline|down)\b", re.I)
_PARTICLE_START = re.compile(rf"\b{_MACHINE}\s+(?:back\s+)?(?:on|online|up)\b", re.I)


# "backup generator on please, the grid is gone", "miners off now!": the machine, its
# particle and a word that presses (not "generator on since 6am", a report).
_PARTICLE_ORDER = re.compile(
    rf"^(?:(?:the|our|my|all|backup|standby|both)\s+)*{_MACHINE}\s+(?:back\s+)?(?:on|off)\b"
    r"(?=\s*(?:please|pls|plz|now|asap|right\s+now|immediately|quick(?:ly)?|!|$"
    # "genny on at the workshop": where, not when
    r"|(?:at|in)\s+(?:the\s+)?[a-z][\w-]*\s*(?:please|pls|now|!)?\s*$))"
    # "miners back up pls", "gen down now!": up and down only with a word that presses
    rf"|^(?:(?:the|our|my|all|backup|standby|both)\s+)*{_MACHINE}\s+(?:back\s+)?(?:up|down)\b"
    r"(?=\s*(?:please|pls|plz|now|asap|right\s+now|immediately|!))",
    re.IGNORECASE,
)


def _particles(text: str) -> frozenset[Direction]:
    return _said(_PARTICLE_STOP, _PARTICLE_START, text)


def _corrected(text: str) -> str:
    """The words with typos corrected against the planner's vocabulary."""
    words = tokens._tokenize(text)
    fixed = (tokens._correct(w) for w in words)
    # "miinng" → "mining", but "runs" stays "runs" (an inflection is no typo)
    return " ".join(w if w.startswith(f) else f for w, f in zip(words, fixed, strict=True))


def _reading(
    text: str,
    target: Callable[[str], bool],
    directions: Callable[[str], frozenset[Direction]],
) -> Reading:
    said: set[Direction] = set()
    negated = False
    carried: frozenset[Direction] = frozenset()
    named = False
    ours = False  # the machine named last is this one ("turn the rigs on and off")
    previous = ""
    for part in _SEGMENTS.split(text):
        own = directions(part)
        if not own and not _listed_after(previous, part, carried):
            # "off the miners and on the generator"; not "the load on the generator and
            # on the miners", where no order came before
            own = directions(_particle_as_verb(part))
        previous = part
        if target(part):
            named = ours = True
            # "turn miner-3 off and miner-1 on": a bare part's own particle, else the verb before
            bare = _bare(part, target)
            said |= own or (_particles(part) or carried if bare else frozenset())
            negated = negated or bool(_NEGATED.search(part))
        elif _named_in(part):
            ours = False
        elif ours:
            said |= own
        if own:
            carried = own
    if not named:
        said = set(directions(text))
        negated = bool(_NEGATED.search(text))
    return Reading(frozenset(said), negated)


# Words a bare continuation may hold besides the machine ("and the generator too").
_BARE_WORDS = frozenset(
    [
        "the",
        "my",
        "our",
        "all",
        "both",
        "also",
        "too",
        "of",
        "em",
        "them",
        "as",
        "well",
        "at",
        "on",
        "in",
        "please",
        "pls",
        "now",
    ]
)


def _bare(part: str, target: Callable[[str], bool]) -> bool:
    """Whether a part only names a machine, so the previous part's verb applies to it."""
    rest = [w for w in re.findall(r"[\w'-]+", part.lower()) if w not in _BARE_WORDS]
    return len([w for w in rest if not target(w)]) <= 1


_ITS_ALERTS = re.compile(
    r"\b[\w-]+\s+(?:alerts?|alarms?|warnings?|notifications?|pings?|messages?|spam)\b",
    re.IGNORECASE,
)


def _without_alerts(text: str) -> str:
    """``text`` with "<machine> alerts" blanked out (same length: positions hold)."""
    return _ITS_ALERTS.sub(lambda m: " " * len(m.group()), text)


def _only_loads(loads: Sequence[str]) -> Callable[[str], bool]:
    """A target that names only these loads ("miner-1" in "stop miner-1, start miner-2")."""
    spots = [re.compile(rf"(?<![\w-]){re.escape(n)}(?![\w-])", re.IGNORECASE) for n in loads]

    def names_them(part: str) -> bool:
        return any(spot.search(part) for spot in spots)

    return names_them


def _target(family: Family, load_names: Sequence[str]) -> Callable[[str], bool]:
    pattern = _TARGETS[family]
    names = [n.lower() for n in load_names] if family == "miners" else []

    def names_it(part: str) -> bool:
        # "the generator alerts", "miner warnings": the machine's alerts, not the machine
        part = _without_alerts(part)
        lowered = part.lower()
        return bool(pattern.search(part)) or any(n in lowered for n in names)

    return names_it


def check(
    tool: str, args: dict[str, object], text: str, load_names: Sequence[str] = ()
) -> tuple[str, dict[str, object]] | None:
    """The command as the words say it: ``(tool, args)`` turned the way the words go,
    unchanged when they give no direction, or None when they give both (unsure)."""
    if tool == "set_grid_charge":
        said = reading(text, "grid_charge", load_names)
        if said.negated and said.said == {"start"}:
            return tool, {**args, "enabled": False}  # "don't charge from the grid"
        if said.mixed:
            return None
        if said.sure is not None:
            return tool, {**args, "enabled": said.sure == "start"}
        return tool, args
    if tool not in _TOOLS:
        return tool, args
    family, direction = _TOOLS[tool]
    if _TARGETS[family].search(text) and not _target(family, load_names)(text):
        return None  # only "the generator alerts" named: the order is about alerts
    said = reading(text, family, load_names, _own_loads(args, text, load_names))
    if said.mixed or not said.said:
        return None  # both ways, or no way at all ("any gen runs expected?"): unsure
    if said.sure is not None and said.sure != direction:
        return f"{said.sure}_{family}", args
    return tool, args


def _own_loads(
    args: dict[str, object], text: str, load_names: Sequence[str]
) -> Callable[[str], bool] | None:
    """When a command names its loads and the message names other loads too ("stop
    miner-1 and start miner-2"), the parts about its own loads alone give its direction."""
    loads = args.get("loads")
    if not isinstance(loads, list) or not loads:
        return None
    own = [str(n) for n in loads]
    if not any(_only_loads([n])(text) for n in load_names if n not in own):
        return None
    return _only_loads(own)


# "open all miners": on to someone who says "open the light", off to an electrician
# (an open relay carries nothing); only with the relay or breaker named is it sure.
_OPEN_OR_CLOSE = re.compile(
    r"\b(?:open|opens|opening|close|closes|closing)\s+(?:up\s+)?(?:(?:the|all|all\s+the|my|our"
    r"|every|both|those|these)\s+)*(?:[\w-]+\s+)?(?:miners?|rigs?|asics?|machines?|loads?"
    r"|gen|genny|genset|generator|miner-?\d+|grid\s+charg\w*)\b",
    re.IGNORECASE,
)
_SWITCHGEAR = re.compile(r"\b(?:relays?|breakers?|contactors?|circuits?)\b", re.IGNORECASE)


def agrees(tool: str, text: str, load_names: Sequence[str] = ()) -> bool:
    """Whether no word goes against ``tool``: the words give its machine its direction or
    none at all ("gen up pls", "genny go"), and nothing is negated. "open"/"close" said of
    the machine itself goes both ways, so it agrees with neither."""
    family = family_of(tool)
    if family is None:
        return False
    if _OPEN_OR_CLOSE.search(text) and not _SWITCHGEAR.search(text):
        return False
    said = reading(text, family, load_names)
    if tool == "set_grid_charge":
        return not said.negated and len(said.said) <= 1 and not _NEGATED.search(text)
    wanted = _TOOLS[tool][1]
    return not said.negated and said.said <= {wanted} and not _NEGATED.search(text)


# "can we kill the miners?", "could we switch the genny off now": a request put as a
# question about what we do, when its verb switches a machine ("can we run the miners
# today?" asks whether it is wise: the plan).
_WE_DO = r"\s+(?:stop|kill|shut|switch|turn|start|fire|cut|pause|power|spin|bring|put)\b"
# What may come before the verb of an order: fillers and polite wrappers.
_LEAD = re.compile(
    r"^(?:\W*(?:hey|hi|ok|okay|so|yo|bot|pls|please|plz|kindly|now|quick(?:ly)?|just|right"
    r"|righto|rightio|aight|okie|before\s+anything(?:\s+else)?|first\s+of\s+all|first(?:ly)?"
    r"|to\s+start\s+with|might\s+you"
    r"|alright|go\s+ahead\s+(?:and\s+)?|can\s+(?:you|u)|could\s+(?:you|u)|would\s+you(?:\s+mind)?"
    r"|(?:can|could|would|will)\s+(?:someone|somebody|anyone)|you\s+(?:can|may|could)(?:\s+now)?"
    rf"|(?:can|could)\s+we(?={_WE_DO})"
    r"|do(?=\s+(?:switch|turn|stop|start|shut|kill|bring|put|fire|power))"
    r"|will\s+you|i\s+(?:want|need)\s+you\s+to|i(?:'d|\s+would)\s+like\s+you\s+to|lets|let's"
    r"|let\s+us|time\s+to)\b[\s,]*)*",
    re.IGNORECASE,
)
# "I'd like the miners shut down", "I want the generator on": a wish about a machine.
_WISH = re.compile(
    r"^\W*(?:i|we)(?:'d|\s+would)?\s+(?:like|want|need)\s+(?:the\s+|my\s+|our\s+|all\s+)?",
    re.IGNORECASE,
)
_FAMILY_ORDER: tuple[Family, ...] = ("miners", "generator", "grid_charge")
FAMILIES = _FAMILY_ORDER


def ordered(text: str, load_names: Sequence[str] = ()) -> list[tuple[Family, Direction]]:
    """The commands an order gives ("curtail miner 2", "spin the rigs back up", "pull
    the plug on miner-1"), in the order named; [] for anything but an order whose
    words give one direction to each machine they name. Each part of the message is
    read on its own: "stop the miners, then tell me when to run the genny" orders the
    miners only (the second part asks)."""
    found: list[tuple[Family, Direction]] = []
    last: frozenset[Direction] = frozenset()
    orders, asked = _without_questions(text.strip())
    # machines named so far ("the generator is running, stop it", "is the genny on? start it")
    mentioned: list[Family] = [f for f in _FAMILY_ORDER if _names(asked, f, load_names)]
    previous = ""
    for part in _SEGMENTS.split(orders):
        body = _order_body(part)
        if body is not None and _listed_after(previous, part, last):
            body = None  # "the load on the generator and on the miners": no order
        previous = part
        families = [f for f in _FAMILY_ORDER if _names(part, f, load_names)]
        if body is not None and not families and mentioned and _PRONOUN.search(body):
            families = mentioned[-1:]
            part = f"{part} {_WORD_FOR[families[0]]}"
        for family in families:
            said = _said_to(family, part, body, last, load_names)
            if said is None:
                continue
            if said.mixed or any(f == family and d != said.sure for f, d in found):
                return []  # both ways for one machine: unsure
            if said.sure is not None and (family, said.sure) not in found:
                found.append((family, said.sure))
        mentioned += families
        last = directions(body) if body is not None else frozenset()
    return found


# "stop the miners, I mean the generator", "start miner-1, sorry, the genny": a part that
# names another machine in place of the one just ordered.
_CORRECTION = re.compile(
    r"(?:^|[,;.!?\s]\s*)(?:i\s+mean[t]?|sorry|oops|no\s+wait|correction|actually|make\s+that"
    r"|rather)\b[\s,]*(?:the\s+|my\s+|our\s+)?(?P<what>[^,;.!?]+?)\W*$",
    re.IGNORECASE,
)


_CORRECTION_FILLER_WORDS = (
    "the my our a please pls plz instead not sorry oops lol one ones all of them"
)
_CORRECTION_FILLERS = frozenset(_CORRECTION_FILLER_WORDS.split())


_NUMBERED = re.compile(r"\b(?:miner|rig|asic|machine)s?\s*[-#]?\s*\d+\b", re.IGNORECASE)


def _mentions(text: str, load_names: Sequence[str]) -> list[tuple[int, int]]:
    """Where machines are named in ``text`` (load names and family words), in order."""
    spans = [m.span() for f in _FAMILY_ORDER for m in _TARGETS[f].finditer(text)]
    spans += [m.span() for m in _NUMBERED.finditer(text)]
    lowered = text.lower()
    for name in load_names:
        at = lowered.find(name.lower())
        if at >= 0:
            spans.append((at, at + len(name)))
    unique = set(spans)
    return sorted(
        s for s in unique if not any(o != s and o[0] <= s[0] <= s[1] <= o[1] for o in unique)
    )


# "miners off genny on": two machines, each with its particle, said without a comma.
_PARTICLE_PAIR = re.compile(
    rf"\b(?P<first>{_MACHINE}\s+(?:back\s+)?(?:on|off|up|down))\s+"
    rf"(?=(?:the\s+|my\s+|our\s+)?{_MACHINE}\s+(?:back\s+)?(?:on|off|up|down)\b)",
    re.IGNORECASE,
)


def with_correction(text: str, load_names: Sequence[str] = ()) -> str:
    """``text`` with a correction at its end applied to the order before it ("stop the
    miners, I mean the generator" is "stop the generator"); ``text`` itself when it ends
    with none, or the correction names no machine, a verb of its own, or the same one.
    Two machines each with its particle ("miners off genny on") are parted by a comma."""
    text = _PARTICLE_PAIR.sub(r"\g<first>, ", text)
    said = _CORRECTION.search(text)
    if said is None:
        return text
    before, what = text[: said.start()], said["what"]
    if not ordered(before, load_names) or directions(what) or _order_body(what) is not None:
        return text
    named = _mentions(what, load_names)
    earlier = _mentions(before, load_names)
    if len(named) != 1 or not earlier:
        return text
    rest = f"{what[: named[0][0]]} {what[named[0][1] :]}".lower().split()
    if not set(rest) <= _CORRECTION_FILLERS:
        return text  # "..., I mean the generator is fine", "..., actually the miners too"
    new = what[named[0][0] : named[0][1]]
    start, end = earlier[-1]
    if before[start:end].lower() == new.lower():
        return text
    return f"{before[:start]}{new}{before[end:]}".rstrip(" ,;")


_SENTENCE = re.compile(r"[^.?!]+[.?!]*")
# "could you stop the miners?", "can u kill rig 2?": a request put as a question.
_ASKS_TO = re.compile(
    r"^\W*(?:(?:hey|ok|okay|so|please|pls)\W+)*(?:(?:can|could|would|will)\s+(?:you|u|ya)\b"
    rf"|(?:can|could)\s+we(?={_WE_DO}))",
    re.IGNORECASE,
)


# "can we turn the miners on or will the battery die?": whether to, not a request.
_WEIGHS = re.compile(
    r"\bor\s+(?:will|would|is|are|should|does|do|might|not|no)\b|\bor\s+(?:is|are)\s+we\b"
    r"|\b(?:safely|safe|wise|ok|okay|alright)\b",
    re.IGNORECASE,
)


# A tag after what is said ("start the generator, okay?", "keep it above 30, right?").
TAG_QUESTION = re.compile(
    r"(?<!\bor)(?<!\bor,)[,\s]+(?:right|ok|okay|k|yeah|alright|eh|innit|aye|ja|got\s+it"
    r"|understood|thanks|ta)\W*\?+\W*$",
    re.IGNORECASE,
)
_ASKS_FIRST = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|can|could|will|would|should|shall|have|has|what\w*"
    r"|how\w*|when\w*|why|which|who\w*|where\w*|any)\b",
    re.IGNORECASE,
)


def _tagged_order(sentence: str) -> bool:
    """An order or a condition with a tag at its end ("if it drops, go ahead and start the
    generator, okay?"): said, not asked."""
    tagged = TAG_QUESTION.search(sentence)
    return (
        tagged is not None
        and "?" not in sentence[: tagged.start()]
        and not _ASKS_FIRST.match(sentence)
    )


def _without_questions(text: str) -> tuple[str, str]:
    """``text`` without its questions ("should I plug in and charge from the grid
    tonight?" asks; its "charge from the grid" is no order), polite requests kept; and
    the questions taken out."""
    kept: list[str] = []
    asked: list[str] = []
    for sentence in _SENTENCE.findall(text):
        question = (
            sentence.rstrip().endswith("?")
            and not _tagged_order(sentence)
            and (not _ASKS_TO.match(sentence) or bool(_WEIGHS.search(sentence)))
        )
        (asked if question else kept).append(sentence)
    return " ".join(kept), " ".join(asked)


_PRONOUN = re.compile(r"\b(?:it|them|that|em|'em)\b", re.IGNORECASE)
_WORD_FOR: dict[Family, str] = {
    "miners": "miners",
    "generator": "generator",
    "grid_charge": "grid charging",
}


def _names(part: str, family: Family, load_names: Sequence[str]) -> bool:
    if _first_mention(part, family, load_names) is None:
        return False
    return family != "grid_charge" or bool(re.search(r"\bch(?:ar)?g", part, re.I))


def _said_to(
    family: Family,
    part: str,
    body: str | None,
    last: frozenset[Direction],
    load_names: Sequence[str],
) -> Reading | None:
    """The direction one part gives a machine it names: its own order, or the previous
    part's verb when it only names the machine ("stop the miners and the generator")."""
    if body is not None:
        return reading(
            f"{body} {_WORD_FOR[family]}" if family not in _named_in(body) else body,
            family,
            load_names,
        )
    if last and _bare(part, _target(family, load_names)):
        return Reading(_particles(part) or last)  # "... and the generator on": its own way
    return None


def _named_in(text: str) -> frozenset[Family]:
    return frozenset(f for f in _FAMILY_ORDER if _TARGETS[f].search(text))


def gives_order(text: str) -> bool:
    """Whether any part of a message is an order ("the generator is running, stop it")."""
    return any(_order_body(part) is not None for part in _SEGMENTS.split(text.strip()))


def _order_body(part: str) -> str | None:
    """The part from its verb on when it gives an order, else None."""
    body = part.strip()
    if not body or body.endswith("?"):
        return None
    wish = _WISH.match(body)
    if wish is not None:
        return body[wish.end() :]
    body = _particle_as_verb(body[_LEAD.match(body).end() :])  # type: ignore[union-attr]
    if _STOP.match(body) or _START.match(body) or _PARTICLE_ORDER.match(body):
        return body
    # "we're not there this week so switch off the mining rigs": the order after "so"
    after = _SO.search(body)
    if after is not None:
        rest = body[after.end() :]
        rest = rest[_LEAD.match(rest).end() :]  # type: ignore[union-attr]
        if _STOP.match(rest) or _START.match(rest):
            return rest
    return None


_SO = re.compile(r"\s(?:so|and\s+so|hence|therefore)\s+", re.IGNORECASE)


def _first_mention(text: str, family: Family, load_names: Sequence[str]) -> int | None:
    text = _without_alerts(text)
    lowered = text.lower()
    spots = [m.start() for m in [_TARGETS[family].search(text)] if m is not None]
    if family == "miners":
        spots += [lowered.find(n.lower()) for n in load_names if n.lower() in lowered]
    return min(spots) if spots else None


def tool_of(family: Family, direction: Direction) -> tuple[str, dict[str, object]]:
    """The tool (and its direction argument) that carries out one command."""
    if family == "grid_charge":
        return "set_grid_charge", {"enabled": direction == "start"}
    return f"{direction}_{family}", {}


def named(text: str, load_names: Sequence[str] = ()) -> frozenset[Family]:
    """The machines a message names (typos corrected: "stop miinng")."""
    fixed = f"{text} {_corrected(text)}"
    return frozenset(f for f in _FAMILY_ORDER if _first_mention(fixed, f, load_names) is not None)


def family_of(tool: str) -> Family | None:
    """The machine a command tool acts on."""
    if tool == "set_grid_charge":
        return "grid_charge"
    return _TOOLS[tool][0] if tool in _TOOLS else None


# A time later than now for an order ("start the genny at 5am tomorrow", "at 19:00 stop the
# miners", "turn the miners on at 10am tmrw", "in 2 hours"): the bot does not schedule, and
# a request made now would run now.
_HOUR_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_LATER = re.compile(
    # an hour in words ("at nine this evening", "by half past six", "at ten o'clock")
    rf"\b(?:at|around|about|by|after)\s+(?:(?:half|quarter)\s+(?:past|to)\s+{_HOUR_WORDS}\b"
    rf"|{_HOUR_WORDS}(?:\s+(?:thirty|fifteen|forty-?five))?\s*(?:o'?clock\b|am\b|pm\b"
    r"|(?=\s*(?:this|tonight|tomorrow|in\s+the)\b)|(?=\s*[.!?]|\s*$)))"
    # "After evening milking, please ...": an event still to come, said first
    r"|^\W*(?:right\s+)?after\s+(?!(?:that|this|it|now|all)\b)(?:[\w'-]+\s+){0,3}[\w'-]+"
    r"\s*(?:,|$)"
    r"|\b(?:at|around|about|from|after)\s+(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|h|hrs|o'?clock)?"
    r"(?!\s*(?:%|°|(?:percent|per\s*cent|kw|kwh|w|v|volts?|amps?|a|l|litres?|liters?|c"
    r"|degrees?)\b))"
    r"|midnight|noon|midday|dawn|sunrise|sunset|sundown|sun\s*up|sun\s*down|dusk|daybreak|dark"
    r"|(?:first|last)\s+light|lunch\w*|dinner\w*|supper\w*|tea\s*time|breakfast|wrap|close"
    r"|closing|knock\w*\s+off|last\s+orders|quitting\s+time|home\s*time|lights?\s+out"
    r"|bed\s*time|night\s*fall|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|shift))\b"
    # "if the sun's still out past noon": a time of day still to come
    r"|\b(?:past|beyond)\s+(?:noon|midday|midnight|sunset|sundown|dusk|dark|lunch\w*"
    r"|\d{1,2}(?::\d{2})?\s*(?:am|pm|o'?clock)\b)"
    r"|\b(?:tomorrow|tmrw|tmr|tomoz|2moro|later\s+(?:on|today|tonight)|in\s+the\s+morning"
    r"|first\s+thing|(?:next|this)\s+weekend|next\s+(?:week|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"
    r"|\bin\s+(?:an?|\d+|one|two|three|few|couple\s+of)\s+(?:hours?|hrs?|h|minutes?|mins?)\b"
    r"|\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\b\d{1,2}:\d{2}\b"
    # a 24-hour clock without a colon ("gen on at 0200", "around 2330h")
    r"|\b(?:at|around|about|from|after|by)\s+(?:[01]\d|2[0-3])[0-5]\d\s*(?:h|hrs|hours)?\b"
    r"(?!\s*(?:%|(?:kw|kwh|w|v|l|rpm)\b))"
    # a day in short ("Miners off Fri.", "gen on sat morning"), where "sun" is no day
    r"|\b(?:on\s+)?(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat)\b\.?"
    r"(?=\s*(?:$|[.,;!]|morning|night|evening|afternoon|am\b|pm\b|\d))"
    # a day of the week ("turn the miners off on Friday", "saturday morning start the gen")
    r"|\b(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day(?:\s+(?:morning|afternoon|evening"
    r"|night))?\b"
    # when something still to happen happens ("... when the guests arrive", "after the
    # choir finishes tonight")
    r"|\bwhen\s+(?:\w+\s+){0,4}?(?:arrives?|gets?\s+(?:here|back|in)|comes?|come\s+back"
    r"|(?:is|are)\s+back|leaves?|wakes?\s+up)\b"
    r"|\b(?:after|once|when|as\s+soon\s+as)\s+(?:\w+\s+){0,4}?(?:finish(?:es)?|ends?"
    r"|(?:is|are)\s+(?:over|done|finished)|closes?|wraps?\s+up|goes?\s+home|leaves?)\b",
    re.IGNORECASE,
)
_ONLY_TIME = re.compile(
    r"^\W*(?:(?:about|around|say|at|roughly|approx\w*)\W+)+\d{1,2}(?::\d{2})?\s*(?:am|pm|h)?"
    r"\W*(?:please|pls|ish)?\W*$"
    r"|^\W*\d{1,2}(?::\d{2}|\s*(?:am|pm))\W*(?:please|pls|ish)?\W*$",
    re.IGNORECASE,
)


def for_later(text: str, family: Family, load_names: Sequence[str] = ()) -> bool:
    """Whether the part of ``text`` that names ``family`` sets it a later time (alone, or
    in a part that is only a time after it: "turn the miners on at wrap, about 7pm")."""
    parts = _SEGMENTS.split(text)
    for i, part in enumerate(parts):
        if not part or not _names(part, family, load_names):
            continue
        following = parts[i + 1] if i + 1 < len(parts) else ""
        said = _REASON_AFTER.split(part, maxsplit=1)[0]  # "..., its after midnight": a reason
        if later(said) or (following and _ONLY_TIME.match(following)):
            return True
        if following and _TIME_FOLLOWS.match(following) and later(following):
            return True  # "turn the rigs off, like after the last lesson at 6"
        # "Tomorrow at 6 in the morning, start the generator": the time leads, alone
        previous = parts[i - 1] if i > 0 else ""
        if previous and _TIME_LEADS.match(previous) and later(previous) and not _NOW.search(part):
            return True
        if i == 1 and _EVENT_LEADS.match(previous) and later(previous) and not _NOW.search(part):
            return True  # "After evening milking, please turn the grid charging off."
    return _then_of_before(text, family, load_names)


# A part after the order that starts by saying when ("..., like after the lesson at 6").
_TIME_FOLLOWS = re.compile(
    r"^\W*(?:(?:like|say|maybe|ideally|preferably|roughly|just)\s+)?"
    r"(?:after|at|around|about|by|once|from|before)\b",
    re.IGNORECASE,
)
# "..., turn the miners off then, please": at the time said before
_THEN_AT_END = re.compile(
    r"\b(?:then|at\s+that\s+(?:time|point)|by\s+then|that\s+day)\W*(?:please|pls|thanks"
    r"|thank\s+you)?\W*$",
    re.IGNORECASE,
)


def _then_of_before(text: str, family: Family, load_names: Sequence[str]) -> bool:
    """Whether the sentence that names ``family`` ends with "then" pointing back to a later
    time another sentence names ("We leave on Friday. Switch the rigs off then.")."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    for i, sentence in enumerate(sentences):
        if _names(sentence, family, load_names) and _THEN_AT_END.search(sentence):
            told = [o for o in sentences[:i] if not re.search(r"\b(?:now|already)\b", o, re.I)]
            if any(later(other) for other in told):
                return True
    return False


# A part that is only when: a time, and the words that place it ("tomorrow at 6 in the
# morning", "tonight around 11", "on Friday after lunch").
_TIME_LEADS = re.compile(
    r"^\W*(?:(?:tomorrow|tmrw|tmr|tonight|today|on|at|around|about|by|after|before|in|the"
    r"|morning|evening|afternoon|night|early|late|first|thing|next|this|o'?clock|am|pm|a\.?m"
    r"|p\.?m|[ap]m|ish|mon|tue|wed|thu|fri|sat|sun|\w+day|\d{1,2}(?::\d{2})?(?:am|pm|h)?)\W*)+$",
    re.IGNORECASE,
)
_NOW = re.compile(r"\b(?:now|right\s+away|asap|immediately|straight\s+away)\b", re.I)
# An event still to come, said first and alone ("After evening milking, ...").
_EVENT_LEADS = re.compile(r"^\W*(?:right\s+)?after\s+(?:[\w'-]+\s+){0,3}[\w'-]+\W*$", re.I)
_REASON_AFTER = re.compile(r"\s(?:it'?s|its|because|cause|coz|cuz|since|as\s+it)\s", re.I)
_UNTIL = frozenset(
    {"until", "till", "til", "for", "through", "thru", "by", "before", "since", "last", "past"}
)


# What a number after "at" is the level of ("battery at 20", "soc is at 15"), not the hour.
_LEVEL_OF = frozenset(
    {"battery", "batt", "batts", "batteries", "bat", "soc", "charge", "fuel", "diesel", "tank"}
    | {"bank", "pack", "level", "is", "sits", "sitting", "still", "only", "now"}
)


def later(text: str) -> bool:
    """Whether ``text`` names a time later than now, not as how long ("until tomorrow")
    nor as a level ("battery at 20")."""
    for match in _LATER.finditer(text):
        before = re.findall(r"[\w']+", text[: match.start()].lower())[-1:]
        if before and before[0] in _UNTIL:
            continue
        level = re.match(
            r"(?:at|around|about)\s+\d{1,2}\b(?!\s*(?::|am\b|pm\b|h\b|o'?clock))", match[0], re.I
        )
        if level is not None and before and before[0] in _LEVEL_OF:
            continue
        return True
    return False
