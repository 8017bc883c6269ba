"""The one neutraliser for text that came from a user: `printable()`.

A case id, an answer, a session id or a file name can hold anything: terminal escape
sequences (ESC, CSI, OSC window titles, BEL), line breaks, bidirectional overrides that
make `cod.exe` read as `exe.doc`, zero-width characters that hide text. Every place that
shows such text, in a terminal line, a Markdown report or an HTML page, passes it
through here first; the format's own escaping (Markdown, HTML) comes after.

What is neutralised is every character of Unicode's control (Cc), format (Cf: bidi
controls U+202A-202E and U+2066-2069, marks U+200E/200F/061C, zero-width U+200B-200D,
U+2060, U+FEFF, tag characters), surrogate (Cs), line separator (Zl) and paragraph
separator (Zp) categories. Each becomes a visible escape (`\\x1b`, `\\u202e`), so the
reader sees that something was there and what it was. With ESC itself escaped, the
rest of an escape sequence is harmless printable text.
"""

from __future__ import annotations

import unicodedata

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every control, format and line-separator character shown as an escape."""
    if text.isascii() and text.isprintable():  # nearly all text: nothing to do
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _HIDDEN else c for c in text)
