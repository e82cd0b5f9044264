"""Pending changes to a published listing, and reviewers' comments.

Editing a published listing never touches the live row: the proposed values wait here as
JSON until a reviewer publishes them, so the public page never shows half-done edits."""

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import str_enum, utcnow


class RevisionState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class ListingRevision(Model):
    __tablename__ = "listing_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_type: Mapped[str] = mapped_column(String(32), index=True)
    listing_id: Mapped[int] = mapped_column(Integer, index=True)
    # The live row's version the proposal was based on (publishing over a newer one is refused).
    base_version: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    state: Mapped[RevisionState] = mapped_column(
        str_enum(RevisionState, "revision_state"), default=RevisionState.DRAFT, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    author = relationship("User")

    __mapper_args__ = {"version_id_col": version}


class ReviewNote(Model):
    """A reviewer's comment when returning a listing (or its revision) to the editors."""

    __tablename__ = "review_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_type: Mapped[str] = mapped_column(String(32), index=True)
    listing_id: Mapped[int] = mapped_column(Integer, index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author = relationship("User")
