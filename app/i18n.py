"""Language choice: ?lang= (remembered in a cookie), then the cookie, then Accept-Language."""
from http.cookies import CookieError, SimpleCookie

from flask import Flask, current_app, request
from flask_babel import get_locale, refresh
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    remembered = request.cookies.get(current_app.config["LANG_COOKIE"])
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


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
            best = parse_accept_header(header, LanguageAccept).best_match(self.languages)
            lang = best or self.default
            if len(self._by_header) < 1000:  # headers are few in practice; never unbounded
                self._by_header[header] = lang
        return lang


def current_lang() -> str:
    return str(get_locale())


def forget_previous_locale() -> None:
    """Flask-Babel caches the locale on `g`; an app context can outlive one request (the
    test client, CLI-driven requests), so choose afresh for every request."""
    refresh()


def remember_language(response):
    asked = request.args.get("lang")
    cookie = current_app.config["LANG_COOKIE"]
    if asked in current_app.config["LANGUAGES"] and request.cookies.get(cookie) != asked:
        response.set_cookie(cookie, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
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
    app.before_request(forget_previous_locale)
    app.after_request(remember_language)
    app.jinja_env.globals.update(lang=current_lang, bi=localized_html, tr=tr)
