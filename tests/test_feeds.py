"""Open-data feeds: the Atom feed of new products (RFC 4287), the season calendars (RFC 5545),
the county outlines (RFC 7946) and the /data/ page's Dataset description."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.db import db
from app.models import Product, PublicationStatus
from app.models.places import County
from app.services import audit, catalogue
from app.services.season_calendar import MonthRun, month_runs

pytestmark = pytest.mark.usefixtures("app_ctx")

A = "{http://www.w3.org/2005/Atom}"
MANGO = "sanya-mango"
FORGED = "evil.example"


def _product(slug: str = MANGO) -> Product:
    return db.session.scalar(select(Product).where(Product.slug == slug))


def _atom(client, lang: str) -> ET.Element:
    response = client.get(f"/feeds/products.atom?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.data)


# --- Atom --------------------------------------------------------------------------------


def test_atom_feed_has_what_rfc_4287_requires(client, app):
    feed = _atom(client, "en")
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{A}{required}") is not None, required
    self_link = feed.find(f"{A}link[@rel='self']")
    assert self_link is not None and self_link.get("type") == "application/atom+xml"
    entries = feed.findall(f"{A}entry")
    assert entries
    base = app.config["SITE_BASE_URL"]
    for entry in entries:
        for required in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{A}{required}"), required
        assert entry.findtext(f"{A}id").startswith("tag:")
        link = entry.find(f"{A}link[@rel='alternate']")
        assert link.get("href").startswith(base + "/products/")
        # RFC 3339 with an offset
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", entry.findtext(f"{A}updated"))
    assert len({e.findtext(f"{A}id") for e in entries}) == len(entries)


@pytest.mark.parametrize(
    "lang, title_word, mango_name",
    [("en", "Newly published products", "Sanya Mango"), ("zh", "新发布的产品", "三亚芒果")],
)
def test_atom_feed_speaks_the_asked_language(client, lang, title_word, mango_name):
    feed = _atom(client, lang)
    assert title_word in feed.findtext(f"{A}title")
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang").startswith(lang)
    titles = [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")]
    assert any(mango_name.lower() in t.lower() for t in titles)


def test_newest_publish_comes_first_with_its_publish_time(client):
    mango = _product()
    entry = audit.record("publish", object_type="products", object_id=mango.id)
    db.session.commit()
    first = _atom(client, "en").find(f"{A}entry")
    assert first.find(f"{A}link").get("href").endswith(f"/products/{MANGO}?lang=en")
    published_at = entry.at.replace(microsecond=0).isoformat()[:19]
    assert first.findtext(f"{A}updated").startswith(published_at)


@pytest.mark.parametrize("status", [PublicationStatus.DRAFT, PublicationStatus.SUBMITTED])
def test_unpublished_products_are_in_no_feed(client, status):
    mango = _product()
    mango.status = status
    db.session.commit()
    feed = _atom(client, "en")
    assert MANGO not in ET.tostring(feed, encoding="unicode")
    assert client.get(f"/feeds/products/{MANGO}.ics").status_code == 404
    assert MANGO not in client.get("/feeds/counties/sanya.ics").get_data(as_text=True)
    geo = client.get("/data/counties/sanya.geojson").get_json()
    assert MANGO not in [p["slug"] for p in geo["features"][0]["properties"]["products"]]


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/products.atom?lang=en",
        f"/feeds/products/{MANGO}.ics?lang=en",
        "/feeds/counties/sanya.ics?lang=zh",
        "/data/counties/sanya.geojson",
        "/data/",
    ],
)
def test_a_forged_host_never_reaches_a_feed(app, client, path):
    app.config["TRUSTED_HOSTS"] = None  # even with every Host accepted
    response = client.get(
        path, headers={"Host": FORGED, "X-Forwarded-Host": FORGED, "X-Forwarded-Proto": "gopher"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert FORGED not in body and "gopher" not in body
    assert app.config["SITE_BASE_URL"] in body.replace("\r\n ", "")


@pytest.mark.parametrize("path", ["/", "/products/", "/data/"])
def test_pages_announce_the_atom_feed(client, app, path):
    html = client.get(path + "?lang=en").get_data(as_text=True)
    href = app.config["SITE_BASE_URL"] + "/feeds/products.atom?lang=en"
    assert f'<link rel="alternate" type="application/atom+xml" href="{href}"' in html


# --- iCalendar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "months, runs",
    [
        ([], []),
        (list(range(1, 13)), [MonthRun(1, 12)]),
        ([11, 12, 1, 2], [MonthRun(11, 4)]),
        ([5, 6, 7], [MonthRun(5, 3)]),
        ([1, 3, 12], [MonthRun(3, 1), MonthRun(12, 2)]),
        ([12], [MonthRun(12, 1)]),
    ],
)
def test_month_runs(months, runs):
    mask = sum(1 << (m - 1) for m in months)
    assert month_runs(mask) == runs


def _events(client, path: str) -> list:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    raw = response.data
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    return Calendar.from_ical(raw).walk("VEVENT")


@pytest.mark.parametrize(
    "months, spans",
    [
        # Nov-Feb: each event runs into the next year
        ([11, 12, 1, 2], [((0, 11, 1), (1, 3, 1))]),
        ([], []),
        (list(range(1, 13)), [((0, 1, 1), (1, 1, 1))]),
        ([3, 4, 9], [((0, 3, 1), (0, 5, 1)), ((0, 9, 1), (0, 10, 1))]),
    ],
)
def test_product_calendar_has_one_event_per_run_per_year(client, months, spans):
    mango = _product()
    mango.season_months = months
    db.session.commit()
    events = _events(client, f"/feeds/products/{MANGO}.ics?lang=en")
    this_year = catalogue.local_today().year
    expected = sorted(
        (date(this_year + offset + s[0], s[1], s[2]), date(this_year + offset + e[0], e[1], e[2]))
        for offset in (0, 1)
        for s, e in spans
    )
    got = sorted((ev.decoded("dtstart"), ev.decoded("dtend")) for ev in events)
    assert got == expected
    for event in events:
        assert type(event.decoded("dtstart")) is date  # all-day: VALUE=DATE
        assert event.get("dtstart").params.get("VALUE") in (None, "DATE")
        assert "Sanya Mango" in str(event.get("summary"))
        assert event.get("dtstamp") is not None
    uids = [str(e.get("uid")) for e in events]
    assert len(set(uids)) == len(uids)
    assert uids == [
        str(e.get("uid")) for e in _events(client, f"/feeds/products/{MANGO}.ics?lang=zh")
    ]


def test_county_calendar_lists_each_product_in_season(client):
    county = db.session.scalar(select(County).where(County.slug == "sanya"))
    products = [p for p in catalogue.county_products(county, "zh") if p.season_mask]
    events = _events(client, "/feeds/counties/sanya.ics?lang=zh")
    assert {str(e.get("uid")).split("-20")[0] for e in events} == {
        f"season-{p.slug}" for p in products
    }
    assert any("三亚芒果" in str(e.get("summary")) for e in events)


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/products/no-such.ics",
        "/feeds/counties/nowhere.ics",
        "/data/counties/nowhere.geojson",
    ],
)
def test_unknown_slugs_are_404(client, path):
    assert client.get(path).status_code == 404


# --- GeoJSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug, geometry_type",
    [("sanya", "MultiPolygon"), ("haikou", "MultiPolygon"), ("sansha", None)],
)
def test_county_geojson(client, slug, geometry_type):
    response = client.get(f"/data/counties/{slug}.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    document = json.loads(response.data)
    assert document["type"] == "FeatureCollection"
    (feature,) = document["features"]
    assert feature["type"] == "Feature"
    geometry = feature["geometry"]
    if geometry_type is None:
        assert geometry is None  # drawn as symbols in the map's inset
    else:
        assert geometry["type"] == geometry_type
        for polygon in geometry["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1] and len(ring) >= 4
                for lon, lat in ring:
                    assert 108 < lon < 112 and 18 < lat < 20.5  # Hainan Island
    properties = feature["properties"]
    assert properties["slug"] == slug
    assert "not an authoritative boundary map" in properties["outline_note"]
    assert "GCJ-02" in properties["outline_note"]
    county = db.session.scalar(select(County).where(County.slug == slug))
    assert [p["slug"] for p in properties["products"]] == [
        p.slug for p in catalogue.county_products(county, "zh")
    ]


def test_county_geojson_is_conditional(client):
    first = client.get("/data/counties/sanya.geojson")
    again = client.get(
        "/data/counties/sanya.geojson", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


# --- /data/ ------------------------------------------------------------------------------


def test_data_page_describes_the_dataset_for_harvesters(client, app):
    html = client.get("/data/?lang=en").get_data(as_text=True)
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    dataset = json.loads(found.group(1))
    assert "Dataset" in dataset["@type"] and "dcat:Dataset" in dataset["@type"]
    assert dataset["license"] == app.config["OPEN_DATA_LICENCE_URL"]
    assert dataset["publisher"]["name"]
    assert re.fullmatch(r"\d{4}/\.\.", dataset["temporalCoverage"])
    assert dataset["dct:accrualPeriodicity"]["@id"].startswith("http://purl.org/cld/freq/")
    formats = {d["encodingFormat"] for d in dataset["distribution"]}
    assert formats == {"application/json", "text/csv", "application/geo+json"}
    for distribution in dataset["distribution"]:
        assert distribution["contentUrl"].startswith(app.config["SITE_BASE_URL"] + "/data/")


def test_api_description_states_its_rate_limits(client):
    info = client.get("/api/v1/openapi.json").get_json()["info"]
    assert "Rate limits:" in info["description"] and "If-None-Match" in info["description"]


@pytest.mark.parametrize(
    "path, language",
    [
        ("/feeds/products.atom", "en"),
        ("/feeds/counties/sanya.ics", "zh"),
        ("/feeds/counties/sanya.ics", "en"),
    ],
)
def test_feeds_are_answered_again_from_the_cache(app, path, language):
    """Without ?lang= (which sets the language cookie, so Flask answers), in the language
    Accept-Language picks."""
    from tests.test_caching import middleware

    app.config["PAGE_CACHE_CHECK_SECONDS"] = 60  # as in production: trust the recent check
    client = app.test_client(use_cookies=False)
    headers = {"Accept-Language": language}
    first = client.get(path, headers=headers)
    served = middleware(app).served
    again = client.get(path, headers=headers)
    assert middleware(app).served == served + 1
    assert again.data == first.data
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert "Accept-Language" in again.headers["Vary"]
    other = client.get(path, headers={"Accept-Language": "zh" if language == "en" else "en"})
    assert other.data != first.data
