"""What each enum value is called on screen, declared once for the admin forms' choices, the
search facets and the templates (the `label` filter). Not the QR label sheets
(app/services/labels.py).

Each table is keyed by the enum's members; they are strings (StrEnum), so a table also
answers for the plain value ("valid") a form, a URL or a search facet carries."""

import enum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.models import AuthorizationStatus, BrandKind, PublicationStatus, Regime, SignStatus
from app.models.users import Role

Labels = dict[str, LazyString]

REGIME_LABELS: Labels = {
    Regime.CNIPA_GI_PRODUCT: _l("Protected GI product"),
    Regime.GI_TRADEMARK: _l("GI trademark"),
    Regime.AGRI_GI: _l("Agricultural-product GI"),
}
SIGN_STATUS_LABELS: Labels = {
    SignStatus.VALID: _l("Valid"),
    SignStatus.CHANGED: _l("Changed"),
    SignStatus.REVOKED: _l("Revoked"),
}
AUTH_STATUS_LABELS: Labels = {
    AuthorizationStatus.VALID: _l("Valid"),
    AuthorizationStatus.EXPIRED: _l("Expired"),
    AuthorizationStatus.REVOKED: _l("Revoked"),
}
BRAND_KIND_LABELS: Labels = {
    BrandKind.REGIONAL_PUBLIC: _l("Regional public brand"),
    BrandKind.ENTERPRISE: _l("Enterprise brand"),
    BrandKind.TIME_HONOURED: _l("Time-honoured brand"),
    BrandKind.WELL_KNOWN: _l("Well-known trademark"),
}
PUBLICATION_STATUS_LABELS: Labels = {
    PublicationStatus.DRAFT: _l("Draft"),
    PublicationStatus.SUBMITTED: _l("Submitted"),
    PublicationStatus.PUBLISHED: _l("Published"),
    PublicationStatus.ARCHIVED: _l("Archived"),
}
ROLE_LABELS: Labels = {
    Role.EDITOR: _l("Editor"),
    Role.REVIEWER: _l("Reviewer"),
    Role.ADMIN: _l("Administrator"),
}
# The kinds of search results (app.search.schema.KINDS): no enum, the index stores them.
SEARCH_KIND_LABELS: Labels = {
    "product": _l("Product"),
    "brand": _l("Brand"),
    "enterprise": _l("Enterprise"),
    "sign": _l("GI sign"),
    "county": _l("County"),
}
# The "How to recognise the genuine product" cues (app.models.products.GENUINE_CUES).
GENUINE_CUE_LABELS: Labels = {
    "cue_packaging": _l("Packaging"),
    "cue_mark": _l("The official GI mark"),
    "cue_number": _l("Where the authorization number is"),
}

# The audit log's actions (app.services.audit.ACTIONS), as the log page shows them.
AUDIT_ACTION_LABELS: Labels = {
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "create": _l("Created"),
    "update": _l("Edited"),
    "revise": _l("Edited (pending changes)"),
    "submit": _l("Submitted for review"),
    "publish": _l("Published"),
    "return": _l("Returned to the editors"),
    "archive": _l("Archived"),
    "restore": _l("Restored"),
    "password": _l("Password changed"),
    "user_create": _l("Account created"),
    "user_update": _l("Account changed"),
    "user_disable": _l("Account disabled"),
    "report_status": _l("Report status changed"),
    "expo_create": _l("Expo created"),
    "expo_update": _l("Expo changed"),
    "expo_delete": _l("Expo deleted"),
    "booth_create": _l("Booth created"),
    "booth_update": _l("Booth changed"),
    "booth_delete": _l("Booth deleted"),
    "photo_add": _l("Photo added"),
    "photo_alt": _l("Photo description changed"),
    "photo_order": _l("Photos reordered"),
    "photo_cover": _l("Cover photo chosen"),
    "photo_remove": _l("Photo removed"),
    "import": _l("Spreadsheet imported"),
    "synonym_create": _l("Search synonyms added"),
    "synonym_update": _l("Search synonyms changed"),
    "synonym_delete": _l("Search synonyms deleted"),
}

# Table name (the enum's class name) -> table; the `label` filter's second argument.
# Where a sign is protected abroad (ProtectionAbroad.jurisdiction): "EU" or ISO 3166-1
# alpha-2. A code missing here is shown as it is.
JURISDICTION_LABELS: Labels = {
    "EU": _l("European Union"),
}

TABLES: dict[str, Labels] = {
    "Regime": REGIME_LABELS,
    "SignStatus": SIGN_STATUS_LABELS,
    "AuthorizationStatus": AUTH_STATUS_LABELS,
    "BrandKind": BRAND_KIND_LABELS,
    "PublicationStatus": PUBLICATION_STATUS_LABELS,
    "Role": ROLE_LABELS,
    "SearchKind": SEARCH_KIND_LABELS,
    "AuditAction": AUDIT_ACTION_LABELS,
    "GenuineCue": GENUINE_CUE_LABELS,
    "Jurisdiction": JURISDICTION_LABELS,
}


def label(value: str, table: str | None = None) -> str:
    """The on-screen name of an enum member (`{{ sign.regime|label }}`), or of a plain value
    given its table's name (`{{ 'draft'|label('PublicationStatus') }}`), in the current
    language. A value the table lacks is shown as it is. KeyError for an unknown table."""
    name = table or (type(value).__name__ if isinstance(value, enum.Enum) else "")
    return str(TABLES[name].get(value, value))
