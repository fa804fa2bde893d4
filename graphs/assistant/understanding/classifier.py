"""The intent classifier: which tool (or none) a single-intent phrasing asks for.

TF-IDF over character n-grams (robust to typos and slang spellings) and word
n-grams (word order: "stop the miners" vs "the miners stopped"), with a
linear SVM (one against the rest). Its scores become confidences with a softmax
(the scale and C were tuned by leave-one-writer-out, ``python -m bot.bench.lowo``).
It is trained from the shipped corpus on first use (10-60 s, by the machine and how
busy it is), kept for the life of the process and stored in the user's cache folder
(:mod:`model_cache`), from which the next process loads it in a fraction of a second
as long as the corpus, this code and the libraries are the same; nothing is
downloaded and nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import re
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from graphs.assistant.understanding import corpus, model_cache

log = logging.getLogger(__name__)

# Softmax scale of the SVM scores and the SVM's C, tuned by leave-one-writer-out
# (``python -m bot.bench.lowo``): 4 and 0.5 were 84.8 %, 6 and 2 86.2 %, 7 and 2 with
# the opening word marked 86.45 %.
SCALE = 7.0
C = 2.0
# Marks the opening word, so that the word pairs say which word leads ("energise miner-1"
# is an order, "is miner-1 energised" a question): +0.1 point by itself.
_OPENING = "zbegin "
_APOSTROPHES = re.compile(r"['’‘`´]")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
MEMO_SIZE = 4096  # guesses remembered per classifier (a few hundred KB)
_LOAD_LIKE = re.compile(r"\b(miner|rig|asic|pump)[- ]?\d+\b")

# Site and load names used in the corpus, masked the same way as live names.
CORPUS_SITES = ("north field", "barn", "home", "cabin", "plant", "workshop", "farm", "shed", "demo")
CORPUS_LOADS = ("miner-1", "miner-2", "miner-3", "miner-4", "pump", "s9-rack")


def normalise(text: str, site_names: Sequence[str] = (), load_names: Sequence[str] = ()) -> str:
    """Lowercase, apostrophes dropped, names masked (``zsite``, ``zload``), digits as 0."""
    out = _APOSTROPHES.sub("", text.lower())
    for name in sorted(load_names, key=len, reverse=True):
        out = re.sub(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", " zload ", out)
    out = _LOAD_LIKE.sub(" zload ", out)
    for name in sorted(site_names, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(name.lower())}\b", " zsite ", out)
    out = _DIGITS.sub("0", out)
    return _SPACES.sub(" ", out).strip()


@dataclass(frozen=True, slots=True)
class Guess:
    """The classifier's view of one text: labels by probability, best first."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        return self.ranked[0][0]

    @property
    def p(self) -> float:
        return self.ranked[0][1]

    def prob(self, label: str) -> float:
        return next((p for name, p in self.ranked if name == label), 0.0)

    def tools(self, n: int) -> list[str]:
        """The ``n`` most likely labels that are tools."""
        return [name for name, _ in self.ranked if name not in corpus.NOT_TOOLS][:n]


def _fit(rows: Iterable[corpus.Phrasing]) -> Any:
    """The TF-IDF + linear SVM pipeline fitted on ``rows`` (multi-tool rows left out)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    texts: list[str] = []
    labels: list[str] = []
    for row in rows:
        if row.label == corpus.MULTI:
            continue
        texts.append(_OPENING + normalise(row.q, CORPUS_SITES, CORPUS_LOADS))
        labels.append(row.label)
    features = FeatureUnion(
        [
            (
                "chars",
                # min_df=2: n-grams seen once carry no pattern and slow the fit
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b|[?%]",
                ),
            ),
        ]
    )
    # a fixed seed: the dual solver visits the rows in a random order, and the same corpus
    # should make the same model on every machine
    model = make_pipeline(features, LinearSVC(C=C, random_state=0))
    model.fit(texts, labels)
    return model


class IntentClassifier:
    """A fitted TF-IDF + linear SVM model over corpus labels."""

    def __init__(self, rows: Iterable[corpus.Phrasing]) -> None:
        self._use(_fit(rows))

    @classmethod
    def fitted(cls, model: Any) -> IntentClassifier:
        """The classifier around a model already fitted (one loaded from the cache)."""
        classifier = cls.__new__(cls)
        classifier._use(model)
        return classifier

    def _use(self, model: Any) -> None:
        self._model = model
        self.labels: tuple[str, ...] = tuple(str(c) for c in model.classes_)
        self._memo: dict[tuple[str, tuple[tuple[str, ...], tuple[str, ...]]], Guess] = {}

    def guess(
        self, text: str, site_names: Sequence[str] = (), load_names: Sequence[str] = ()
    ) -> Guess:
        return self.guess_many([text], site_names, load_names)[0]

    def guess_many(
        self, texts: Sequence[str], site_names: Sequence[str] = (), load_names: Sequence[str] = ()
    ) -> list[Guess]:
        """The guesses for several texts at once (one pass of the model; remembered, since
        the router asks again about the same text and its parts)."""
        key_names = (tuple(site_names), tuple(load_names))
        todo = [t for t in dict.fromkeys(texts) if (t, key_names) not in self._memo]
        if todo:
            if len(self._memo) + len(todo) > MEMO_SIZE:
                self._memo.clear()
            normalised = [_OPENING + normalise(t, site_names, load_names) for t in todo]
            for text, scores in zip(todo, self._model.decision_function(normalised), strict=True):
                self._memo[(text, key_names)] = self._ranked(scores)
        return [self._memo[(t, key_names)] for t in texts]

    def _ranked(self, scores: Sequence[float]) -> Guess:
        top = max(float(s) for s in scores)
        exps = [math.exp(SCALE * (float(s) - top)) for s in scores]
        total = sum(exps)
        ranked = sorted(
            zip(self.labels, (e / total for e in exps), strict=True), key=lambda x: -x[1]
        )
        return Guess(tuple(ranked))


_lock = threading.Lock()
_shared: IntentClassifier | None = None


def shared() -> IntentClassifier:
    """The classifier trained on the whole shipped corpus, built once per process (loaded
    from the user's cache folder when an earlier process stored it)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = cached(corpus.text(), model_cache.default_dir())
        return _shared


CACHE_NAME = "intent"
# Modules whose code decides what the fitted model is: any change to them is a new key.
_MODEL_CODE = (Path(__file__), Path(corpus.__file__))
_MODEL_LIBRARIES = ("scikit-learn", "scipy", "numpy")


def cache_key(corpus_text: str) -> str | None:
    """What the model fitted on ``corpus_text`` is made of, hashed: the corpus, the code that
    reads and fits it, Python and the libraries (whose pickles are not portable between
    versions). None when the code cannot be read (then nothing is cached)."""
    digest = hashlib.sha256()
    try:
        for path in _MODEL_CODE:
            digest.update(path.read_bytes())
        versions = [f"{name}={metadata.version(name)}" for name in _MODEL_LIBRARIES]
    except (OSError, metadata.PackageNotFoundError):
        return None
    digest.update("\n".join([sys.version, *versions, ""]).encode())
    digest.update(corpus_text.encode("utf-8"))
    return digest.hexdigest()


def cached(corpus_text: str, cache_root: Path | None) -> IntentClassifier:
    """The classifier fitted on ``corpus_text``: loaded from ``cache_root`` when a model made
    from the same corpus, code and libraries is stored there, else trained (and stored).
    A missing, foreign or damaged cache only means training; it never fails."""
    key = cache_key(corpus_text)
    folder = model_cache.models_dir(cache_root) if cache_root and key else None
    if folder is None or key is None:
        return _train(corpus_text)
    with model_cache.locked(folder, CACHE_NAME, key):
        payload = model_cache.read(folder, CACHE_NAME, key)
        if payload is not None:
            try:
                model = pickle.loads(payload)  # a private file this user wrote (model_cache.read)
                classifier = IntentClassifier.fitted(model)
                log.debug("intent classifier loaded from %s", folder)
                return classifier
            except Exception as err:  # a pickle from an incompatible build, a bad object
                log.warning(
                    "intent classifier in %s could not be loaded (%s: %s); training again",
                    folder,
                    type(err).__name__,
                    err,
                )
                model_cache.discard(folder, CACHE_NAME, key)
        classifier = _train(corpus_text)
        try:
            payload = pickle.dumps(classifier._model, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            log.warning("intent classifier not cached (%s: %s)", type(err).__name__, err)
        else:
            model_cache.write(folder, CACHE_NAME, key, payload)
        return classifier


def _train(corpus_text: str) -> IntentClassifier:
    started = time.perf_counter()
    classifier = IntentClassifier(corpus.parse(corpus_text))
    log.info("intent classifier trained in %.1f s", time.perf_counter() - started)
    return classifier
