"""The index on disk, one per node, under INSTANCE_DIR/search:

    CURRENT        name of the live index directory (replaced atomically on rebuild)
    ix-<stamp>/    Whoosh files + state.json (outbox progress) + words.txt (jieba words)
    REPAIR         present when a process found the index damaged (reason inside); the
                   worker, `flask search apply` and the process itself rebuild and remove it
    writer.lock    held by the one process applying changes (fcntl, dies with its holder)
    rebuild.lock   held by a running rebuild
    jieba/         jieba's dictionary cache

Any number of processes read; only the holder of writer.lock writes. Every file here
except Whoosh's own is written through app.storage (temporary name, fsync, rename)."""

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import re
import shutil
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from app import storage
from app.search import text
from app.search.schema import KindWeighting


class IndexUnavailable(Exception):
    """No usable index on this node (missing, half-built or corrupt). `detail` carries the
    original traceback, formatted, when Whoosh failed on damaged files."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class RepairPending(IndexUnavailable):
    """A process of this node found the index damaged; the rebuild has not finished."""


def whoosh_call(what: str, call):
    """call() for Whoosh reading files that may be damaged. Whoosh leaves the damaged
    file open when it fails; it is closed here, quietly, when the exception goes, rather
    than as a ResourceWarning wherever it is collected. Any failure: IndexUnavailable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - Whoosh raises anything on damaged bytes
            problem, detail = f"{what}: {exc!r}", traceback.format_exc()
            del exc
        gc.collect()
    raise IndexUnavailable(problem, detail)


class LockBusy(Exception):
    pass


@dataclass
class IndexState:
    """Outbox progress: every row with id <= horizon is applied, and so are the ids in
    `recent` (rows above the horizon, young enough that an older transaction may still
    commit an id below them)."""

    horizon: int = 0
    recent: list[int] = field(default_factory=list)
    built_at: float = 0.0
    # words.txt only grows between states: its first `words_size` bytes hash to
    # `words_digest` (a reader racing an append still sees a valid prefix).
    words_size: int = 0
    words_digest: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "horizon": self.horizon,
                "recent": sorted(self.recent),
                "built_at": self.built_at,
                "words_size": self.words_size,
                "words_digest": self.words_digest,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> "IndexState":
        data = json.loads(raw)
        return cls(
            int(data["horizon"]),
            [int(i) for i in data.get("recent", [])],
            float(data.get("built_at", 0.0)),
            int(data.get("words_size", 0)),
            str(data.get("words_digest", "")),
        )


def write_atomically(path: Path, content: str) -> None:
    """Raises the OSError on a full or read-only disk (the search code deals in OSError,
    not in the web's 503); the previous file stays whole, no temporary file remains."""
    try:
        storage.write_text(path, content)
    except storage.StorageUnavailable as exc:
        if isinstance(exc.__cause__, OSError):
            raise exc.__cause__ from None
        raise


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_INDEX_NAME = re.compile(r"^ix-[0-9A-Za-z-]{1,80}$")


@contextlib.contextmanager
def file_lock(path: Path, timeout: float):
    """An exclusive fcntl lock; `timeout` 0 means try once. The kernel drops it when the
    holding process dies, so a killed writer never leaves the node locked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(str(path)) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class IndexStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._words_loaded: dict[str, float] = {}

    # --- layout --------------------------------------------------------------------------

    @property
    def jieba_dir(self) -> Path:
        return self.root / "jieba"

    def writer_lock(self, timeout: float):
        return file_lock(self.root / "writer.lock", timeout)

    def rebuild_lock(self, timeout: float = 0):
        return file_lock(self.root / "rebuild.lock", timeout)

    def current_name(self) -> str | None:
        """The live index's directory name; None when CURRENT is missing or damaged (not a
        name this module writes: truncated, zero-filled, random bytes)."""
        try:
            name = (self.root / "CURRENT").read_bytes().decode("utf-8").strip()
        except (OSError, ValueError):
            return None
        return name if _INDEX_NAME.match(name) else None

    def current_dir(self) -> Path:
        name = self.current_name()
        if name is None or not (self.root / name).is_dir():
            raise IndexUnavailable("no index on this node")
        return self.root / name

    # --- repair requests --------------------------------------------------------------------

    def request_repair(self, reason: str) -> None:
        """Leave a note for this node's writer (any process) that the index needs a
        rebuild. Best effort: on a full or read-only disk the note itself may not fit. An
        existing note is kept as it is (its age tells a rebuild whether it covers it)."""
        if self.repair_requested():
            return
        with contextlib.suppress(OSError):
            write_atomically(self.root / "REPAIR", f"{time.time():.0f} {reason[:500]}\n")

    def repair_requested(self) -> bool:
        return (self.root / "REPAIR").exists()

    def clear_repair(self, since: float) -> None:
        """Remove the note if it was written before `since` (a rebuild's start time):
        damage found during the rebuild is repaired by the next one."""
        path = self.root / "REPAIR"
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < since:
                path.unlink()

    def new_dir(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = self.root / f"ix-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        path.mkdir()
        return path

    def swap_in(self, new_dir: Path) -> None:
        """Make new_dir live in one rename; keep the previous index (readers may still
        have it open) and delete older ones."""
        previous = self.current_name()
        write_atomically(self.root / "CURRENT", new_dir.name)
        keep = {new_dir.name, previous}
        for old in self.root.glob("ix-*"):
            if old.name not in keep and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)

    def discard_stale_builds(self, older_than: float = 3600) -> None:
        """Delete index directories other than the live one, older than `older_than`
        seconds. An entry that vanishes meanwhile (another process swapped in and deleted
        it) or is a dangling or looping link is left alone: a repair must never fail over
        debris."""
        live = self.current_name()
        for path in self.root.glob("ix-*"):
            if path.name == live:
                continue
            try:
                age = time.time() - path.lstat().st_mtime
            except OSError:
                continue  # already gone
            if age > older_than:
                shutil.rmtree(path, ignore_errors=True)

    # --- state ---------------------------------------------------------------------------

    def read_state(self, ix_dir: Path | None = None) -> IndexState:
        ix_dir = ix_dir or self.current_dir()
        try:
            return IndexState.from_json((ix_dir / "state.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise IndexUnavailable(f"index state unreadable: {exc}") from exc

    def write_state(self, state: IndexState, ix_dir: Path | None = None) -> None:
        ix_dir = ix_dir or self.current_dir()
        try:
            words = (ix_dir / "words.txt").read_bytes()
        except FileNotFoundError:
            words = b""
        state.words_size, state.words_digest = len(words), _digest(words)
        write_atomically(ix_dir / "state.json", state.to_json())

    def verify_words(self, ix_dir: Path, state: IndexState) -> None:
        """Raise IndexUnavailable unless words.txt starts with the bytes the state
        recorded (catches a truncated, zero-filled, overwritten or deleted word list)."""
        try:
            words = (ix_dir / "words.txt").read_bytes()
        except FileNotFoundError:
            words = b""
        if len(words) < state.words_size or (
            state.words_digest and _digest(words[: state.words_size]) != state.words_digest
        ):
            raise IndexUnavailable(f"word list of {ix_dir.name} is damaged")

    # --- words ---------------------------------------------------------------------------

    def add_words(self, words: list[str], ix_dir: Path | None = None) -> None:
        """Teach jieba new catalogue names here and record them for readers."""
        ix_dir = ix_dir or self.current_dir()
        path = ix_dir / "words.txt"
        current = self._read_words(path)
        known = set(current.split("\n"))
        fresh = [w for w in dict.fromkeys(words) if w and w not in known and "\n" not in w]
        text.add_words(words)
        if fresh:
            # Appended by rewriting the whole file atomically: on a full disk the list
            # stays as it was, never half a line.
            write_atomically(path, current + "".join(f"{w}\n" for w in fresh))

    @staticmethod
    def _read_words(path: Path) -> str:
        try:
            return path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return ""
        except ValueError as exc:
            raise IndexUnavailable(f"word list {path} is damaged: {exc}") from exc

    def load_words(self, ix_dir: Path) -> None:
        path = ix_dir / "words.txt"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return
        if self._words_loaded.get(str(path)) != mtime:
            text.add_words(self._read_words(path).split("\n"))
            self._words_loaded[str(path)] = mtime

    # --- reading -------------------------------------------------------------------------

    def open_index(self, ix_dir: Path | None = None):
        ix_dir = ix_dir or self.current_dir()
        return whoosh_call(
            f"cannot open index {ix_dir.name}", lambda: whoosh_index.open_dir(str(ix_dir))
        )

    def searcher(self):
        """This thread's searcher, reopened when the index changed on disk (a fresh
        searcher, not refresh(): refresh returns stale copies of updated documents)."""
        text.jieba_instance(self.jieba_dir)
        local = self._local
        name = self.current_name()
        cached = getattr(local, "searcher", None)
        if cached is not None and local.name == name:
            try:
                if cached.up_to_date():
                    return cached
            except Exception:  # noqa: BLE001 - files replaced under us: reopen below
                pass
        if cached is not None:
            cached.close()
            local.searcher = None
        ix_dir = self.current_dir()
        self.verify_words(ix_dir, self.read_state(ix_dir))
        self.load_words(ix_dir)
        ix = self.open_index(ix_dir)
        searcher = whoosh_call(
            f"cannot read index {ix_dir.name}", lambda: ix.searcher(weighting=KindWeighting())
        )
        local.searcher, local.name = searcher, ix_dir.name
        return searcher

    def close(self) -> None:
        cached = getattr(self._local, "searcher", None)
        if cached is not None:
            cached.close()
            self._local.searcher = None
