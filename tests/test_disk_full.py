"""A full disk, an I/O error or a read-only filesystem while the site writes a file, through
the real views: the admin photo upload (renditions and the private original), a
counterfeit report with a photo, a spreadsheet upload staged for import. Each answers a
translated 503, leaves no temporary or partial file and no database row behind.

Faults are injected at the os level (os.open, os.write, os.fsync, os.replace), only for
paths under the test's media and instance folders, at each point of a write."""

import errno
import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app import storage
from app.db import db
from app.models import AuditEntry, CounterfeitReport, ProductImage
from tests.admin_support import login, make_users, signed_in
from tests.sheet_files import csv_file, xlsx_file
from tests.test_admin_bulk import NEW_ROWS
from tests.test_admin_bulk import upload as upload_sheet
from tests.test_admin_photos import new_draft
from tests.test_admin_photos import upload as upload_photo

pytestmark = pytest.mark.usefixtures("app_ctx")

MESSAGES = {
    "en": "storage is full or unavailable. Nothing was changed.",
    "zh": "服务器存储空间已满或不可用，文件未能保存。",
}
ERRORS = (errno.ENOSPC, errno.EIO, errno.EROFS)
# Where the write fails: creating the temporary file, its first write, after part of it
# was written, flushing it to disk, renaming it into place, or the third file of several.
POINTS = ("create", "first-write", "mid-write", "fsync", "rename", "third-file")


class FaultyDisk:
    """Fails the chosen os-level step for files under `roots` (a file is recognised by
    its descriptor's path in /proc/self/fd, as the kernel sees it)."""

    def __init__(self, roots: list[Path], error_number: int, point: str) -> None:
        self.roots = [str(Path(r).resolve()) for r in roots]
        self.error_number, self.point = error_number, point
        self.files_opened = 0
        self.writes: dict[int, int] = {}
        self.triggered = False
        self.real = {name: getattr(os, name) for name in ("open", "write", "fsync", "replace")}

    def _watched(self, path) -> bool:
        return any(str(path).startswith(root) for root in self.roots)

    def _fd_path(self, fd: int) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    def _fail(self, path=""):
        self.triggered = True
        raise OSError(self.error_number, os.strerror(self.error_number), str(path))

    def open(self, path, flags, *args, **kwargs):
        creating = flags & os.O_CREAT and self._watched(Path(path).resolve())
        if creating:
            self.files_opened += 1
            if self.point == "create" or (self.point == "third-file" and self.files_opened == 3):
                self._fail(path)
        return self.real["open"](path, flags, *args, **kwargs)

    def write(self, fd, data):
        if self._watched(self._fd_path(fd)):
            count = self.writes[fd] = self.writes.get(fd, 0) + 1
            if self.point == "first-write":
                self._fail()
            if self.point == "mid-write":
                if count == 1 and len(data) > 1:  # a short write: half the bytes land
                    return self.real["write"](fd, bytes(data[: len(data) // 2]))
                self._fail()
        return self.real["write"](fd, data)

    def fsync(self, fd):
        if self.point == "fsync" and self._watched(self._fd_path(fd)):
            self._fail()
        return self.real["fsync"](fd)

    def replace(self, src, dst, *args, **kwargs):
        if self.point == "rename" and self._watched(Path(dst).resolve()):
            self._fail(dst)
        return self.real["replace"](src, dst, *args, **kwargs)

    def install(self, monkeypatch) -> None:
        for name in ("open", "write", "fsync", "replace"):
            monkeypatch.setattr(os, name, getattr(self, name))


def _snapshot(*roots: Path) -> set[Path]:
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


def _leftovers(before: set[Path], *roots: Path) -> set[Path]:
    return _snapshot(*roots) - before


def _counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (ProductImage, CounterfeitReport, AuditEntry)
    )


def _assert_refused(response, lang: str, disk: FaultyDisk) -> None:
    assert disk.triggered, "the fault was injected"
    assert response.status_code == 503, response.status_code
    body = response.get_data(as_text=True)
    assert MESSAGES[lang] in body
    assert "Traceback" not in body


CASES = [(e, p) for e in ERRORS for p in POINTS]
IDS = [f"{errno.errorcode[e]}-{p}" for e, p in CASES]


def _unique_jpeg(seed: int, size=(1700, 1000)) -> bytes:
    """A photo no other test wrote (renditions are content-addressed: a photo already on
    disk would not be written again)."""
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256))
    ImageDraw.Draw(image).ellipse([100, 100, 700, 700], fill=(30, 140, (seed * 7) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("role", ["editor_a", "reviewer"])
@pytest.mark.parametrize(("error_number", "point"), CASES, ids=IDS)
def test_admin_photo_upload_on_a_failing_disk(app, monkeypatch, role, error_number, point):
    make_users()
    client = app.test_client()
    login(client, role)
    product = new_draft(client)
    roots = [app.config["MEDIA_ROOT"], app.config["INSTANCE_DIR"]]
    before, counts = _snapshot(*roots), _counts()
    lang = "en" if error_number == errno.EIO else "zh"
    disk = FaultyDisk(roots, error_number, point)
    with monkeypatch.context() as patch:
        disk.install(patch)
        response = upload_photo(
            client,
            product.id,
            _unique_jpeg(
                len(IDS) * (role == "reviewer")
                + IDS.index(f"{errno.errorcode[error_number]}-{point}")
            ),
            lang=lang,
        )
    _assert_refused(response, lang, disk)
    assert _leftovers(before, *roots) == set(), "no rendition, original or temporary file"
    assert _counts() == counts, "no photo row, no audit entry"
    # Space is back: the same upload succeeds and every rendition is whole.
    again = upload_photo(
        client,
        product.id,
        _unique_jpeg(
            500 + IDS.index(f"{errno.errorcode[error_number]}-{point}") + 100 * (role == "reviewer")
        ),
    )
    assert again.status_code == 302
    [image] = db.session.scalars(select(ProductImage).where(ProductImage.product_id == product.id))
    for width in image.widths:
        for ext in ("webp", "jpg"):
            with Image.open(app.config["MEDIA_ROOT"] / image.rendition_name(width, ext)) as img:
                img.load()


@pytest.mark.parametrize(
    ("error_number", "point"),
    [c for c in CASES if c[1] != "third-file"],
    ids=[i for i, c in zip(IDS, CASES, strict=True) if c[1] != "third-file"],
)
def test_report_with_photo_on_a_failing_disk(app, client, monkeypatch, error_number, point):
    app.config["WTF_CSRF_ENABLED"] = False
    roots = [app.config["MEDIA_ROOT"], app.config["INSTANCE_DIR"]]
    before, counts = _snapshot(*roots), _counts()
    lang = "en" if error_number == errno.EROFS else "zh"
    photo = _unique_jpeg(900 + IDS.index(f"{errno.errorcode[error_number]}-{point}"), (640, 480))
    data = {
        "where_bought": "海口某超市",
        "description": "标签上的地理标志看起来是伪造的",
        "photo": (io.BytesIO(photo), "label.jpg"),
    }
    disk = FaultyDisk(roots, error_number, point)
    with monkeypatch.context() as patch:
        disk.install(patch)
        response = client.post(
            f"/report?lang={lang}", data=data, content_type="multipart/form-data"
        )
    _assert_refused(response, lang, disk)
    assert _leftovers(before, *roots) == set()
    assert _counts() == counts, "no report row"


SHEETS = [("csv", csv_file(NEW_ROWS)), ("xlsx", xlsx_file(NEW_ROWS))]
SHEET_POINTS = ("create", "first-write", "mid-write", "fsync", "rename", "second-file")


@pytest.mark.parametrize("sheet", SHEETS, ids=[s[0] for s in SHEETS])
@pytest.mark.parametrize("error_number", ERRORS, ids=[errno.errorcode[e] for e in ERRORS])
@pytest.mark.parametrize("point", SHEET_POINTS)
def test_spreadsheet_upload_on_a_failing_disk(app, monkeypatch, sheet, error_number, point):
    client = signed_in(app, "reviewer")
    roots = [app.config["MEDIA_ROOT"], app.config["INSTANCE_DIR"]]
    (Path(app.config["INSTANCE_DIR"]) / "imports").mkdir(exist_ok=True)
    before, counts = _snapshot(*roots), _counts()
    lang = "en" if error_number == errno.ENOSPC else "zh"
    disk = FaultyDisk(roots, error_number, "third-file" if point == "second-file" else point)
    disk.files_opened = 1 if point == "second-file" else 0  # the metadata file fails
    with monkeypatch.context() as patch:
        disk.install(patch)
        response = upload_sheet(client, sheet[1], name=f"products.{sheet[0]}", lang=lang)
    _assert_refused(response, lang, disk)
    assert _leftovers(before, *roots) == set(), "no staged data or metadata file"
    assert _counts() == counts


@pytest.mark.parametrize("error_number", ERRORS, ids=[errno.errorcode[e] for e in ERRORS])
@pytest.mark.parametrize("point", ("create", "first-write", "mid-write", "fsync", "rename"))
def test_write_bytes_keeps_the_old_file_whole(tmp_path, monkeypatch, error_number, point):
    target = tmp_path / "state.json"
    storage.write_bytes(target, b"old contents")
    disk = FaultyDisk([tmp_path], error_number, point)
    with monkeypatch.context() as patch:
        disk.install(patch)
        with pytest.raises(storage.StorageUnavailable) as raised:
            storage.write_bytes(target, b"new contents" * 1000)
    assert raised.value.errno == error_number and raised.value.code == 503
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


# jieba's dictionary cache (9 MB, written by every process that finds none): where its dump
# fails. Nothing of a failed dump may stay behind in the instance folder.
JIEBA_FAILURES = {
    "dump stops half-way": ("dump", errno.ENOSPC),
    "dump I/O error": ("dump", errno.EIO),
    "rename into place": ("rename", errno.ENOSPC),
    "read-only at rename": ("rename", errno.EROFS),
}


@pytest.mark.parametrize("where", list(JIEBA_FAILURES))
def test_a_failed_jieba_cache_dump_leaves_nothing_behind(tmp_path, monkeypatch, where):
    import marshal

    import jieba

    from app.search import text

    point, error_number = JIEBA_FAILURES[where]
    real_dump, real_rename = marshal.dump, os.rename

    def failing_dump(value, file):
        if point == "dump":
            real_dump(value, file)
            file.truncate(file.tell() // 2)
            raise OSError(error_number, os.strerror(error_number))
        return real_dump(value, file)

    def failing_rename(src, dst, *args, **kwargs):
        if point == "rename" and str(dst).endswith(".cache"):
            raise OSError(error_number, os.strerror(error_number), str(dst))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(marshal, "dump", failing_dump)
    monkeypatch.setattr(jieba, "_replace_file", failing_rename)
    monkeypatch.setattr(jieba, "dt", jieba.Tokenizer())
    monkeypatch.setattr(text, "_jieba", None)
    cache_dir = tmp_path / "jieba"
    (cache_dir).mkdir()
    (cache_dir / "tmp-of-a-sibling-process").write_bytes(b"x")  # there before: kept
    tokenizer = text.jieba_instance(cache_dir)
    assert [word for word, _start, _end in tokenizer.tokenize("文昌鸡")]
    assert sorted(p.name for p in cache_dir.iterdir()) == ["tmp-of-a-sibling-process"]
