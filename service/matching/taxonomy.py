"""Deterministic tags for texts and enterprise profiles, from an editable YAML taxonomy.

The taxonomy maps facet -> tags, each a canonical name with synonyms. Matching is a plain
substring search on text with whitespace removed and Latin letters lower-cased, so a PDF
line break inside "泉惠\\n企" still matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TAXONOMY = Path(__file__).parents[1] / "data" / "taxonomy.yaml"

Tags = dict[str, dict[str, list[str]]]
"""facet -> canonical tag name -> trigger words found, as spelled in the taxonomy."""


@dataclass(frozen=True)
class Tag:
    name: str
    synonyms: tuple[str, ...] = ()
    not_terms: tuple[str, ...] = ()  # longer words that contain a term but mean something else

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word that triggers this tag; the canonical name matches as itself."""
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class Facet:
    """One facet's tags. Construction fails if a term belongs to two tags."""

    name: str
    tags: tuple[Tag, ...]
    index: Mapping[str, tuple[str, str | None]] = field(init=False, repr=False, compare=False)
    keys_longest_first: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = _build_index(self.name, self.tags)
        object.__setattr__(self, "index", index)
        longest_first = sorted(index, key=lambda key: (-len(key), key))
        object.__setattr__(self, "keys_longest_first", tuple(longest_first))


@dataclass(frozen=True)
class Taxonomy:
    facets: tuple[Facet, ...]

    def facet(self, name: str) -> Facet:
        for facet in self.facets:
            if facet.name == name:
                return facet
        known = ", ".join(facet.name for facet in self.facets)
        raise ValueError(f"unknown facet {name!r}; known facets: {known}")

    def values(self, facet: str) -> list[str]:
        """Canonical tag names of one facet, in file order."""
        return [tag.name for tag in self.facet(facet).tags]


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; by default the one packaged with the service."""
    source = Path(path) if path is not None else DEFAULT_TAXONOMY
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{source}: expected a mapping of facet -> list of tags, got {raw!r:.80}")
    return Taxonomy(tuple(_parse_facet(str(name), entries) for name, entries in raw.items()))


def tag_text(text: str, taxonomy: Taxonomy) -> Tags:
    """Tags found in ``text``, per facet, in taxonomy order; facets without tags are left out.

    Within a facet the longest terms match first (ties in code point order), and a term
    inside an already matched span does not fire: "生物医药" triggers its tag once, not
    again as "医药". Facets match independently, so one word may tag an industry and a need.
    """
    normalized = _normalize(text)
    tags: Tags = {}
    for facet in taxonomy.facets:
        found = _match_facet(normalized, facet)
        if found:
            tags[facet.name] = found
    return tags


def canonical(facet: str, value: str, taxonomy: Taxonomy) -> str | None:
    """The canonical name for a user value or synonym ("高企" -> "高新技术企业"), else None."""
    entry = taxonomy.facet(facet).index.get(_normalize(value))
    return entry[1] if entry else None  # a "not" term names no tag either


def _match_facet(text: str, facet: Facet) -> dict[str, list[str]]:
    taken = bytearray(len(text))
    first_seen: dict[str, list[tuple[int, str]]] = {}
    for key in facet.keys_longest_first:
        start = text.find(key)
        while start != -1:
            end = start + len(key)
            if not any(taken[start:end]):
                taken[start:end] = b"\x01" * len(key)
                term, tag_name = facet.index[key]
                if tag_name is None:  # a "not" term: takes its span, tags nothing
                    start = text.find(key, start + 1)
                    continue
                triggers = first_seen.setdefault(tag_name, [])
                if all(seen != term for _, seen in triggers):
                    triggers.append((start, term))
            start = text.find(key, start + 1)
    return {
        tag.name: [term for _, term in sorted(first_seen[tag.name])]
        for tag in facet.tags
        if tag.name in first_seen
    }


def _parse_facet(name: str, entries: Any) -> Facet:
    if not isinstance(entries, list):
        raise ValueError(f"facet {name!r} must be a list of tags, got {entries!r:.80}")
    return Facet(name, tuple(_parse_tag(name, entry) for entry in entries))


def _parse_tag(facet: str, entry: Any) -> Tag:
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"every tag in facet {facet!r} needs a non-empty name, got {entry!r:.80}")
    synonyms = _terms(entry, "synonyms", name)
    return Tag(name.strip(), synonyms, _terms(entry, "not", name))


def _terms(entry: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    terms = entry.get(key) or []
    if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
        raise ValueError(f"{key} of {name!r} must be a list of non-empty strings, "
                         f"got {terms!r:.80}")
    return tuple(term.strip() for term in terms)


def _build_index(facet: str, tags: tuple[Tag, ...]) -> dict[str, tuple[str, str | None]]:
    """Normalized term -> (term as written, canonical name, or None for a "not" term);
    a term may have one owner."""
    index: dict[str, tuple[str, str | None]] = {}
    listed_under: dict[str, str] = {}  # normalized term -> the tag whose entry first listed it
    names: set[str] = set()
    for tag in tags:
        if tag.name in names:
            raise ValueError(f"tag {tag.name!r} is listed twice in facet {facet!r}")
        names.add(tag.name)
        for term, owner in [*((t, tag.name) for t in tag.terms),
                            *((t, None) for t in tag.not_terms)]:
            key = _normalize(term)
            known = index.setdefault(key, (term, owner))[1]
            first = listed_under.setdefault(key, tag.name)
            if known != owner:
                raise ValueError(f"term {term!r} belongs to both {_owner(known, first)} and "
                                 f"{_owner(owner, tag.name)} in facet {facet!r}")
    return index


def _owner(tag_name: str | None, listed_under: str) -> str:
    return repr(tag_name) if tag_name else f"the 'not' list of {listed_under!r}"


def _normalize(text: str) -> str:
    return "".join(text.split()).lower()
