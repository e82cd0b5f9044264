"""Public forms (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import BaseForm


class ReportForm(BaseForm):
    product = SelectField(_l("Product"), coerce=str, validators=[Optional()])
    # Where the fake was bought; the product's home county is shown beside it, read-only.
    county = SelectField(
        _l("County where you bought or saw it"), coerce=str, validators=[Optional()]
    )
    where_bought = TextAreaField(
        _l("Where did you buy or see it?"),
        validators=[DataRequired(_l("Please say where you bought or saw it.")), Length(max=300)],
    )
    description = TextAreaField(
        _l("What looks wrong?"),
        validators=[DataRequired(_l("Please describe what looks wrong.")), Length(max=4000)],
    )
    photo = FileField(_l("Photo of the label (optional, JPEG, PNG or WebP)"))


class SaveListForm(BaseForm):
    product = SelectMultipleField(_l("Products"), coerce=int, validate_choice=False)
    expo = HiddenField()
