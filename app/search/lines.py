"""What the search page shows, made in Python so the template only prints it: one
ResultLine per hit (title, link, kind, a sign's regime and number, places, thumbnail,
snippet in the page's language), the facet links, and the active filters as chips that
each drop one filter. Runs in a request (url_for, the page's language)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

from flask import request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.labels import label
from app.search import highlight
from app.search.documents import SNIPPET_FIELDS, TITLE_FIELDS
from app.search.results import FACETS, FacetValue, Hit, SearchFilters
from app.search.thumbnails import PictureTable, Thumbnail

SNIPPET_WIDTH = 120  # characters
# BCP 47 tags for lang attributes, by the app's language codes.
LANG_TAGS = {"zh": "zh-Hans", "en": "en"}


@dataclass(frozen=True)
class ResultLine:
    """One result as shown. `detail`: a sign's regime and number (a sign and its product
    of the same name are told apart by kind, regime and number), else its places.
    `other_lang`, `snippet_lang`: a BCP 47 tag when that text is not in the page's
    language. `thumbnail` None: a tile with `initial` (a county)."""

    kind: str
    kind_label: str
    title: str
    href: str
    other_name: str | None
    other_lang: str
    detail: str
    thumbnail: Thumbnail | None
    thumbnail_alt: str
    initial: str
    snippet: Markup | None
    snippet_lang: str | None


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    href: str  # the query string: this value chosen, or (selected) this facet dropped
    selected: bool


@dataclass(frozen=True)
class FacetGroup:
    name: str
    title: str
    links: list[FacetLink]


@dataclass(frozen=True)
class FilterChip:
    """An active filter; `href` (a query string) drops it and keeps the query and the
    other filters."""

    title: str
    label: str
    href: str


def facet_titles() -> dict[str, str]:
    return {
        "kind": _("Type"),
        "county": _("County"),
        "category": _("Category"),
        "regime": _("Regime"),
    }


# --- result lines ---------------------------------------------------------------------


class _Links:
    """Result links by kind: url_for once per endpoint and page, the slug put in its place
    (url_for costs as much per call as a whole result line's other work)."""

    def __init__(self) -> None:
        self._patterns: dict[str, tuple[str, str]] = {}

    def _pattern(self, endpoint: str, anchor: str | None) -> tuple[str, str]:
        key = f"{endpoint}#{anchor}"
        if key not in self._patterns:
            marker = "SLUG0MARKER"
            url = url_for(endpoint, slug=marker, _anchor=anchor)
            before, _marker, after = url.partition(marker)
            self._patterns[key] = (before, after)
        return self._patterns[key]

    def href(self, kind: str, obj) -> str:
        if kind == "sign":
            before, after = self._pattern("public.product", "sign")
            slug = obj.product.slug
        else:
            before, after = self._pattern(f"public.{kind}", None)
            slug = obj.slug
        return before + quote(slug, safe="") + after


def result_lines(hits: Iterable[Hit], lang: str, pictures: PictureTable) -> list[ResultLine]:
    """The page's hits as ResultLines in `lang` ("zh" or "en")."""
    links, kind_labels, alts = _Links(), {}, {}
    other = "zh" if lang == "en" else "en"
    lines = []
    for hit in hits:
        kind, obj = hit.key.kind, cast(Any, hit.obj)  # a row of the kind's model
        if kind not in kind_labels:
            kind_labels[kind] = label(kind, "SearchKind")
        field = TITLE_FIELDS.get(kind, "name")
        title = obj.text(field, lang)
        other_name = getattr(obj, f"{field}_{other}") or None
        snippet, snippet_lang = page_snippet(hit, lang)
        thumbnail = pictures.for_key(hit.key, obj)
        if thumbnail is not None and thumbnail not in alts:  # many hits share a drawing
            alts[thumbnail] = thumbnail_alt(thumbnail, lang)
        lines.append(
            ResultLine(
                kind=kind,
                kind_label=kind_labels[kind],
                title=title,
                href=links.href(kind, obj),
                other_name=other_name if other_name != title else None,
                other_lang=LANG_TAGS[other],
                detail=_detail(kind, obj, lang),
                thumbnail=thumbnail,
                thumbnail_alt=alts[thumbnail] if thumbnail is not None else "",
                initial=title[:1],
                snippet=snippet,
                snippet_lang=LANG_TAGS[snippet_lang] if snippet_lang != lang else None,
            )
        )
    return lines


def thumbnail_alt(thumbnail: Thumbnail, lang: str) -> str:
    """A photo's own description; for a drawing, what it shows, said to be a drawing."""
    if thumbnail.photo:
        return thumbnail.alt(lang)
    return _("Illustration: %(subject)s", subject=thumbnail.alt(lang))


def _detail(kind: str, obj, lang: str) -> str:
    if kind == "sign":
        regime = label(obj.regime)
        return f"{regime} · {obj.number}" if obj.number else regime
    if kind == "product":
        places = obj.counties
    elif kind == "enterprise":
        places = [obj.county]
    else:
        return ""
    return " · ".join(c.text("name", lang) for c in places)


def page_text(kind: str, obj, lang: str) -> tuple[str, str]:
    """(the row's snippet text, its language): its English fields on the English page
    when it has any, else its Chinese ones."""
    fields = SNIPPET_FIELDS[kind]
    if lang == "en":
        english = _joined(getattr(obj, f"{name}_en", None) for name in fields)
        if english:
            return english, "en"
    return _joined(getattr(obj, f"{name}_zh", None) for name in fields), "zh"


def _joined(parts: Iterable[str | None]) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def page_snippet(hit: Hit, lang: str) -> tuple[Markup | None, str]:
    """(snippet, its language) of a hit on a `lang` page: the stretch of its page-language
    text with the most query words, marked; when none of them is in it (a Chinese query
    on the English page), the text's opening."""
    body, body_lang = page_text(hit.key.kind, hit.obj, lang)
    if not body:
        return None, lang
    marked = highlight.snippet(body, hit.terms) if hit.terms else None
    return (marked if marked is not None else opening(body)), body_lang


def opening(body: str, width: int = SNIPPET_WIDTH) -> Markup:
    """The first `width` characters of a text, escaped; a Latin word is not cut in two."""
    if len(body) <= width:
        return escape(body)
    cut = body[:width]
    if body[width].isascii() and body[width].isalnum() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return escape(cut.rstrip()) + Markup("…")


# --- facets and chips -----------------------------------------------------------------


def _query_without(name: str) -> str:
    """The request's query string without `name` and `page` (a new filter starts at 1)."""
    args = request.args.to_dict()
    args.pop(name, None)
    args.pop("page", None)
    return urlencode(args)


def facet_groups(
    facets: dict[str, list[FacetValue]], name_of, titles: dict[str, str]
) -> list[FacetGroup]:
    """The facet values as links (`name_of(facet, value)`: a value's name on screen)."""
    groups = []
    for name in FACETS:
        values = facets.get(name)
        if not values:
            continue
        without = _query_without(name)
        joint = "&" if without else ""
        links = [
            FacetLink(
                name_of(name, f.value),
                f.count,
                without if f.selected else f"{without}{joint}{urlencode({name: f.value})}",
                f.selected,
            )
            for f in values
        ]
        groups.append(FacetGroup(name, titles[name], links))
    return groups


def filter_chips(filters: SearchFilters, name_of, titles: dict[str, str]) -> list[FilterChip]:
    return [
        FilterChip(titles[name], name_of(name, value), _query_without(name))
        for name, value in filters.active().items()
    ]
