"""Site-wide state shared by every app server through the database."""

from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Model
from app.models.listing import utcnow


class CatalogueGeneration(Model):
    """One row. Bumped whenever a listing changes; rendered-page caches key on it."""

    __tablename__ = "catalogue_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
