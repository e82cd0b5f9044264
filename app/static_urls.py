"""Content-hashed static URLs, in one place: every url_for("static", filename=...) gets
?v=<first 12 hex digits of the file's BLAKE2b>, so a changed file gets a new URL and a
server in front (deploy/nginx.conf.j2) may let browsers keep /static/ URLs with v= for a
year (immutable). Hashes are computed once per file per process (files change with a
deploy, which restarts the processes)."""

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app
from werkzeug.security import safe_join

STATIC_ENDPOINT = "static"


@lru_cache(maxsize=1024)
def content_hash(path: str) -> str | None:
    """12 hex digits of the file's content hash, or None if it does not exist."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return hashlib.blake2b(data, digest_size=6).hexdigest()


def add_content_hash(endpoint: str, values: dict) -> None:
    """url_defaults: adds v= to static URLs whose file exists (an existing v= is kept)."""
    if endpoint != STATIC_ENDPOINT or "v" in values or "filename" not in values:
        return
    folder = current_app.static_folder
    if folder is None:
        return
    path = safe_join(folder, values["filename"])
    digest = content_hash(path) if path is not None else None
    if digest is not None:
        values["v"] = digest


def init_app(app: Flask) -> None:
    app.url_defaults(add_content_hash)
