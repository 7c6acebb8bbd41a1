"""Build and container output with its ANSI colours, as HTML: SGR colour codes become spans,
everything else is escaped or dropped. (The dashboard's live log does the same in a few lines
of JavaScript.)"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]")  # cursor moves, clears: dropped
COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


def to_html(text: str) -> Markup:
    out: list[str] = []
    classes: list[str] = []
    open_span = False
    pos = 0
    text = _OTHER_ESCAPES.sub("", text)
    for match in _SGR.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        pos = match.end()
        for code in (int(c) if c else 0 for c in match.group(1).split(";")):
            if code == 0:
                classes = []
            elif code == 1:
                classes.append("ansi-bold")
            elif 30 <= code <= 37:
                classes = [c for c in classes if not c.startswith("ansi-fg")]
                classes.append(f"ansi-fg-{COLOURS[code - 30]}")
            elif 90 <= code <= 97:
                classes = [c for c in classes if not c.startswith("ansi-fg")]
                classes.append(f"ansi-fg-bright-{COLOURS[code - 90]}")
        if open_span:
            out.append("</span>")
            open_span = False
        if classes:
            out.append(f'<span class="{" ".join(classes)}">')
            open_span = True
    out.append(html.escape(text[pos:]))
    if open_span:
        out.append("</span>")
    return Markup("".join(out))
