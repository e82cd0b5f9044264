"""Serving processed images: immutable, content-addressed, never user-named."""

import re

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("media", __name__, url_prefix="/media")

_RENDITION = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}-\d{2,4}\.(webp|jpg)$")


@bp.get("/<path:name>")
def rendition(name: str):
    if not _RENDITION.match(name):
        abort(404)
    response = send_from_directory(current_app.config["MEDIA_ROOT"], name, max_age=31536000)
    response.cache_control.immutable = True
    response.cache_control.public = True
    return response
