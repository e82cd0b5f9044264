"""Product photos. Files live under MEDIA_ROOT as content-addressed renditions."""

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import Bilingual

if TYPE_CHECKING:
    from app.models.products import Product

RENDITION_WIDTHS = (320, 800, 1600)
ALT_MAX_LENGTH = 300  # characters of a photo's description, in each language


class ProductImage(Bilingual, Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt_zh: Mapped[str] = mapped_column(String(ALT_MAX_LENGTH))
    alt_en: Mapped[str | None] = mapped_column(String(ALT_MAX_LENGTH))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_cover: Mapped[bool] = mapped_column(Boolean, default=False)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped["Product"] = relationship(back_populates="images")

    @property
    def widths(self) -> list[int]:
        """Rendition widths written for this image (never upscaled)."""
        return sorted({min(w, self.width) for w in RENDITION_WIDTHS})

    def rendition_name(self, width: int, fmt: str) -> str:
        return f"{self.content_hash[:2]}/{self.content_hash}-{width}.{fmt}"

    def height_for(self, width: int) -> int:
        return round(self.height * width / self.width)
