"""All models, imported here so Alembic and the app see the whole metadata."""

from app.models.audit import AuditEntry
from app.models.brands import Brand, BrandKind, brand_products
from app.models.enterprises import Authorization, AuthorizationStatus, Enterprise
from app.models.expos import Booth, ExpoEvent, SavedList
from app.models.industry import IndustryFact
from app.models.listing import PublicationStatus
from app.models.media import ProductImage
from app.models.partial_date import PartialDate
from app.models.places import County, Province
from app.models.products import Category, Product, product_counties
from app.models.qr import CodeTarget, ScanCount, ScanKind, ShortCode
from app.models.reports import CounterfeitReport, ReportStatus
from app.models.revisions import ListingRevision, ReviewNote, RevisionState
from app.models.signs import GISign, ProtectionAbroad, Regime, SignStatus, sign_counties
from app.models.site import CatalogueGeneration
from app.models.synonyms import SynonymGroup
from app.models.users import Role, User, user_counties

__all__ = [
    "AuditEntry",
    "ListingRevision",
    "ReviewNote",
    "RevisionState",
    "Role",
    "user_counties",
    "Authorization",
    "AuthorizationStatus",
    "Booth",
    "Brand",
    "BrandKind",
    "CatalogueGeneration",
    "Category",
    "CodeTarget",
    "CounterfeitReport",
    "County",
    "Enterprise",
    "ExpoEvent",
    "GISign",
    "ProtectionAbroad",
    "IndustryFact",
    "PartialDate",
    "Product",
    "ProductImage",
    "Province",
    "PublicationStatus",
    "Regime",
    "ReportStatus",
    "SavedList",
    "ScanCount",
    "ScanKind",
    "ShortCode",
    "SynonymGroup",
    "SignStatus",
    "User",
    "brand_products",
    "product_counties",
    "sign_counties",
]
