"""The intent classifier's disk cache: a hit reuses the stored model, anything doubtful
(damaged, foreign, from other code or libraries, another corpus) is trained again."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from graphs.assistant.understanding import classifier, corpus, model_cache

REPO = Path(__file__).resolve().parents[2]

# A corpus small enough to train in milliseconds, with the shapes of the real one.
_LINES = {
    "get_status": ["how is the battery", "battery status please", "whats the soc", "status?"],
    "stop_load": ["stop the miners", "turn miner-1 off", "shut the pump down", "kill miner-2"],
    "help": ["help", "what can you do", "how do i use this", "commands?"],
    "none": ["thanks", "ok cool", "good morning", "lol"],
}
SMALL = "".join(
    json.dumps({"q": q, "tools": [] if label in ("help", "none") else [label], "label": label})
    + "\n"
    for label, lines in _LINES.items()
    for q in lines
)
QUESTIONS = ["how is the battery doing", "stop miner-3", "what can you do for me", "thank you"]


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The corpus texts trained on (each call of the real trainer recorded)."""
    seen: list[str] = []
    real = classifier._train

    def counting(text: str) -> classifier.IntentClassifier:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(classifier, "_train", counting)
    return seen


def _model_files(root: Path) -> list[Path]:
    return sorted((root / "models").glob("intent-*.model"))


def _ranked(c: classifier.IntentClassifier) -> list[tuple[tuple[str, float], ...]]:
    return [g.ranked for g in c.guess_many(QUESTIONS)]


def _labels(c: classifier.IntentClassifier) -> list[str]:
    """The best label per question (two trainings differ in the last digits: LinearSVC's
    coordinate descent visits the rows in a random order)."""
    return [g.label for g in c.guess_many(QUESTIONS)]


def test_a_hit_reuses_the_stored_model(tmp_path: Path, trainings: list[str]) -> None:
    first = classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL]
    [stored] = _model_files(tmp_path)
    second = classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL]  # loaded, not trained
    assert second is not first
    assert _ranked(second) == _ranked(first)
    assert _model_files(tmp_path) == [stored]
    # private: the folder and the file are this user's alone
    assert stat_mode(tmp_path / "models") == 0o700
    assert stat_mode(stored) == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-10] + bytes(10), id="bytes-changed"),
        pytest.param(lambda data: b"not a model at all\n" * 5, id="garbage"),
    ],
)
def test_a_damaged_file_is_trained_again(
    tmp_path: Path,
    trainings: list[str],
    caplog: pytest.LogCaptureFixture,
    damage: object,
) -> None:
    first = classifier.cached(SMALL, tmp_path)
    [stored] = _model_files(tmp_path)
    stored.write_bytes(damage(stored.read_bytes()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        again = classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL]
    assert "damaged" in caplog.text
    assert _labels(again) == _labels(first) == ["get_status", "stop_load", "help", "none"]
    # stored anew, and read from then on
    classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL]


def test_a_file_with_a_good_checksum_that_does_not_load_is_trained_again(
    tmp_path: Path, trainings: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A model pickled by an incompatible build (or any object that is not a model)."""
    key = classifier.cache_key(SMALL)
    assert key is not None
    folder = model_cache.models_dir(tmp_path)
    assert folder is not None
    model_cache.write(folder, classifier.CACHE_NAME, key, pickle.dumps({"not": "a model"}))
    with caplog.at_level(logging.WARNING):
        got = classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL]
    assert "could not be loaded" in caplog.text
    assert got.labels == ("get_status", "help", "none", "stop_load")
    classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL]


def test_a_corpus_change_is_a_miss(tmp_path: Path, trainings: list[str]) -> None:
    classifier.cached(SMALL, tmp_path)
    changed = SMALL + json.dumps({"q": "cheers", "tools": [], "label": "none"}) + "\n"
    classifier.cached(changed, tmp_path)
    assert trainings == [SMALL, changed]
    assert len(_model_files(tmp_path)) == 2
    classifier.cached(SMALL, tmp_path)
    classifier.cached(changed, tmp_path)
    assert trainings == [SMALL, changed]


def test_the_key_names_the_corpus_the_code_and_the_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = classifier.cache_key(SMALL)
    assert key is not None
    assert classifier.cache_key(SMALL) == key
    assert classifier.cache_key(SMALL + "\n") != key
    real_version = classifier.metadata.version
    monkeypatch.setattr(
        classifier.metadata,
        "version",
        lambda name: "0.0" if name == "scikit-learn" else real_version(name),
    )
    assert classifier.cache_key(SMALL) != key
    monkeypatch.undo()
    code, *rest = classifier._MODEL_CODE
    edited = tmp_path / code.name
    edited.write_bytes(code.read_bytes() + b"# edited\n")
    monkeypatch.setattr(classifier, "_MODEL_CODE", (edited, *rest))
    assert classifier.cache_key(SMALL) != key


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_file_others_could_have_written_is_not_loaded(
    tmp_path: Path, trainings: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    classifier.cached(SMALL, tmp_path)
    [stored] = _model_files(tmp_path)
    stored.chmod(0o666)
    with caplog.at_level(logging.WARNING):
        classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL]
    assert "not a private file of this user" in caplog.text
    assert stat_mode(stored) == 0o600  # replaced by a private one


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_folder_open_to_others_is_not_used(
    tmp_path: Path, trainings: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    classifier.cached(SMALL, tmp_path)
    (tmp_path / "models").chmod(0o777)
    with caplog.at_level(logging.WARNING):
        classifier.cached(SMALL, tmp_path)
        classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL, SMALL]
    assert "closed to others" in caplog.text


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_link_in_place_of_the_file_is_not_followed(tmp_path: Path, trainings: list[str]) -> None:
    classifier.cached(SMALL, tmp_path)
    [stored] = _model_files(tmp_path)
    elsewhere = tmp_path / "elsewhere.model"
    stored.rename(elsewhere)
    stored.symlink_to(elsewhere)
    classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root may write anywhere")
def test_an_unwritable_cache_only_costs_training(tmp_path: Path, trainings: list[str]) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        got = classifier.cached(SMALL, root)
        classifier.cached(SMALL, root)
    finally:
        root.chmod(0o700)
    assert trainings == [SMALL, SMALL]
    assert got.labels == ("get_status", "help", "none", "stop_load")


def test_a_cache_path_that_is_a_file_only_costs_training(
    tmp_path: Path, trainings: list[str]
) -> None:
    (tmp_path / "models").write_text("a file, not a folder")
    classifier.cached(SMALL, tmp_path)
    classifier.cached(SMALL, tmp_path)
    assert trainings == [SMALL, SMALL]


def test_only_the_newest_models_are_kept(tmp_path: Path) -> None:
    texts = [SMALL + json.dumps({"q": f"ok {i}", "label": "none", "tools": []}) for i in range(6)]
    for i, text in enumerate(texts):
        classifier.cached(text, tmp_path)
        for path in _model_files(tmp_path):  # distinct mtimes, oldest first
            os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 10))
        assert len(_model_files(tmp_path)) == min(i + 1, model_cache.KEEP)


def test_the_cache_folder(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert model_cache.default_dir({**env, "COMMANDCENTER_CACHE_DIR": "/x/cc"}) == Path("/x/cc")
    assert model_cache.default_dir({**env, "XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/commandcenter")
    assert model_cache.default_dir({**env, "XDG_CACHE_HOME": "relative"}) != Path(
        "relative/commandcenter"
    )


def test_shared_uses_the_configured_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trainings: list[str]
) -> None:
    monkeypatch.setenv(model_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(corpus, "text", lambda name="corpus.jsonl": SMALL)
    monkeypatch.setattr(classifier, "_shared", None)
    got = classifier.shared()
    assert classifier.shared() is got
    assert trainings == [SMALL]
    assert len(_model_files(tmp_path / "cache")) == 1
    monkeypatch.setattr(classifier, "_shared", None)
    assert _ranked(classifier.shared()) == _ranked(got)
    assert trainings == [SMALL]


@pytest.mark.skipif(sys.platform == "win32", reason="no file locks: a second reader trains too")
def test_a_second_reader_waits_for_the_one_training(
    tmp_path: Path, trainings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes starting together train once: the second waits on the lock (a file lock
    held through another open file, as another process would hold it) and loads."""
    import fcntl

    blocked = threading.Event()
    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        try:
            real_flock(fd, operation)
        except BlockingIOError:
            blocked.set()  # the second reader found the lock held
            raise

    monkeypatch.setattr(fcntl, "flock", flock)
    key = classifier.cache_key(SMALL)
    folder = model_cache.models_dir(tmp_path)
    assert key is not None and folder is not None
    got: list[classifier.IntentClassifier] = []
    with model_cache.locked(folder, classifier.CACHE_NAME, key):
        second = threading.Thread(target=lambda: got.append(classifier.cached(SMALL, tmp_path)))
        second.start()
        assert blocked.wait(timeout=60)
        assert not got and trainings == []  # waiting, not training
        model = classifier.IntentClassifier(corpus.parse(SMALL))._model
        model_cache.write(folder, classifier.CACHE_NAME, key, pickle.dumps(model))
    second.join(timeout=60)
    assert trainings == []
    assert _labels(got[0]) == ["get_status", "stop_load", "help", "none"]


def test_another_process_loads_what_one_stored(tmp_path: Path) -> None:
    """Two processes, one after the other, on the same folder: the second one trains nothing."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from graphs.assistant.understanding import classifier\n"
        "trained = []\n"
        "real = classifier._train\n"
        "classifier._train = lambda text: trained.append(1) or real(text)\n"
        "c = classifier.cached(sys.stdin.read(), Path(sys.argv[1]))\n"
        "print(len(trained), c.guess('stop miner-3').label)\n"
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            input=SMALL,
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
            timeout=300,
        ).stdout.split()
        for _ in range(2)
    ]
    assert outs == [["1", "stop_load"], ["0", "stop_load"]]
