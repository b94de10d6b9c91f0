"""Plain text and a title from uploaded policy documents (PDF, DOCX, HTML, TXT/MD)."""

from __future__ import annotations

import codecs
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import docx
from charset_normalizer import from_bytes
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from selectolax.lexbor import LexborHTMLParser, LexborNode

from service.core.errors import BadRequest, ServiceError, Unprocessable, UnsupportedMedia
from service.ingest.readers.pdf import pdf_text

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


@dataclass(frozen=True)
class ExtractedText:
    title: str  # PDF /Title, DOCX core title or first heading, HTML <title> or <h1>, else ""
    text: str  # headings on their own line, paragraphs separated by a blank line
    format: str  # "pdf" | "docx" | "html" | "text"


def extract(filename: str, data: bytes) -> ExtractedText:
    """Extract text from an upload; every bad file becomes a 4xx ``ServiceError`` naming it."""
    name = safe_filename(filename)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in _READERS:
        kind = f"'{suffix}' files are" if suffix else "files without a suffix are"
        raise UnsupportedMedia(
            f"{name}: {kind} not supported; upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise Unprocessable(f"{name}: the file is empty; upload a file that contains the policy")
    fmt, read = _READERS[suffix]
    title, text = read(name, data)
    text = _tidy(text)
    if not text:
        raise Unprocessable(f"{name}: no text was found in the file; check it opens and has text")
    return ExtractedText(title=_clean_title(title), text=text, format=fmt)


# ---- file names ---------------------------------------------------------------------------

_MAX_NAME_BYTES = 200
_RESERVED = re.compile(r'[<>:"|?*]')  # not allowed in Windows names
_INVISIBLE = ("Cc", "Cf", "Cs")  # control, format (e.g. bidi overrides), lone surrogates


def safe_filename(name: str) -> str:
    """The base name of ``name`` with control characters, path parts and leading dots removed."""
    visible = "".join(
        ch
        for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in _INVISIBLE
    )
    base = visible.replace("\\", "/").rsplit("/", 1)[-1]
    base = _RESERVED.sub("", base).lstrip(". ").rstrip(". ")
    if not base:
        raise BadRequest(
            f"{name[:80]!r}: the file name has nothing usable once path parts and control "
            "characters are removed; rename the file and upload it again"
        )
    return _truncate(base)


def _truncate(name: str) -> str:
    """Keep the name under ``_MAX_NAME_BYTES`` of UTF-8, cutting the stem, not the suffix."""
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    stem, suffix = os.path.splitext(name)
    budget = max(1, _MAX_NAME_BYTES - len(suffix.encode()))
    return stem.encode()[:budget].decode("utf-8", "ignore") + suffix


# ---- character encodings ------------------------------------------------------------------

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
            text = _strict(data, encoding)
            return text if text is not None else _undecodable()
    if b"\x00" in data:
        raise Unprocessable("the file looks binary, not text; upload a text, PDF or DOCX file")
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return utf8
    decoded = [(text, codec) for codec in _CHINESE_CODECS if (text := _strict(data, codec))]
    if decoded:
        return max(decoded, key=lambda pair: _commonness(*pair))[0]
    guess = from_bytes(data).best()
    return str(guess) if guess is not None else _undecodable()


def _strict(data: bytes, encoding: str) -> str | None:
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


def _decode_named(name: str, data: bytes) -> str:
    try:
        return decode_text(data)
    except Unprocessable as exc:
        raise Unprocessable(f"{name}: {exc.message}") from None


# ---- plain text and Markdown --------------------------------------------------------------

_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _plain_text(name: str, data: bytes) -> tuple[str, str]:
    return "", _decode_named(name, data)


def _markdown_text(name: str, data: bytes) -> tuple[str, str]:
    """Markdown stays as written; its first heading is the title."""
    text = _decode_named(name, data)
    heading = _MD_HEADING.search(text)
    return (heading.group(1) if heading else ""), text


# ---- DOCX ---------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^(heading|title|标题)", re.IGNORECASE)


def _docx_text(name: str, data: bytes) -> tuple[str, str]:
    """Paragraphs and tables in document order; each heading and table row on its own line."""
    if data.startswith(_OLE_MAGIC):
        raise Unprocessable(
            f"{name}: this is a password-protected DOCX or an old .doc file; save it as an "
            "unprotected .docx and upload it again"
        )
    with _library_errors(name, "DOCX"):
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        title = document.core_properties.title or _first_heading(blocks)
        text = "\n\n".join(_block_text(block) for block in blocks)
    return title, text


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style
    return style is not None and bool(_HEADING_STYLE.match(style.name or ""))


def _first_heading(blocks: list[Paragraph | Table]) -> str:
    headings = (b.text for b in blocks if isinstance(b, Paragraph) and _is_heading(b))
    return next((text for text in headings if text.strip()), "")


def _block_text(block: Paragraph | Table) -> str:
    if isinstance(block, Paragraph):
        return block.text
    return "\n".join(_row_text(row.cells) for row in block.rows)


def _row_text(cells: list[_Cell]) -> str:
    """Cells joined by " | "; a merged cell repeats in ``row.cells`` and is kept once."""
    unique = [cell for i, cell in enumerate(cells) if i == 0 or cell._tc is not cells[i - 1]._tc]
    return " | ".join(" ".join(cell.text.split()) for cell in unique)


@contextmanager
def _library_errors(name: str, kind: str) -> Iterator[None]:
    """Turn whatever a parser raises on a malformed file into a 422 naming the file."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx raise many kinds on bad input
        raise Unprocessable(
            f"{name}: the {kind} file is damaged or is not really a {kind}; save it again "
            "from the original document and upload the new copy"
        ) from exc


# ---- HTML ---------------------------------------------------------------------------------

_DROPPED_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "template", "iframe"]
_BLOCK, _LINE, _CELL = "\x1d", "\x1e", "\x1f"  # markers; control characters never survive _tidy
_BREAKS = {
    **dict.fromkeys(["h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "table", "ul", "ol"], _BLOCK),
    **dict.fromkeys(["blockquote", "section", "article", "main", "pre", "dl"], _BLOCK),
    **dict.fromkeys(["li", "tr", "br", "dt", "dd", "caption"], _LINE),
    **dict.fromkeys(["td", "th"], _CELL),
}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_CJK_LINE_BREAK = re.compile(rf"(?<={_CJK})[ \t\r\f]*\n[ \t\r\f\n]*(?={_CJK})")


def _html_text(name: str, data: bytes) -> tuple[str, str]:
    """Visible text of the page; headings and blocks on their own lines, no markup."""
    tree = LexborHTMLParser(_decode_html(name, data))
    title = _node_text(tree.css_first("title")) or _node_text(tree.css_first("h1"))
    tree.strip_tags(_DROPPED_TAGS)
    root = tree.body or tree.root
    text = _unmark("".join(_html_pieces(root))) if root is not None else ""
    return title, text


def _decode_html(name: str, data: bytes) -> str:
    """Use the charset the page declares when it decodes cleanly, else ``decode_text``."""
    declared = _META_CHARSET.search(data[:4096])
    codec = _html_codec(declared.group(1).decode("ascii")) if declared else None
    if codec and not data.startswith(codecs.BOM_UTF8):
        text = _strict(data, codec)
        if text is not None:
            return text
    return _decode_named(name, data)


def _html_codec(label: str) -> str | None:
    """Python codec for a declared charset; None for unknown and Latin labels (often wrong)."""
    label = label.lower()
    if label in ("gb2312", "gbk", "x-gbk", "gb18030", "chinese", "csgb2312"):
        return "gb18030"
    if label.startswith("big5") or label == "x-x-big5":
        return "cp950"
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    return None if codec in ("latin-1", "iso8859-1", "cp1252", "ascii") else codec


def _node_text(node: LexborNode | None) -> str:
    return " ".join(node.text().split()) if node is not None else ""


def _html_pieces(root: LexborNode) -> Iterator[str]:
    """Text of the tree in order, with break markers around block elements (no recursion)."""
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if node.is_text_node:
            yield re.sub(r"[\x1d-\x1f]", "", node.text_content or "")
            continue
        if not node.is_element_node:
            continue  # comments
        yield _BREAKS.get(node.tag or "", "")  # on the way in and on the way out
        if not leaving:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))


def _unmark(marked: str) -> str:
    """Collapse HTML whitespace; a run of markers becomes " | ", a newline or a blank line.

    A line break inside the source between two Chinese characters is dropped, not spaced.
    """
    text = re.sub(r"[ \t\r\n\f]+", " ", _CJK_LINE_BREAK.sub("", marked))
    text = re.sub(rf"[ {_CELL}]*{_CELL}[ {_CELL}]*", " | ", text)
    text = re.sub(rf"[ |{_LINE}{_BLOCK}]*{_BLOCK}[ |{_LINE}{_BLOCK}]*", "\n\n", text)
    return re.sub(rf"[ |{_LINE}]*{_LINE}[ |{_LINE}]*", "\n", text)


# ---- shared -------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")
_JUNK_TITLES = {"untitled", "无标题", "无标题文档", "document"}


def _tidy(text: str) -> str:
    """Unix newlines, plain spaces, no control characters or trailing spaces, single blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_title(title: str) -> str:
    """Drop placeholder titles and the "Microsoft Word - x.docx" wrapper PDF printers add."""
    title = " ".join(title.split())
    title = re.sub(r"^Microsoft Word - ", "", title)
    title = re.sub(r"\.(docx?|wps|pdf)$", "", title, flags=re.IGNORECASE)
    return "" if title.lower() in _JUNK_TITLES else title


_READERS: dict[str, tuple[str, Callable[[str, bytes], tuple[str, str]]]] = {
    ".pdf": ("pdf", pdf_text),
    ".docx": ("docx", _docx_text),
    ".html": ("html", _html_text),
    ".htm": ("html", _html_text),
    ".txt": ("text", _plain_text),
    ".md": ("text", _markdown_text),
}
