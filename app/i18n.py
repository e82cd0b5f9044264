"""Language choice: ?lang= (remembered in a cookie), then the cookie, then Accept-Language;
and the URLs of a page's language versions (canonical, hreflang), built from SITE_BASE_URL."""

from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, urlencode

from babel import negotiate_locale
from flask import Flask, current_app, request, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.edge import LANGUAGE_ENVIRON

# Longer Accept-Language headers are cut before parsing: real browsers send under 200
# characters, and a megabyte of ranges must not cost a worker anything.
MAX_ACCEPT_LANGUAGE = 1024

# The hreflang value of each page language (BCP 47): the Chinese text is Simplified.
HREFLANG = {"zh": "zh-Hans", "en": "en"}


def negotiate_language(header: str | None, languages: Sequence[str], default: str) -> str:
    """The page language for an Accept-Language header: RFC 4647 "lookup" (section 3.4)
    over the ranges in q-value order (RFC 9110 section 12.5.4; ties keep the header's
    order), each range matched exactly or by its primary subtag (zh-Hant-TW, zh_CN -> zh)
    by Babel's negotiate_locale. A range with q=0 rules that language out; "*" stands for
    the default. Empty, malformed or unmatched headers get the default (or, when the
    visitor refused the default, the first language not refused).

    Shapes: header as sent (may be None/garbage); languages like ("zh", "en"); returns one
    of them. Never raises."""
    # Werkzeug puts "*" after every named range whatever its q; re-sort by q alone (stable).
    parsed = parse_accept_header((header or "")[:MAX_ACCEPT_LANGUAGE], LanguageAccept)
    ranges = sorted(parsed, key=lambda item: -item[1])
    refused = {tag.lower() for tag, q in ranges if q <= 0}
    allowed = [lang for lang in languages if lang.lower() not in refused]
    if default in allowed:
        fallback = default
    else:
        fallback = allowed[0] if allowed else default
    # Browsers and in-app webviews send "zh_CN" as well as "zh-CN"; Babel splits on "-".
    wanted = [fallback if tag == "*" else tag.replace("_", "-") for tag, q in ranges if q > 0]
    best = negotiate_locale(wanted, allowed, sep="-", aliases={})
    # Babel answers in the case the visitor used ("ZH"); name our own language instead.
    return next((lang for lang in allowed if best and lang.lower() == best.lower()), fallback)


def select_locale() -> str:
    """Flask-Babel's locale selector; the choice is also recorded in the WSGI environ, where
    app/edge.py compares it with the language nginx keys the page under."""
    lang = _choose_locale()
    request.environ[LANGUAGE_ENVIRON] = lang
    return lang


def _choose_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        return asked
    remembered = request.cookies.get(current_app.config["LANG_COOKIE"])
    if remembered is not None and remembered in languages:
        return remembered
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    return negotiate_language(request.headers.get("Accept-Language"), languages, default)


class EnvironLanguage:
    """The same choice as select_locale (cookie, then Accept-Language), made from a raw WSGI
    environ for the fast paths that answer cached pages before Flask runs. Callers handle
    ?lang= themselves (it also sets the cookie, so they leave it to Flask)."""

    def __init__(self, config) -> None:
        self.cookie = config["LANG_COOKIE"]
        self.languages = tuple(config["LANGUAGES"])
        self.default = config["BABEL_DEFAULT_LOCALE"]
        self._by_header: dict[str, str] = {}

    def __call__(self, environ) -> str:
        cookie_header = environ.get("HTTP_COOKIE")
        if cookie_header:
            try:
                morsel = SimpleCookie(cookie_header).get(self.cookie)
            except CookieError:
                morsel = None
            if morsel is not None and morsel.value in self.languages:
                return morsel.value
        header = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        lang = self._by_header.get(header)
        if lang is None:
            lang = negotiate_language(header, self.languages, self.default)
            if len(self._by_header) < 1000:  # headers are few in practice; never unbounded
                self._by_header[header] = lang
        return lang


def current_lang() -> str:
    return str(get_locale())


# Query parameters that choose what a public page shows (filters, sorting, page, search,
# a looked-up code). Anything else (utm_*, WeChat's from=, typos) is left out of canonical
# and alternate URLs, so a tracking link never becomes a duplicate page.
CONTENT_PARAMS = frozenset(
    (
        "category",
        "code",
        "county",
        "dir",
        "kind",
        "page",
        "product",
        "q",
        "regime",
        "sort",
        "status",
        "year",
    )
)


def _content_args() -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, value in request.args.items(multi=True)
        if key in CONTENT_PARAMS and not (key == "page" and value == "1")
    ]


def language_url(lang: str | None) -> str:
    """Absolute URL of the current page in `lang` ("zh"/"en": `?lang=` added to the page's
    own content parameters), or with lang=None the language-neutral URL that negotiates
    (x-default). Built from SITE_BASE_URL and the request path, never from Host or
    X-Forwarded-*; parameters outside CONTENT_PARAMS and page=1 are dropped."""
    args = _content_args()
    if lang:
        args.append(("lang", lang))
    query = urlencode(args)
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    return current_app.config["SITE_BASE_URL"] + path + (f"?{query}" if query else "")


def absolute_url(endpoint: str, **values) -> str:
    """SITE_BASE_URL + the endpoint's path: never the request's Host (a forged one would be
    cached and sent to every reader)."""
    return current_app.config["SITE_BASE_URL"] + url_for(endpoint, **values)


def canonical_url() -> str:
    """Every URL of the hreflang set names itself canonical: `?lang=zh` and `?lang=en` are
    the two language versions, the bare URL (which shows the negotiated language, with
    Vary: Accept-Language, Cookie) is the x-default, as Google's guidance for
    locale-adaptive pages asks. Naming a version from the bare URL would make the two
    cluster members contradict each other (Lighthouse: "points to another hreflang")."""
    asked = request.args.get("lang")
    return language_url(asked if asked in current_app.config["LANGUAGES"] else None)


def language_versions() -> list[tuple[str, str]]:
    """(hreflang, absolute URL) for every language version plus x-default: the same set on
    every version of a page and in the sitemap (Google's hreflang rules)."""
    versions = [(HREFLANG[lang], language_url(lang)) for lang in current_app.config["LANGUAGES"]]
    return versions + [("x-default", language_url(None))]


def remember_language(response):
    """Set the language cookie for ?lang=, and name what chose the language in Vary: every
    HTML answer (search results, error pages and the other uncached ones included) is
    written in the language that the cookie or Accept-Language picked, and a shared cache
    that stored it without Vary would replay one visitor's language to all (RFC 9110
    section 12.5.5)."""
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    asked = request.args.get("lang")
    cookie = current_app.config["LANG_COOKIE"]
    if asked in current_app.config["LANGUAGES"] and request.cookies.get(cookie) != asked:
        response.set_cookie(cookie, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        # A shared cache must not replay one visitor's cookie to others (RFC 9111 §3).
        response.cache_control.public = False
        response.cache_control.private = True
    return response


def localized_html(obj, field: str) -> Markup:
    """Bilingual text in the page language; Chinese standing in for missing English is marked
    with lang="zh" and a short note, so the English page is never blank."""
    lang = current_lang()
    text, fallback = obj.localized(field, lang)
    if not fallback:
        return escape(text)
    return Markup('<span lang="zh">{}</span> <small class="fallback-note">{}</small>').format(
        text, "(Chinese original; English text not yet available)"
    )


def tr(obj, field: str) -> str:
    """Plain-text bilingual field (titles, alt text, meta tags)."""
    return obj.text(field, current_lang())


def init_app(app: Flask) -> None:
    app.after_request(remember_language)
    app.jinja_env.globals.update(
        lang=current_lang,
        bi=localized_html,
        tr=tr,
        canonical_url=canonical_url,
        language_versions=language_versions,
        hreflang=HREFLANG,
    )
