"""Search synonym groups: normalising what an official types, saving, deleting, seeding.
Every change is written to the audit log. Plain functions: they flush, the caller commits."""

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.db import db
from app.models.synonyms import TERM_SEPARATOR, SynonymGroup
from app.models.users import User
from app.search.text import clean_query
from app.services import audit

MAX_TERM_LENGTH = 50
MAX_TERMS = 20
# What people separate words with in a list: commas (ASCII, full-width, ideographic),
# semicolons and new lines.
_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


class SynonymInvalid(ValueError):
    """A problem with the input, worded for the user (translated lazily); `field` names the
    form field it belongs to."""

    def __init__(self, message, field: str = "terms") -> None:
        super().__init__(message)
        self.field = field


def parse_terms(raw: str) -> list[str]:
    """'螃蟹，蟹, Crab' -> ['螃蟹', '蟹', 'crab']: split on list separators, each term
    normalised exactly as a search query is (app.search.text.clean_query), lower-cased,
    duplicates dropped, order kept. Raises SynonymInvalid for fewer than two terms, or one
    that is too long."""
    terms = [clean_query(part).lower() for part in _SEPARATORS.split(raw or "")]
    terms = list(dict.fromkeys(t for t in terms if t))
    if any(len(t) > MAX_TERM_LENGTH for t in terms):
        raise SynonymInvalid(_l("Each word can be at most %(n)d characters.", n=MAX_TERM_LENGTH))
    if len(terms) < 2:
        raise SynonymInvalid(
            _l("Enter at least two words that mean the same, separated by commas.")
        )
    if len(terms) > MAX_TERMS:
        raise SynonymInvalid(_l("A group can have at most %(n)d words.", n=MAX_TERMS))
    return terms


def all_groups() -> list[SynonymGroup]:
    return list(db.session.scalars(select(SynonymGroup).order_by(SynonymGroup.terms)))


def save_group(
    group: SynonymGroup | None, raw_terms: str, note: str, actor: User | None, ip: str = ""
) -> SynonymGroup:
    """Create (group None) or change a group from the words as typed; audited."""
    terms = TERM_SEPARATOR.join(parse_terms(raw_terms))
    note = " ".join((note or "").split())[:200]
    creating = group is None
    if group is None:
        group = SynonymGroup(terms=terms, note=note)
        db.session.add(group)
    else:
        before = group.terms
        group.terms, group.note = terms, note
    db.session.flush()
    audit.record(
        "synonym_create" if creating else "synonym_update",
        actor,
        object_type="synonym",
        object_id=group.id,
        summary=terms,
        ip=ip,
        details={} if creating else {"before": before},
    )
    return group


def delete_group(group: SynonymGroup, actor: User | None, ip: str = "") -> None:
    group_id, terms = group.id, group.terms
    db.session.delete(group)
    db.session.flush()
    audit.record(
        "synonym_delete", actor, object_type="synonym", object_id=group_id, summary=terms, ip=ip
    )


def seed_groups(rows: Iterable[dict | list | str]) -> int:
    """Load seed/synonyms.yaml: each row a list of words (or {'terms': [...], 'note':
    ...}), its first word the group's head. A row whose head is already in a group adds its
    missing words to that group (a newer seed file reaches an installed site without a
    second group for the same thing; the officials' own words stay); any other row is a new
    group. Returns how many groups were added or grew. Not audited: seeding is the
    installation, not an official's change."""
    groups = all_groups()
    changed = 0
    for row in rows:
        words, note = (
            (row.get("terms", []), row.get("note", "")) if isinstance(row, dict) else (row, "")
        )
        terms = parse_terms(words if isinstance(words, str) else ",".join(words))
        group = next((g for g in groups if terms[0] in g.terms.split(TERM_SEPARATOR)), None)
        if group is None:
            group = SynonymGroup(terms=TERM_SEPARATOR.join(terms), note=note or "")
            db.session.add(group)
            groups.append(group)
            changed += 1
            continue
        present = group.terms.split(TERM_SEPARATOR)
        missing = [t for t in terms if t not in present][: MAX_TERMS - len(present)]
        if missing:
            group.terms = TERM_SEPARATOR.join(present + missing)
            changed += 1
    db.session.flush()
    return changed
