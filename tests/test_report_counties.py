"""Issue 11: a counterfeit report reaches both the county where the fake was bought and the
GI's home county (the product's county). Each official sees the reports where either county
is theirs, the reviewer sees all; the form says which county is which."""

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.db import db
from app.models import CounterfeitReport, Product
from app.services import reports
from tests.admin_support import county, csrf_token, login, make_users

pytestmark = pytest.mark.usefixtures("app_ctx")

# Editors (tests/admin_support.py): editor_a Wenchang, editor_b Sanya.
# Report kinds: (product slug or None, county bought in or None). wenchang-chicken's home
# county is Wenchang, sanya-mango's Sanya; Haikou is nobody's county here.
REPORT_KINDS = {
    "bought elsewhere": ("wenchang-chicken", "sanya"),
    "bought at home": ("wenchang-chicken", "wenchang"),
    "bought in a third county": ("wenchang-chicken", "haikou"),
    "product only": ("sanya-mango", None),
    "county only": (None, "wenchang"),
    "neither": (None, None),
}
# Who sees each kind: the sold county's official, the home county's official, the reviewer.
SEES = {
    "bought elsewhere": {"editor_a", "editor_b", "reviewer"},
    "bought at home": {"editor_a", "reviewer"},
    "bought in a third county": {"editor_a", "reviewer"},
    "product only": {"editor_b", "reviewer"},
    "county only": {"editor_a", "reviewer"},
    "neither": {"reviewer"},
}
OFFICIALS = ["editor_a", "editor_b", "reviewer"]


def product(slug: str | None) -> Product | None:
    if slug is None:
        return None
    return db.session.scalar(select(Product).where(Product.slug == slug))


def file_report(kind: str) -> CounterfeitReport:
    slug, bought_in = REPORT_KINDS[kind]
    report = reports.submit_report(
        where_bought=f"{kind} market",
        description="fake label",
        product=product(slug),
        county=county(bought_in) if bought_in else None,
    )
    db.session.commit()
    return report


def scope_of(who: str, people: dict) -> set[int] | None:
    user = people[who]
    return None if user.can_review else set(user.county_ids)


@pytest.mark.parametrize(
    "kind, home, bought_in",
    [
        ("bought elsewhere", "wenchang", "sanya"),
        ("product only", "sanya", None),
        ("county only", None, "wenchang"),
        ("neither", None, None),
    ],
)
def test_a_report_records_both_counties(kind, home, bought_in):
    report = file_report(kind)
    assert (report.home_county.slug if report.home_county else None) == home
    assert (report.county.slug if report.county else None) == bought_in


@pytest.mark.parametrize("who", OFFICIALS)
@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_scoping_matrix_in_the_service(kind, who):
    people = make_users()
    report = file_report(kind)
    scope = scope_of(who, people)
    expected = who in SEES[kind]
    assert reports.is_officials_report(report, scope) is expected
    assert (report.id in {r.id for r in reports.report_queue(scope).items}) is expected
    counted = reports.report_queue(scope).counts[report.report_status]
    assert counted == (1 if expected else 0)
    if expected:
        assert reports.report_for_official(report.id, scope) is report
    else:
        with pytest.raises(reports.NotYourCounty):
            reports.report_for_official(report.id, scope)


@pytest.mark.parametrize("who", OFFICIALS)
@pytest.mark.parametrize("kind", ["bought elsewhere", "product only", "neither"])
def test_scoping_matrix_in_the_back_office(app, kind, who):
    make_users()
    report = file_report(kind)
    client = app.test_client()
    assert login(client, who).status_code == 302
    queue = client.get("/admin/reports/?lang=en").get_data(as_text=True)
    detail = client.get(f"/admin/reports/{report.id}?lang=en")
    if who in SEES[kind]:
        assert f'/admin/reports/{report.id}"' in queue
        assert detail.status_code == 200
    else:
        assert f'/admin/reports/{report.id}"' not in queue
        assert detail.status_code == 404


def test_both_officials_can_update_a_report_bought_in_another_county(app):
    make_users()
    report = file_report("bought elsewhere")
    for who, status in (("editor_b", "investigating"), ("editor_a", "closed")):
        client = app.test_client()
        login(client, who)
        url = f"/admin/reports/{report.id}"
        response = client.post(
            url, data={"csrf_token": csrf_token(client, url), "status": status, "note": who}
        )
        assert response.status_code == 302, who
        db.session.refresh(report)
        assert report.report_status.value == status and report.official_note == who


def test_queue_and_detail_name_both_counties(app):
    make_users()
    report = file_report("bought elsewhere")
    client = app.test_client()
    login(client, "reviewer")
    queue = client.get("/admin/reports/?lang=en").get_data(as_text=True)
    assert "County bought in" in queue and "Home county" in queue
    row = re.search(rf'/admin/reports/{report.id}".*?</tr>', queue, re.S).group(0)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[1:4] == ["Wenchang Chicken", "Sanya", "Wenchang"]  # product, bought in, home
    detail = client.get(f"/admin/reports/{report.id}?lang=en").get_data(as_text=True)
    assert re.search(r"County bought in</dt><dd>Sanya", detail)
    assert re.search(r"Home county</dt><dd>Wenchang", detail)


# --- the form says which county is which ----------------------------------------------------

HOME_LINE = re.compile(r'<p class="home-county" id="home-county"( hidden)?>(.*?)</p>', re.S)


@pytest.mark.parametrize(
    "lang, query, shown",
    [
        (
            "en",
            "?product=wenchang-chicken",
            'The product\'s home county: <output for="product">Wenchang',
        ),
        ("zh", "?product=wenchang-chicken", '该产品的产地市县： <output for="product">文昌'),
        ("en", "?product=sanya-mango", 'The product\'s home county: <output for="product">Sanya'),
        ("en", "", None),
        ("en", "?product=no-such-product", None),
    ],
)
def test_form_shows_the_home_county_read_only_once_a_product_is_chosen(client, lang, query, shown):
    sep = "&" if query else "?"
    page = client.get(f"/report{query}{sep}lang={lang}").get_data(as_text=True)
    hidden, line = HOME_LINE.search(page).groups()
    if shown is None:
        assert hidden and "<output" in line and "Wenchang" not in line
    else:
        assert not hidden and shown in line
    # The county select asks where it was bought, in a group that says so.
    where = "Where did you buy it?" if lang == "en" else "您在哪里购买的？"
    assert re.search(
        rf"<legend>{re.escape(where)}</legend>\s*<p class=\"field\">\s*<label for=\"county\"", page
    )


def test_every_product_choice_carries_its_home_county_for_the_script(client):
    page = client.get("/report?lang=en").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="product".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option ([^>]*)>([^<]*)</option>", select_html)
    with_county = {label: attrs for attrs, label in options if "data-home-county" in attrs}
    assert 'data-home-county="Wenchang"' in with_county["Wenchang Chicken"]
    assert 'data-home-county="Sanya"' in with_county["Sanya Mango"]
    assert "/static/js/report.js" in page
    script = Path(__file__).resolve().parents[1] / "static" / "js" / "report.js"
    assert "data-home-county" in script.read_text(encoding="utf-8")


def test_a_post_keeps_the_home_county_shown_and_stores_both(app, client):
    app.config["WTF_CSRF_ENABLED"] = False
    mango, wenchang = product("sanya-mango"), county("wenchang")
    data = {
        "product": str(mango.id),
        "county": str(wenchang.id),
        "where_bought": "",
        "description": "x",
    }
    again = client.post("/report?lang=en", data=data)
    assert again.status_code == 400  # where_bought missing: the form again, home county shown
    assert 'The product\'s home county: <output for="product">Sanya' in again.get_data(as_text=True)
    data["where_bought"] = "Wenchang night market"
    assert client.post("/report", data=data).status_code == 303
    stored = db.session.scalar(select(CounterfeitReport))
    assert (stored.county.slug, stored.home_county.slug) == ("wenchang", "sanya")


# --- the migration fills the home county of existing reports ---------------------------------


def test_migration_backfills_the_home_county_from_the_product():
    """The statement migration 0011 runs on existing reports (rows as they were: a county,
    no home county), on this test's database backend."""
    path = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    spec = importlib.util.spec_from_file_location(
        "m0011", path / "0011_report_home_county_and_cues.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    chicken, mango, haikou = product("wenchang-chicken"), product("sanya-mango"), county("haikou")
    before = [
        CounterfeitReport(product=chicken, county=haikou, where_bought="x", description="y"),
        CounterfeitReport(product=mango, where_bought="x", description="y"),
        CounterfeitReport(county=haikou, where_bought="x", description="y"),
    ]
    db.session.add_all(before)
    db.session.commit()
    db.session.execute(text(migration.BACKFILL_HOME_COUNTY))
    db.session.commit()
    db.session.expire_all()
    rows = db.session.scalars(select(CounterfeitReport).order_by(CounterfeitReport.id)).all()
    assert [(r.county.slug if r.county else None) for r in rows] == ["haikou", None, "haikou"]
    assert [(r.home_county.slug if r.home_county else None) for r in rows] == [
        "wenchang",
        "sanya",
        None,
    ]
