"""The six listing forms (products, GI signs, brands, enterprises, authorizations, industry
facts) and the comment a reviewer returns a listing with. Field limits come from the model
columns; choices are limited to what the user may pick."""

from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import Label
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.admin.fields import (
    REQUIRED,
    TOO_LONG,
    MultiCheckbox,
    RequiredSelect,
    enum_choices,
    limit,
    slug_format,
    text_validators,
)
from app.collation import by_name, name_key
from app.db import db
from app.forms import BaseForm
from app.i18n import current_lang
from app.labels import AUTH_STATUS_LABELS, BRAND_KIND_LABELS, REGIME_LABELS, SIGN_STATUS_LABELS
from app.models import Brand, Category, County, Enterprise, GISign, IndustryFact, Product
from app.models.enterprises import is_valid_credit_code, normalize_credit_code
from app.services import access
from app.services.listings import AREA, KINDS
from app.text_input import CodeKind, normalize_code


def text(model, name: str, required: bool = False, **kwargs):
    """A text field of a listing: its length from the model column, several lines when the
    kind declares the field an AREA."""
    kind = next(k for k in KINDS.values() if k.model is model)
    field_class = TextAreaField if kind.field(name).widget == AREA else StringField
    return field_class(validators=text_validators(model, name, required), **kwargs)


def bilingual(model, stem: str, required: bool = False):
    """The Chinese and English text fields of a bilingual pair (`stem`_zh, `stem`_en), in
    that order; only the Chinese one may be required (the catalogue's first language)."""
    return text(model, f"{stem}_zh", required=required), text(model, f"{stem}_en")


def web_address(_form, field) -> None:
    """Only http(s) links: a javascript: or data: URL in a website field would run code."""
    if not field.data:
        return
    parts = urlsplit(field.data.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(_("Enter a web address starting with http:// or https://."))


def reference_number(value):
    """Filter for announcement, trademark and authorization numbers: the canonical form
    (app/text_input.py), so the same number pasted from anywhere is stored alike."""
    return normalize_code(value, CodeKind.REFERENCE) if isinstance(value, str) else value


def credit_code(_form, field) -> None:
    if field.data and not is_valid_credit_code(field.data):
        raise ValidationError(
            _("This is not a valid unified social credit code (18 characters, check digit).")
        )


def whole_number(model, name: str, required: bool = False):
    """A whole-number field within the bounds its kind declares (ListingField.bounds), the
    same bounds bulk files are checked against."""
    kind = next(k for k in KINDS.values() if k.model is model)
    low, high = kind.field(name).bounds or (None, None)
    return IntegerField(
        validators=[
            InputRequired(message=REQUIRED) if required else Optional(),
            NumberRange(
                min=low, max=high, message=_l("Enter a number between %(min)s and %(max)s.")
            ),
        ],
    )


def optional_decimal():
    return DecimalField(
        places=None,
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=Decimal("999999999999.99"),
                message=_l("Enter a number between %(min)s and %(max)s."),
            ),
        ],
    )


def _name(obj, field: str = "name") -> str:
    return obj.text(field, current_lang())


def _plain(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class ListingForm(BaseForm):
    """Base of the six listing forms: the rows follow the kind's declared fields (a bilingual
    pair is shown side by side); `values()` gives the plain values the listing services take."""

    version = HiddenField()
    kind_key = ""

    def setup(self, user) -> None:
        """Fill choices for this user; reviewer-only fields are dropped for editors. Labels
        come from the kind's field declarations."""
        kind = KINDS[self.kind_key]
        if not user.can_review:
            for name in kind.reviewer_only:
                delattr(self, name)
        for declared in kind.fields:
            if declared.name in self._fields:
                field = self._fields[declared.name]
                field.label = Label(field.id, declared.label)

    def values(self) -> dict:
        kind = KINDS[self.kind_key]
        data = {}
        for name in kind.names:
            if name in self._fields:
                data[name] = _plain(self._fields[name].data)
        return data

    def rows(self):
        for row in KINDS[self.kind_key].form_layout:
            names = row if isinstance(row, tuple) else (row,)
            present = [self._fields[n] for n in names if n in self._fields]
            if present:
                yield present


def _accessible(user, kind_key: str, stmt):
    clause = access.scope_clause(user, KINDS[kind_key])
    return stmt.where(clause) if clause is not None else stmt


# Choices are in the reader's name order (app/collation.py), as every list people read.


def _named_choices(rows) -> list[tuple[int, str]]:
    return [(row.id, _name(row)) for row in by_name(rows, current_lang())]


def product_choices(user) -> list[tuple[int, str]]:
    stmt = _accessible(user, "products", select(Product).order_by(Product.id))
    return _named_choices(db.session.scalars(stmt))


def county_choices(user) -> list[tuple[int, str]]:
    counties = db.session.scalars(select(County).order_by(County.sort_order))
    return _named_choices(c for c in counties if user.can_review or c.id in user.county_ids)


def enterprise_choices(user) -> list[tuple[int, str]]:
    stmt = _accessible(user, "enterprises", select(Enterprise).order_by(Enterprise.id))
    return _named_choices(db.session.scalars(stmt))


class ProductForm(ListingForm):
    kind_key = "products"
    slug = StringField(
        validators=[
            Optional(),
            limit(Product, "slug"),
            slug_format(),
        ],
    )
    name_zh, name_en = bilingual(Product, "name", required=True)
    category_id = RequiredSelect(coerce=int)
    county_ids = MultiCheckbox(coerce=int)
    province_wide = BooleanField()
    featured = BooleanField()
    summary_zh, summary_en = bilingual(Product, "summary")
    description_zh, description_en = bilingual(Product, "description")
    characteristics_zh, characteristics_en = bilingual(Product, "characteristics")
    season_months = MultiCheckbox(coerce=int)
    cue_packaging_zh, cue_packaging_en = bilingual(Product, "cue_packaging")
    cue_mark_zh, cue_mark_en = bilingual(Product, "cue_mark")
    cue_number_zh, cue_number_en = bilingual(Product, "cue_number")
    cues_demo = BooleanField()

    def setup(self, user) -> None:
        super().setup(user)
        categories = db.session.scalars(select(Category).order_by(Category.sort_order))
        self.category_id.choices = _named_choices(categories)
        self.county_ids.choices = county_choices(user)
        from app.templating import month_names

        self.season_months.choices = list(enumerate(month_names(), start=1))


class SignForm(ListingForm):
    kind_key = "signs"
    product_id = RequiredSelect(coerce=int)
    regime = RequiredSelect(choices=[])
    official_name_zh, official_name_en = bilingual(GISign, "official_name", required=True)
    number = text(GISign, "number", filters=[reference_number])
    approval_year = whole_number(GISign, "approval_year")
    approval_month = whole_number(GISign, "approval_month")
    approval_day = whole_number(GISign, "approval_day")
    approval_note = text(GISign, "approval_note")
    issuing_body_zh, issuing_body_en = bilingual(GISign, "issuing_body")
    holder_zh, holder_en = bilingual(GISign, "holder")
    protected_area_zh, protected_area_en = bilingual(GISign, "protected_area")
    protected_county_ids = MultiCheckbox(coerce=int)
    standard = text(GISign, "standard")
    nice_classes = text(GISign, "nice_classes")
    sign_status = SelectField(choices=[])
    source = text(GISign, "source")
    source_url = StringField(
        validators=[Optional(), Length(max=500, message=TOO_LONG), web_address]
    )
    notes = text(GISign, "notes")
    verified = BooleanField()

    def setup(self, user) -> None:
        super().setup(user)
        self.product_id.choices = product_choices(user)
        self.regime.choices = enum_choices(REGIME_LABELS)
        self.sign_status.choices = enum_choices(SIGN_STATUS_LABELS)
        self.protected_county_ids.choices = county_choices(user)


class BrandForm(ListingForm):
    kind_key = "brands"
    slug = ProductForm.slug
    name_zh, name_en = bilingual(Brand, "name", required=True)
    registration_number = text(Brand, "registration_number", filters=[reference_number])
    nice_class = whole_number(Brand, "nice_class")
    kind = RequiredSelect(choices=[])
    owner_id = SelectField(coerce=lambda v: int(v) if v not in (None, "", "None") else None)
    holder_zh, holder_en = bilingual(Brand, "holder")
    description_zh, description_en = bilingual(Brand, "description")
    product_ids = MultiCheckbox(coerce=int)

    def setup(self, user) -> None:
        super().setup(user)
        self.kind.choices = enum_choices(BRAND_KIND_LABELS)
        self.owner_id.choices = [(None, _("(none)"))] + enterprise_choices(user)
        self.product_ids.choices = product_choices(user)


class EnterpriseForm(ListingForm):
    kind_key = "enterprises"
    slug = ProductForm.slug
    name_zh, name_en = bilingual(Enterprise, "name", required=True)
    credit_code = StringField(
        validators=[DataRequired(message=REQUIRED), Length(max=24, message=TOO_LONG), credit_code],
        filters=[lambda v: normalize_credit_code(v) if v else v],
    )
    county_id = RequiredSelect(coerce=int)
    address_zh, address_en = bilingual(Enterprise, "address")
    phone = text(Enterprise, "phone")
    email = text(Enterprise, "email")
    website = StringField(validators=[Optional(), limit(Enterprise, "website"), web_address])
    description_zh, description_en = bilingual(Enterprise, "description")

    def setup(self, user) -> None:
        super().setup(user)
        self.county_id.choices = county_choices(user)


class AuthorizationForm(ListingForm):
    kind_key = "authorizations"
    enterprise_id = RequiredSelect(coerce=int)
    sign_id = RequiredSelect(coerce=int)
    number = StringField(
        validators=[Optional(), Length(max=128, message=TOO_LONG)], filters=[reference_number]
    )
    valid_from = DateField(validators=[Optional()])
    valid_to = DateField(validators=[Optional()])
    auth_status = SelectField(choices=[])

    def setup(self, user) -> None:
        super().setup(user)
        self.enterprise_id.choices = enterprise_choices(user)
        signs = sorted(
            db.session.scalars(select(GISign).order_by(GISign.id)),
            key=lambda s: name_key(s.official_name_zh, s.official_name_en, current_lang()),
        )
        self.sign_id.choices = [(s.id, _name(s, "official_name")) for s in signs]
        self.auth_status.choices = enum_choices(AUTH_STATUS_LABELS)

    def validate_valid_to(self, field) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_("The end date is before the start date."))


class IndustryFactForm(ListingForm):
    kind_key = "industry-facts"
    product_id = RequiredSelect(coerce=int)
    year = whole_number(IndustryFact, "year", required=True)
    planted_area_mu = optional_decimal()
    herd_size = whole_number(IndustryFact, "herd_size")
    output_tonnes = optional_decimal()
    output_value_cny_10k = optional_decimal()
    employment = whole_number(IndustryFact, "employment")
    enterprises_count = whole_number(IndustryFact, "enterprises_count")
    source = TextAreaField(
        validators=[DataRequired(message=REQUIRED), Length(max=2000, message=TOO_LONG)]
    )
    source_url = StringField(
        validators=[Optional(), Length(max=500, message=TOO_LONG), web_address]
    )

    def setup(self, user) -> None:
        super().setup(user)
        self.product_id.choices = product_choices(user)


FORMS = {
    form.kind_key: form
    for form in (
        ProductForm,
        SignForm,
        BrandForm,
        EnterpriseForm,
        AuthorizationForm,
        IndustryFactForm,
    )
}


class ReturnForm(BaseForm):
    comment = TextAreaField(
        _l("What needs to change"),
        validators=[DataRequired(message=REQUIRED), Length(max=4000, message=TOO_LONG)],
    )
