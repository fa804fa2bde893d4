"""Phrasing templates for intents added after the first corpus, one module per tool family.

Each module in this package may define:

- ``TEMPLATES: dict[str, tuple[str, ...]]``: label -> templates, filled like the ones in
  :mod:`graphs.assistant.understanding.generate_corpus` (``{batt}``, ``{at}``, ``{pre}`` ...);
- ``SYN: dict[str, tuple[str, ...]]``: extra slot words used by those templates;
- ``HAND: tuple[tuple[str, tuple[str, ...]], ...]``: natural phrasings with their tools;
- ``RETIRED: frozenset[str]``: templates of older labels (such as ``unsupported``) that now
  belong to a new label and must no longer be generated for the old one.

:func:`collect` merges them in module-name order, so each family's phrasings live beside
each other and new families need no edit of the generator.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(slots=True)
class Phrasebook:
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    syn: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hand: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    retired: set[str] = field(default_factory=set)


def collect() -> Phrasebook:
    """Every family module's templates, slots, hand phrasings and retired templates."""
    book = Phrasebook()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for label, templates in getattr(module, "TEMPLATES", {}).items():
            book.templates[label] = book.templates.get(label, ()) + tuple(templates)
        for key, words in getattr(module, "SYN", {}).items():
            if key in book.syn and book.syn[key] != tuple(words):
                raise ValueError(f"slot {{{key}}} is defined twice with different words")
            book.syn[key] = tuple(words)
        book.hand.extend(getattr(module, "HAND", ()))
        book.retired.update(getattr(module, "RETIRED", ()))
    return book
