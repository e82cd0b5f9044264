"""Search synonyms: groups of words people use for the same thing (螃蟹 and 蟹, 椰青 and
椰子, crab and 蟹), kept as data so officials can edit them in the back office. Applied to
queries, not to the index (app.search.synonyms), so an edit needs no reindex."""

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model
from app.models.listing import utcnow

TERM_SEPARATOR = ","


class SynonymGroup(Model):
    """Words that mean the same in a search; any of them finds what the others find."""

    __tablename__ = "synonym_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The words, comma-separated, each already normalised (app.services.synonyms).
    terms: Mapped[str] = mapped_column(String(1000))
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    @property
    def term_list(self) -> list[str]:
        return [t for t in self.terms.split(TERM_SEPARATOR) if t]
