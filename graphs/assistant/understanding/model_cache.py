"""A per-user disk cache for models trained from package data (the intent classifier).

Training the classifier takes 10-60 s; every ``commandcenter`` process that reads a
message would pay it again. This keeps the fitted model in a private folder:

- where: ``COMMANDCENTER_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/commandcenter``,
  else ``~/.cache/commandcenter`` (``%LOCALAPPDATA%\\commandcenter\\cache`` on Windows);
  the models go into its ``models`` folder, which must be the user's own and closed to
  everyone else (created ``0700``; a folder that is not is never read or written);
- what: one file per key, which names everything the model was made from (the corpus
  text, the code, the library versions), so a change to any of them is a miss, never a
  stale model; the file starts with that key and the SHA-256 of the rest, and is written
  to a private temporary file first and renamed, so a reader sees all of it or nothing;
- when it is not trusted: a file that is not a regular file of this user, closed to
  others, with the right key and an intact checksum is not read (a pickle runs code as it
  loads, so only files this user wrote are loaded); it is removed and the model trained.

Every failure (no home, a read-only disk, a full disk, a corrupt file) costs only the
time to train: it is logged and the caller trains as if there were no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "COMMANDCENTER_CACHE_DIR"
MAGIC = b"commandcenter-model 1\n"
KEEP = 4  # model files kept per name (several checkouts or versions on one machine)
LOCK_WAIT_S = 300.0  # how long to wait for another process training the same model


def default_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder for this user (None when there is no home to put it in)."""
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "commandcenter"
    local = env.get("LOCALAPPDATA", "").strip()
    if os.name == "nt" and local:
        return Path(local) / "commandcenter" / "cache"
    try:
        return Path.home() / ".cache" / "commandcenter"
    except (RuntimeError, KeyError):  # no home directory for this user
        return None


def _own_and_private(st: os.stat_result) -> bool:
    """The file or folder belongs to this user and nobody else may read or change it."""
    if not hasattr(os, "getuid"):  # Windows: the user's profile folder is private already
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def models_dir(root: Path) -> Path | None:
    """``root/models``, created private; None (logged) when it is not private or not ours."""
    folder = root / "models"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as err:
        log.warning("model cache unavailable (%s): %s; training instead", folder, err)
        return None
    if not stat.S_ISDIR(st.st_mode) or not _own_and_private(st):
        log.warning(
            "model cache %s is not a folder of this user closed to others (mode %o): "
            "not used; training instead (remove it or set %s)",
            folder,
            stat.S_IMODE(st.st_mode),
            CACHE_DIR_ENV,
        )
        return None
    return folder


def _path(folder: Path, name: str, key: str) -> Path:
    return folder / f"{name}-{key[:40]}.model"


def read(folder: Path, name: str, key: str) -> bytes | None:
    """The payload stored under ``key``, or None: missing, not ours, or damaged (removed)."""
    path = _path(folder, name, key)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("model cache file %s unreadable (%s); training instead", path, err)
        return None
    with os.fdopen(fd, "rb") as file:
        st = os.fstat(file.fileno())
        if not stat.S_ISREG(st.st_mode) or not _own_and_private(st):
            log.warning("model cache file %s is not a private file of this user; not loaded", path)
            return None
        data = file.read()
    header = MAGIC + key.encode() + b"\n"
    digest_end = len(header) + 65
    if (
        len(data) >= digest_end
        and data.startswith(header)
        and data[digest_end - 1 : digest_end] == b"\n"
    ):
        digest, payload = data[len(header) : digest_end - 1], data[digest_end:]
        if hashlib.sha256(payload).hexdigest().encode() == digest:
            return payload
    log.warning("model cache file %s is damaged; removed, training again", path)
    discard(folder, name, key)
    return None


def write(folder: Path, name: str, key: str, payload: bytes) -> bool:
    """Store ``payload`` under ``key`` (atomically, private); False (logged) on failure."""
    path = _path(folder, name, key)
    digest = hashlib.sha256(payload).hexdigest().encode()
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")  # 0600
        with os.fdopen(fd, "wb") as file:
            file.write(MAGIC + key.encode() + b"\n" + digest + b"\n")
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except OSError as err:
        log.warning("model cache: could not write %s (%s); the next process trains too", path, err)
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    _prune(folder, name, keep=path)
    return True


def discard(folder: Path, name: str, key: str) -> None:
    with contextlib.suppress(OSError):
        _path(folder, name, key).unlink()


def _prune(folder: Path, name: str, keep: Path) -> None:
    """Only the newest ``KEEP`` models of ``name`` stay (with their lock files)."""
    with contextlib.suppress(OSError):  # another process pruned at the same time
        models = sorted(
            (p for p in folder.glob(f"{name}-*.model") if p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in models[KEEP - 1 :]:
            old.unlink()
            with contextlib.suppress(OSError):
                old.with_suffix(".lock").unlink()


@contextlib.contextmanager
def locked(folder: Path, name: str, key: str) -> Iterator[None]:
    """Held while one process trains the model for ``key``: another process starting at the
    same moment waits (at most ``LOCK_WAIT_S``) and then reads what the first one stored,
    instead of training it too. Without file locks (Windows) it does not wait."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(_path(folder, name, key).with_suffix(".lock"), flags, 0o600)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("model cache: still locked after %.0f s; training", LOCK_WAIT_S)
                    break
                time.sleep(0.2)
            except OSError:  # no locks on this file system: do not wait
                break
        yield
    finally:
        os.close(fd)  # releases the lock
