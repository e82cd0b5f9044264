"""Language choice: ?lang= (remembered in a cookie), then the cookie, then Accept-Language."""
from flask import Flask, current_app, request
from flask_babel import get_locale, refresh
from markupsafe import Markup, escape


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
