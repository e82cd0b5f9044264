"""Writing files so that a full disk, an I/O error or a read-only filesystem never leaves
half a file behind: every file the site writes (image renditions and originals, report
photos, staged spreadsheet uploads, the search index's own state and word list) goes
through `write_bytes` / `write_text`.

    write_bytes(path, data)        # raises StorageUnavailable (a 503) on any OSError

The bytes go to a temporary name in the same directory (so the rename cannot cross
filesystems), are flushed and fsync'd, then renamed over the target with os.replace,
which POSIX makes atomic: a reader sees the old file or the whole new one. On any error
the temporary file is removed and StorageUnavailable is raised; the caller writes files
before it adds database rows, so a failed write leaves the database unchanged.

Low-level os calls (os.open/os.write/os.fsync/os.replace) are used on purpose: they are
what fails on a full disk, and what the tests make fail."""

import errno
import logging
import os
import secrets
from pathlib import Path

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
# Errors that mean "the storage cannot take this write now" rather than a bug.
STORAGE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EFBIG,
    errno.ENOMEM,
}


class StorageUnavailable(ServiceUnavailable):
    """A file could not be written (disk full, I/O error, read-only). Answered with a 503
    page carrying a translated `user_message`; `__cause__` is the OSError."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(description=f"cannot write {path.name}: {error}")
        self.path = path
        self.errno = error.errno
        self.user_message = _l(
            "The file could not be saved because the server's storage is full or "
            "unavailable. Nothing was changed. Please try again later."
        )


def temporary_name(target: Path) -> Path:
    """A fresh hidden name beside target: `.name.<random>.tmp`."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")


def write_bytes(target: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write data to target atomically (temporary file, fsync, rename). Returns target.
    Raises StorageUnavailable on any OSError; no temporary file is left either way."""
    target = Path(target)
    tmp = temporary_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as error:
        _remove_quietly(tmp)
        log.error("cannot write %s: %s", target, error)
        raise StorageUnavailable(target, error) from error
    except BaseException:
        _remove_quietly(tmp)
        raise
    return target


def write_text(target: Path, content: str, *, mode: int = 0o644) -> Path:
    """write_bytes for UTF-8 text."""
    return write_bytes(target, content.encode("utf-8"), mode=mode)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def leftover_temporaries(root: Path) -> list[Path]:
    """Temporary files under root (what a crash, not an error, may leave behind)."""
    return sorted(p for p in Path(root).rglob(f"*{TMP_SUFFIX}") if p.is_file())


def handle_storage_unavailable(error: StorageUnavailable):
    message = str(error.user_message)
    return render_template("errors/503.html", code=503, message=message), 503


def register(app: Flask) -> None:
    app.register_error_handler(StorageUnavailable, handle_storage_unavailable)
