"""The one label table: every value of a labelled enum has a name, and the `label` filter
names a member and its plain value alike."""

import pytest
from flask import render_template_string

from app.labels import TABLES
from app.models import AuthorizationStatus, BrandKind, PublicationStatus, Regime, SignStatus
from app.models.users import Role


@pytest.mark.parametrize(
    "enum_type", [Regime, SignStatus, AuthorizationStatus, BrandKind, PublicationStatus, Role]
)
def test_every_member_has_a_label(enum_type):
    assert set(TABLES[enum_type.__name__]) == set(enum_type)


def test_label_filter_names_members_and_plain_values(app):
    with app.test_request_context("/?lang=en"):
        rendered = render_template_string(
            "{{ regime|label }}|{{ 'agri_gi'|label('Regime') }}"
            "|{{ 'draft'|label('PublicationStatus') }}|{{ 'sign'|label('SearchKind') }}"
            "|{{ 'unknown'|label('Regime') }}",
            regime=Regime.GI_TRADEMARK,
        )
    assert rendered == "GI trademark|Agricultural-product GI|Draft|GI sign|unknown"
