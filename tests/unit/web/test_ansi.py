"""ANSI colours in build output become spans; anything else is escaped or dropped."""

from __future__ import annotations

from rivetr.web.ansi import to_html


def test_colours_bold_and_reset_become_spans_and_text_is_escaped() -> None:
    assert to_html("\x1b[32mok\x1b[0m <b>") == '<span class="ansi-fg-green">ok</span> &lt;b&gt;'
    assert to_html("\x1b[1;91mERR\x1b[m") == (
        '<span class="ansi-bold ansi-fg-bright-red">ERR</span>'
    )
    assert to_html("plain") == "plain"
    assert to_html("\x1b[2K\x1b[1Gprogress") == "progress"  # line clears dropped
    assert to_html("\x1b[31munclosed") == '<span class="ansi-fg-red">unclosed</span>'
