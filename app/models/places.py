"""The province and its county-level units. Another province is a matter of seed data."""

import re

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Model
from app.models.listing import Bilingual


class Province(Bilingual, Model):
    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # division code, e.g. 460000
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    # Schematic map: an SVG viewBox and an optional inset frame (for far-flung islands).
    map_view_box: Mapped[str | None] = mapped_column(String(64))
    map_inset_path: Mapped[str | None] = mapped_column(Text)
    map_attribution: Mapped[str | None] = mapped_column(Text)

    counties: Mapped[list["County"]] = relationship(
        back_populates="province", order_by="County.sort_order"
    )

    def map_view_box_padded(self, margin: float = 20) -> str | None:
        """The map's viewBox widened by `margin` user units each side, so a label centred on
        a county at the coast ("Dongfang", x=24) is not cut off at the edge."""
        if not self.map_view_box:
            return None
        x, y, width, height = (float(v) for v in self.map_view_box.split())
        return f"{x - margin:g} {y:g} {width + 2 * margin:g} {height:g}"


class County(Bilingual, Model):
    """A county-level unit (city, county or autonomous county): 'one county, one product'."""

    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    full_name_zh: Mapped[str | None] = mapped_column(String(128))
    full_name_en: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    seat_lat: Mapped[float | None] = mapped_column(Float)
    seat_lon: Mapped[float | None] = mapped_column(Float)
    map_path: Mapped[str | None] = mapped_column(Text)
    map_label_x: Mapped[float | None] = mapped_column(Float)
    map_label_y: Mapped[float | None] = mapped_column(Float)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    province: Mapped[Province] = relationship(back_populates="counties")

    def __repr__(self) -> str:
        return f"<County {self.slug}>"

    @property
    def short_name_zh(self) -> str:
        """The name without its kind, as Chinese maps label counties: 琼中黎族苗族自治县 -> 琼中,
        文昌市 -> 文昌 (a one-character stem keeps its suffix)."""
        short = _COUNTY_KIND.sub("", self.name_zh)
        return short if len(short) >= 2 else self.name_zh


_COUNTY_KIND = re.compile(r"(黎族苗族自治县|黎族自治县|自治县|市|县|区)$")
