"""Leave-one-writer-out: how well the router understands a writer it has never read.

    python -m bot.bench.lowo [--json] [--misses N] [--only written_home ...]

Each ``phrasings/written_*.jsonl`` file was written by a different person (or session)
in their own voices. For each file in turn the intent classifier is trained on the
shipped corpus less that file's phrasings and less every near-copy of them (word-set
Jaccard >= 0.75, the rule that keeps the held-out sets out of the corpus: lines shared
between writers and templates that grew from a line count as that writer's), then the
whole router (:func:`graphs.assistant.understanding.routing.plan`) reads every line of
the file and is right when it calls the file's tools in order (``help`` aside), as in
the development-split test. The mean over files estimates the score on a new writer far
better than the random development split, whose lines have siblings in training.

The hand-written rules were read against these files while they were written, so the
figure is an upper bound for the rules; it is a fair measure of the classifier and of
what is trained from the corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graphs.assistant.understanding import corpus
from graphs.assistant.understanding.classifier import CORPUS_LOADS, CORPUS_SITES, IntentClassifier
from graphs.assistant.understanding.generate_corpus import DATA, drop_near
from graphs.assistant.understanding.routing import plan

Trainer = Callable[[Iterable[corpus.Phrasing]], IntentClassifier]


@dataclass(slots=True)
class FileScore:
    name: str
    right: int
    total: int
    trained_on: int
    train_s: float
    misses: list[dict[str, object]] = field(default_factory=list)

    @property
    def accuracy_pct(self) -> float:
        return 100.0 * self.right / self.total if self.total else 0.0

    @property
    def wrong(self) -> int:
        """Misses that called a tool (the silent kind), not "I didn't understand"."""
        return sum(1 for miss in self.misses if miss["got"])


def writer_files() -> list[Path]:
    """Every ``written_*.jsonl`` shipped with the corpus, by name."""
    return sorted(DATA.glob("written_*.jsonl"))


def training_rows(rows: Sequence[corpus.Phrasing], held_out: Path) -> list[corpus.Phrasing]:
    """``rows`` less the held-out file's own lines and every near-copy of them."""
    others = [r for r in rows if r.source != held_out.stem]
    kept = drop_near([{"i": i, "q": r.q} for i, r in enumerate(others)], held_out)
    return [others[int(str(row["i"]))] for row in kept]


def expected_tools(row: dict[str, object]) -> list[str]:
    tools = row.get("tools", [])
    assert isinstance(tools, list)
    return [str(t) for t in tools if t != "help"]


def score_file(classifier: IntentClassifier, path: Path) -> tuple[int, list[dict[str, object]]]:
    """How many lines of ``path`` the whole router reads right, and the misses."""
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    # one batch through the model for the whole lines (the router asks about them again)
    classifier.guess_many([str(r["q"]) for r in lines], CORPUS_SITES, CORPUS_LOADS)
    right = 0
    misses: list[dict[str, object]] = []
    for row in lines:
        got = plan(
            str(row["q"]), site_names=CORPUS_SITES, load_names=CORPUS_LOADS, classifier=classifier
        )
        tools = [i.tool for i in got.intents if i.tool != "help"]
        want = expected_tools(row)
        if tools == want:
            right += 1
        else:
            misses.append({"q": row["q"], "want": want, "got": tools, "reason": got.reason})
    return right, misses


def lowo(
    train: Trainer = IntentClassifier,
    only: Sequence[str] = (),
    rows: Sequence[corpus.Phrasing] = (),
) -> list[FileScore]:
    """One score per writer file (``only``: those file stems), trained without it."""
    rows = list(rows) or corpus.load()
    scores: list[FileScore] = []
    for path in writer_files():
        if only and path.stem not in only:
            continue
        kept = training_rows(rows, path)
        started = time.perf_counter()
        classifier = train(kept)
        train_s = time.perf_counter() - started
        right, misses = score_file(classifier, path)
        scores.append(FileScore(path.stem, right, right + len(misses), len(kept), train_s, misses))
    return scores


def summary(scores: Sequence[FileScore]) -> dict[str, object]:
    mean = sum(s.accuracy_pct for s in scores) / len(scores) if scores else 0.0
    lines = max(1, sum(s.total for s in scores))
    return {
        "files": {
            s.name: {
                "accuracy_pct": round(s.accuracy_pct, 2),
                "right": s.right,
                "wrong_tool": s.wrong,
                "lines": s.total,
                "trained_on": s.trained_on,
                "train_s": round(s.train_s, 2),
            }
            for s in scores
        },
        "mean_pct": round(mean, 2),
        "pooled_pct": round(100.0 * sum(s.right for s in scores) / lines, 2),
        "wrong_tool_pct": round(100.0 * sum(s.wrong for s in scores) / lines, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.lowo", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--misses", type=int, default=0, help="list N misses per file")
    parser.add_argument("--only", nargs="*", default=[], help="file stems to score")
    args = parser.parse_args(argv)
    scores = lowo(only=args.only)
    result = summary(scores)
    if args.json:
        if args.misses:
            result["misses"] = {s.name: s.misses[: args.misses] for s in scores}
        print(json.dumps(result, indent=2))
        return 0
    for s in scores:
        print(
            f"{s.name:18} {s.accuracy_pct:6.2f} %  ({s.right}/{s.total}, {s.wrong} to a wrong "
            f"tool; trained on {s.trained_on} in {s.train_s:.1f} s)"
        )
        for miss in s.misses[: args.misses]:
            print(f"    {miss['q']!r}: want {miss['want']} got {miss['got']} ({miss['reason']})")
    print(
        f"{'mean':18} {result['mean_pct']:6.2f} %   (pooled {result['pooled_pct']} %, "
        f"wrong tool {result['wrong_tool_pct']} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
