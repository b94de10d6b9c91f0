"""Visible text of an HTML page with selectolax (loaded with this module)."""

from __future__ import annotations

import codecs
import re
from collections import Counter
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

# The parser's tree building slows down with the depth of open elements (200k nested divs:
# minutes). Browsers stop nesting at 512 (Chromium's limit); so do we, before parsing.
MAX_DEPTH = 512
_TAG = re.compile(
    r"<!--.*?(?:-->|$)|<(script|style|textarea|title)\b.*?(?:</\1\s*>|$)"  # skipped whole
    r"|<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>",
    re.DOTALL | re.IGNORECASE,
)
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
# A start tag of the key closes an open element of the value on top (p closes p, li closes li).
_CLOSES_OPEN = {
    **dict.fromkeys(["p", "div", "ul", "ol", "table", "section", "article", "blockquote",
                     "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dl", "form"], {"p"}),
    "li": {"li", "p"}, "dt": {"dt", "dd", "p"}, "dd": {"dt", "dd", "p"},
    "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"},
    "option": {"option"},
}


def read_html(name: str, data: bytes) -> tuple[str, str]:
    """Visible text of the page; headings and blocks on their own lines, no markup."""
    tree = LexborHTMLParser(flatten_deep_nesting(_decode_html(name, data)))
    title = _node_text(tree.css_first("title")) or _node_text(tree.css_first("h1"))
    tree.strip_tags(_DROPPED_TAGS)
    root = tree.body or tree.root
    text = _unmark("".join(_html_pieces(root))) if root is not None else ""
    return title, text


def flatten_deep_nesting(page: str, max_depth: int = MAX_DEPTH) -> str:
    """``page`` without the start and end tags of elements nested deeper than ``max_depth``.

    One pass over the tags with a model of the open elements that is rough (end tags close
    the nearest open element of their name; ``_CLOSES_OPEN`` covers the usual omitted end
    tags), but only ever drops tags below depth ``max_depth``: their text stays, in order.
    """
    open_tags: list[str] = []
    counts: Counter[str] = Counter()  # of open_tags, for membership in O(1)
    dropped: Counter[str] = Counter()  # start tags dropped, whose end tags must go too
    cuts: list[tuple[int, int]] = []
    for match in _TAG.finditer(page):
        closing, tag, self_closing = match.group(2), (match.group(3) or "").lower(), match.group(4)
        if not tag or tag in _VOID or self_closing:
            continue
        if closing:
            if dropped[tag]:
                dropped[tag] -= 1
                cuts.append(match.span())
            elif counts[tag]:
                while (popped := open_tags.pop()) != tag:
                    counts[popped] -= 1
                counts[tag] -= 1
            continue
        while open_tags and open_tags[-1] in _CLOSES_OPEN.get(tag, ()):
            counts[open_tags.pop()] -= 1
        if len(open_tags) >= max_depth:
            dropped[tag] += 1
            cuts.append(match.span())
        else:
            open_tags.append(tag)
            counts[tag] += 1
    return _without(page, cuts) if cuts else page


def _without(page: str, cuts: list[tuple[int, int]]) -> str:
    pieces, start = [], 0
    for cut_start, cut_end in cuts:
        pieces.append(page[start:cut_start])
        start = cut_end
    pieces.append(page[start:])
    return "".join(pieces)


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
    text = _collapse_runs(text, f" {_CELL}", _CELL, " | ")
    text = _collapse_runs(text, f" |{_LINE}{_BLOCK}", _BLOCK, "\n\n")
    return _collapse_runs(text, f" |{_LINE}", _LINE, "\n")


def _collapse_runs(text: str, members: str, marker: str, replacement: str) -> str:
    """Each longest run of ``members`` characters that holds ``marker`` becomes
    ``replacement`` (in linear time: a pattern like ``[ab]*b[ab]*`` backtracks on long runs)."""
    return re.sub(f"[{members}]+",
                  lambda run: replacement if marker in run.group() else run.group(), text)
