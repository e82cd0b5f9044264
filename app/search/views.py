"""/search (HTML) and /search/suggest (JSON for the search box's autocomplete). Not page
cached: results depend on the free-text query (an unbounded key space) and must show a
publish at once; the index answers in milliseconds anyway."""

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from app import params
from app.caching.lru import LeastRecentlyUsed
from app.caching.store import response_cache
from app.collation import by_name
from app.i18n import current_lang
from app.labels import label
from app.models import Category, County, Regime
from app.search import lines, service, text, thumbnails
from app.search.documents import DocKey
from app.search.results import FacetValue, SearchFilters, SearchResults
from app.search.schema import KINDS
from app.services import catalogue, codes

bp = Blueprint("search", __name__)

# The named object of a (county or category, count) pair.
first = itemgetter(0)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,95}$")
# Facets whose values are named by a label table (app.labels); the others are places.
ENUM_FACETS = {"kind": "SearchKind", "regime": "Regime"}


def _slug(name: str) -> str | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not _SLUG.match(raw):
        params.bad_parameter(name)
    return raw


def _filters() -> SearchFilters:
    regime = params.enum_value("regime", Regime)
    return SearchFilters(
        kind=params.choice("kind", ("", *KINDS), "") or None,
        county=_slug("county"),
        category=_slug("category"),
        regime=regime.value if regime else None,
    )


# Result pages this process rendered, answered again while nothing they show changed:
# keyed by the request's query string as sent (its links keep the visitor's other
# parameters), the page language, the catalogue generation (names of places and categories,
# rows loaded from the database: as fresh as every cached page) and the index's
# answer_state (a publish applied to the index changes it at once).
# SEARCH_PAGE_CACHE_ENTRIES at most (0: off).
rendered_searches: LeastRecentlyUsed[Hashable, str] = LeastRecentlyUsed()


@bp.get("/search")
def search():
    query = text.clean_query(request.args.get("q"))
    if not query:
        return redirect(url_for("public.products"))
    short_code = codes.printed_code(query)
    if short_code is not None:  # typed from a label: its passport, not a search for it
        return redirect(url_for("qr.landing", token=short_code))
    filters, page = _filters(), params.page_number()  # bad input: 400 before anything
    limit = current_app.config["SEARCH_PAGE_CACHE_ENTRIES"]
    state = service.answer_state() if limit else None
    if state is None:
        return _results_page(query, filters, page)
    key = (
        request.query_string,
        current_lang(),
        response_cache.generation(),
        state,
    )
    found = rendered_searches.get(key)
    if found is None:
        found = _results_page(query, filters, page)
        rendered_searches.put(key, found, limit)
    return found


def _results_page(query: str, filters: SearchFilters, page: int) -> str:
    results = service.search(query, filters, page, current_app.config["PER_PAGE"])
    _places_in_name_order(results)
    places = related_places(query) if not results.hits else None
    lang, shown = current_lang(), page_catalogue()
    name_of, titles = facet_name(lang, shown.facet_names), lines.facet_titles()
    return render_template(
        "search/results.html",
        query=query,
        results=results,
        places=places,
        lines=lines.result_lines(results.hits, lang, shown.pictures),
        facets=lines.facet_groups(results.facets, name_of, titles) if results.total else [],
        chips=lines.filter_chips(filters, name_of, titles),
    )


@bp.get("/search/suggest")
def suggest():
    lang = current_lang()
    items = []
    for found in service.suggest(request.args.get("q", "")):
        label = found.label
        name = (label["en"] or label["zh"]) if lang == "en" else label["zh"]
        items.append({"label": name, "kind": found.key.kind, "url": url_for_key(found.key, label)})
    response = jsonify({"query": text.clean_query(request.args.get("q")), "suggestions": items})
    response.cache_control.max_age = 60
    response.cache_control.public = True
    response.vary.add("Accept-Language")
    return response


def url_for_key(key: DocKey, label: dict) -> str:
    """The public page a hit or suggestion opens (a sign: its product's page, at the sign)."""
    if key.kind == "sign":
        return url_for("public.product", slug=label["target"], _anchor="sign")
    endpoint = {
        "product": "public.product",
        "brand": "public.brand",
        "enterprise": "public.enterprise",
        "county": "public.county",
    }[key.kind]
    return url_for(endpoint, slug=label["slug"])


def related_places(query: str) -> dict:
    """For a search that found nothing: counties and categories whose names share a
    character or a word with the query, else all of them. Never a dead end.
    {"counties": [(county, count)], "categories": [(category, count)], "related": bool}."""
    lang = current_lang()
    counties = by_name(catalogue.counties_with_counts(), lang, first)
    categories = by_name(catalogue.categories_with_counts(), lang, first)
    lower = query.lower()

    def related(obj) -> bool:
        names = f"{obj.name_zh} {obj.name_en or ''} {getattr(obj, 'slug', '')}".lower()
        return any(ch in names for ch in lower if text.is_cjk(ch)) or any(
            len(w) > 2 and w in names for w in lower.split()
        )

    near_counties = [(c, n) for c, n in counties if related(c)]
    near_categories = [(c, n) for c, n in categories if related(c)]
    return {
        "counties": near_counties or counties,
        "categories": near_categories or categories,
        "related": bool(near_counties or near_categories),
    }


@dataclass(frozen=True)
class PageCatalogue:
    """What a results page shows besides its rows, read once per catalogue generation
    (app/caching/store.py) in one go (one generation check per page, not one per table):
    facet -> value -> language -> name of the place facets (county, category), their name
    order (facet -> language -> value -> rank), and each result's picture."""

    facet_names: dict[str, dict[str, dict[str, str]]]
    facet_order: dict[str, dict[str, dict[str, int]]]
    pictures: thumbnails.PictureTable


def page_catalogue() -> PageCatalogue:
    return response_cache.derived(
        "search page catalogue",
        lambda: PageCatalogue(
            _read_facet_names(), _read_facet_order(), thumbnails.read_picture_table()
        ),
    )


def _read_facet_names() -> dict[str, dict[str, dict[str, str]]]:
    languages = current_app.config["LANGUAGES"]

    def names(rows: Iterable[County | Category]) -> dict[str, dict[str, str]]:
        return {row.slug: {lang: row.text("name", lang) for lang in languages} for row in rows}

    return {
        "county": names(catalogue.all_counties()),
        "category": names(catalogue.all_categories()),
    }


def _read_facet_order() -> dict[str, dict[str, dict[str, int]]]:
    """facet -> language -> value -> its place in name order (app/collation.py) of the
    place facets."""

    def ranks(rows: Sequence[County | Category]) -> dict[str, dict[str, int]]:
        return {
            lang: {row.slug: rank for rank, row in enumerate(by_name(rows, lang))}
            for lang in current_app.config["LANGUAGES"]
        }

    return {
        "county": ranks(catalogue.all_counties()),
        "category": ranks(catalogue.all_categories()),
    }


def _places_in_name_order(results: SearchResults) -> None:
    """County and category facet values in the reader's name order, as every list of
    places: a visitor finds their county where they expect it, whatever its count."""
    lang = current_lang()
    for facet, ranks in page_catalogue().facet_order.items():
        order = ranks.get(lang, {})
        values = results.facets.get(facet)
        if values:
            values.sort(key=partial(_rank, order))


def _rank(order: dict[str, int], value: FacetValue) -> tuple[int, str]:
    return order.get(value.value, len(order)), value.value


def facet_name(lang: str, names: dict[str, dict[str, dict[str, str]]]):
    """(facet, value) -> the value's name on screen in `lang`: a label (kind, regime) or a
    place's name (county, category; `names` as PageCatalogue.facet_names)."""

    def name_of(name: str, value: str) -> str:
        if name in ENUM_FACETS:
            return label(value, ENUM_FACETS[name])
        found = names.get(name, {}).get(value)
        return found[lang] if found else value

    return name_of
