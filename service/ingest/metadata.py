"""Document metadata from YAML front matter, sidecars and .jsonl lines, checked in one place.

YAML is read with the safe loader, without aliases (a few hundred bytes of nested aliases
expand to megabytes: the "billion laughs") and at most ``MAX_YAML_CHARS`` long. The known
fields have types; other fields may hold text, numbers, dates or lists of those. A wrong
type, text that is not valid Unicode (a lone surrogate from a ``"\\ud800"`` escape) or an
over-long value is a 422 naming the field and the file (and line).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from service.core.errors import CorpusError
from service.core.text import lone_surrogate

MAX_YAML_CHARS = 64 * 1024
MAX_FIELD_CHARS = 1000  # title, source, date, each tag and each extra text field
MAX_ID_CHARS = 200
MAX_TAGS = 100
ONE_LINE_FIELDS = ("id", "title", "source", "date", "agency", "doc_number")
DATE_FIELDS = ("issued", "effective", "expires")  # policy dates: ISO YYYY-MM-DD
MAX_REPLACES = 50
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCALARS = (str, int, float, bool, dt.date)


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader without aliases: every value is written out where it is used."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed; write the value out",
                event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_mapping(text: str, where: str, what: str) -> dict[str, Any]:
    """The mapping ``text`` holds ({} if empty); ``what``: "front matter" or "sidecar"."""
    if len(text) > MAX_YAML_CHARS:
        raise CorpusError(f"{where}: the {what} is {len(text):,} characters long; at most "
                          f"{MAX_YAML_CHARS:,} are allowed")
    try:
        meta = yaml.load(text, Loader=_NoAliasLoader) or {}  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise CorpusError(f"{where}: {what} is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"{where}: {what} must be a mapping of fields")
    return meta


def check_metadata(meta: dict[Any, Any], where: str) -> dict[str, Any]:
    """``meta`` with known fields as text (``tags`` a list of text) and every value checked;
    empty values (None, "") are left out, so they keep the default."""
    checked: dict[str, Any] = {}
    for field, value in meta.items():
        if not isinstance(field, str) or len(field) > MAX_ID_CHARS:
            raise CorpusError(f"{where}: field names must be short text, got {field!r:.60}")
        check_unicode(field, where, "a field name")
        if value is None or value == "":
            continue
        if field in ONE_LINE_FIELDS:
            checked[field] = _one_line(field, value, where)
        elif field == "tags":
            checked[field] = _tags(value, where)
        elif field in DATE_FIELDS:
            checked[field] = policy_date(field, value, where)
        elif field == "replaces":
            checked[field] = _replaces(value, where)
        elif field == "text":
            if not isinstance(value, str):
                raise _wrong_type(field, value, where, "text")
            checked[field] = check_unicode(value, where, field)
        else:
            checked[field] = _extra(field, value, where)
    return checked


def check_unicode(text: str, where: str, field: str) -> str:
    """``text`` if it is valid Unicode (no lone surrogate), else a 422 naming the field."""
    position = lone_surrogate(text)
    if position is not None:
        raise CorpusError(
            f"{where}: {field}: contains {text[position]!a} at character {position}, half of a "
            "UTF-16 pair, which is not valid Unicode; fix the text (or its \\u escapes)"
        )
    return text


def _one_line(field: str, value: object, where: str) -> str:
    if field == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if field in ("id", "date") and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        kinds = "text or a number" if field == "id" else "text (quoted if it looks like a number)"
        raise _wrong_type(field, value, where, kinds)
    text = " ".join(check_unicode(value, where, field).split())
    limit = MAX_ID_CHARS if field == "id" else MAX_FIELD_CHARS
    _check_length(field, text, limit, where)
    if _CONTROL.search(text):
        raise CorpusError(f"{where}: {field}: contains a control character; remove it")
    return text


def policy_date(field: str, value: object, where: str = "") -> str:
    """``value`` as an ISO date ``YYYY-MM-DD`` (a YAML date or text), else a 422 naming the
    field, the value and the format."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else ""
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    prefix = f"{where}: " if where else ""
    raise CorpusError(f"{prefix}{field}: {shown} is not a date; write it as YYYY-MM-DD, "
                      "like 2020-12-31")


def _replaces(value: object, where: str) -> list[str]:
    """The ids or document numbers of the notices a document replaces."""
    items = [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in items
    ):
        raise _wrong_type("replaces", value, where,
                          "a document id or number, or a list of them, like [鲁政办发〔2020〕5号]")
    if len(items) > MAX_REPLACES:
        raise CorpusError(f"{where}: replaces: {len(items)} items; at most {MAX_REPLACES} are "
                          "allowed")
    replaced = [" ".join(check_unicode(str(item), where, "replaces").split()) for item in items]
    for item in replaced:
        _check_length("replaces", item, MAX_ID_CHARS, where)
    return [item for item in replaced if item]


def _tags(value: object, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in items
    ):
        raise _wrong_type("tags", value, where, "a list of words, like [科技, 补贴]")
    if len(items) > MAX_TAGS:
        raise CorpusError(f"{where}: tags: {len(items)} tags; at most {MAX_TAGS} are allowed")
    tags = [" ".join(check_unicode(str(item), where, "tags").split()) for item in items]
    for tag in tags:
        _check_length("tags", tag, MAX_FIELD_CHARS, where)
    return [tag for tag in tags if tag]


def _extra(field: str, value: object, where: str) -> object:
    """Any other field: text, a number, a date, or a list of those (no nested mappings)."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, _SCALARS):
            raise _wrong_type(field, value, where, "text, a number, a date or a list of those")
        if isinstance(item, str):
            check_unicode(item, where, field)
            _check_length(field, item, MAX_FIELD_CHARS, where)
    return value


def _check_length(field: str, text: str, limit: int, where: str) -> None:
    if len(text) > limit:
        raise CorpusError(f"{where}: {field}: is {len(text):,} characters long; at most "
                          f"{limit:,} are allowed")


def _wrong_type(field: str, value: object, where: str, expected: str) -> CorpusError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return CorpusError(f"{where}: {field}: must be {expected}, got {shown} "
                       f"({type(value).__name__})")
