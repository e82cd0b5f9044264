"""The base of every form on the site (public and back office).

Every field of a BaseForm, whatever its type, first refuses what no text column may store
(app/text_input.py: NUL and other control characters, lone surrogates, noncharacters) in
what was posted, with a translated error naming the field. It runs before the field's own
validators, so none of them queries the database with such a value, and the form never
validates, so nothing reaches a service. Hidden fields, which the person can neither see
nor correct, drop such a value instead (drop_unstorable). A test checks that every form
subclasses this."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import StopValidation

from app.text_input import clean_text, unstorable


def refuse_unstorable_text(_form, field) -> None:
    """WTForms validator: every posted string of the field (raw, before filters)."""
    posted = [v for v in (field.raw_data or ()) if isinstance(v, str)]
    if isinstance(field.data, str):
        posted.append(field.data)
    for value in posted:
        problem = unstorable(value)
        if problem is not None:
            raise StopValidation(
                _(
                    "“%(field)s” contains a character that cannot be saved (%(char)s, character "
                    "%(position)s). Remove it and try again.",
                    field=str(field.label.text),
                    char=problem.described,
                    position=problem.position,
                )
            )


def typed_address(value: object) -> object:
    """WTForms filter for an e-mail address as typed or pasted: invisible characters dropped,
    NFKC (a full-width ＠ or letters from a Chinese IME), surrounding spaces removed."""
    return clean_text(value).strip() if isinstance(value, str) else value


def drop_unstorable(value: object) -> object:
    """WTForms filter for a hidden field: a value holding a character no text column may
    store is dropped (None), as if it had not been sent. The site wrote the value into the
    page; the person cannot see or fix it, so an error message on it would be invisible."""
    if isinstance(value, str) and unstorable(value) is not None:
        return None
    return value


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = unbound_field.bind(form=form, **options)
            if isinstance(field, HiddenField):
                # Each view decides what a missing hidden value means (login: no `next`;
                # edit: a stale version token, shown as a conflict; saved list: no expo).
                field.filters = [drop_unstorable, *field.filters]
            else:
                field.validators = [refuse_unstorable_text, *field.validators]
            return field
