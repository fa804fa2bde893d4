"""English mixed with another language's everyday words, read as plain English.

People write to the bot in the English they use at work, which often carries the
verbs, time words and question words of their first language while the technical
nouns stay English ("Generator chalu korun bhai", "miners 다 꺼"). Each language
here has a small table of such words; its rewrite runs only when the message is
clearly in that mix (two of its marker words, or its own script), so an English
word that happens to look like one ("ar", "din", "kal") is left alone.

Bangla is written in Latin letters (as in chat); Korean in Hangul. Both put the verb
last ("miners bondho korun": miners off do), which the readers take as they take
"miners off". What a table does not know is left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_Table = tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]


def _table(rows: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...]) -> _Table:
    return tuple((re.compile(pattern, re.IGNORECASE), plain) for pattern, plain in rows)


# --- Bangla (romanised) ----------------------------------------------------------------------

_BANGLA_MARKER_WORDS = (
    "korun koro koren korben korbo korte kore ekhon koto dekhan dekhao dekhun janan janao"
    " bondho chalu kobe hoyeche hoyechilo theke niche upore gele baki amar amader jonno ajke"
    " raate tokhon shudhu lagbe cholbe cholche pare kon dien deben kichu hobe namche kom ar"
    " bhai eseche ashche porche shuru kora jabe dicche jani bolche ache nei sokal tay bikal"
)
_BANGLA_MARKERS = frozenset(_BANGLA_MARKER_WORDS.split())
_DO = (
    r"(?:korun|koro|koren|korben|korbo|kore\s+(?:dao|din|den|dite\s+hobe)|kor|korte\s+hobe"
    r"|kora)\b"
)
_SHOW = r"(?:dekhan|dekhao|dekhun|dekhaben|dekhate\s+paren)"
_TELL = r"(?:janan|janao|jananu|bolun|bolo|bolen)"
_BELOW = r"(?:niche|kom)"
_ABOVE = r"(?:upore|beshi)"
_WHEN_IT_GOES = r"(?:gele|hole|jay|jabe|chole\s+jay)"
_READING = r"(?P<v>\d+(?:\.\d+)?\s*(?:%|percent|kw|kwh|w|v|volts?|liters?|litres?|l|c)?)"


def _bangla_rule(match: re.Match[str]) -> str:
    way = "drops below" if re.fullmatch(_BELOW, match["way"], re.I) else "goes above"
    return f"alert me if {match['m']} {way} {match['v']} "


_BANGLA = _table(
    (
        # "Battery 30 percent er niche gele alert dien": an alert rule
        (
            rf"\b(?P<m>[a-z]+(?:\s+[a-z]+)?)\s+{_READING}\s+(?:er\s+)?(?P<way>{_BELOW}|{_ABOVE})"
            rf"\s+{_WHEN_IT_GOES}\b(?:\s*,)?(?:\s+(?:warning|critical))?(?:\s+alert)?"
            rf"(?:\s+(?:dien|din|dao|deben|pathan|chai|set\s+{_DO}|{_DO}))?",
            _bangla_rule,
        ),
        (rf"\bbondho\s+{_DO}", "off"),
        (rf"\bchalu\s+{_DO}", "on"),
        (
            rf"\b(on|off|start|stop|delete|remove|mute|snooze|set|check|compare|approve|reject"
            rf"|acknowledge|ack|silence|charge)\s+{_DO}",
            r"\1",
        ),
        # the verb said last: "active alerts ar overnight timeline dekhan" → show ...
        (rf"(?:^|(?<=[.?!,]))\s*(?P<what>[^.?!,]*?)\s+{_SHOW}\b", r" show \g<what>"),
        (rf"(?:^|(?<=[.?!,]))\s*(?P<what>[^.?!,]*?)\s+{_TELL}\b", r" tell me \g<what>"),
        (r"\b([a-z]+)\s+theke\b", r"from \1"),
        # news told beside the order: the reason, asking nothing
        (
            r"\bload[- ]?shedding\s+(?:ashche|asche|cholche|shuru\s+hoyeche|hoyechilo|hocche"
            r"|hobe)\b",
            "the grid is down",
        ),
        (r"\bcurrent\s+(?:eseche|esheche|asche|ashche|fire\s+eseche)\b", "the grid is back"),
        (r"\bcurrent\s+(?:nei|geche|chole\s+geche)\b", "the grid is down"),
        (r"\b(battery|fuel|diesel|power)\s+kom\b(?!\s+(?:porche|ache))", r"because \1 is low"),
        (r"\b(?:[a-z]+\s+){0,3}(?:e|te)\s+power\s+lagbe\b", "we need power"),
        (r"\bdicche\b", "producing"),
        (r"\blagbe\b", "needed"),
        (r"\b(?:druto\s+)?namche\b", "falling fast"),
        (r"\bkom\s+(?:porche|ache|hoye\s+geche)\b", "is low"),
        (r"\ber\s+rule\s+ta\b", " rule"),
        (r"\bar\s*\?", "?"),
        (r"\b(?:ki\s+ki|ki)\s+(?:hoyeche|hoyechilo|holo)\b", "what happened"),
        (r"\bkoto\s+din\s+(?:cholbe|baki|thakbe|jabe)\b", "how many days left"),
        (r"\bkoto\s+din\b", "how many days"),
        (r"\bkoto\s+(liters?|litres?|kwh|kw|hours?|ghonta)\b", r"how many \1"),
        (r"\bkoto\b", "how much"),
        (r"\bkal\s+sokal\b", "tomorrow morning"),
        (r"\b(\d{1,2})\s*(?:ta|tay|tar\s+dike|te)\b", r"at \1"),
        (r"\bekhon\b", "now"),
        (r"\bajke|\baj\b", "today"),
        (r"\braate\b", "overnight"),
        (r"\bkobe\b", "when"),
        (r"\bkon\s+kon\b|\bkon\b", "which"),
        (r"\bbaki\b", "left"),
        (r"\bar\b", "and"),
        (r"\bamar\b", "my"),
        (r"\bamader\b", "our"),
        (r"\bsob\b", "all"),
        (r"\b(?:dui|duto)\s*tai\b", "both"),
        (r"\b(?:er\s+)?jonno\b", "for"),
        (r"\bshudhu\b", "only"),
        (r"\btokhon\b", "then"),
        (r"\bki\s*\?", "?"),
        (r"\bkindly\s+revert\b|\bplease\s+do\s+the\s+needful\b", "please"),
    )
)


# --- Korean (Hangul) -------------------------------------------------------------------------

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_GIVE = r"(?:\s*(?:줘|줘요|주세요|주라|줄래|줄수\s*있어|달라))?"
_K_READING = r"(?P<v>\d+(?:\.\d+)?\s*(?:%|kw|kwh|w|v|c|l|리터|도)?)"


def _korean_rule(match: re.Match[str]) -> str:
    above = match["way"] in ("넘으면", "초과하면", "이상이면", "넘어가면")
    way = "goes above" if above else "drops below"
    return f"alert me if {match['m']} {way} {match['v']} "


_KOREAN = _table(
    (
        # "battery 30% 밑으로 가면 alert 줘", "load 12kW 넘으면 알림": an alert rule
        (
            rf"(?P<m>[a-z]+(?:\s+[a-z]+)?)\s+{_K_READING}\s*(?:이|가)?\s*(?P<way>넘으면|넘어가면"
            rf"|초과하면|이상이면|밑으로\s*가면|밑으로\s*떨어지면|아래로\s*가면|떨어지면|미만이면"
            rf"|이하면)\s*(?:critical|warning)?\s*(?:alert|알림|알람)?{_GIVE}\s*(?:ㄱ+)?",
            _korean_rule,
        ),
        (
            r"뭐\s*할\s*수\s*있어|뭘\s*할\s*수\s*있어|뭐\s*해\s*줄\s*수\s*있어|할수있어",
            "what can you do",
        ),
        (r"명령어", "commands"),
        (r"(?:다\s*)?끄고", " off and "),
        (r"(?:다\s*)?켜고", " on and "),
        (r"(?:다\s*)?(?:꺼(?![질진졌])|끄기|끄자|꺼라)" + _GIVE, " off "),
        (r"(?:다\s*)?(?:켜(?![질진졌])|켜기|켜자|켜라)" + _GIVE, " on "),
        (r"돌릴\s*시간", "when to run"),
        (r"돌려" + _GIVE, " run "),
        (r"지금\s*돌려", "run now"),
        (r"보여\s*주고|보고", " show and "),
        (r"보여" + _GIVE, " show "),
        (r"지워" + _GIVE + r"|삭제해?" + _GIVE, " delete "),
        (r"풀어" + _GIVE, " remove "),
        (r"알려" + _GIVE, " tell me "),
        (r"찾아" + _GIVE, " look up "),
        (r"(\d+)\s*번", r"number \1"),
        (r"새벽\s*(\d{1,2})\s*시", r"at \1 am"),
        (r"(\d{1,2})\s*시", r"at \1 o'clock"),
        (r"자정", "at midnight"),
        (r"퇴근할\s*때", "when I leave"),
        (r"오늘\s*밤|오늘밤", "tonight"),
        (r"아침", "morning"),
        (r"저녁", "evening"),
        (r"오늘", "today"),
        (r"내일", "tomorrow"),
        (r"어제", "yesterday"),
        (r"이번\s*주", "this week"),
        (r"지난\s*주", "last week"),
        (r"이번\s*달", "this month"),
        (r"지난\s*달", "last month"),
        (r"지금", "now"),
        (r"정확도", "accuracy"),
        (r"틀렸(?:음|어|나|냐)?", "wrong"),
        (r"이상치", "anomalies"),
        (r"권한", "role"),
        (r"방법", "how to"),
        (r"목록|리스트", "list"),
        (r"알림|알람", "alerts"),
        (r"배터리", "battery"),
        (r"발전기", "generator"),
        (r"태양광", "solar"),
        (r"채굴기", "miners"),
        (r"정전", "outage"),
        (r"제일\s*많이|가장\s*많이", "most"),
        (r"어느|어떤", "which"),
        (r"얼마나|얼마", "how much"),
        (r"언제", "when"),
        (r"뭐뭐임|뭐임|뭐야|뭐", "what"),
        (r"(?:이|가)?\s*(?:랑|하고|이랑)\b", " and "),
        (r"할지", "should I"),
        (r"나\b|내\b", "my"),
    )
)


# Verbs a verb-last language leaves at the end of a clause, moved to its front ("number
# 2 delete" → "delete number 2"); "on" and "off" are read after their machine already.
_LAST_VERB = re.compile(
    r"(?P<what>[^,.;!?+]*?)\s+(?P<verb>show|delete|remove|run|look\s+up|tell\s+me|approve|reject)"
    r"\s*(?=$|[,.;!?+]|\band\b)",
    re.IGNORECASE,
)


# "gen tomorrow morning at 6 on": on/off said after a time goes back to its machine.
_APART = re.compile(
    r"(?P<m>\b(?:gen|genny|genset|generator|miners?|miner-\d+|rigs?|grid\s+charg\w*))\s+"
    r"(?P<mid>(?!on\b|off\b)[^,.;!?+]+?)\s+(?P<v>on|off)\s*$",
    re.IGNORECASE,
)


def _verb_first(text: str) -> str:
    parts = re.split(r"(\s+and\s+|[,.;!?+])", text)
    out = []
    for part in parts:
        said = _LAST_VERB.fullmatch(part.strip())
        if said is not None and said["what"].strip():
            part = f" {said['verb']} {said['what'].strip()} "
        else:
            part = _APART.sub(r"\g<m> \g<v> \g<mid>", part)
        out.append(part)
    return "".join(out)


def _apply(text: str, table: _Table) -> str:
    for pattern, plain in table:
        text = pattern.sub(plain, text)
    return text


def rewrite(text: str) -> str:
    """``text`` with a known second language's everyday words as plain English."""
    if _HANGUL.search(text):
        text = _verb_first(_HANGUL.sub(" ", _apply(text, _KOREAN)))
    elif sum(1 for w in re.findall(r"[a-z]+", text.lower()) if w in _BANGLA_MARKERS) >= 2:
        text = _verb_first(_apply(text, _BANGLA))
    return re.sub(r"\s{2,}", " ", text).strip()
