"""The one place where untrusted strings and numbers from a request are checked.

JSON bodies, form fields, query and path parameters all pass through these functions (as
pydantic types, or called directly for form fields) before a model, a database or a file sees
them. Three rules for every string: it is valid Unicode (JSON can carry a lone surrogate such
as ``"\\ud800"``, which no UTF-8 encoder, SQLite or tokenizer accepts), it has no control
characters (removed from free text, refused in names and ids) and it has a bounded length.
Integers are bounded so that no value overflows SQLite's 64-bit integers or a slice.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from service.core.text import lone_surrogate

MAX_TEXT = 500  # a question or a search query, after cleaning
MAX_NAME = 200  # titles, sources, dates, ids, profile values, passage ids
MAX_OFFSET = 2**31 - 1  # far beyond any table here, far below SQLite's 2**63
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def check_unicode(value: str) -> str:
    """``value`` unchanged if UTF-8 can encode it; else a ValueError naming the position."""
    position = lone_surrogate(value)
    if position is not None:
        code = ord(value[position])
        raise ValueError(f"contains an unpaired surrogate (U+{code:04X}) at character "
                         f"{position}; send valid Unicode text (UTF-8)")
    return value


def clean_user_text(value: str) -> str:
    """A question or query: control characters removed, trimmed, then 1..500 characters."""
    text = unicodedata.normalize("NFC", CONTROL.sub("", check_unicode(value))).strip()
    if not text:
        raise ValueError("must not be empty: type a question of 1–500 characters")
    if len(text) > MAX_TEXT:
        raise ValueError(
            f"is {len(text)} characters long; shorten it to at most {MAX_TEXT} characters"
        )
    return text


def clean_long_text(value: str) -> str:
    """Free text over several lines (an answer, a comment, a policy): valid Unicode, control
    characters other than line breaks and tabs removed. Its length is the field's rule."""
    return _LINE_CONTROL.sub("", check_unicode(value))


def check_name(value: str) -> str:
    """A one-line name or id: valid Unicode and no control or format characters (refused,
    not removed: an id that changed silently would name another document)."""
    for position, char in enumerate(check_unicode(value)):
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise ValueError(f"contains the control character U+{ord(char):04X} at character "
                             f"{position}; send one line of plain text")
    return value


def check_strings(value: Any) -> Any:
    """A string, or each string of a list, is valid Unicode: the net under the typed fields
    for any string field a model forgets to type (nested models check their own fields)."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            check_unicode(item)
    return value


# minLength only in the schema: the cleaner's own message ("must not be empty") says more
UserText = Annotated[str, Field(strict=True, json_schema_extra={"minLength": 1}),
                     AfterValidator(clean_user_text)]
Name = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_NAME),
                 AfterValidator(check_name)]
PathName = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(check_name)]
LongText = Annotated[str, Field(strict=True), AfterValidator(clean_long_text)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description=f"Items to skip, 0–{MAX_OFFSET}.")]

