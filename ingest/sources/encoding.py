"""Bytes -> text for every input route (files, HTTP bodies, WARC records, JSON feeds).

One decoder: a byte-order mark, then the declared charset (HTTP header), then for HTML the
``<meta charset>`` tag, then UTF-8, then detection (charset-normalizer).  Declared legacy names are
widened to their supersets (GB2312/GBK -> GB18030, ISO-8859-1 -> cp1252), as browsers do.
"""
from __future__ import annotations

import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252", "latin-1": "cp1252"}
_DETECT_BYTES = 200_000


def decode(data: bytes, declared: str | None = None, *, html: bool = False, strict: bool = False) -> str:
    """Decode ``data``.  ``strict``: raise ``UnicodeDecodeError`` when no charset fits (else bad
    bytes are replaced); ``html``: also honour a ``<meta charset>`` in the first 4 KB."""
    errors = "strict" if strict else "replace"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors)
    candidates = [declared] if declared else []
    if html:
        match = _META_CHARSET.search(data[:4096])
        if match:
            candidates.append(match.group(1).decode("ascii", "ignore"))
    for name in candidates:
        try:
            return data.decode(_SUPERSETS.get(name.lower(), name))
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:_DETECT_BYTES]).best()
        if best is not None and best.encoding:
            try:
                return data.decode(best.encoding, errors)
            except (LookupError, UnicodeDecodeError):
                pass
        if strict:
            raise
        return data.decode("utf-8", "replace")


def decode_html(data: bytes, declared: str | None = None) -> str:
    """An HTML body, never failing (undecodable bytes are replaced)."""
    return decode(data, declared, html=True)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Plain text or JSON; raises ``UnicodeDecodeError`` when no charset fits."""
    return decode(data, declared, strict=True)
