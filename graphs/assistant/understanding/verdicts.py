"""Decisions on action requests said in everyday words.

"approve 8c41fea3" is read by an exact pattern (:mod:`.patterns`). People also say
"green light for 0badc0de", "i'll allow deadbeef", "turn down 88cc44aa, not today",
"approve both 11aa22bb and 33cc44dd" or "request 6d7e8f9a, approve it". This module
reads those: a request id (hex, with a digit or eight characters long) and the words
that decide it, clause by clause.

Approving runs the action (after the same role and site checks as its button), so the
reading leans to doing nothing:

- words both ways for one request ("approve it, no wait, reject") decide nothing;
- a question ("should I approve 8c41fea3?"), a report ("8c41fea3 was approved by
  phone", "approved it already") or a hesitation ("not sure about 8c41fea3, ok?",
  "hold 8c41fea3") decides nothing;
- a negated approval ("do not approve 6c6c7d7d") is a rejection, which runs nothing.

The clauses without a request id are handed back, so that the rest of the message
("..., and what else is waiting?") is read as any other message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphs.assistant.understanding.lexicon import Intent

# A request id: the full id; hex after "request", "action" or "#" (4 or more); else 6 to 32
# characters with a letter and a digit ("8c41fea3"), or exactly 8 ("deadbeef", "77665544").
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a full request id
_ID = re.compile(
    rf"(?<![\w-]){_UUID}(?![\w-])"
    r"|(?:(?<=\brequest\s)|(?<=\baction\s)|(?<=#))[0-9a-f]{4,32}\b"
    # a short id right after the verb that decides it ("approve 8c41", "reject 2a8e"), with
    # a digit in it, so that no word ("approve cafe") is taken for one
    r"|(?:(?<=\bapprove\s)|(?<=\breject\s)|(?<=\bdeny\s)|(?<=\bdecline\s)|(?<=\baccept\s)"
    r"|(?<=\bauthorise\s)|(?<=\bauthorize\s))(?=[a-f]*\d)[0-9a-f]{4,5}(?![\w-])"
    r"|(?<![\w-])(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{6,32}(?![\w-])"
    r"|(?<![\w-])[0-9a-f]{8}(?![\w-])",
    re.IGNORECASE,
)
_CLAUSES = re.compile(
    r"(?<=[.;?!:])\s+|\s*[;:]\s*|\s*,\s*|\s+(?:and\s+then|then|and|but|&&)\s+|\s+[-–—]+\s+"
    r"|\.{2,}\s*",
    re.IGNORECASE,
)
_STRONG_YES = re.compile(
    r"\b(?:approv(?:e|es|ed|ing)|accept(?:ed)?|allow(?:ed)?|confirm(?:ed)?|authori[sz]e[sd]?"
    r"|sanction(?:ed)?|green[- ]?light(?:ed)?|sign(?:ed)?\s+off|grant(?:ed)?|permit(?:ted)?"
    r"|let\s+(?:\S+\s+){0,2}through|lgtm|proceed|aprob\w*|aprov\w*|approuv\w*|genehmig\w*)\b",
    re.IGNORECASE,
)
_WEAK_YES = re.compile(
    r"(?:\b(?:ok(?:ay)?|ok'?d|okayed|go\s+ahead|go\s+for\s+it|do\s+it|ship\s*it|thumbs\s+up"
    r"|yes|yep|yeah|yup|sure)\b|(?<!\w)\+1\b|👍|✅)",
    re.IGNORECASE,
)
_STRONG_NO = re.compile(
    r"\b(?:reject(?:s|ed|ing)?|deny|denied|declin(?:e|es|ed)|refus(?:e|es|ed)|veto(?:ed)?"
    r"|turn\s+(?:\S+\s+)?down|nix|nack|cancel(?:l?ed)?|scrap|scrub|hard\s+pass|pass\s+on"
    r"|thumbs\s+down|recuse|rechaz\w*|rejeit\w*|refuser|ablehn\w*)\b|👎|❌",
    re.IGNORECASE,
)
_WEAK_NO = re.compile(r"\b(?:no|nope|nah|not\s+today|say\s+no)\b", re.IGNORECASE)
# "do not approve 6c6c7d7d", "don't proceed with it": a rejection.
_NOT_YES = re.compile(
    r"\b(?:do\s*n[o']?t|dont|not|never)\s+(?:\w+\s+)?(?:approv\w*|accept\w*|allow\w*"
    r"|proceed|confirm\w*|authori[sz]\w*|permitted|sanctioned|go\s+ahead|ok(?:ay)?)\b"
    r"|\bun(?:authori[sz]ed|approved|confirmed|sanctioned)\b",
    re.IGNORECASE,
)
# A report of what was done ("was approved by phone", "approved it already").
_REPORT = re.compile(
    r"\b(?:already|was|were|been|had|did|by\s+phone|on\s+my\s+phone|with\s+the\s+button"
    r"|yesterday|earlier)\b",
    re.IGNORECASE,
)
# Doubt: nothing is decided ("not sure about 8c41fea3", "hold 8c41fea3 for now").
_DOUBT = re.compile(
    r"\b(?:hold|wait|later|not\s+sure|unsure|maybe|perhaps|might|think\s+about|hmm+|dunno"
    r"|don'?t\s+know|check\s+first|before\s+I|tbd|unless)\b",
    re.IGNORECASE,
)
# A question about a request, not a decision ("should I approve 8c41fea3?").
_QUESTION_LEAD = re.compile(
    r"^\W*(?:what|whats|what's|which|why|who|when|where|how|is|are|was|were|did|does|do|has"
    r"|have|should|shall|can\s+i|could\s+i|may\s+i|would\s+i|will\s+it|any)\b"
    r"(?!\s*n[o']?t\b|n't\b)",  # "do not approve 6c6c7d7d" decides
    re.IGNORECASE,
)
_ASKS_TO = re.compile(
    r"^\W*(?:(?:please|pls|ok|okay|so)\W+)*(?:can|could|would|will)\s+(?:you|u)\b", re.I
)
# What a bare id clause may hold besides ids ("and 33cc44dd too", "request 6d7e8f9a").
_BARE_WORDS = (
    "the request action requests actions id number no too also as well both one please pls"
    " thanks ta and"
)
_BARE = frozenset(_BARE_WORDS.split())
_POINTS_BACK = re.compile(r"\b(?:it|that|that\s+one|this|this\s+one|them|both|all)\b", re.I)
# Short enough that a weak word alone ("ok 8c41fea3", "ship it 5a6b7c8d") decides.
_WEAK_WORDS = 8


@dataclass(frozen=True, slots=True)
class Reading:
    """The decisions in a message, in order, and the clauses that are about something else.

    ``decisions`` holds ``(clause index, Intent)``; ``rest`` holds ``(clause index, text)``;
    ``unsure`` is True when a request id is there with words that decide it both ways or
    with doubt (nothing must be decided then); ``told`` when the message only reports a
    decision already made ("8c41fea3 was approved by phone")."""

    decisions: list[tuple[int, Intent]]
    rest: list[tuple[int, str]]
    unsure: bool = False
    told: bool = False


def _verdict(clause: str) -> bool | str | None:
    """True to approve, False to reject, None for no decision words, "unsure" for both
    ways or doubt."""
    negated = bool(_NOT_YES.search(clause))
    plain = _NOT_YES.sub(" ", clause)
    strong_yes = bool(_STRONG_YES.search(plain))
    strong_no = negated or bool(_STRONG_NO.search(clause))
    weak_yes = bool(_WEAK_YES.search(plain))
    weak_no = bool(_WEAK_NO.search(plain))
    doubt = bool(_DOUBT.search(clause))
    if strong_yes and strong_no:
        return "unsure"
    if strong_no:
        return False
    if strong_yes:
        return "unsure" if doubt else True
    if weak_yes and weak_no:
        return "unsure"
    if weak_no:
        return False
    if weak_yes:
        return "unsure" if doubt or len(clause.split()) > _WEAK_WORDS else True
    return "unsure" if doubt else None


# Not knowing what a request is: a reason to reject it (and doubt about approving it).
_UNKNOWN_TO_ME = re.compile(
    r"\b(?:(?:do\s*n[o']?t|dont|dunno)\s+(?:even\s+)?(?:know\s+)?(?:what|who|why)"
    r"|no\s+idea\s+(?:what|who|why))\b",
    re.IGNORECASE,
)


def _rejected_unknown(clause: str, decisions: list[tuple[int, Intent]]) -> bool:
    return (
        bool(decisions)
        and not any(d.args["approve"] for _, d in decisions)
        and _UNKNOWN_TO_ME.search(clause) is not None
    )


def _asks(clause: str) -> bool:
    if _ASKS_TO.match(clause):
        return False  # "could you approve 8c41fea3?": a request put as a question
    return clause.rstrip().endswith("?") or bool(_QUESTION_LEAD.match(clause))


def _bare(clause: str) -> bool:
    words = re.findall(r"[\w']+", _ID.sub(" ", clause).lower())
    return all(w in _BARE for w in words)


_SHORT = 4  # words in a clause that only decides ("that one's a no", "yes, approve it")


def read(text: str) -> Reading | None:
    """The decisions ``text`` makes on request ids, or None when it names no request id
    and decides nothing (the message is then read as any other)."""
    if _ID.search(text) is None:
        return None
    clauses = [c for c in _CLAUSES.split(text.strip()) if c and c.strip()]
    decisions: list[tuple[int, Intent]] = []
    rest: list[tuple[int, str]] = []
    waiting: list[tuple[int, str]] = []  # ids said with no decision yet ("request X, approve it")
    last: bool | None = None
    unsure = told = False
    for index, clause in enumerate(clauses):
        ids = [m.group().lower() for m in _ID.finditer(clause)]
        asked = _asks(clause)
        reported = bool(_REPORT.search(clause))
        said = None if asked or reported else _verdict(clause)
        if said == "unsure" and _rejected_unknown(clause, decisions):
            continue  # "reject 1a2b3c4d, I don't know what that is": why, not doubt
        if said == "unsure":
            # "approve 8c41fea3, hmm wait": doubt after a decision takes it back ("oh
            # wait, just approve ..." before one does not)
            unsure = unsure or bool(ids) or bool(waiting) or bool(decisions)
            continue
        short = len(clause.split()) <= _SHORT
        if not ids:
            if isinstance(said, bool) and waiting and (_POINTS_BACK.search(clause) or short):
                decisions += [(i, _decide(rid, said)) for i, rid in waiting]
                waiting = []
                last = said
            elif isinstance(said, bool) and decisions and said != decisions[-1][1].args["approve"]:
                unsure = True  # "approve 8c41fea3, no wait, reject it": both ways
            elif isinstance(said, bool) and (
                short or (index + 1 < len(clauses) and _bare(clauses[index + 1]))
            ):
                # "that one's a no: 66778899", "and approve the genny one, 0d4c2a17": carried
                # to the bare id after it
                last = said
            else:
                rest.append((index, clause))
            continue
        if isinstance(said, bool):
            decisions += [(index, _decide(rid, said)) for rid in ids]
            last = said
        elif _bare(clause) and last is not None:
            decisions += [(index, _decide(rid, last)) for rid in ids]  # "... and 33cc44dd"
        else:
            # "request 6d7e8f9a, approve it", "is it ok if I approve 1e2f3a4b? yes, approve
            # it", "1f6ac8e4 has not been authorised. Please reject it."
            waiting += [(index, rid) for rid in ids]
            told = told or (reported and _verdict(clause) is not None)
    if unsure:
        return Reading([], [], unsure=True)
    if not decisions:
        return Reading([], [], told=True) if told else None
    return Reading(decisions, rest)


def _decide(action_id: str, approve: bool) -> Intent:
    return Intent("decide_action", {"site": None, "action_id": action_id, "approve": approve})
