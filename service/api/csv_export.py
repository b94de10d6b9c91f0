"""CSV downloads for staff: UTF-8 with a byte-order mark, so Excel opens Chinese correctly.

Cells that Excel or LibreOffice would run as a formula (text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading apostrophe: the questions in these
files were typed by anyone on the internet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from urllib.parse import quote

from fastapi import Response

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return BOM + buffer.getvalue()


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """An attachment ``<name>-<UTC date>.csv``."""
    filename = f"{name}-{datetime.now(timezone.utc):%Y%m%d}.csv"
    return Response(
        csv_text(header, rows).encode("utf-8"), media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; "
                                        f"filename*=UTF-8''{quote(filename)}"})
