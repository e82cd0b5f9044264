"""Critical CSS inlined into the lean pages (passport), allowed by a CSP hash source rather
than 'unsafe-inline': only this exact stylesheet can run inline."""

import base64
import functools
import hashlib
from pathlib import Path

from markupsafe import Markup

from app.security import CONTENT_SECURITY_POLICY

CSS_DIR = Path(__file__).resolve().parents[2] / "templates" / "qr"


@functools.cache
def inline_css(name: str) -> tuple[Markup, str]:
    """(the stylesheet's text, its CSP source 'sha256-…')."""
    css = (CSS_DIR / name).read_text(encoding="utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"


def csp_allowing(source: str) -> str:
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", f"style-src 'self' {source}")
