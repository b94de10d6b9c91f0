"""Visible text of an HTML page with selectolax (loaded with this module)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from service.ingest.readers.encodings import decode_named, strict_decode

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


def read_html(name: str, data: bytes) -> tuple[str, str]:
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
        text = strict_decode(data, codec)
        if text is not None:
            return text
    return decode_named(name, data)


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
