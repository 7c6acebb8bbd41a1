"""A QR code as inline SVG, drawn on the server with segno (pure Python, no image files), for
an authenticator app to read an otpauth:// URI from the account page."""

from __future__ import annotations

from markupsafe import Markup


def qr_svg(text: str, title: str, element_id: str) -> Markup:
    """`text` as an inline <svg> QR code (error correction M; quiet zone kept), titled for
    screen readers. segno writes the SVG itself, escaping the title: safe to put in a page."""
    import segno  # on first use: only the second factor's set-up draws one

    code = segno.make(text, error="m", micro=False)
    return Markup(code.svg_inline(scale=4, light="#fff", title=title, svgid=element_id))
