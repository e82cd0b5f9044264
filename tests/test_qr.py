"""Short codes, passports, QR images, scan counting, expos, saved lists and print sheets."""

import io
import logging
import re
import threading
import time
from datetime import date, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, func, select

from app.admin import printing
from app.db import db
from app.models import (
    Authorization,
    Brand,
    Enterprise,
    Product,
    PublicationStatus,
    ScanCount,
    ScanKind,
    ShortCode,
)
from app.services import catalogue, codes, expos, scans

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def product(slug: str) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def code_of(obj) -> str:
    code = codes.code_for(obj)
    assert code is not None
    return code


def html(response) -> str:
    return response.get_data(as_text=True)


def scan_total(code: str, kind: ScanKind = ScanKind.SCAN) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(ScanCount.count), 0)).where(
            ScanCount.code == code, ScanCount.kind == kind
        )
    )


def all_scans() -> int:
    """Every stored count, of every code and kind."""
    return db.session.scalar(select(func.coalesce(func.sum(ScanCount.count), 0)))


# --- code generation ------------------------------------------------------------------------


def test_codes_use_the_unambiguous_alphabet_and_a_check_character():
    for _ in range(2000):
        code = codes.random_code()
        assert len(code) == 8
        assert not set(code) & set("ILOU")
        assert set(code) <= set(codes.ALPHABET)
        assert codes.code_problem(code) is None


def test_check_character_catches_every_single_typo_and_neighbour_swap():
    code = codes.random_code()
    for i in range(8):
        for char in codes.ALPHABET:
            if char != code[i]:
                assert (
                    codes.code_problem(code[:i] + char + code[i + 1 :]) == codes.CodeProblem.CHECK
                )
    swaps = [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(7) if code[i] != code[i + 1]
    ]
    caught = sum(codes.code_problem(s) == codes.CodeProblem.CHECK for s in swaps)
    assert caught >= len(swaps) - 1  # Luhn mod N misses only one rare pair of values


def test_codes_are_random_not_sequential():
    drawn = [codes.random_code() for _ in range(5000)]
    assert len(set(drawn)) == len(drawn)
    firsts = {c[0] for c in drawn}
    assert len(firsts) == 32  # every leading character occurs: no counter underneath


def test_normalize_reads_what_people_type():
    assert codes.normalize(" ab-cd 1o2l ") == "ABCD1021"
    assert codes.code_problem("ABC") == codes.CodeProblem.SHAPE
    assert codes.code_problem("ABCDEFGU") == codes.CodeProblem.SHAPE


def test_every_seeded_listing_has_exactly_one_code(app):
    for model in (Product, Brand, Enterprise, Authorization):
        rows = db.session.scalar(select(func.count(model.id)))
        coded = db.session.scalar(
            select(func.count())
            .select_from(ShortCode)
            .where(ShortCode.target_type == codes.CODED_MODELS[model])
        )
        assert rows == coded > 0


def test_code_survives_rename_and_slug_change(app):
    mango = product("sanya-mango")
    before = code_of(mango)
    mango.name_zh, mango.slug = "三亚芒果（新名）", "sanya-mango-renamed"
    db.session.commit()
    assert code_of(mango) == before


def test_new_listing_gets_a_code_in_the_same_transaction(app):
    mango = product("sanya-mango")
    copy = Product(slug="test-new", name_zh="新产品", category_id=mango.category_id)
    db.session.add(copy)
    db.session.flush()
    assert codes.code_problem(code_of(copy)) is None
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ShortCode)
            .where(ShortCode.target_id == copy.id, ShortCode.target_type == "product")
        )
        == 0
    )


def test_a_drawn_code_that_is_taken_is_never_reused(app):
    taken = code_of(product("sanya-mango"))
    fresh = codes.random_code()
    draws = iter([taken, taken, fresh])
    connection = db.session.connection()
    got = codes.assign_code(connection, codes.CodeTarget.PRODUCT, 999_999, lambda: next(draws))
    assert got == fresh
    owner = db.session.get(ShortCode, taken)
    assert owner.target_id == product("sanya-mango").id


def test_codes_are_unique_under_concurrent_creation(app):
    """Eight threads create listings at once, each in its own session and transaction."""
    category_id = product("sanya-mango").category_id
    errors: list[Exception] = []

    def create(n: int) -> None:
        with app.app_context():
            try:
                for i in range(10):
                    db.session.add(
                        Product(
                            slug=f"conc-{n}-{i}", name_zh=f"并发{n}-{i}", category_id=category_id
                        )
                    )
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = db.session.scalars(select(Product.id).where(Product.slug.like("conc-%"))).all()
    assert len(ids) == 80
    rows = db.session.execute(
        select(ShortCode.code).where(
            ShortCode.target_type == "product", ShortCode.target_id.in_(ids)
        )
    ).all()
    assert len(rows) == len({r.code for r in rows}) == 80


def test_backfill_gives_codes_only_to_rows_without(app):
    connection = db.session.connection()
    assert codes.backfill_codes(connection) == 0
    mango = product("sanya-mango")
    db.session.execute(
        ShortCode.__table__.delete().where(
            ShortCode.target_type == "product", ShortCode.target_id == mango.id
        )
    )
    assert codes.backfill_codes(connection) == 1
    assert codes.code_problem(code_of(mango)) is None


# --- the passport ---------------------------------------------------------------------------


def test_passport_shows_name_photo_signs_county_season_and_enterprises(client):
    code = code_of(product("wenchang-chicken"))
    page = html(client.get(f"/q/{code}", headers={"Accept-Language": "en", "User-Agent": PHONE}))
    assert "<h1>Wenchang Chicken" in page and "文昌鸡" in page
    assert re.search(
        r'<span class="art-tile art-poultry photo"><img src="/static/vendor/openmoji/chicken.svg',
        page,
    )
    assert 'alt="Illustration: chicken"' in page
    assert "Wenchang" in page and "Season" in page
    assert "GI registrations" in page and "Enterprises authorised" in page
    assert 'href="/products/wenchang-chicken"' in page
    assert "<script" not in page and "@font-face" not in page


def test_passport_follows_accept_language_and_offers_one_tap_switch(client):
    code = code_of(product("wenchang-chicken"))
    zh = client.get(f"/q/{code}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "<h1>文昌鸡" in html(zh) and 'href="?lang=en"' in html(zh)
    assert zh.headers["Content-Language"] == "zh-Hans"
    en = client.get(f"/q/{code}?lang=en")
    assert "<h1>Wenchang Chicken" in html(en) and 'href="?lang=zh"' in html(en)
    assert "Accept-Language" in en.headers["Vary"]


def test_passport_is_small_cacheable_and_its_inline_css_is_allowed_by_hash(client):
    import base64
    import hashlib

    code = code_of(product("wenchang-chicken"))
    response = client.get(f"/q/{code}")
    assert response.status_code == 200
    assert len(response.data) < 10_000
    css = re.search(r"<style>(.*?)</style>", html(response), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = response.headers["Content-Security-Policy"]
    assert f"'sha256-{digest}'" in csp and "unsafe-inline" not in csp
    assert "public" in response.headers["Cache-Control"]
    again = client.get(f"/q/{code}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_lower_case_and_confusable_characters_open_the_same_passport(client):
    code = code_of(product("wenchang-chicken"))
    typed = code.lower().replace("1", "l").replace("0", "o")
    response = client.get(f"/q/{typed}")
    assert response.status_code == 301 and response.headers["Location"] == f"/q/{code}"
    assert client.get(f"/q/{typed}", follow_redirects=True).status_code == 200


def test_wrong_check_character_gets_a_helpful_404(client):
    code = code_of(product("wenchang-chicken"))
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = client.get(f"/q/{wrong}?lang=en")
    assert response.status_code == 404
    assert "mistyped" in html(response) and 'name="code"' in html(response)


@pytest.mark.parametrize(
    "path",
    [
        "/q/XYZ",
        "/q/" + "A" * 5000,
        "/q/%00%00",
        "/q/ABCDEFGH.exe",
        "/q/..%2Fadmin",
        "/q/../admin",
        "/q/a.svg",
        "/q/.png",
    ],
)
def test_malformed_codes_and_path_tricks_are_404_never_500(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert all_scans() == 0


def test_unknown_well_formed_code_is_404_and_not_counted(client):
    unknown = codes.random_code()
    while codes.find_code(unknown):
        unknown = codes.random_code()
    response = client.get(f"/q/{unknown}?lang=en")
    assert response.status_code == 404 and "Code not found" in html(response)
    assert all_scans() == 0


def test_archived_listing_is_410_pointing_to_its_county(client):
    mango = product("sanya-mango")
    code = code_of(mango)
    mango.status = PublicationStatus.ARCHIVED
    db.session.commit()
    response = client.get(f"/q/{code}?lang=en")
    assert response.status_code == 410
    assert 'href="/counties/sanya"' in html(response)


def test_draft_listing_is_not_revealed(client):
    mango = product("sanya-mango")
    code = code_of(mango)
    mango.status = PublicationStatus.DRAFT
    db.session.commit()
    assert client.get(f"/q/{code}").status_code == 404


def test_brand_enterprise_and_authorization_passports(client):
    brand = db.session.scalar(select(Brand).where(Brand.status == PublicationStatus.PUBLISHED))
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.status == PublicationStatus.PUBLISHED)
    )
    authorization = db.session.scalar(select(Authorization))
    for obj, text in (
        (brand, brand.name_zh),
        (enterprise, enterprise.credit_code),
        (authorization, authorization.enterprise.name_zh),
    ):
        response = client.get(f"/q/{code_of(obj)}?lang=zh")
        assert response.status_code == 200, obj
        assert text in html(response)


def test_public_pages_link_to_their_passport_and_qr(client):
    mango = product("sanya-mango")
    code = code_of(mango)
    page = html(client.get("/products/sanya-mango"))
    for href in (f"/q/{code}", f"/q/{code}.svg", f"/q/{code}.png"):
        assert f'href="{href}"' in page
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.status == PublicationStatus.PUBLISHED)
    )
    assert f'href="/q/{code_of(enterprise)}"' in html(client.get(f"/enterprises/{enterprise.slug}"))
    brand = db.session.scalar(select(Brand).where(Brand.status == PublicationStatus.PUBLISHED))
    assert f'href="/q/{code_of(brand)}"' in html(client.get(f"/brands/{brand.slug}"))


# --- QR images ------------------------------------------------------------------------------


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_png_decodes_to_the_configured_base_url_not_the_host_header(app):
    app.config["SITE_BASE_URL"] = "https://gi.example.cn"
    client = app.test_client()
    code = code_of(product("wenchang-chicken"))
    assert client.get(f"/q/{code}.png", headers={"Host": "evil.example"}).status_code == 400
    response = client.get(f"/q/{code}.png", headers={"Host": "127.0.0.1:5000"})
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert decode(response.data) == [f"https://gi.example.cn/q/{code}"]
    assert "max-age" in response.headers["Cache-Control"]


def test_svg_has_quiet_zone_caption_and_error_correction_m_or_better(app, client):
    from app.qr.images import make_symbol

    code = code_of(product("wenchang-chicken"))
    url = f"{app.config['SITE_BASE_URL']}/q/{code}"
    svg = html(client.get(f"/q/{code}.svg"))
    assert svg.startswith("<svg") and f"/q/{code}</text>" in svg
    assert "127.0.0.1:5000/q/" in svg and "http://" not in svg.split("<text")[1]
    first_move = re.search(r'd="M(\d+) (\d+)', svg)
    assert first_move.groups() == ("4", "4")  # four light modules before the first dark one
    assert make_symbol(url).error in ("M", "Q", "H")
    assert client.get(f"/q/{code}.svg").headers["Content-Type"].startswith("image/svg+xml")


def test_qr_image_for_unknown_code_is_404(client):
    assert client.get("/q/" + codes.random_code() + ".png").status_code == 404


# --- scan counting --------------------------------------------------------------------------


def test_scans_are_counted_per_code_and_day_without_personal_data(client):
    code = code_of(product("wenchang-chicken"))
    for _ in range(3):
        client.get(
            f"/q/{code}", headers={"User-Agent": PHONE}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
        )
    assert scan_total(code) == 3
    row = db.session.scalar(select(ScanCount).where(ScanCount.code == code))
    assert row.day == catalogue.local_today() and row.event_id == 0
    columns = {c.name for c in ScanCount.__table__.columns}
    assert columns == {"code", "day", "event_id", "kind", "count"}


@pytest.mark.parametrize(
    "agent, kind",
    [
        ("facebookexternalhit/1.1", ScanKind.PREVIEW),
        ("WhatsApp/2.23.20.0", ScanKind.PREVIEW),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ScanKind.BOT),
        ("Baiduspider+(+http://www.baidu.com/search/spider.htm)", ScanKind.BOT),
        ("python-requests/2.31", ScanKind.BOT),
        ("", ScanKind.BOT),
        ("Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.40 WeChat", ScanKind.SCAN),
    ],
)
def test_bots_and_link_previews_are_counted_separately(client, agent, kind):
    code = code_of(product("wenchang-chicken"))
    client.get(f"/q/{code}", headers={"User-Agent": agent})
    assert scan_total(code, kind) == 1
    if kind != ScanKind.SCAN:
        assert scan_total(code) == 0


def test_head_requests_are_not_scans(client):
    code = code_of(product("wenchang-chicken"))
    response = client.head(f"/q/{code}", headers={"User-Agent": PHONE})
    assert response.status_code == 200
    assert scan_total(code, ScanKind.HEAD) == 1 and scan_total(code) == 0


def test_atomic_upserts_lose_no_counts_under_concurrent_writers(app):
    """Eight threads add to the same counters through their own connections."""
    day = catalogue.local_today()
    key = ("TESTCODE", day, 0, "scan")
    engine = db.engine

    def hammer():
        for _ in range(50):
            with engine.begin() as connection:
                scans.add_counts(connection, {key: 2})

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert scan_total("TESTCODE") == 8 * 50 * 2


def test_buffered_counts_survive_concurrent_increments_and_flushes(app):
    buffer = scans.ScanBuffer()
    buffer.configure(db.engine, interval=3600)
    day = catalogue.local_today()
    stop = threading.Event()

    def flusher():
        while not stop.is_set():
            buffer.flush()

    def counter():
        for _ in range(2000):
            buffer.add(("BUFFERED", day, 0, "scan"))

    background = threading.Thread(target=flusher)
    background.start()
    workers = [threading.Thread(target=counter) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    background.join()
    buffer.flush()
    assert scan_total("BUFFERED") == 8000 and buffer.pending() == 0


def test_a_failed_background_flush_is_logged_and_the_counts_kept(tmp_path, caplog):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'missing' / 'scans.sqlite3'}")
    buffer = scans.ScanBuffer()
    buffer.configure(unreachable, interval=0.01)
    # Listen on the module's logger itself: the app's loggers need not reach the root.
    logger = logging.getLogger("app.services.scans")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger=logger.name):
            buffer.add(("UNWRITTEN", date(2026, 1, 1), 0, "scan"))
            deadline = time.monotonic() + 5
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.01)
            buffer._stop.set()
            buffer._thread.join()
    finally:
        logger.removeHandler(caplog.handler)
        unreachable.dispose()
    assert "scan counts not written, 1 kept for the next attempt" in caplog.text
    assert buffer.pending() == 1


def test_dashboard_queries_and_csv_export(client):
    mango, chicken = code_of(product("sanya-mango")), code_of(product("wenchang-chicken"))
    for _ in range(3):
        client.get(f"/q/{mango}", headers={"User-Agent": PHONE})
    client.get(f"/q/{chicken}", headers={"User-Agent": PHONE})
    client.get(f"/q/{chicken}", headers={"User-Agent": "Googlebot/2.1"})
    top = scans.top_codes(limit=5)
    assert [(c.code, c.scans) for c in top[:2]] == [(mango, 3), (chicken, 1)]
    assert top[0].target_type == "product"
    days = scans.scans_per_day()
    assert len(days) == 1 and days[0].scans == 4 and days[0].other == 1
    csv_text = scans.scans_csv()
    assert csv_text.splitlines()[0] == "day,event_id,code,kind,count"
    assert f"{catalogue.local_today().isoformat()},0,{mango},scan,3" in csv_text


# --- expos and saved lists --------------------------------------------------------------------


@pytest.fixture
def running_expo(app):
    today = catalogue.local_today()
    expo = expos.create_event(
        "hainan-expo",
        "海南农博会",
        today - timedelta(days=1),
        today + timedelta(days=2),
        name_en="Hainan Agri Expo",
        venue_zh="海口国际会展中心",
        venue_en="Haikou Convention Centre",
    )
    expos.add_booth(
        expo, "B-12", products=[product("sanya-mango")], hall_zh="2号馆", hall_en="Hall 2"
    )
    expos.add_booth(
        expo,
        "A-03",
        products=[product("wenchang-chicken"), product("xinglong-coffee")],
        sort_order=0,
    )
    db.session.commit()
    return expo


def test_expo_page_lists_booths_in_floor_order(client, running_expo):
    page = html(client.get("/expo/hainan-expo?lang=en"))
    assert "Hainan Agri Expo" in page and "On now" in page
    assert page.index("Booth A-03") < page.index("Booth B-12")
    assert "Wenchang Chicken" in page and 'name="csrf_token"' in page
    assert client.get("/expo/nope").status_code == 404


def test_booth_codes_open_a_booth_passport_and_scans_count_for_the_event(client, running_expo):
    booth = running_expo.booths[0]
    code = code_of(booth)
    response = client.get(f"/q/{code}?lang=en", headers={"User-Agent": PHONE})
    assert response.status_code == 200 and f"Booth {booth.number}" in html(response)
    mango = code_of(product("sanya-mango"))
    client.get(f"/q/{mango}", headers={"User-Agent": PHONE})
    events = {c.event_id for c in db.session.scalars(select(ScanCount))}
    assert events == {running_expo.id}
    assert scans.scans_per_day(event_id=running_expo.id)[0].scans == 2


def test_saved_list_is_created_shared_and_needs_csrf(app, running_expo):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = html(client.get("/expo/hainan-expo"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ids = [product("sanya-mango").id, product("wenchang-chicken").id]
    assert client.post("/list", data={"product": ids}).status_code == 400  # no token
    response = client.post(
        "/list", data={"csrf_token": token, "product": ids, "expo": "hainan-expo"}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    code = location.rsplit("/", 1)[1]
    assert codes.code_problem(code) is None
    shared = app.test_client().get(location + "?lang=zh")  # another visitor, no session
    assert shared.status_code == 200
    assert "三亚芒果" in html(shared) and "文昌鸡" in html(shared)
    empty = client.post("/list", data={"csrf_token": token})
    assert empty.status_code == 400
    junk = client.post("/list", data={"csrf_token": token, "product": ["x' OR 1=1"]})
    assert junk.status_code == 400


def test_unknown_saved_list_is_404(client):
    assert client.get("/list/" + codes.random_code()).status_code == 404
    assert client.get("/list/nonsense").status_code == 404


# --- print sheets (served by the back office) -------------------------------------------------


def test_label_sheet_holds_24_labels_per_a4_page_with_decodable_codes(app):
    products = list(db.session.scalars(select(Product).order_by(Product.id).limit(30)))
    with app.test_request_context():
        sheet = printing.label_sheet_html(printing.labels_for(products))
    assert sheet.count('class="sheet a4"') == 2
    assert sheet.count('class="label"') == 30
    for p in products[:3]:
        assert p.name_zh in sheet and f"/q/{code_of(p)}" in sheet
    assert "qr-print.css" in sheet


def test_booth_poster_in_a4_and_a3(app, running_expo):
    booth = running_expo.booths[0]
    with app.test_request_context():
        a3 = printing.booth_poster_html(booth, "A3")
        with pytest.raises(ValueError):
            printing.booth_poster_html(booth, "A5")
    assert 'class="sheet a3"' in a3 and f"/q/{code_of(booth)}" in a3


# --- the WSGI fast path (used when scans are buffered, as in production) ----------------------


@pytest.fixture
def buffered(app):
    app.config["SCAN_FLUSH_SECONDS"] = 3600.0
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 3600.0
    scans.scan_buffer.configure(db.engine, 3600.0)
    yield scans.scan_buffer
    scans.scan_buffer.flush()


def test_fast_path_answers_exactly_like_the_flask_view(app, buffered):
    client = app.test_client()
    code = code_of(product("wenchang-chicken"))
    headers = {"Accept-Language": "en-US,en;q=0.8", "User-Agent": PHONE}
    first = client.get(f"/q/{code}", headers=headers)  # Flask renders and caches
    second = client.get(f"/q/{code}", headers=headers)  # answered by the fast path
    assert "Set-Cookie" not in second.headers
    assert second.data == first.data and second.status_code == 200
    for name in (
        "Content-Type",
        "Content-Security-Policy",
        "Content-Language",
        "ETag",
        "Cache-Control",
        "X-Content-Type-Options",
        "X-Frame-Options",
    ):
        assert second.headers[name] == first.headers[name], name
    assert (
        client.get(
            f"/q/{code}", headers={**headers, "If-None-Match": first.headers["ETag"]}
        ).status_code
        == 304
    )
    zh = client.get(f"/q/{code}", headers={"Cookie": "lang=zh", "User-Agent": PHONE})
    assert "<h1>文昌鸡" in html(zh)
    assert buffered.flush() == 4 and scan_total(code) == 4


def test_fast_path_counts_head_and_bots_apart(app, buffered):
    client = app.test_client()
    code = code_of(product("wenchang-chicken"))
    client.get(f"/q/{code}", headers={"User-Agent": PHONE})
    client.head(f"/q/{code}", headers={"User-Agent": PHONE})
    client.get(f"/q/{code}", headers={"User-Agent": "Twitterbot/1.0"})
    buffered.flush()
    assert (
        scan_total(code),
        scan_total(code, ScanKind.HEAD),
        scan_total(code, ScanKind.PREVIEW),
    ) == (1, 1, 1)
