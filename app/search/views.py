"""/search (HTML) and /search/suggest (JSON for the search box's autocomplete). Not page
cached: results depend on the free-text query (an unbounded key space) and must show a
publish at once; the index answers in milliseconds anyway."""
import re

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app import params
from app.i18n import current_lang
from app.models import Regime
from app.search import service, text
from app.search.schema import KINDS

bp = Blueprint("search", __name__)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,95}$")


def _slug(name: str) -> str | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not _SLUG.match(raw):
        params.bad_parameter(name)
    return raw


def _filters() -> service.SearchFilters:
    regime = params.enum_value("regime", Regime)
    return service.SearchFilters(
        kind=params.choice("kind", ("", *KINDS), "") or None,
        county=_slug("county"),
        category=_slug("category"),
        regime=regime.value if regime else None,
    )


@bp.get("/search")
def search():
    query = text.clean_query(request.args.get("q"))
    if not query:
        return redirect(url_for("public.products"))
    results = service.search(query, _filters(), params.page_number(),
                             current_app.config["PER_PAGE"])
    places = service.related_places(query) if not results.hits else None
    return render_template("search/results.html", query=query, results=results,
                           filters=_filters(), places=places)


@bp.get("/search/suggest")
def suggest():
    lang = current_lang()
    items = []
    for found in service.suggest(request.args.get("q", "")):
        label = found.label
        name = (label["en"] or label["zh"]) if lang == "en" else label["zh"]
        items.append({"label": name, "kind": found.key.kind,
                      "url": service.url_for_key(found.key, label)})
    response = jsonify({"query": text.clean_query(request.args.get("q")), "suggestions": items})
    response.cache_control.max_age = 60
    response.cache_control.public = True
    response.vary.add("Accept-Language")
    return response


@bp.context_processor
def result_helpers():
    from app.i18n import current_lang as lang
    from app.services import catalogue

    labels: dict[str, dict] = {}

    def facet_label(name: str, value: str) -> str:
        if name == "kind":
            return {"product": _("Product"), "brand": _("Brand"), "enterprise": _("Enterprise"),
                    "sign": _("GI sign"), "county": _("County")}.get(value, value)
        if name == "regime":
            return {"cnipa_gi_product": _("Protected GI product"),
                    "gi_trademark": _("GI trademark"),
                    "agri_gi": _("Agricultural-product GI")}.get(value, value)
        if not labels:
            labels["county"] = {c.slug: c for c in catalogue.all_counties()}
            labels["category"] = {c.slug: c for c in catalogue.all_categories()}
        found = labels.get(name, {}).get(value)
        return found.text("name", lang()) if found else value

    def result_name(hit) -> str:
        field = "official_name" if hit.key.kind == "sign" else "name"
        return hit.obj.text(field, lang())

    def result_other_name(hit) -> str | None:
        field = "official_name" if hit.key.kind == "sign" else "name"
        other = getattr(hit.obj, f"{field}_zh" if lang() == "en" else f"{field}_en")
        return other if other and other != result_name(hit) else None

    def result_places(hit) -> str:
        obj = hit.obj
        if hit.key.kind == "product":
            places = obj.counties
        elif hit.key.kind == "enterprise":
            places = [obj.county]
        else:
            places = []
        return " · ".join(c.text("name", lang()) for c in places)

    return {"facet_label": facet_label, "result_url": service.url_for_hit,
            "result_name": result_name, "result_other_name": result_other_name,
            "result_places": result_places}
