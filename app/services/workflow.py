"""The review workflow: draft -> submitted -> published, or returned with a comment.

A published listing stays as it is while its next revision is drafted, submitted and
reviewed; publishing applies the revision to the live row in one transaction."""

import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.db import db
from app.models.listing import PublicationStatus
from app.models.revisions import ListingRevision, ReviewNote, RevisionState
from app.models.users import User
from app.services import access, audit
from app.services.listings import (
    KINDS,
    PENDING,
    EditConflict,
    ListingKind,
    ListingRow,
    apply_values,
    changed_fields,
    get_listing,
    missing_requirements,
    pending_revision,
    working_values,
)
from app.text_input import unstorable

DRAFT, SUBMITTED = PublicationStatus.DRAFT, PublicationStatus.SUBMITTED
PUBLISHED, ARCHIVED = PublicationStatus.PUBLISHED, PublicationStatus.ARCHIVED


class WorkflowError(ValueError):
    """A step that does not apply to the listing as it is now (message for the user)."""


def _missing(kind: ListingKind, obj: ListingRow) -> str:
    """What the listing's working values (its pending revision's, else the row's) still lack
    for its public page (listings.REQUIREMENTS), as one translated list; empty: nothing."""
    missing = missing_requirements(kind, working_values(kind, obj), obj)
    return ", ".join(str(need.label) for need in missing)


def submit(kind: ListingKind, obj: ListingRow, actor: User) -> None:
    access.ensure_can_edit(actor, kind, obj)
    revision = pending_revision(kind, obj)
    revised = obj.status == PUBLISHED and revision and revision.state == RevisionState.DRAFT
    if not revised and obj.status != DRAFT:
        raise WorkflowError(_l("There is nothing to submit."))
    if missing := _missing(kind, obj):
        raise WorkflowError(
            _l("This listing cannot be submitted yet. Still missing: %(missing)s.", missing=missing)
        )
    if revised and revision:
        revision.state = RevisionState.SUBMITTED
    else:
        obj.status = SUBMITTED
        obj.updated_by_id = actor.id
    db.session.flush()
    audit.record_listing("submit", actor, kind, obj)


def publish(kind: ListingKind, obj: ListingRow, actor: User) -> None:
    access.ensure_reviewer(actor)
    revision = pending_revision(kind, obj)
    if obj.status == ARCHIVED or (obj.status == PUBLISHED and revision is None):
        raise WorkflowError(_l("There is nothing to publish."))
    if missing := _missing(kind, obj):
        raise WorkflowError(
            _l("This listing cannot be published yet. Still missing: %(missing)s.", missing=missing)
        )
    if obj.status == PUBLISHED and revision is not None:
        if revision.base_version != obj.version:
            theirs = kind.current_values(obj)
            raise EditConflict(mine=json.loads(revision.data), theirs=theirs)
        before = kind.current_values(obj)
        proposed = json.loads(revision.data)
        _ensure_storable(proposed)
        apply_values(kind, obj, proposed)
        revision.state = RevisionState.PUBLISHED
        details = changed_fields(before, proposed)
    else:  # a draft or a submitted listing
        details = {"status": [str(obj.status), str(PUBLISHED)]}
        obj.status = PUBLISHED
    obj.updated_by_id = actor.id
    db.session.flush()
    audit.record_listing("publish", actor, kind, obj, details)


def _ensure_storable(values: dict) -> None:
    """A revision saved before text was checked at the edge may hold what the database
    refuses (NUL on PostgreSQL): publishing it would fail on every try. Say which field to
    correct instead (the edit form refuses the character, so the editor sees it there)."""
    for name, value in values.items():
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and (problem := unstorable(text)) is not None:
                raise WorkflowError(
                    _l(
                        "This revision cannot be published: the field “%(field)s” contains a "
                        "character that cannot be saved (%(char)s). Open the listing, correct the "
                        "field and save it again.",
                        field=name,
                        char=problem.described,
                    )
                )


def return_to_editors(kind: ListingKind, obj: ListingRow, actor: User, comment: str) -> None:
    access.ensure_reviewer(actor)
    comment = comment.strip()
    if not comment:
        raise WorkflowError(_l("Say what needs to change."))
    revision = pending_revision(kind, obj)
    if obj.status == PUBLISHED and revision and revision.state == RevisionState.SUBMITTED:
        revision.state = RevisionState.DRAFT
    elif obj.status == SUBMITTED:
        obj.status = DRAFT
    else:
        raise WorkflowError(_l("Only submitted listings can be returned."))
    db.session.add(
        ReviewNote(
            listing_type=kind.key, listing_id=obj.id, author_id=actor.id, body=comment[:4000]
        )
    )
    db.session.flush()
    audit.record_listing("return", actor, kind, obj, {"comment": comment[:4000]})


def archive(kind: ListingKind, obj: ListingRow, actor: User) -> None:
    """Take a listing out of the catalogue. Editors may archive what was never published;
    taking a published listing down is a reviewer's decision."""
    access.ensure_can_edit(actor, kind, obj)
    if obj.status == ARCHIVED:
        raise WorkflowError(_l("This listing is already archived."))
    if obj.status == PUBLISHED:
        access.ensure_reviewer(actor)
    before = str(obj.status)
    obj.status = ARCHIVED
    obj.updated_by_id = actor.id
    revision = pending_revision(kind, obj)
    if revision is not None:
        revision.state = RevisionState.DISCARDED
    db.session.flush()
    audit.record_listing("archive", actor, kind, obj, {"status": [before, str(ARCHIVED)]})


def restore(kind: ListingKind, obj: ListingRow, actor: User) -> None:
    access.ensure_can_edit(actor, kind, obj)
    if obj.status != ARCHIVED:
        raise WorkflowError(_l("Only archived listings can be restored."))
    obj.status = DRAFT
    obj.updated_by_id = actor.id
    db.session.flush()
    audit.record_listing("restore", actor, kind, obj, {"status": [str(ARCHIVED), str(DRAFT)]})


def latest_note(kind: ListingKind, obj: ListingRow) -> ReviewNote | None:
    return db.session.scalar(
        select(ReviewNote)
        .where(ReviewNote.listing_type == kind.key, ReviewNote.listing_id == obj.id)
        .order_by(ReviewNote.id.desc())
        .limit(1)
    )


# --- what waits for whom ----------------------------------------------------------------------


@dataclass
class WorkItem:
    kind: ListingKind
    listing: ListingRow
    revision: ListingRevision | None = None
    note: ReviewNote | None = None


@dataclass
class Dashboard:
    to_review: list[WorkItem] = field(default_factory=list)
    drafts: list[WorkItem] = field(default_factory=list)
    waiting: list[WorkItem] = field(default_factory=list)


def dashboard(user: User, limit: int = 50) -> Dashboard:
    """Reviewers see what was submitted; editors see their drafts (returned ones with the
    reviewer's comment) and what they submitted, all within their counties."""
    board = Dashboard()
    for kind in KINDS.values():
        clause = access.scope_clause(user, kind)
        for status, bucket in ((SUBMITTED, "submitted"), (DRAFT, "draft")):
            stmt = kind.select_rows().where(kind.model.status == status)
            if clause is not None:
                stmt = stmt.where(clause)
            for obj in db.session.scalars(stmt.order_by(kind.model.updated_at.desc()).limit(limit)):
                item = WorkItem(kind, obj, note=latest_note(kind, obj) if status == DRAFT else None)
                _file(board, user, item, bucket)
        revisions = db.session.scalars(
            select(ListingRevision)
            .where(ListingRevision.listing_type == kind.key, ListingRevision.state.in_(PENDING))
            .order_by(ListingRevision.updated_at.desc())
            .limit(limit)
        )
        for revision in revisions:
            revised = get_listing(kind, revision.listing_id)
            if revised is None or not access.can_edit(user, kind, revised):
                continue
            bucket = "submitted" if revision.state == RevisionState.SUBMITTED else "draft"
            note = latest_note(kind, revised) if bucket == "draft" else None
            _file(board, user, WorkItem(kind, revised, revision, note), bucket)
    return board


def _file(board: Dashboard, user: User, item: WorkItem, bucket: str) -> None:
    if bucket == "submitted":
        (board.to_review if user.can_review else board.waiting).append(item)
    else:
        board.drafts.append(item)
