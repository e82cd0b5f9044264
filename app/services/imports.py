"""Bulk import from the back office: an uploaded file is kept server-side between the dry
run and the confirmation (so the official does not upload it twice and cannot swap it),
then imported all or none with the user's county rights, and audited.

A staged file lives under INSTANCE_DIR/imports/ with a random name; its sidecar says who
uploaded it, for which kind, and when. Only that user can use it, for that kind, for
STAGE_HOURS; older files are removed whenever a new one is staged.

Every row is saved through the listing services, the same path as an edit in the form:
changes to published listings become private revisions a reviewer publishes, nothing goes
public by import. Plain functions: no request; they flush, the caller commits."""

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from app import storage
from app.models.users import User
from app.services import audit, bulk

STAGE_HOURS = 2
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,64}$")


@dataclass(frozen=True)
class StagedFile:
    token: str
    kind: str
    filename: str
    data: bytes
    sha256: str


class StagedFileMissing(LookupError):
    """Unknown, expired, someone else's or another kind's upload: all look the same."""


# --- the staged upload ------------------------------------------------------------------------


def _stage_dir() -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _display_name(filename: str | None) -> str:
    """The user's file name for display only (never a path on disk)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:120]


def stage(user: User, kind: str, data: bytes, filename: str | None) -> str:
    """Keep an upload for the dry run and the confirmation; returns its token. The file as
    a whole is checked first (format, columns), so an unusable one raises BulkError and is
    not kept; row errors are the dry run's to show."""
    bulk.dry_run(kind, data, user, revise_published=True)
    purge_expired()
    token = secrets.token_urlsafe(24)
    folder = _stage_dir()
    storage.write_bytes(folder / f"{token}.data", data, mode=0o600)
    meta = {
        "user_id": user.id,
        "kind": kind,
        "filename": _display_name(filename),
        "created": time.time(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    try:
        storage.write_text(folder / f"{token}.json", json.dumps(meta), mode=0o600)
    except storage.StorageUnavailable:
        discard(token)  # the data file without its metadata is of no use
        raise
    return token


def load(user: User, kind: str, token: str) -> StagedFile:
    if not _TOKEN.match(token or ""):
        raise StagedFileMissing(token)
    folder = _stage_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.data").read_bytes()
    except (OSError, ValueError):
        raise StagedFileMissing(token) from None
    fresh = time.time() - meta.get("created", 0) < STAGE_HOURS * 3600
    if meta.get("user_id") != user.id or meta.get("kind") != kind or not fresh:
        raise StagedFileMissing(token)
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise StagedFileMissing(token)
    return StagedFile(token, kind, meta.get("filename", ""), data, meta["sha256"])


def discard(token: str) -> None:
    if _TOKEN.match(token or ""):
        for suffix in (".data", ".json"):
            (_stage_dir() / f"{token}{suffix}").unlink(missing_ok=True)


def purge_expired() -> None:
    limit = time.time() - STAGE_HOURS * 3600
    for path in _stage_dir().glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                discard(path.stem)
        except OSError:
            continue


# --- dry run and import -----------------------------------------------------------------------


def preview(user: User, staged: StagedFile) -> bulk.ImportPlan:
    """The dry run; raises BulkError when the file as a whole is unusable."""
    return bulk.dry_run(staged.kind, staged.data, user, revise_published=True)


def published_keys(kind: str, plan: bulk.ImportPlan) -> set[str]:
    """Keys of the planned updates that go to review rather than straight in."""
    return {row.key for row in plan.rows if row.action == "update" and row.published}


def run(user: User, staged: StagedFile, ip: str = "") -> bulk.ImportPlan:
    """Import every row or none (raises ImportRefused / BulkError). Each row is saved and
    audited by the listing services as a form save is; the import as a whole is audited."""
    kind = staged.kind
    to_review = published_keys(kind, preview(user, staged))
    plan = bulk.import_listings(kind, staged.data, user, revise_published=True)
    audit.record(
        "import",
        user,
        object_type=kind,
        summary=staged.filename,
        details={
            "sha256": staged.sha256,
            "created": plan.count("create"),
            "updated": plan.count("update") - len(to_review),
            "to_review": len(to_review),
            "unchanged": plan.count("unchanged"),
        },
        ip=ip,
    )
    return plan
