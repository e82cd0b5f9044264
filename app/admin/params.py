"""Query-string parsing for back-office pages: an unusable value falls back to the default."""

from flask import request


def page_number() -> int:
    """The `page` parameter, 1 to 99,999; anything else is page 1."""
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else 1
