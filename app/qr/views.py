"""Thin views for the QR side of the site. The passport is the hottest page: it is served
from the per-process response cache (app/caching) and counts the scan in memory
(services/scans), on every answer, the middleware's included."""

import hashlib
from datetime import date
from typing import cast

from flask import Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.caching.routes import CachedRoute, WithExtra, cacheable, cached_response
from app.caching.store import CacheEntry
from app.conditional import conditional
from app.i18n import current_lang
from app.qr import bp
from app.qr.images import qr_png, qr_svg
from app.qr.inline_css import csp_allowing, inline_css
from app.services import catalogue, codes, scans
from app.services.passport import Outcome, passport_for
from app.text_input import clean_text, strip_wrapping

MAX_TOKEN = 24  # "ABCD1234.png" with room for dashes; anything longer is not a code
IMAGE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _lean(template: str, **context) -> str:
    css, _source = inline_css("passport.css")
    return render_template(template, css=css, **context)


def _lean_response(body, status: int = 200):
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp_allowing(inline_css("passport.css")[1])
    response.headers["Content-Language"] = "zh-Hans" if current_lang() == "zh" else "en"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _code_problem_page(token: str, heading: str, explanation: str, status: int, counties=()):
    body = _lean(
        "qr/code_problem.html",
        heading=heading,
        explanation=explanation,
        typed=token[:MAX_TOKEN],
        counties=counties,
    )
    return _lean_response(body, status)


def _not_a_code(token: str, problem: str):
    if problem == codes.CodeProblem.CHECK:
        explanation = _(
            "The last character of this code does not match the others, so one character "
            "was probably mistyped. Compare it with the 8 characters printed under the QR "
            "code (0 and O, 1 and I are the same)."
        )
    else:
        explanation = _(
            "A code has 8 letters and digits, printed under the QR code on the label or poster."
        )
    return _code_problem_page(token, _("This code is not valid"), explanation, 404)


@bp.get("/q/")
def lookup():
    """The typed-code form: normalise and go to the passport."""
    typed = request.args.get("code", "")[:MAX_TOKEN]
    code = codes.normalize(typed)
    problem = codes.code_problem(code)
    if problem:
        return _not_a_code(typed, problem)
    return redirect(url_for("qr.landing", token=code))


def canonical_token(token: str) -> tuple[str, str, str | None]:
    """(code, image suffix or "", problem) for what followed /q/: a code as printed, typed
    or added to by a scanner app ("abcd-efgh", "ABCD EFGH", "ABCD1234/", "ABCD1234。",
    "ＡＢＣＤ１２３４", I/L/O for 1/1/0), optionally with ".svg" or ".png". A problem
    (codes.CodeProblem) means it is not a code; a slash or dot inside never is."""
    text = strip_wrapping(clean_text(token))
    stem, dot, suffix = text.rpartition(".")
    if dot and suffix.lower() in IMAGE_TYPES:
        text, suffix = stem, suffix.lower()
    else:
        suffix = ""
    code = codes.normalize(text)
    return code, suffix, codes.code_problem(code)


def _to_canonical(code: str, suffix: str):
    """A permanent redirect to the canonical address on this site: a relative Location
    (never built from the Host header), the query string kept. Only the canonical request
    counts a scan."""
    location = url_for("qr.landing", token=f"{code}.{suffix}" if suffix else code)
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    return redirect(location, code=301)


class CountScan:
    """The passport's hook: every answer of a cached passport counts one scan."""

    def ready(self, config: dict) -> bool:
        # Written through (SCAN_FLUSH_SECONDS = 0, tests), a scan needs Flask's app context.
        return config.get("SCAN_FLUSH_SECONDS", 1.0) > 0

    def answered(self, app: Flask, entry: CacheEntry, environ: dict, today: date) -> None:
        code, event_id = cast(tuple[str, int], entry.extra)
        kind = scans.classify(environ["REQUEST_METHOD"], environ.get("HTTP_USER_AGENT"))
        scans.record_scan(app, code, today, event_id, kind)


# Browsers may keep a passport briefly; shared caches revalidate, so scans still arrive. A
# withdrawn listing's 410 page is kept too (and counted), never answered by the middleware.
PASSPORT = CachedRoute(
    "passport",
    vary=("Accept-Language", "Cookie"),
    shared_max_age=0,
    statuses=frozenset({200, 410}),
    hook=CountScan(),
)


@bp.route("/q/<typed_code:token>", methods=["GET", "HEAD"])
@cacheable(PASSPORT)
def landing(token: str):
    if len(token) > MAX_TOKEN * 2:
        return _not_a_code(token, codes.CodeProblem.SHAPE)
    code, suffix, problem = canonical_token(token)
    if problem:
        return _not_a_code(token, problem)
    if token != (f"{code}.{suffix}" if suffix else code):
        return _to_canonical(code, suffix)
    if suffix:
        return qr_image(code, suffix)
    return cached_response(PASSPORT, lambda: _render_passport(code))


@bp.route("/Q/<typed_code:token>", methods=["GET", "HEAD"])
def landing_upper_case(token: str):
    """The printed address typed from a label in capitals ("GI.EXAMPLE.CN/Q/ABCD1234", caps
    lock, or a phone capitalising the first letter of each segment): the path is case-
    sensitive, so send it on to the canonical /q/ address. Never counts a scan."""
    if len(token) > MAX_TOKEN * 2:
        return _not_a_code(token, codes.CodeProblem.SHAPE)
    code, suffix, problem = canonical_token(token)
    if problem:
        return _not_a_code(token, problem)
    return _to_canonical(code, suffix)


def _render_passport(code: str):
    today = catalogue.local_today()
    passport = passport_for(code, today, current_lang())
    if passport.outcome == Outcome.UNKNOWN:
        return _code_problem_page(
            code,
            _("Code not found"),
            _(
                "No listing in the catalogue has this code. Check the 8 characters under the "
                "QR code; if they match, the label may not be genuine."
            ),
            404,
        )
    if passport.outcome == Outcome.WITHDRAWN:
        body = _lean(
            "qr/code_problem.html",
            heading=_("No longer listed"),
            explanation=_(
                "This listing has been withdrawn from the catalogue. Its county's "
                "other GI products are still listed."
            ),
            typed=code,
            counties=passport.counties,
        )
        status = 410
    else:
        body = _lean("qr/passport.html", p=passport, today=today)
        status = 200
    return WithExtra(_lean_response(body, status), (code, passport.event_id))


def qr_image(token: str, fmt: str):
    code = codes.normalize(token)
    if codes.code_problem(code) or codes.find_code(code) is None:
        abort(404)
    url = codes.short_url(current_app.config["SITE_BASE_URL"], code)
    body: str | bytes
    if fmt == "svg":
        body = qr_svg(url)
    else:
        body = qr_png(url)
    response = current_app.response_class(body, mimetype=IMAGE_TYPES[fmt])
    # A code and the site's address never change, so neither does its image.
    response.cache_control.public = True
    response.cache_control.max_age = 86400 * 30
    response.set_etag(
        hashlib.blake2b(
            body if isinstance(body, bytes) else body.encode(), digest_size=8
        ).hexdigest()
    )
    if fmt == "svg":
        response.headers["Content-Security-Policy"] = "default-src 'none'"
    return conditional(response)
