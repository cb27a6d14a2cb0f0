"""Bytes to text: UTF-8 (with or without a mark), UTF-16/32 with a mark, GB18030 or Big5 (the
more plausible of the two, judged by how many characters are common ones)."""

from __future__ import annotations

import codecs
import logging
import unicodedata
from functools import lru_cache

from rag.ingest.skip import SAVE_AS, Skip

log = logging.getLogger(__name__)


BINARY = f"not a text file (it contains NUL bytes: binary data or UTF-16 without a mark); {SAVE_AS}"
WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32 marks start with these too
_MIN_PLAUSIBILITY = 0.5  # share of common CJK characters a legacy-encoding decode must reach
_SCORE_SAMPLE = 200_000  # characters scored when guessing a legacy encoding
_PUNCT = frozenset("，。、；：？！「」『』（）《》“”‘’—…·〈〉【】〔〕•・％：～")


def decode_bytes(data: bytes | bytearray) -> str:
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(
            data[len(codecs.BOM_UTF8) :], "utf-8", "starts with a UTF-8 mark but is not valid UTF-8"
        )
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _strict(data, "utf-32", "starts with a UTF-32 mark but is not valid UTF-32")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16", "starts with a UTF-16 mark but is not valid UTF-16")
    elif b"\x00" in data:
        raise Skip(BINARY)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
    if not text.strip():
        raise Skip("empty file; put the title on the first line and the article below it")
    controls = sum(
        1 for c in text[:_SCORE_SAMPLE] if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v"
    )
    if controls > 0.05 * min(len(text), _SCORE_SAMPLE):
        raise Skip(f"not a text file (mostly control characters); {SAVE_AS}")
    return text


def _strict(data: bytes | bytearray, encoding: str, reason: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise Skip(f"{reason}; {SAVE_AS}") from None


def _decode_legacy(data: bytes | bytearray) -> str:
    """GB18030 vs Big5: both often accept each other's bytes, so keep the most plausible decode."""
    best: tuple[float, str] | None = None
    for encoding in ("gb18030", "big5hkscs", "cp950"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        log.debug("decoding as %s: plausibility %.3f", encoding, score)
        if best is None or score > best[0]:
            best = (score, text)
    if best is None:
        raise Skip(f"not valid UTF-8, GB18030 or Big5 text; {SAVE_AS}")
    if best[0] < _MIN_PLAUSIBILITY:
        raise Skip(
            f"does not decode to readable text in UTF-8, GB18030 or Big5 (mostly rare characters); {SAVE_AS}"
        )
    return best[1]


def legacy_encoding(line: bytes) -> str | None:
    """GB18030 or Big5 for a line that is not UTF-8 (the most plausible decode), else None."""
    try:
        _decode_legacy(line)
    except Skip:
        return None
    best = None
    for encoding in ("gb18030", "big5hkscs", "cp950"):
        try:
            score = _plausibility(line.decode(encoding))
        except UnicodeDecodeError:
            continue
        if best is None or score > best[0]:
            best = (score, encoding)
    return best[1] if best is not None else None


@lru_cache(maxsize=1)
def _common_chars() -> frozenset[str]:
    """The 3,755 level-1 GB2312 characters (the most common Simplified ones) and their Traditional forms."""
    simplified = []
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                simplified.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    chars = set(simplified)
    try:
        import opencc

        joined = "\n".join(simplified)
        for config in ("s2t", "s2tw", "s2hk"):
            chars.update(opencc.OpenCC(config).convert(joined).replace("\n", ""))
    except Exception as exc:  # opencc missing or broken: Simplified-only scoring still works for GB
        log.warning("OpenCC unavailable (%s); Big5 detection is less reliable", exc)
    return frozenset(chars)


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common CJK characters or punctuation."""
    common = _common_chars()
    chars = [c for c in text[:_SCORE_SAMPLE] if ord(c) > 127 and not c.isspace()]
    if not chars:
        return 1.0
    return sum(1 for c in chars if c in common or c in _PUNCT) / len(chars)
