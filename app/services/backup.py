"""Backups of a whole site in one file, and restoring one.

A backup is an uncompressed tar (photos are WebP/JPEG already; pg_dump compresses itself):

    database/catalogue.sqlite3 | database/catalogue.pgdump   the database snapshot
    files/<root>/<relative path>                             media, originals, reports, imports
    manifest.json                                            what follows, written last
    manifest.sha256                                          sha256 of manifest.json

The manifest records the format version, the Alembic revision of the snapshot, the database
kind, the creation time (UTC, ISO 8601), the row count of every table *inside the same
snapshot* as the dump, and the sha256 and size of every other member. The search index is
not included: it is derived from the database and rebuilt after a restore.

Consistency while the site writes: SQLite is copied with the online backup API in one step
(a single read transaction; WAL lets writers go on); PostgreSQL is counted inside a
REPEATABLE READ transaction whose snapshot `pg_dump --snapshot` then dumps. Files are read
after the database, and photos are content-addressed and written by rename, so every file the
snapshot names is present (files added later are harmless extras).

Errors are `BackupError` with a message for the operator; nothing is written to the target
path, database or folders before an archive has been read completely and verified.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import URL, Connection, create_engine, inspect, text

from app.db import db

FORMAT = "gi-catalogue-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
DB_MEMBER = {"sqlite": "database/catalogue.sqlite3", "postgresql": "database/catalogue.pgdump"}
CHUNK = 1024 * 1024
# Left behind by writers that were interrupted, or being written right now: never data.
_SKIP = re.compile(r"(^|/)\.|\.tmp$|\.tmp-|~$")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message tells the operator why."""


@dataclass
class BackupSummary:
    path: Path
    manifest: dict
    size: int
    seconds: float


@dataclass
class RestoreSummary:
    manifest: dict
    counts: dict[str, int]
    seconds: float
    files_written: int
    upgraded_from: str | None = None
    indexed: int = 0
    index_seconds: float = 0.0
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)


# --- what a site keeps -------------------------------------------------------------------


def file_roots() -> dict[str, Path]:
    """The folders holding data that cannot be derived from the database: processed photos
    (MEDIA_ROOT), private originals, report photos and staged spreadsheet imports. The
    search index (INSTANCE_DIR/search) is left out on purpose: it is rebuilt."""
    from app.media.upload import default_originals_root

    instance = Path(current_app.config["INSTANCE_DIR"])
    return {
        "media": Path(current_app.config["MEDIA_ROOT"]),
        "originals": default_originals_root(),
        "reports": instance / "reports",
        "imports": instance / "imports",
    }


def database_kind() -> str:
    backend = db.engine.url.get_backend_name()
    if backend not in DB_MEMBER:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def code_revisions() -> ScriptDirectory:
    return ScriptDirectory(str(Path(current_app.root_path).parent / "migrations"))


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table, read on `connection` (inside its snapshot)."""
    preparer = connection.dialect.identifier_preparer
    return {
        name: connection.scalar(text(f"SELECT count(*) FROM {preparer.quote(name)}"))
        for name in sorted(inspect(connection).get_table_names())
    }


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


# --- create --------------------------------------------------------------------------------


def create_backup(path: Path) -> BackupSummary:
    """Write a backup of the database and files to `path` (replaced atomically: a temporary
    name in the same folder, renamed when complete; removed on any error)."""
    started = time.monotonic()
    path = Path(path)
    if path.is_symlink() and path.resolve().is_file():
        path = path.resolve()  # a link to the previous backup: replace the file, keep the link
    if path.exists() and not path.is_file():
        # The rename would put the archive in its place: /dev/null or a named pipe gone.
        raise BackupError(f"{path} is not a regular file (a device, pipe or folder)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist")
    kind = database_kind()
    _refuse_site_data(path, kind)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".backup-", dir=folder) as work,
            os.fdopen(fd, "wb") as raw,
        ):
            manifest = _write_archive(raw, kind, Path(work))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return BackupSummary(path, manifest, path.stat().st_size, time.monotonic() - started)


def _refuse_site_data(path: Path, kind: str) -> None:
    """The archive must never replace what it backs up: the live SQLite database or its
    journal (`backup create instance/catalogue.sqlite3` would rename the tar over it), a
    file under a folder the backup reads (it would also archive itself half-written), or
    the search index. Raises BackupError naming the conflict."""
    target = path.resolve()
    if kind == "sqlite":
        live = sqlite_path().resolve()
        journal = {live, *(live.with_name(live.name + end) for end in ("-wal", "-shm", "-journal"))}
        if target in journal:
            raise BackupError(f"{path} is the site's live database: write the backup elsewhere")
    index = Path(current_app.config["INSTANCE_DIR"]) / "search"
    for name, root in {**file_roots(), "search": index}.items():
        if target.is_relative_to(root.resolve()):
            raise BackupError(
                f"{path} is inside the site's {name} folder ({root}): write the backup elsewhere"
            )


def _write_archive(raw, kind: str, work: Path) -> dict:
    """Database first, then files, then the manifest describing them; returns it."""
    members: dict[str, dict] = {}
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dump = work / "database"
        snapshot = _dump_database(kind, dump)
        _add_file(tar, DB_MEMBER[kind], dump, members)
        dump.unlink()
        for root_name, root in file_roots().items():
            for file, relative in _walk(root):
                _add_file(tar, f"files/{root_name}/{relative}", file, members)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": kind,
            **snapshot,
            "members": members,
        }
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        _add_bytes(tar, MANIFEST, body)
        _add_bytes(tar, MANIFEST_SUM, hashlib.sha256(body).hexdigest().encode() + b"\n")
    return manifest


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    if not root.is_dir():
        return
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root).as_posix()
        if file.is_file() and not file.is_symlink() and not _SKIP.search(relative):
            yield file, relative


def _add_file(tar: tarfile.TarFile, name: str, source: Path, members: dict) -> None:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        info = tar.gettarinfo(fileobj=handle, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o644
        # Hash exactly the bytes tar copies (size fixed by the header).
        hashing = _HashingReader(handle, digest)
        tar.addfile(info, hashing)
    members[name] = {"sha256": digest.hexdigest(), "size": info.size}


class _HashingReader(io.RawIOBase):
    def __init__(self, handle, digest) -> None:
        self.handle, self.digest = handle, digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _dump_database(kind: str, target: Path) -> dict:
    """Dump into `target`; return the snapshot's revision and row counts."""
    db.session.remove()
    if kind == "sqlite":
        return _dump_sqlite(target)
    return _dump_postgresql(target)


def sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("the SQLite database must be a file")
    return Path(database)


def _dump_sqlite(target: Path) -> dict:
    # pages=-1 copies in one step: one read transaction, hence one consistent snapshot
    # (sqlite.org/backup.html); in WAL mode writers continue meanwhile. DELETE journal mode:
    # a self-contained file, no -wal beside it.
    _copy_sqlite(
        sqlite3.connect(sqlite_path(), timeout=30),
        sqlite3.connect(target),
        journal_mode="DELETE",
        failure="the database copy fails PRAGMA integrity_check",
    )
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return {"schema_revision": _revision(connection), "tables": table_counts(connection)}
    finally:
        engine.dispose()


# --- PostgreSQL client tools ---------------------------------------------------------------


def pg_tool(name: str) -> str:
    """Path of pg_dump / pg_restore: PG_BIN_DIR when configured, else the PATH."""
    folder = current_app.config.get("PG_BIN_DIR")
    found = shutil.which(name, path=str(folder) if folder else None)
    if not found:
        raise BackupError(
            f"{name} not found{' in ' + str(folder) if folder else ' on the PATH'}; install "
            "the PostgreSQL client tools (Debian: postgresql-client) matching the server"
        )
    return found


def _tool_major(tool: str) -> int:
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    if not match:
        raise BackupError(f"cannot read the version of {tool}: {output.strip()}")
    return int(match.group(1))


def _check_client(tool: str, connection: Connection) -> int:
    """pg_dump refuses servers of a newer major version; say so before starting."""
    server = int(connection.scalar(text("SHOW server_version_num"))) // 10000
    client = _tool_major(tool)
    if client < server:
        raise BackupError(
            f"{Path(tool).name} is version {client} but the server is PostgreSQL {server}; "
            f"install postgresql-client-{server} (or set PG_BIN_DIR)"
        )
    return client


def libpq_connection() -> tuple[str, dict[str, str]]:
    """A libpq URI for the configured database without its password, and an environment
    carrying the password as PGPASSWORD, so it never shows on a command line (ps)."""
    url = db.engine.url
    environment = dict(os.environ)  # PGSSLROOTCERT, PGPASSFILE… still apply
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    # URL.set(password=None) means "unchanged": build the URL afresh without it.
    plain = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )
    return plain.render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _dump_postgresql(target: Path) -> dict:
    tool = pg_tool("pg_dump")
    uri, environment = libpq_connection()
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        client = _check_client(tool, conn)
        # Count and dump the same snapshot: pg_dump joins this transaction's snapshot.
        snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))
        facts = {
            "schema_revision": _revision(conn),
            "tables": table_counts(conn),
            "pg_dump_version": client,
        }
        _run(
            [
                tool,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                f"--file={target}",
                f"--dbname={uri}",
            ],
            environment,
        )
        conn.rollback()
    return facts


# --- verify --------------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name


def extract_verified(archive: Path, staging: Path) -> dict:
    """Read the whole archive into `staging`, checking each member against the manifest.
    Returns the manifest; raises BackupError for anything missing, extra or altered."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"no backup file at {archive}")
    if archive.stat().st_size == 0:
        raise BackupError(f"{archive} is empty: not a backup")
    seen: dict[str, dict] = {}
    small: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for info in tar:
                name = info.name
                handle = tar.extractfile(info) if info.isfile() else None
                if handle is None or not _safe_name(name) or name in seen:
                    raise BackupError(f"unexpected member {name!r} in the archive")
                digest = hashlib.sha256()
                if name in (MANIFEST, MANIFEST_SUM):
                    small[name] = handle.read()
                    size = len(small[name])
                else:
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    size = 0
                    with target.open("wb") as out:
                        while chunk := handle.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                if size != info.size:
                    raise BackupError(f"member {name} is truncated")
                seen[name] = {"sha256": digest.hexdigest(), "size": size}
    except (tarfile.TarError, EOFError, UnicodeError) as error:
        raise BackupError(f"{archive} is not a complete backup archive ({error})") from error
    manifest = _read_manifest(small)
    listed = manifest["members"]
    for name in sorted(set(listed) | set(seen) - {MANIFEST, MANIFEST_SUM}):
        if name not in seen:
            raise BackupError(f"member {name} is missing from the archive")
        if name not in listed:
            raise BackupError(f"member {name} is not listed in the manifest")
        if seen[name] != {"sha256": listed[name].get("sha256"), "size": listed[name].get("size")}:
            raise BackupError(f"checksum mismatch for {name}: the archive is damaged")
    return manifest


def _read_manifest(small: dict[str, bytes]) -> dict:
    if MANIFEST not in small:
        raise BackupError(
            "the archive has no manifest.json: not a backup of this site, or truncated"
        )
    body = small[MANIFEST]
    expected = small.get(MANIFEST_SUM, b"").strip().decode("ascii", "replace")
    if hashlib.sha256(body).hexdigest() != expected:
        raise BackupError("checksum mismatch for manifest.json: the archive is damaged")
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise BackupError(f"manifest.json is not valid JSON ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("manifest.json does not describe a backup of this site")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {manifest.get('format_version')} is not "
            f"supported (this code reads version {FORMAT_VERSION})"
        )
    if manifest.get("database") not in DB_MEMBER or not isinstance(manifest.get("members"), dict):
        raise BackupError("manifest.json is incomplete")
    return manifest


def check_revision(revision: str | None) -> str | None:
    """None when the backup is at the code's head; the backup's revision when it is older
    (an upgrade follows the restore); BackupError when the code does not know it (newer)."""
    script = code_revisions()
    head = script.get_current_head()
    if revision == head:
        return None
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"the backup's schema revision {revision} is newer than (or unknown to) this "
            f"code, whose head is {head}: restore it with the release that wrote it"
        )
    return revision


# --- restore -------------------------------------------------------------------------------


def current_contents() -> dict[str, int]:
    """Rows per table in the configured database ({} when it has no tables)."""
    if database_kind() == "sqlite" and not sqlite_path().exists():
        return {}
    db.session.remove()
    with db.engine.connect() as connection:
        return table_counts(connection)


def would_lose(contents: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in contents.items() if n and name != "alembic_version"}


def restore_backup(archive: Path, force: bool = False, warn=lambda message: None) -> RestoreSummary:
    """Verify `archive`, then replace the database and restore the files, upgrade an older
    schema and rebuild the search index. Refuses a non-empty database unless `force`."""
    started = time.monotonic()
    instance = Path(current_app.config["INSTANCE_DIR"])
    kind = database_kind()
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=instance) as work:
        staging = Path(work)
        manifest = extract_verified(archive, staging)
        if manifest["database"] != kind:
            raise BackupError(
                f"this is a {manifest['database']} backup and the configured database is "
                f"{kind}; restore into a {manifest['database']} database (cross-kind restore "
                "is not supported)"
            )
        older = check_revision(manifest.get("schema_revision"))
        contents = current_contents()
        losing = would_lose(contents)
        if losing and not force:
            listed = ", ".join(f"{name} {n}" for name, n in losing.items())
            raise BackupError(
                f"the database is not empty; restoring would replace "
                f"{sum(losing.values())} rows ({listed}). Use --force to "
                "replace it"
            )
        if losing:
            warn(f"replacing {sum(losing.values())} rows of the current database")
        dump = staging / DB_MEMBER[kind]
        db.session.remove()
        db.engine.dispose()
        if kind == "sqlite":
            _restore_sqlite(dump)
        else:
            _restore_postgresql(dump, clean=bool(contents), manifest=manifest)
        written = _restore_files(staging / "files")
    db.engine.dispose()
    summary = RestoreSummary(manifest, {}, 0.0, written, upgraded_from=older)
    if older:
        from flask_migrate import upgrade

        upgrade(directory=str(Path(current_app.root_path).parent / "migrations"))
    summary.counts = current_contents()
    summary.mismatches = {
        name: (n, summary.counts.get(name, 0))
        for name, n in manifest["tables"].items()
        if summary.counts.get(name, 0) != n and not older
    }
    indexing = time.monotonic()
    summary.indexed = _rebuild_index()
    summary.index_seconds = time.monotonic() - indexing
    summary.seconds = time.monotonic() - started
    return summary


def _restore_sqlite(dump: Path) -> None:
    target = sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # The backup API replaces the destination's pages in one transaction: readers see
    # the old or the new database, never a mix; triggers and indexes come along.
    _copy_sqlite(
        sqlite3.connect(dump),
        sqlite3.connect(target, timeout=30),
        journal_mode="WAL",
        failure="the restored database fails PRAGMA integrity_check",
    )


def _copy_sqlite(
    source: sqlite3.Connection, destination: sqlite3.Connection, journal_mode: str, failure: str
) -> None:
    """Copy every page of source into destination with SQLite's backup API, set the copy's
    journal mode, and check it; closes both connections. Raises BackupError("<failure>:
    <what integrity_check said>") when the check fails."""
    try:
        source.backup(destination, pages=-1)
        destination.execute(f"PRAGMA journal_mode={journal_mode}")
        result = destination.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{failure}: {result}")
    finally:
        source.close()
        destination.close()


def _restore_postgresql(dump: Path, clean: bool, manifest: dict) -> None:
    tool = pg_tool("pg_restore")
    uri, environment = libpq_connection()
    with db.engine.connect() as conn:
        client = _check_client(tool, conn)
    if client < int(manifest.get("pg_dump_version") or 0):
        raise BackupError(
            f"pg_restore {client} cannot read a dump from pg_dump "
            f"{manifest['pg_dump_version']}; install a newer client"
        )
    command = [
        tool,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={uri}",
    ]
    if clean:  # one transaction: the old tables are dropped only if the restore succeeds
        command += ["--clean", "--if-exists"]
    _run(command + [str(dump)], environment)


def _restore_files(staged: Path) -> int:
    """Move staged files into their roots; each appears whole (written beside, renamed)."""
    written = 0
    for root_name, root in file_roots().items():
        for file, relative in _walk(staged / root_name):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restore.tmp")
            try:
                shutil.copyfile(file, partial)
                os.replace(partial, target)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            written += 1
    return written


def _rebuild_index() -> int:
    from app.search import rebuild_index

    try:
        return sum(rebuild_index().counts.values())
    finally:
        db.session.remove()
