"""What a parser raises on a malformed file, as a 422 that names the file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.core.errors import ServiceError, Unprocessable


@contextmanager
def parser_errors(name: str, kind: str) -> Iterator[None]:
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
