"""Jinja helpers shared by every template."""

from collections.abc import Sequence
from urllib.parse import urlencode

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from app.i18n import current_lang
from app.labels import label
from app.media.illustrations import illustration_for
from app.models.industry import IndustryFact
from app.public.industry import IndustryTable, industry_table
from app.public.structured_data import brand_jsonld, enterprise_jsonld, product_jsonld


def query_with(**changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    args = request.args.to_dict()
    if "page" not in changes and any(k != "lang" for k in changes):
        args.pop("page", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    return urlencode(args)


def site_chrome(part: str) -> Markup:
    """The site's header or footer (templates/_partials/site_<part>.html) as rendered the
    first time in this app for the page's language and the script root it is served
    under: the same on every page, and rendering it each time cost more than a search
    page's results (url_for and gettext for each link)."""
    key = (part, current_lang(), request.script_root)
    kept = current_app.extensions.setdefault("site_chrome", {})
    found = kept.get(key)
    if found is None:
        found = kept[key] = Markup(render_template(f"_partials/site_{part}.html"))
    return found


def site_name() -> str:
    key = "SITE_NAME_EN" if current_lang() == "en" else "SITE_NAME_ZH"
    return current_app.config[key]


def month_names() -> list[str]:
    return [
        _("January"),
        _("February"),
        _("March"),
        _("April"),
        _("May"),
        _("June"),
        _("July"),
        _("August"),
        _("September"),
        _("October"),
        _("November"),
        _("December"),
    ]


def month_short() -> list[str]:
    if current_lang() == "zh":
        return [str(m) for m in range(1, 13)]
    return ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]


def industry_of(facts: Sequence[IndustryFact]) -> IndustryTable:
    """The product page's industry table in the page's language (the public page and a
    reviewer's preview render the same template, so the template asks for it)."""
    return industry_table(facts, current_lang())


def init_app(app: Flask) -> None:
    helpers = (
        query_with,
        site_chrome,
        site_name,
        month_names,
        month_short,
        product_jsonld,
        brand_jsonld,
        enterprise_jsonld,
        illustration_for,
        industry_of,
    )
    app.jinja_env.globals.update({helper.__name__: helper for helper in helpers})
    app.jinja_env.filters["label"] = label
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
