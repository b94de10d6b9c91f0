"""DOCX paragraphs and tables in document order, with python-docx (loaded with this module)."""

from __future__ import annotations

import io
import re

import docx
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from service.core.errors import Unprocessable
from service.ingest.readers.errors import parser_errors

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^(heading|title|标题)", re.IGNORECASE)


def read_docx(name: str, data: bytes) -> tuple[str, str]:
    """Paragraphs and tables in document order; each heading and table row on its own line."""
    if data.startswith(_OLE_MAGIC):
        raise Unprocessable(
            f"{name}: this is a password-protected DOCX or an old .doc file; save it as an "
            "unprotected .docx and upload it again"
        )
    with parser_errors(name, "DOCX"):
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
