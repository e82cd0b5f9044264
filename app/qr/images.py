"""QR images with the short URL printed underneath, so a visitor can type it and spot a
sticker pasted over the real code. segno makes the symbol (error correction M or better,
raised when it fits the same size); the caption is ours."""

import functools
import io
from urllib.parse import urlsplit

import segno
from markupsafe import Markup, escape
from PIL import Image, ImageDraw, ImageFont

QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


def make_symbol(url: str) -> segno.QRCode:
    return segno.make(url, error="m", boost_error=True, micro=False)


def caption_for(url: str) -> str:
    """The URL as people type it: no scheme."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _module_path(symbol: segno.QRCode) -> str:
    """One SVG path of horizontal runs of dark modules, in module units."""
    commands = []
    for y, row in enumerate(symbol.matrix_iter(scale=1, border=QUIET_ZONE)):
        row = list(row)  # segno yields each row as an iterable of 0/1
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                commands.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(commands)


@functools.lru_cache(maxsize=4096)
def qr_svg(url: str, title: str = "") -> str:
    symbol = make_symbol(url)
    size = symbol.symbol_size(scale=1, border=QUIET_ZONE)[0]
    caption = caption_for(url)
    # Monospace glyphs are about 0.6 em wide: fit the caption to the symbol's width.
    font_size = min(3.0, (size - 2) / (0.6 * len(caption)))
    height = size + font_size * 1.6 + 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {height:.2f}" '
        f'role="img" aria-label="{escape(title or caption)}">'
        f'<rect width="{size}" height="{height:.2f}" fill="#fff"/>'
        f'<path fill="#000" d="{_module_path(symbol)}"/>'
        f'<text x="{size / 2}" y="{size + font_size * 0.9:.2f}" text-anchor="middle" '
        f'font-family="ui-monospace,Menlo,Consolas,monospace" font-size="{font_size:.2f}" '
        f'fill="#000">{escape(caption)}</text></svg>'
    )


def qr_svg_inline(url: str, title: str = "") -> Markup:
    return Markup(qr_svg(url, title))


@functools.lru_cache(maxsize=1024)
def qr_png(url: str, scale: int = 8) -> bytes:
    symbol = make_symbol(url)
    buffer = io.BytesIO()
    symbol.save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    code_image = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    width = code_image.width
    caption = caption_for(url)
    font_size = max(10, min(4 * scale, int(width * 0.9 / (0.6 * len(caption)))))
    font = ImageFont.load_default(size=font_size)
    strip = int(font_size * 1.8)
    canvas = Image.new("L", (width, code_image.height + strip), 255)
    canvas.paste(code_image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    text_width = draw.textlength(caption, font=font)
    while text_width > width - 2 * scale and font_size > 8:
        font_size -= 1
        font = ImageFont.load_default(size=font_size)
        text_width = draw.textlength(caption, font=font)
    draw.text(((width - text_width) / 2, code_image.height - scale), caption, fill=0, font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()
