"""Plain text: decoded, and read as the corpus reads its `.txt` files (a headline first line)."""

from __future__ import annotations

from qa.content.extract.base import ContentKind, Extracted
from qa.content.extract.text_decoding import decode
from qa.errors import ExtractionError


class PlainTextExtractor:
    kind: ContentKind = "text"

    def extract(
        self, data: bytes, *, url: str | None = None, charset: str | None = None
    ) -> Extracted:
        text = decode(data, charset).strip()
        if not text:
            raise ExtractionError("the text is empty")
        return Extracted(title=None, text=text, url=url)
