"""The phrasing corpus shipped with the package (``phrasings/corpus.jsonl``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

# Labels that are not tools: nothing to call.
HELP = "help"
NONE = "none"  # chit-chat, statements, off-topic
UNSUPPORTED = "unsupported"  # a request the bot cannot carry out
MULTI = "multi"  # several tools in one line (used for scoring, not for training)
NOT_TOOLS = frozenset({HELP, NONE, UNSUPPORTED})


@dataclass(frozen=True, slots=True)
class Phrasing:
    q: str
    tools: tuple[str, ...]
    label: str
    source: str
    split: str  # "train" or "dev"


def text(name: str = "corpus.jsonl") -> str:
    """The shipped corpus file ``name`` as it is (read from package data)."""
    return (
        resources.files("graphs.assistant.understanding")
        .joinpath("phrasings", name)
        .read_text(encoding="utf-8")
    )


def load(name: str = "corpus.jsonl") -> list[Phrasing]:
    """Every phrasing of the shipped corpus file ``name`` (read from package data)."""
    return parse(text(name))


def parse(text: str) -> list[Phrasing]:
    """The phrasings of a corpus file's text (one JSON object a line)."""
    rows: list[Phrasing] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        rows.append(
            Phrasing(
                q=str(row["q"]),
                tools=tuple(row["tools"]),
                label=str(row["label"]),
                source=str(row.get("source", "")),
                split=str(row.get("split", "train")),
            )
        )
    return rows
