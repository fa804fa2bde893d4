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


def load(name: str = "corpus.jsonl") -> list[Phrasing]:
    """Every phrasing of the shipped corpus file ``name`` (read from package data)."""
    text = (
        resources.files("graphs.assistant.understanding")
        .joinpath("phrasings", name)
        .read_text(encoding="utf-8")
    )
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
