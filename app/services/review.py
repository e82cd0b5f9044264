"""What a reviewer reads before publishing: the fields a pending change touches (against the
published version), and the listing as its public page would show it, applied in memory
only. The queue's columns (who submitted what, when, where) are filled here too."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Mapper, RelationshipDirection

from app.db import db
from app.models.audit import AuditEntry
from app.models.listing import PublicationStatus
from app.models.places import County
from app.services.listings import (
    EditState,
    ListingField,
    ListingKind,
    ListingRow,
    apply_values,
    changed_fields,
    edit_state,
)
from app.services.workflow import WorkItem

# What counts as an empty value in plain values.
EMPTY: tuple[object, ...] = (None, "", [])


@dataclass(frozen=True)
class DiffRow:
    """One changed field: its declaration (label, widget) and plain values before and after
    (old is None for a listing never published)."""

    field: ListingField
    old: Any
    new: Any


def diff_rows(kind: ListingKind, obj: ListingRow, state: EditState | None = None) -> list[DiffRow]:
    """The fields a reviewer would publish, in the form's order. A published listing: those
    its pending revision changes (none without one). A listing not public now: every field
    it fills (a flag that is off fills nothing), each against nothing. `state`: the
    listing's edit state, if already read."""
    state = state or edit_state(kind, obj)
    if obj.status == PublicationStatus.PUBLISHED:
        if state.revision is None:
            return []
        changed = changed_fields(kind.current_values(obj), state.values)
        return [DiffRow(f, *changed[f.name]) for f in kind.fields if f.name in changed]
    return [
        DiffRow(f, None, state.values.get(f.name))
        for f in kind.fields
        if state.values.get(f.name) not in EMPTY and state.values.get(f.name) is not False
    ]


@contextmanager
def previewing(kind: ListingKind, obj: ListingRow) -> Iterator[ListingRow]:
    """The row with its working values (pending revision, else its own) set in memory, for
    rendering its public page. Nothing is flushed (autoflush is off inside), and the session
    is rolled back on leaving, so every change is undone: use it only in a request that
    writes nothing else (the preview view)."""
    values = edit_state(kind, obj).values
    with db.session.no_autoflush:
        try:
            apply_values(kind, obj, values)
            _follow_foreign_keys(obj)
            yield obj
        finally:
            db.session.rollback()


def _follow_foreign_keys(obj: ListingRow) -> None:
    """A changed foreign key does not move its loaded relationship until a flush: point each
    many-to-one relationship at the row its key now names (product.category for category_id)."""
    mapper: Mapper[Any] = inspect(type(obj))
    for relation in mapper.relationships:
        columns = list(relation.local_columns)
        if relation.direction is not RelationshipDirection.MANYTOONE or len(columns) != 1:
            continue
        key = getattr(obj, mapper.get_property_by_column(columns[0]).key)
        target = db.session.get(relation.mapper.class_, key) if key is not None else None
        if getattr(obj, relation.key) is not target:
            setattr(obj, relation.key, target)


# --- the queue's columns --------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """Who last submitted a listing and when (from the audit log), the counties it belongs
    to, and how many fields it changes (None: a listing not public now, i.e. new)."""

    by: str
    at: Any
    counties: list[County]
    changed: int | None


def submissions(items: list[WorkItem]) -> dict[tuple[str, int], Submission]:
    """(kind key, listing id) -> Submission for each work item, read in three queries."""
    if not items:
        return {}
    keys = {(item.kind.key, item.listing.id) for item in items}
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "submit",
            AuditEntry.object_type.in_({k for k, _ in keys}),
            AuditEntry.object_id.in_({i for _, i in keys}),
        )
        .order_by(AuditEntry.seq)
    )
    last = {(e.object_type, e.object_id): e for e in entries}
    values = {(i.kind.key, i.listing.id): _working(i) for i in items}
    scopes = {key: i.kind.scope_of_values(values[key]) for key, i in _keyed(items)}
    wanted = set().union(*scopes.values())
    counties = list(db.session.scalars(select(County).where(County.id.in_(wanted))))
    counties.sort(key=lambda c: c.sort_order)
    found: dict[tuple[str, int], Submission] = {}
    for key, item in _keyed(items):
        entry = last.get(key)
        changed = None
        if item.revision is not None:
            changed = len(changed_fields(item.kind.current_values(item.listing), values[key]))
        found[key] = Submission(
            by=entry.actor_email if entry else "",
            at=entry.at if entry else None,
            counties=[c for c in counties if c.id in scopes[key]],
            changed=changed,
        )
    return found


def _keyed(items: list[WorkItem]) -> Iterator[tuple[tuple[str, int], WorkItem]]:
    for item in items:
        yield (item.kind.key, item.listing.id), item


def _working(item: WorkItem) -> dict:
    if item.revision is not None:
        return json.loads(item.revision.data)
    return item.kind.current_values(item.listing)
