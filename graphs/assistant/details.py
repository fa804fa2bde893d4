"""The follow-ups "more" and "why?": the breakdown and the reasons of the previous
answer, from what its tools stored in the conversation (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphs.assistant.understanding.followups import DetailKind
from tools.agent import SPECS_BY_NAME

NOTHING_BEFORE = {
    "more": "There is no earlier answer in this conversation to expand: ask a question "
    "first, then say 'more' for its breakdown.",
    "why": "There is no earlier answer in this conversation to explain: ask a question "
    "first, then 'why?' gives the readings and rules behind it.",
}


OTHER_PERSON = (
    "That answer was for {asker}: its breakdown and reasons were worked out with their "
    "access, not yours. Ask the question yourself, then say 'more' or 'why?'."
)


def record(
    tool: str, *, text: str, more: str, why: str, error: bool, requested_by: str
) -> dict[str, Any]:
    """What one tool answered, for whom, as kept in the conversation state."""
    return {
        "tool": tool,
        "text": text,
        "more": more,
        "why": why,
        "error": error,
        "requested_by": requested_by,
    }


def detail_reply(
    kind: DetailKind,
    previous: Sequence[Mapping[str, Any]],
    *,
    requested_by: str,
    role: str = "viewer",
    sites: frozenset[str] | None = None,
) -> str:
    """The breakdown ("more") or the reasons ("why") of the previous answer, only to
    the person it answered (in a shared thread, details worked out with one person's
    role, e.g. costs, must not reach another)."""
    if not previous:
        return NOTHING_BEFORE[kind]
    askers = {str(d.get("requested_by", "")) for d in previous}
    if askers != {requested_by}:
        others = sorted(a for a in askers if a != requested_by)
        return OTHER_PERSON.format(asker=", ".join(o.partition(":")[2] or o for o in others))
    parts = [_more(d) if kind == "more" else _why(d, role, sites) for d in previous]
    return "\n\n".join(p for p in parts if p)


def _more(detail: Mapping[str, Any]) -> str:
    more = str(detail.get("more") or "")
    if more:
        return more
    return f"{_first_line(detail)} That was the whole answer: there is no further breakdown."


def _why(detail: Mapping[str, Any], role: str, sites: frozenset[str] | None) -> str:
    why = str(detail.get("why") or "")
    if why:
        return why
    tool = str(detail.get("tool", ""))
    if detail.get("error"):
        where = "every site" if sites is None else ", ".join(sorted(sites)) or "no site"
        return (
            f"I did not answer because {tool} refused: {detail.get('text', '')} "
            f"(you are {role}, for {where})."
        )
    spec = SPECS_BY_NAME.get(tool)
    source = spec.description if spec is not None else "the site's data"
    return f"That answer comes from {tool}: {source[:1].lower()}{source[1:]}"


def _first_line(detail: Mapping[str, Any]) -> str:
    first = str(detail.get("text", "")).strip().splitlines()
    return first[0] if first else ""
