"""What every back-office form is built from: the messages, a length limit read from the model
column (so a form can never accept what the database would refuse), a text field, a list of
checkboxes, enum choices, and the bare form behind a button."""

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from app.forms import BaseForm
from app.params import SLUG_PATTERN

REQUIRED = _l("This field is required.")
CHOOSE = _l("Choose…")
TOO_LONG = _l("At most %(max)d characters.")
SLUG_RULE = _l("Lower-case letters, digits and hyphens only, e.g. wenchang-chicken.")


def slug_format() -> Regexp:
    """The address-name validator (app.params.SLUG_PATTERN), worded for officials."""
    return Regexp(SLUG_PATTERN, message=SLUG_RULE)


def limit(model: Any, name: str) -> Length:
    """The column's own length as a validator: `model.name` must be a sized String column."""
    return Length(max=model.__table__.columns[name].type.length, message=TOO_LONG)


def text_validators(model: Any, name: str, required: bool = False) -> list[Any]:
    """Required or optional, and at most the column's length (`model.name`, a String or Text
    column; a Text column is still bounded, so a form cannot post megabytes of text)."""
    validators: list[Any] = [DataRequired(message=REQUIRED) if required else Optional()]
    if model.__table__.columns[name].type.length:
        validators.append(limit(model, name))
    else:
        validators.append(Length(max=20000, message=TOO_LONG))
    return validators


def text_field(
    model: Any, name: str, label: Any, required: bool = False, area: bool = False
) -> UnboundField:
    """A one-line (or, with `area`, multi-line) text field for the column `model.name`."""
    field_class = TextAreaField if area else StringField
    return field_class(label, validators=text_validators(model, name, required))


class RequiredSelect(SelectField):
    """A select the person must choose in. HTML wants a required select's first option to be
    empty (the Nu HTML Checker reports it otherwise), so "Choose…" comes first; posting it is
    refused as a missing value (REQUIRED), never as an invalid choice or a coercion error."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, [InputRequired(message=REQUIRED), *(validators or [])], **kwargs)

    def iter_choices(self):
        yield ("", CHOOSE, self.data in (None, ""), {})
        yield from super().iter_choices()

    def process_formdata(self, valuelist) -> None:
        if valuelist and valuelist[0] == "":
            self.data = None
            return
        super().process_formdata(valuelist)


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def enum_choices(labels: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select, in the order of the label table (app/labels.py;
    its keys are StrEnum members, whose str() is their value)."""
    return [(str(member), str(label)) for member, label in labels.items()]


class ActionForm(BaseForm):
    """Submit, publish, archive, restore, logout: a button with a CSRF token."""
