"""The read-only JSON API and the /data downloads."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from app.db import db
from app.models import Enterprise, Product, PublicationStatus
from app.services import codes


def test_products_are_paginated_with_meta_and_links(app_ctx, client):
    total = db.session.scalar(
        select(func.count(Product.id)).where(Product.status == PublicationStatus.PUBLISHED)
    )
    first = client.get("/api/v1/products?per_page=10").get_json()
    assert first["meta"] == {"page": 1, "per_page": 10, "total": total, "pages": -(-total // 10)}
    assert len(first["data"]) == 10 and "next" in first["links"] and "prev" not in first["links"]
    second = client.get(first["links"]["next"]).get_json()
    assert {p["slug"] for p in first["data"]}.isdisjoint({p["slug"] for p in second["data"]})


def test_product_carries_its_short_code(app_ctx, client):
    mango = client.get("/api/v1/products/sanya-mango").get_json()["data"]
    product = db.session.scalar(select(Product).where(Product.slug == "sanya-mango"))
    assert mango["short_code"] == codes.code_for(product)
    assert mango["name_zh"] == "三亚芒果" and "sanya" in mango["counties"]


@pytest.mark.parametrize(
    "query, check",
    [
        ("/api/v1/products?county=wenchang", lambda p: "wenchang" in p["counties"]),
        ("/api/v1/products?category=fruit", lambda p: p["category"] == "fruit"),
        ("/api/v1/signs?regime=gi_trademark", lambda s: s["regime"] == "gi_trademark"),
        ("/api/v1/signs?year=2007", lambda s: s["approval_date"].startswith("2007")),
        ("/api/v1/authorizations?status=revoked", lambda a: a["status"] == "revoked"),
    ],
)
def test_filters_match_the_sites(client, query, check):
    data = client.get(query + "&per_page=100").get_json()["data"]
    assert data and all(check(item) for item in data)


def test_api_never_shows_unpublished_rows(app_ctx, client):
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.status == PublicationStatus.PUBLISHED)
    )
    enterprise.status = PublicationStatus.DRAFT
    db.session.commit()
    slugs = [e["slug"] for e in client.get("/api/v1/enterprises?per_page=100").get_json()["data"]]
    assert enterprise.slug not in slugs
    assert client.get(f"/api/v1/enterprises/{enterprise.slug}").status_code == 404


def test_etag_and_if_none_match(app_ctx, client):
    response = client.get("/api/v1/counties")
    etag = response.headers["ETag"]
    assert client.get("/api/v1/counties", headers={"If-None-Match": etag}).status_code == 304
    mango = db.session.scalar(select(Product).where(Product.slug == "sanya-mango"))
    mango.name_en = "Sanya Mango (new)"
    db.session.commit()
    changed = client.get("/api/v1/products/sanya-mango", headers={"If-None-Match": etag})
    assert (
        changed.status_code == 200 and changed.get_json()["data"]["name_en"] == "Sanya Mango (new)"
    )


@pytest.mark.parametrize(
    "url, status",
    [
        ("/api/v1/products?page=0", 400),
        ("/api/v1/products?per_page=1000", 400),
        ("/api/v1/products?page=abc", 400),
        ("/api/v1/products?county=atlantis", 404),
        ("/api/v1/signs?year=20x7", 400),
        ("/api/v1/signs?regime=bogus", 400),
        ("/api/v1/products/nope", 404),
        ("/api/v1/signs/99999999999", 404),
        ("/api/v1/nothing", 404),
        ("/api/v1/products?county=%00", 400),
    ],
)
def test_errors_are_consistent_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == status and error["message"]


def test_post_is_refused_as_json(client):
    response = client.post("/api/v1/products")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == 405


def test_openapi_document_is_3_1_and_lists_every_resource(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for name in (
        "counties",
        "categories",
        "signs",
        "products",
        "brands",
        "enterprises",
        "authorizations",
    ):
        assert f"/{name}" in doc["paths"]


# --- /data ------------------------------------------------------------------------------------


def test_data_page_states_licence_and_snapshot_date(client):
    page = client.get("/data/?lang=en").get_data(as_text=True)
    assert "CC BY 4.0" in page and "Snapshot of 20" in page
    assert 'href="/data/products.csv"' in page and 'href="/data/catalogue.json"' in page


def test_json_download_holds_every_table_and_its_meta(app_ctx, client):
    response = client.get("/data/catalogue.json")
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.data)
    assert document["meta"]["licence"] == "CC BY 4.0" and document["meta"]["snapshot_date"]
    published = db.session.scalar(
        select(func.count(Product.id)).where(Product.status == PublicationStatus.PUBLISHED)
    )
    assert len(document["products"]) == published
    assert {"counties", "signs", "brands", "enterprises", "authorizations"} <= set(document)


def test_csv_download_reads_back_in_a_spreadsheet_encoding(client):
    response = client.get("/data/products.csv")
    assert response.mimetype == "text/csv" and response.headers["X-Snapshot-Date"]
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["name_zh"] == "三亚芒果" for r in rows)
    assert client.get("/data/products.json").status_code == 404
    assert client.get("/data/users.csv").status_code == 404
