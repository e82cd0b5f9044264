"""`flask backup create/restore`: a backup taken while the site writes restores into a fresh
instance whole (rows, audit chain, files, search); every damaged archive is refused before
anything is touched. Runs on SQLite and, with TEST_DATABASE=postgresql, on PostgreSQL."""

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.db import db
from app.media.photos import add_product_photo
from app.models import Product
from app.models.qr import ScanKind, ShortCode
from app.models.users import User
from app.search import SearchFilters, service
from app.services import backup, scans
from app.services.listings import KINDS, edit_token, save_listing
from tests.admin_support import EMAILS, jpeg_bytes, make_users
from tests.conftest import BACKEND, PG_ADMIN_URL, make_config

# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def fresh_instance(tmp_path_factory):
    """Makes apps on an empty database (never migrated) with empty instance and media dirs."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    apps = []

    def make():
        folder = tmp_path_factory.mktemp("fresh")
        if BACKEND == "postgresql":
            name = f"gi_restore_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        else:
            url = f"sqlite:///{folder / 'restored.sqlite3'}"
        target = create_app(make_config(url, folder / "instance", folder / "media"))
        apps.append(target)
        return target

    yield make
    for target in apps:
        with target.app_context():
            db.engine.dispose()
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def head_revision() -> str:
    """The newest migration in migrations/versions (what `flask db upgrade` reaches)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parents[1] / "migrations")
    )
    return ScriptDirectory.from_config(config).get_current_head()


def counts() -> dict[str, int]:
    db.session.remove()
    with db.engine.connect() as connection:
        return backup.table_counts(connection)


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def tree(root: Path) -> dict[str, bytes]:
    return (
        {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        if root.is_dir()
        else {}
    )


def add_private_files(app) -> dict[str, bytes]:
    """A report photo and a kept original (the seed writes neither), and a product photo's
    renditions in the media folder (the seed shows illustrations, not photos)."""
    instance = Path(app.config["INSTANCE_DIR"])
    files = {
        "reports/3f/3f2a-report.jpg": b"\xff\xd8\xff\xe0report photo\x00\x01" * 50,
        "originals/ab/abcd-original.png": b"\x89PNG\r\n\x1a\noriginal" * 80,
    }
    for name, data in files.items():
        (instance / name).parent.mkdir(parents=True, exist_ok=True)
        (instance / name).write_bytes(data)
    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    add_product_photo(product, jpeg_bytes((1200, 800)), "产品照片")
    db.session.commit()
    return files


class WriteLoad(threading.Thread):
    """Scans through the scan service and listing edits through the listing service,
    committing continuously, on its own session and connections."""

    def __init__(self, app) -> None:
        super().__init__(daemon=True)
        self.app, self.stop, self.commits, self.error = app, threading.Event(), 0, None

    def run(self) -> None:
        try:
            with self.app.app_context():
                self._work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            with self.app.app_context():
                db.session.remove()

    def _work(self) -> None:
        kind = KINDS["products"]
        admin = db.session.scalar(select(User).where(User.email == EMAILS["admin"]))
        code = db.session.scalar(select(ShortCode.code).limit(1))
        product = db.session.scalar(select(Product).where(Product.slug == "wenchang-chicken"))
        start = date(2026, 1, 1)
        n = 0
        while not self.stop.is_set():
            scans.record_scan(self.app, code, start + timedelta(days=n), 0, ScanKind.SCAN)
            values = kind.current_values(product)
            save_listing(
                kind,
                product,
                {**values, "name_en": f"Wenchang chicken {n}"},
                admin,
                edit_token(kind, product),
            )
            db.session.commit()
            n += 1
            self.commits = n


def outbox(tmp_path: Path) -> Path:
    """A folder for archives (tmp_path itself is the app's INSTANCE_DIR)."""
    folder = tmp_path / "backups"
    folder.mkdir(exist_ok=True)
    return folder


def run_cli(app, *args):
    """Runs a command of this app. Flask's with_appcontext reuses whatever context is pushed,
    so call it while no other app's context is (the tests hold none unless they ask)."""
    return app.test_cli_runner().invoke(args=list(args))


# --- a backup under load restores whole into a fresh instance ------------------------------


def wait_for_commits(load: WriteLoad, n: int) -> None:
    target, deadline = load.commits + n, time.monotonic() + 30
    while load.commits < target and load.error is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_backup_under_write_load_restores_into_fresh_instance(
    app, fresh_instance, tmp_path, monkeypatch
):
    with app.app_context():
        make_users()
        private = add_private_files(app)
    load = WriteLoad(app)
    load.start()
    wait_for_commits(load, 5)
    # Make sure commits land inside the command, on both sides of the database snapshot
    # (the files are read after it); the dump itself is the real one.
    real_dump = backup._dump_database

    def dump_among_writes(kind, target):
        wait_for_commits(load, 2)
        facts = real_dump(kind, target)
        wait_for_commits(load, 2)
        return facts

    monkeypatch.setattr(backup, "_dump_database", dump_among_writes)
    before = load.commits
    archive = outbox(tmp_path) / "site.tar"
    result = run_cli(app, "backup", "create", str(archive))
    during = load.commits - before
    time.sleep(0.3)
    load.stop.set()
    load.join(30)
    assert load.error is None, repr(load.error)
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.output and " MB in " in result.output
    assert during >= 4, "the load must commit while the backup runs"
    assert [p.name for p in archive.parent.iterdir()] == ["site.tar"]  # no temp leftovers

    manifest = manifest_of(archive)
    assert manifest["database"] == BACKEND
    assert manifest["schema_revision"] == head_revision()
    assert manifest["tables"]["audit_log"] >= 1 and manifest["tables"]["scan_counts"] >= 1
    assert manifest["tables"]["products"] == 50
    assert "search" not in json.dumps(sorted(manifest["members"]))  # the index is rebuilt

    target = fresh_instance()
    result = run_cli(target, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "Row counts match the manifest." in result.output
    with target.app_context():
        assert counts() == manifest["tables"]
        if BACKEND == "sqlite":
            with sqlite3.connect(backup.sqlite_path()) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        verify = run_cli(target, "audit", "verify")
        assert verify.exit_code == 0 and "Audit chain intact." in verify.output, verify.output
        assert f"{manifest['tables']['audit_log']} entries" in verify.output
        # The append-only triggers came along: the restored log still refuses edits.
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET summary = 'x'"))
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
        # Search from the rebuilt index: pinyin only the index understands.
        results = service.search("wenchangji", SearchFilters(), 1, 24)
        assert results.source == "index"
        assert "wenchang-chicken" in [getattr(h.obj, "slug", "") for h in results.hits]
        html = target.test_client().get("/search?q=文昌鸡").get_data(as_text=True)
        assert "/products/wenchang-chicken" in html
        assert "simpler results" not in html
        db.session.remove()

    # Every file byte-identical: media, originals, report photos.
    restored_media = tree(Path(target.config["MEDIA_ROOT"]))
    source_media = tree(Path(app.config["MEDIA_ROOT"]))
    assert restored_media and restored_media == {
        k: v for k, v in source_media.items() if f"files/media/{k}" in manifest["members"]
    }
    instance = Path(target.config["INSTANCE_DIR"])
    for name, data in private.items():
        assert (instance / name).read_bytes() == data


def test_restore_refuses_non_empty_database_unless_forced(app_ctx, app, tmp_path):
    archive = outbox(tmp_path) / "site.tar"
    assert run_cli(app, "backup", "create", str(archive)).exit_code == 0
    with db.engine.begin() as conn:
        scans.add_counts(conn, {("ABCDEFGH", date(2026, 5, 1), 0, "scan"): 3})
    before = counts()

    refused = run_cli(app, "backup", "restore", str(archive))
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "--force" in refused.output
    assert "scan_counts 1" in refused.output and "products 50" in refused.output
    assert counts() == before

    forced = run_cli(app, "backup", "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert "Row counts match the manifest." in forced.output
    assert counts() == manifest_of(archive)["tables"]
    assert counts()["scan_counts"] == before["scan_counts"] - 1


# --- a damaged archive is refused before anything is touched -------------------------------


def rewrite(
    archive: Path,
    out: Path,
    drop=(),
    add=(),
    manifest_change=None,
    manifest_body=None,
    fix_sum=True,
) -> None:
    """Copy `archive` to `out` with members dropped/added and the manifest changed."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        members = [(m, src.extractfile(m).read()) for m in src.getmembers()]
        manifest = json.loads({m.name: d for m, d in members}["manifest.json"])
        if manifest_change:
            manifest_change(manifest)
        body = manifest_body if manifest_body is not None else json.dumps(manifest).encode()
        for info, data in members + [(tarfile.TarInfo(n), d) for n, d in add]:
            if info.name in drop:
                continue
            if info.name == "manifest.json":
                data = body
            if info.name == "manifest.sha256" and fix_sum:
                data = hashlib.sha256(body).hexdigest().encode()
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def member_offset(archive: Path, prefix: str) -> int:
    with tarfile.open(archive) as tar:
        info = next(m for m in tar.getmembers() if m.name.startswith(prefix))
        return info.offset_data + info.size // 2


def flip(archive: Path, out: Path, offset: int) -> None:
    data = bytearray(archive.read_bytes())
    data[offset] ^= 0x01
    out.write_bytes(bytes(data))


def flip_member(prefix: str):
    """A damage: one byte flipped in the middle of the first member named `prefix`."""
    return lambda archive, out: flip(archive, out, member_offset(archive, prefix))


# (where, the member's name or folder): a flipped byte there breaks its checksum.
FLIPPED_MEMBERS = [
    ("the database", "database/"),
    ("a photo", "files/media/"),
    ("an original", "files/originals/"),
    ("the manifest", "manifest.json"),
    ("the manifest sum", "manifest.sha256"),
]


def truncate(archive: Path, out: Path, keep) -> None:
    data = archive.read_bytes()
    out.write_bytes(data[: keep(len(data))])


def end_of_members(archive: Path) -> int:
    """Offset just past the last member's data blocks: where tar's end-of-archive blocks
    start (the record padding after them varies with the archive's size)."""
    with tarfile.open(archive) as tar:
        last = tar.getmembers()[-1]
        return last.offset_data + -(-last.size // 512) * 512


def other_kind(manifest):
    manifest["database"] = "postgresql" if BACKEND == "sqlite" else "sqlite"


BAD_ARCHIVES = [
    ("missing file", lambda a, o: None, "no backup file"),
    ("empty file", lambda a, o: o.write_bytes(b""), "empty"),
    ("not a tar: text", lambda a, o: o.write_text("name,code\n文昌鸡,1\n"), "not a complete"),
    ("not a tar: zeros", lambda a, o: o.write_bytes(b"\0" * 10240), "no manifest"),
    ("not a tar: random", lambda a, o: o.write_bytes(bytes(range(256)) * 40), "not a complete"),
    (
        "not a tar: gzip",
        lambda a, o: o.write_bytes(b"\x1f\x8b\x08\x00" + b"x" * 600),
        "not a complete",
    ),
    (
        "not a tar: sqlite file",
        lambda a, o: o.write_bytes(b"SQLite format 3\0" + b"\0" * 4080),
        "not a complete",
    ),
    ("truncated to 1 block", lambda a, o: truncate(a, o, lambda n: 512), "not a complete"),
    ("truncated at 10%", lambda a, o: truncate(a, o, lambda n: n // 10), "not a complete"),
    ("truncated at half", lambda a, o: truncate(a, o, lambda n: n // 2), "not a complete"),
    (
        "truncated at 99% of its members",  # not in the end blocks and their padding
        lambda a, o: truncate(a, o, lambda n: end_of_members(a) * 99 // 100),
        "",
    ),
    (
        "truncated before end blocks",
        lambda a, o: truncate(a, o, lambda n: end_of_members(a) - 1),
        "",
    ),
    *(
        (f"byte flipped in {where}", flip_member(prefix), "checksum mismatch")
        for where, prefix in FLIPPED_MEMBERS
    ),
    ("byte flipped in a header", lambda a, o: flip(a, o, 3), ""),
    ("missing manifest", lambda a, o: rewrite(a, o, drop=["manifest.json"]), "no manifest"),
    (
        "missing manifest sum",
        lambda a, o: rewrite(a, o, drop=["manifest.sha256"]),
        "checksum mismatch",
    ),
    (
        "manifest of a newer revision",
        lambda a, o: rewrite(
            a, o, manifest_change=lambda m: m.update(schema_revision="0099_future")
        ),
        "newer",
    ),
    (
        "manifest of an unknown revision",
        lambda a, o: rewrite(a, o, manifest_change=lambda m: m.update(schema_revision=None)),
        "newer",
    ),
    (
        "manifest of a newer format",
        lambda a, o: rewrite(a, o, manifest_change=lambda m: m.update(format_version=2)),
        "format version",
    ),
    (
        "manifest of another program",
        lambda a, o: rewrite(a, o, manifest_change=lambda m: m.update(format="other")),
        "does not describe",
    ),
    ("manifest not JSON", lambda a, o: rewrite(a, o, manifest_body=b"{not json"), "not valid"),
    (
        "manifest edited, sum not",
        lambda a, o: rewrite(
            a, o, manifest_change=lambda m: m["tables"].update(products=1), fix_sum=False
        ),
        "checksum mismatch",
    ),
    (
        "wrong database kind",
        lambda a, o: rewrite(a, o, manifest_change=other_kind),
        "cross-kind restore is not supported",
    ),
    (
        "member missing",
        lambda a, o: rewrite(
            a, o, drop=[n for n in manifest_of(a)["members"] if n.startswith("files/media/")][:1]
        ),
        "missing from the archive",
    ),
    (
        "member not in manifest",
        lambda a, o: rewrite(a, o, add=[("files/media/zz/extra.webp", b"RIFF")]),
        "not listed",
    ),
    (
        "member escaping its folder",
        lambda a, o: rewrite(a, o, add=[("../../evil.txt", b"boo")]),
        "unexpected member",
    ),
    (
        "absolute member",
        lambda a, o: rewrite(a, o, add=[("/tmp/evil.txt", b"boo")]),
        "unexpected member",
    ),
]


@pytest.mark.parametrize(
    "make, expected",
    [(m, e) for _, m, e in BAD_ARCHIVES],
    ids=[name for name, _, _ in BAD_ARCHIVES],
)
def test_damaged_archive_is_refused_and_target_untouched(app_ctx, app, tmp_path, make, expected):
    add_private_files(app)
    good = outbox(tmp_path) / "good.tar"
    assert run_cli(app, "backup", "create", str(good)).exit_code == 0
    bad = outbox(tmp_path) / "bad.tar"
    make(good, bad)
    # Change the target after the backup, so a restore that went ahead would show.
    with db.engine.begin() as conn:
        scans.add_counts(conn, {("ZZZZ2222", date(2026, 6, 1), 0, "scan"): 1})
    before = counts()
    instance = Path(app.config["INSTANCE_DIR"])
    files_before = tree(instance / "reports"), tree(instance / "originals")
    media_before = sorted(Path(app.config["MEDIA_ROOT"]).rglob("*"))

    result = run_cli(app, "backup", "restore", "--force", str(bad))

    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "restore refused:" in result.output and expected in result.output, result.output
    assert counts() == before
    assert (tree(instance / "reports"), tree(instance / "originals")) == files_before
    assert sorted(Path(app.config["MEDIA_ROOT"]).rglob("*")) == media_before
    assert not list(instance.glob(".restore-*"))
    assert not (Path("/tmp/evil.txt").exists() and Path("/tmp/evil.txt").read_bytes() == b"boo")


# --- create never leaves a partial file ----------------------------------------------------


def test_failed_backup_leaves_no_partial_file(app, tmp_path, monkeypatch):
    archive = outbox(tmp_path) / "site.tar"
    archive.write_bytes(b"yesterday's backup")
    calls = []
    real_addfile = tarfile.TarFile.addfile

    def full_disk(self, tarinfo, fileobj=None):
        calls.append(tarinfo.name)
        if len(calls) == 3:  # a few members in: the database and some files are written
            raise OSError(28, "No space left on device")
        return real_addfile(self, tarinfo, fileobj)

    monkeypatch.setattr(tarfile.TarFile, "addfile", full_disk)
    result = run_cli(app, "backup", "create", str(archive))
    assert result.exit_code != 0 and "No space left on device" in result.output
    assert archive.read_bytes() == b"yesterday's backup"  # the old one is kept, whole
    assert sorted(p.name for p in archive.parent.iterdir()) == ["site.tar"]


# What stands at the path before the backup is written: never replaced by the archive.
SPECIAL_PATHS = {
    "named-pipe": os.mkfifo,
    "link-to-folder": lambda path: path.symlink_to(path.parent, target_is_directory=True),
    "link-to-pipe": lambda path: (os.mkfifo(path.parent / "pipe"), path.symlink_to("pipe")),
}


@pytest.mark.parametrize(
    "path, expected",
    [
        ("no-such-folder/site.tar", "does not exist"),
        ("gone/deeper/site.tar", "does not exist"),
        (".", "is a directory"),
        ("named-pipe", "not a regular file"),
        ("link-to-folder", "is a directory"),
        ("link-to-pipe", "not a regular file"),
    ],
)
def test_backup_to_an_impossible_path_is_a_clear_error(app, tmp_path, path, expected):
    target = tmp_path / path
    if path in SPECIAL_PATHS:
        SPECIAL_PATHS[path](target)
    before = target.lstat() if path in SPECIAL_PATHS else None
    result = run_cli(app, "backup", "create", str(target))
    assert result.exit_code != 0 and expected in result.output, result.output
    assert "Traceback" not in result.output
    if before is not None:  # still the same pipe or link
        assert (target.lstat().st_ino, target.lstat().st_mode) == (before.st_ino, before.st_mode)


# Paths that hold the site's own data: an archive written there would replace the live
# database or land among the files it backs up. (where, inside the app's context -> path)
SITE_DATA = {
    "a photo": lambda: next(p for p in backup.file_roots()["media"].rglob("*") if p.is_file()),
    "new file among the photos": lambda: backup.file_roots()["media"] / "site.tar",
    "originals folder": lambda: backup.file_roots()["originals"] / "site.tar",
    "report photos folder": lambda: backup.file_roots()["reports"] / "site.tar",
    "search index": lambda: Path(current_app.config["INSTANCE_DIR"]) / "search" / "CURRENT",
}
if BACKEND == "sqlite":
    SITE_DATA["the live database"] = lambda: backup.sqlite_path()
    SITE_DATA["its write-ahead log"] = lambda: Path(f"{backup.sqlite_path()}-wal")


@pytest.mark.parametrize("where", list(SITE_DATA))
def test_backup_onto_the_sites_own_data_is_refused(app, where):
    with app.app_context():
        target = SITE_DATA[where]()
    target.parent.mkdir(parents=True, exist_ok=True)
    before = target.read_bytes() if target.exists() else None
    result = run_cli(app, "backup", "create", str(target))
    assert result.exit_code != 0 and "write the backup elsewhere" in result.output, result.output
    assert "Traceback" not in result.output
    assert (target.read_bytes() if target.exists() else None) == before
    with app.app_context():
        assert db.session.scalar(select(Product).limit(1)) is not None  # the database is whole


def test_backup_through_a_link_replaces_the_file_and_keeps_the_link(app, tmp_path):
    (tmp_path / "site-monday.tar").write_bytes(b"monday")
    latest = tmp_path / "latest.tar"
    latest.symlink_to("site-monday.tar")
    result = run_cli(app, "backup", "create", str(latest))
    assert result.exit_code == 0, result.output
    assert latest.is_symlink() and (tmp_path / "site-monday.tar").read_bytes() != b"monday"


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump is for PostgreSQL")
@pytest.mark.parametrize("command", ["create", "restore"])
def test_missing_pg_tools_is_a_clear_error(app_ctx, app, tmp_path, command):
    archive = outbox(tmp_path) / "site.tar"
    if command == "restore":
        assert run_cli(app, "backup", "create", str(archive)).exit_code == 0
    before = counts()
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    app.config["PG_BIN_DIR"] = str(empty_bin)
    force = ["--force"] if command == "restore" else []
    result = run_cli(app, "backup", command, *force, str(archive))
    tool = "pg_dump" if command == "create" else "pg_restore"
    assert result.exit_code != 0 and f"{tool} not found" in result.output, result.output
    assert counts() == before
    if command == "create":
        assert not archive.exists()
    assert sorted(p.name for p in archive.parent.iterdir()) == (
        ["site.tar"] if command == "restore" else []
    )


def test_password_never_on_the_command_line(tmp_path):
    url = "postgresql+psycopg://gi:s3cr%40t%20pw@db.example:5433/catalogue?sslmode=require"
    probe = create_app(make_config(url, tmp_path / "i", tmp_path / "m"))
    with probe.app_context():
        uri, environment = backup.libpq_connection()
        db.engine.dispose()
    assert "s3cr" not in uri
    assert uri == "postgresql://gi@db.example:5433/catalogue?sslmode=require"
    assert environment["PGPASSWORD"] == "s3cr@t pw"


def test_backup_of_an_older_schema_is_restored_then_upgraded(fresh_instance, tmp_path):
    from flask_migrate import upgrade

    migrations = str(Path(__file__).resolve().parents[1] / "migrations")
    source = fresh_instance()
    with source.app_context():
        upgrade(directory=migrations, revision="0003_backoffice")
        db.engine.dispose()
    archive = outbox(tmp_path) / "old.tar"
    assert run_cli(source, "backup", "create", str(archive)).exit_code == 0
    assert manifest_of(archive)["schema_revision"] == "0003_backoffice"

    target = fresh_instance()
    result = run_cli(target, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "revision 0003_backoffice" in result.output and "flask db upgrade" in result.output
    with target.app_context():
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert "short_codes" in counts()
        db.session.remove()
