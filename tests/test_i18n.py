"""Both message catalogues are complete, and placeholders survive translation."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[1] / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_catalogue_is_complete(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        template = read_po(handle)
    expected = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    missing = []
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(key)
            continue
        wanted = set(PLACEHOLDER.findall(key))
        assert all(set(PLACEHOLDER.findall(s)) == wanted for s in strings), key
        expected.discard(key)
    assert missing == [] and expected == set(), (missing, expected)
