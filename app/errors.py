"""Error pages per audience: bilingual HTML pages for the site, JSON for /api."""
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError


class BadInput(BadRequest):
    """A 400 whose message is safe and useful to show the visitor (already translated)."""

    def __init__(self, user_message: str) -> None:
        super().__init__()
        self.user_message = user_message


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def handle_http_error(error: HTTPException):
    code = error.code or 500
    if _wants_json():
        return jsonify(error={"code": code, "name": error.name, "message": error.description}), code
    template = f"errors/{code}.html" if code in (400, 404, 410, 413) else "errors/generic.html"
    message = getattr(error, "user_message", None)
    return render_template(template, code=code, message=message), code


def handle_csrf_error(_error: CSRFError):
    message = _(
        "The form has expired or was not sent from this site. "
        "Please go back, reload the page and try again."
    )
    return render_template("errors/400.html", code=400, message=message), 400


def handle_unexpected_error(error: Exception):
    return handle_http_error(InternalServerError(original_exception=error))


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
