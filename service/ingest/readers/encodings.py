"""Text bytes to str: UTF-8, UTF-16 with a BOM, GB18030/GBK or Big5."""

from __future__ import annotations

import codecs

from service.core.errors import Unprocessable

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHINESE_CODECS = ("gb18030", "cp950")  # GB18030 first: it wins ties, mainland files are GBK
_SCORE_SAMPLE = 4000


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (BOM or not), UTF-16 with a BOM, GB18030/GBK or Big5; strip any BOM.

    Short GBK texts often decode without error as Big5 (and the reverse), so each strict
    decoding is scored by the share of common characters; charset-normalizer is the last resort.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = strict_decode(data, encoding)
            return text if text is not None else _undecodable()
    if b"\x00" in data:
        raise Unprocessable("the file looks binary, not text; upload a text, PDF or DOCX file")
    utf8 = strict_decode(data, "utf-8")
    if utf8 is not None:
        return utf8
    decoded = [(text, codec) for codec in _CHINESE_CODECS if (text := strict_decode(data, codec))]
    if decoded:
        return max(decoded, key=lambda pair: _commonness(*pair))[0]
    from charset_normalizer import from_bytes  # the last resort; it loads slowly

    guess = from_bytes(data).best()
    return str(guess) if guess is not None else _undecodable()


def strict_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _undecodable() -> str:
    raise Unprocessable(
        "the text is not in UTF-8, GBK/GB18030 or Big5; save it as UTF-8 and upload it again"
    )


def _commonness(text: str, codec: str) -> float:
    """Share of characters that are ASCII, CJK punctuation or common in that codec's script."""
    sample = text[:_SCORE_SAMPLE]
    common = _is_common_simplified if codec == "gb18030" else _is_common_traditional
    return sum(ch.isascii() or _is_cjk_punctuation(ch) or common(ch) for ch in sample) / len(sample)


def _is_cjk_punctuation(ch: str) -> bool:
    code = ord(ch)
    return 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E or 0x2010 <= code <= 0x2027


def _is_common_simplified(ch: str) -> bool:
    """In GB2312 level 1, the 3,755 most used simplified characters (rows 0xB0-0xD7)."""
    try:
        encoded = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xD7


def _is_common_traditional(ch: str) -> bool:
    """In Big5's frequently used block (0xA440-0xC67E, 5,401 characters)."""
    try:
        encoded = ch.encode("big5")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xA440 <= int.from_bytes(encoded, "big") <= 0xC67E


def decode_named(name: str, data: bytes) -> str:
    try:
        return decode_text(data)
    except Unprocessable as exc:
        raise Unprocessable(f"{name}: {exc.message}") from None
