"""Bytes of a text file -> str: the declared charset, else UTF-8, else the best guess."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from qa.errors import ExtractionError


def decode(data: bytes, charset: str | None = None) -> str:
    """`data` decoded with `charset` when it names a known codec, else as UTF-8 (a byte-order
    mark dropped), else with charset-normalizer's guess; ExtractionError for binary data."""
    if charset:
        try:
            return data.decode(codecs.lookup(charset).name)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration is common on the web: what the bytes are decides
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    guesses = list(from_bytes(data))
    if not guesses:
        raise ExtractionError("not text (no character encoding fits its bytes)")
    # Short texts fit several single-byte encodings equally well; among those that fit best,
    # windows-1252 is the web's default for undeclared legacy pages (WHATWG) and French's own.
    fitting = [guess for guess in guesses if guess.chaos == guesses[0].chaos]
    chosen = next((guess for guess in fitting if guess.encoding == "cp1252"), guesses[0])
    return str(chosen)
