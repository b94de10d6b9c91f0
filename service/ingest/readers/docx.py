"""DOCX paragraphs and tables in document order, with python-docx (loaded with this module)."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from service.core.errors import PayloadTooLarge, Unprocessable
from service.ingest.readers.errors import parser_errors

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^(heading|title|标题)", re.IGNORECASE)
_MIB = 1024 * 1024
# Checked on the zip's declared sizes before anything is inflated (zipfile never inflates a
# member past its declared size). Word's XML packs 5-20x; a bomb packs ~1000x.
MAX_UNPACKED_BYTES = 256 * _MIB
MAX_RATIO = 200
_RATIO_FROM_BYTES = 8 * _MIB  # small members may pack as tightly as they like


def read_docx(name: str, data: bytes) -> tuple[str, str]:
    """Paragraphs and tables in document order; each heading and table row on its own line."""
    if data.startswith(_OLE_MAGIC):
        raise Unprocessable(
            f"{name}: this is a password-protected DOCX or an old .doc file; save it as an "
            "unprotected .docx and upload it again"
        )
    with parser_errors(name, "DOCX"):
        _check_unpacked_sizes(name, data)
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        title = document.core_properties.title or _first_heading(blocks)
        text = "\n\n".join(_block_text(block) for block in blocks)
    return title, text


def _check_unpacked_sizes(name: str, data: bytes) -> None:
    """413 for a zip that would unpack to more than ``MAX_UNPACKED_BYTES`` or whose large
    members pack more than ``MAX_RATIO`` times: a decompression bomb, not a document."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
    total = sum(member.file_size for member in members)
    if total > MAX_UNPACKED_BYTES:
        raise PayloadTooLarge(
            f"{name}: the DOCX would unpack to {total / _MIB:,.0f} MB, over the "
            f"{MAX_UNPACKED_BYTES // _MIB} MB limit for one document; it looks like a "
            "decompression bomb: split the document or save a simpler copy"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FROM_BYTES and ratio > MAX_RATIO:
            raise PayloadTooLarge(
                f"{name}: {member.filename} in the DOCX is packed {ratio:,.0f} times (from "
                f"{member.compress_size:,} to {member.file_size:,} bytes), over the limit of "
                f"{MAX_RATIO}; it looks like a decompression bomb, not a document"
            )


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
