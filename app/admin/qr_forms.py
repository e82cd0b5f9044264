"""Forms of the QR, scans, reports and expo screens. Choices are limited to what the user
may pick, so a posted id outside their counties fails validation and changes nothing."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.admin.forms import REQUIRED, SLUG_RULE, TOO_LONG, MultiCheckbox, limit
from app.forms import BaseForm
from app.models import Booth, ExpoEvent, ReportStatus
from app.services.labels import LABEL_KINDS

REPORT_STATUS_LABELS = {
    ReportStatus.NEW: _l("New"),
    ReportStatus.INVESTIGATING: _l("Investigating"),
    ReportStatus.CLOSED: _l("Closed"),
}
MAX_SCAN_DAYS = 366


class LabelSheetForm(BaseForm):
    """Which listings go on the sheet: ticked ones, or every listing of a kind shown."""

    products = MultiCheckbox(_l("Products"), coerce=int)
    brands = MultiCheckbox(_l("Brands"), coerce=int)
    enterprises = MultiCheckbox(_l("Enterprises"), coerce=int)
    everything = MultiCheckbox(_l("Every listing of a kind"), choices=[
        ("products", _l("All products listed here")),
        ("brands", _l("All brands listed here")),
        ("enterprises", _l("All enterprises listed here")),
    ])

    def setup(self, printable: dict[str, list], title) -> None:
        for key in LABEL_KINDS:
            self[key].choices = [(obj.id, title(obj)) for obj in printable[key]]

    def chosen(self, printable: dict[str, list]) -> list:
        everything = set(self.everything.data or ())
        picked = []
        for key in LABEL_KINDS:
            wanted = set(self[key].data or ())
            picked += [o for o in printable[key] if key in everything or o.id in wanted]
        return picked


class ScanFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])
    event = SelectField(_l("Expo event"), choices=[], default="")

    def validate_end(self, field) -> None:
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end date is before the start date."))
            if (field.data - self.start.data).days >= MAX_SCAN_DAYS:
                raise ValidationError(
                    _l("Choose at most %(days)s days.", days=MAX_SCAN_DAYS)
                )


class ReportStatusForm(BaseForm):
    status = SelectField(_l("Status"), choices=[])
    note = TextAreaField(
        _l("Note for your colleagues (never public)"),
        validators=[Optional(), Length(max=4000, message=TOO_LONG)],
    )


def _text(model, name, label, required=False, area=False):
    validators = [DataRequired(message=REQUIRED) if required else Optional(),
                  limit(model, name)]
    return (TextAreaField if area else StringField)(label, validators=validators)


class EventForm(BaseForm):
    slug = StringField(_l("Address (slug)"), validators=[
        DataRequired(message=REQUIRED), limit(ExpoEvent, "slug"),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=SLUG_RULE),
    ])
    name_zh = _text(ExpoEvent, "name_zh", _l("Name (Chinese)"), required=True)
    name_en = _text(ExpoEvent, "name_en", _l("Name (English)"))
    venue_zh = _text(ExpoEvent, "venue_zh", _l("Venue (Chinese)"))
    venue_en = _text(ExpoEvent, "venue_en", _l("Venue (English)"))
    starts_on = DateField(_l("First day"), validators=[InputRequired(message=REQUIRED)])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(message=REQUIRED)])
    published = BooleanField(_l("Shown on the public site"), default=True)

    FIELDS = ("slug", "name_zh", "name_en", "venue_zh", "venue_en", "starts_on", "ends_on",
              "published")

    def values(self) -> dict:
        data = {name: self[name].data for name in self.FIELDS}
        for name in ("slug", "name_zh", "name_en", "venue_zh", "venue_en"):
            data[name] = (data[name] or "").strip() or (None if name.endswith("_en") else "")
        return data


class BoothForm(BaseForm):
    number = _text(Booth, "number", _l("Booth number"), required=True)
    hall_zh = _text(Booth, "hall_zh", _l("Hall (Chinese)"))
    hall_en = _text(Booth, "hall_en", _l("Hall (English)"))
    sort_order = IntegerField(_l("Position in the walking order"), default=0, validators=[
        Optional(),
        NumberRange(min=0, max=9999, message=_l("Enter a number between %(min)s and %(max)s.")),
    ])
    product_ids = MultiCheckbox(_l("Products shown"), coerce=int)
    enterprise_ids = MultiCheckbox(_l("Enterprises at the booth"), coerce=int)

    def values(self) -> dict:
        return {
            "number": self.number.data.strip(),
            "hall_zh": (self.hall_zh.data or "").strip(),
            "hall_en": (self.hall_en.data or "").strip() or None,
            "sort_order": self.sort_order.data or 0,
        }
