"""Policy cards (tags per passage, rolled up per document) and matching them to a profile.

A card is derived from the index deterministically: the taxonomy tags of the passage
(with the words that triggered each tag) and the dates the text states. A profile is
what an enterprise says it is and needs; matching returns every card that applies,
ranked, never cut at a top-k.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from service.core.errors import Unprocessable
from service.core.models import Citation, Hit, Passage
from service.index.store import LoadedIndex
from service.ingest.excerpts import best_clauses
from service.ingest.sentences import sentence_spans
from service.matching.taxonomy import Tags, Taxonomy, canonical, load_taxonomy, tag_text

PROFILE_FACETS = ("industries", "qualifications", "needs")
LABELS = {"industries": "行业", "qualifications": "资质", "needs": "需求"}
WEIGHTS = {"industries": 2.0, "qualifications": 1.0, "needs": 2.0}
SERVICE_NEED = "政策咨询"  # 泉惠企 platform, 服务站, 首席政策官: help for every enterprise
FOREIGN_STAFF_NEED = "涉外服务"
SERVICE_REASON = "服务：政策咨询与办事渠道（所有企业适用）"
SERVICE_GROUP = "政策咨询与办事"
SERVICE_SCORE = 0.5  # below any real match: the help item comes last unless asked for
MIN_OFF_INDUSTRY_NEED_WORDS = 2
MAX_EXCERPT = 120
_DATE = re.compile(r"((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月)?(?:\s*(\d{1,2})\s*日)?"
                   r"|((?:19|20)\d{2})-(\d{1,2})(?:-(\d{1,2}))?")


@lru_cache
def default_taxonomy() -> Taxonomy:
    """The taxonomy packaged with the service, read once per process."""
    return load_taxonomy()


@dataclass(frozen=True)
class PolicyCard:
    """One passage's tags (facet -> tag -> trigger words) and the dates it states."""

    passage: Passage
    order: int  # row in the index: the stable tie-break
    tags: Tags = field(compare=False)
    dates: tuple[str, ...]

    @property
    def is_service(self) -> bool:
        return SERVICE_NEED in self.tags.get("needs", {})


@dataclass(frozen=True)
class DocumentCard:
    """The cards of one document rolled up: every tag and trigger, every stated date."""

    document_id: str
    title: str
    date: str  # the document's metadata date, else the latest date its text states
    tags: Tags = field(compare=False)
    dates: tuple[str, ...]
    passage_ids: tuple[str, ...]


@dataclass(frozen=True)
class PolicyCards:
    """The cards of an index, with an inverted index: (facet, tag) -> rows of the cards
    that carry the tag, and the rows of the service items."""

    passages: tuple[PolicyCard, ...]
    documents: dict[str, DocumentCard] = field(compare=False)
    rows_by_tag: dict[tuple[str, str], tuple[int, ...]] = field(compare=False)
    service_rows: tuple[int, ...]

    def candidates(self, profile: Profile) -> list[PolicyCard]:
        """The only cards that can match ``profile`` (a tag in common, or a service item),
        in card order."""
        tagged = (self.rows_by_tag.get((f, tag), ()) for f in PROFILE_FACETS
                  for tag in profile.values(f))
        return [self.passages[row] for row in sorted(set(self.service_rows).union(*tagged))]


@dataclass(frozen=True)
class Profile:
    """Canonical tag names an enterprise asked for, per facet, in the order given."""

    industries: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def values(self, facet: str) -> tuple[str, ...]:
        return getattr(self, facet)  # type: ignore[no-any-return]

    @property
    def empty(self) -> bool:
        return not (self.industries or self.qualifications or self.needs)

    def describe(self) -> str:
        """"行业：生物医药与大健康；需求：金融、人才"."""
        return "；".join(f"{LABELS[f]}：{'、'.join(self.values(f))}"
                        for f in PROFILE_FACETS if self.values(f))


@dataclass(frozen=True)
class Match:
    card: PolicyCard
    score: float
    shared: dict[str, tuple[str, ...]] = field(compare=False)  # facet -> tags in common
    date: str = ""  # of the document, for the newest-first tie-break

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for reason, _, _ in self.reason_tags())

    def reason_tags(self) -> list[tuple[str, str, str]]:
        """(reason, facet, tag) per tag in common; the help item's one reason otherwise."""
        reasons = [(f"{LABELS[f]}：{tag}", f, tag)
                   for f in PROFILE_FACETS for tag in self.shared.get(f, ())]
        return reasons or [(SERVICE_REASON, "needs", SERVICE_NEED)]

    def triggers(self, facet: str, tag: str) -> list[str]:
        return self.card.tags.get(facet, {}).get(tag, [])

    def citation(self, marker: int, quote: Excerpt) -> Citation:
        """``quote`` of this match's passage as citation ``marker`` (offsets in the document)."""
        passage = self.card.passage
        return Citation(marker, self.hit(), quote.text, passage.start + quote.start,
                        passage.start + quote.end)

    def hit(self) -> Hit:
        return Hit(self.card.passage, self.score, 0.0, 0.0)

    def groups(self) -> list[tuple[str, str]]:
        """(group, reason) pairs: one per shared need, else the first reason's kind."""
        tagged = self.reason_tags()
        needs = [(group_label(f, tag), reason) for reason, f, tag in tagged if f == "needs"]
        reason, facet, tag = tagged[0]
        return needs or [(group_label(facet, tag), reason)]


@dataclass(frozen=True)
class Excerpt:
    """Verbatim text of a passage; ``start``/``end`` are offsets in the passage text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Evidence:
    """Why a match applies: the best 1–2 sentences, and per reason the sentence saying it."""

    summary: Excerpt
    quotes: tuple[tuple[str, Excerpt], ...]  # (reason, sentence with its trigger words)


def build_cards(passages: Sequence[Passage], documents: dict[str, dict[str, Any]],
                taxonomy: Taxonomy) -> PolicyCards:
    """Cards for every passage and their roll-up per document (``documents``: manifest)."""
    cards = tuple(PolicyCard(p, row, tag_text(p.text, taxonomy), stated_dates(p.text))
                  for row, p in enumerate(passages))
    grouped: dict[str, list[PolicyCard]] = {}
    for card in cards:
        grouped.setdefault(card.passage.document_id, []).append(card)
    rolled = {doc_id: _document_card(doc_id, group, documents.get(doc_id, {}))
              for doc_id, group in grouped.items()}
    service_rows = tuple(card.order for card in cards if card.is_service)
    return PolicyCards(cards, rolled, _rows_by_tag(cards), service_rows)


def _rows_by_tag(cards: Sequence[PolicyCard]) -> dict[tuple[str, str], tuple[int, ...]]:
    rows: dict[tuple[str, str], list[int]] = {}
    for card in cards:
        for facet, facet_tags in card.tags.items():
            for tag in facet_tags:
                rows.setdefault((facet, tag), []).append(card.order)
    return {key: tuple(found) for key, found in rows.items()}


def stated_dates(text: str) -> tuple[str, ...]:
    """Dates written in the text ("2024年12月" -> "2024-12", "2021年底" -> "2021"), sorted."""
    found = set()
    for match in _DATE.finditer(text):
        year, month, day = match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
        parts = [year]
        if month and 1 <= int(month) <= 12:
            parts.append(f"{int(month):02d}")
            if day and 1 <= int(day) <= 31:
                parts.append(f"{int(day):02d}")
        found.add("-".join(parts))
    return tuple(sorted(found))


def _document_card(doc_id: str, cards: list[PolicyCard], meta: dict[str, Any]) -> DocumentCard:
    tags: Tags = {}
    for card in cards:
        for facet, facet_tags in card.tags.items():
            merged = tags.setdefault(facet, {})
            for tag, words in facet_tags.items():
                known = merged.setdefault(tag, [])
                known.extend(w for w in words if w not in known)
    dates = tuple(sorted({d for card in cards for d in card.dates}))
    date = str(meta.get("date") or cards[0].passage.date or (dates[-1] if dates else ""))
    title = str(meta.get("title") or cards[0].passage.title)
    return DocumentCard(doc_id, title, date, tags, dates, tuple(c.passage.id for c in cards))


def group_label(facet: str, tag: str) -> str:
    """Heading of a grouped list: the need itself, else "行业：…"/"资质：…"."""
    if facet == "needs":
        return SERVICE_GROUP if tag == SERVICE_NEED else tag
    return f"{LABELS[facet]}：{tag}"


def grouped(matches: Sequence[Match], profile: Profile,
            once: bool = False) -> list[tuple[str, list[Match]]]:
    """Matches under their groups: the profile's needs in its order, other kinds after,
    the help item last. A match sharing two needs is listed under both unless ``once``."""
    groups: dict[str, list[Match]] = {}
    for match in matches:
        for group, _ in match.groups()[: 1 if once else None]:
            groups.setdefault(group, []).append(match)
    rank = {need: i for i, need in enumerate(profile.needs)}
    order = sorted(groups, key=lambda g: (g == SERVICE_GROUP, rank.get(g, len(rank))))
    return [(group, groups[group]) for group in order]


def build_profile(taxonomy: Taxonomy, industries: Iterable[str] = (),
                  qualifications: Iterable[str] = (), needs: Iterable[str] = (),
                  foreign_staff: bool = False, text: str | None = None) -> Profile:
    """A profile from user values (canonical names or synonyms) and free text.

    Unknown values raise ``Unprocessable`` naming the accepted ones; ``text`` is tagged
    and merged in; ``foreign_staff`` adds the 涉外服务 need.
    """
    given = {"industries": industries, "qualifications": qualifications, "needs": needs}
    values = {facet: [_canonical(facet, v, taxonomy) for v in given[facet]]
              for facet in PROFILE_FACETS}
    if text:
        for facet, tags in profile_tags(text, taxonomy).items():
            values[facet].extend(tags)
    if foreign_staff:
        values["needs"].append(FOREIGN_STAFF_NEED)
    return Profile(**{facet: tuple(dict.fromkeys(v)) for facet, v in values.items()})


def profile_tags(text: str, taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The profile facets' tags that ``text`` names."""
    tags = tag_text(text, taxonomy)
    return {facet: list(tags[facet]) for facet in PROFILE_FACETS if facet in tags}


def accepted_values(facet: str, taxonomy: Taxonomy) -> str:
    return "、".join(taxonomy.values(facet))


def _canonical(facet: str, value: str, taxonomy: Taxonomy) -> str:
    name = canonical(facet, value, taxonomy)
    if name is None:
        raise Unprocessable(
            f"profile.{facet}: unknown value {value!r}; accepted values: "
            f"{accepted_values(facet, taxonomy)} (synonyms too: see the taxonomy)"
        )
    return name


class PolicyMatcher:
    """Cards of one loaded index version (built on first use) and matching over them."""

    def __init__(self, index: LoadedIndex, taxonomy: Taxonomy | None = None) -> None:
        self.index = index
        self.taxonomy = taxonomy or default_taxonomy()
        self._lock = threading.Lock()
        self._cards: PolicyCards | None = None

    @property
    def cards(self) -> PolicyCards:
        if self._cards is None:
            with self._lock:  # concurrent first requests build the cards once
                if self._cards is None:
                    self._cards = build_cards(self.index.passages, self.index.documents,
                                              self.taxonomy)
        return self._cards

    def match(self, profile: Profile) -> list[Match]:
        """Every card that applies to ``profile``: by score, then newest document first."""
        if profile.empty:
            raise Unprocessable("profile: name at least one industry, qualification or need "
                                "(or a text that mentions one); the taxonomy lists the "
                                "accepted values")
        cards = self.cards.candidates(profile)
        return ranked(m for card in cards if (m := self._match(card, profile)))

    def _match(self, card: PolicyCard, profile: Profile) -> Match | None:
        shared = {f: tuple(t for t in profile.values(f) if t in card.tags.get(f, {}))
                  for f in PROFILE_FACETS}
        date = self.cards.documents[card.passage.document_id].date
        if any(shared.values()) and not _off_industry_mention(card, profile, shared):
            return Match(card, match_score(card, shared), shared, date)
        if card.is_service:
            return Match(card, SERVICE_SCORE, {}, date)
        return None

    def explain(self, match: Match, profile: Profile) -> Evidence:
        return explain(match, profile, self.taxonomy)


def ranked(matches: Iterable[Match]) -> list[Match]:
    """Matches by score, then newest document first, then card order."""
    found = sorted(matches, key=lambda m: m.card.order)
    found.sort(key=lambda m: m.date, reverse=True)
    found.sort(key=lambda m: m.score, reverse=True)
    return found


def match_score(card: PolicyCard, shared: dict[str, tuple[str, ...]]) -> float:
    """Facet weight per tag in common, +1 per extra facet (industry AND need beats either),
    +0.1 per distinct trigger word (at most 0.5): more evidence ranks higher."""
    facets = [f for f in PROFILE_FACETS if shared.get(f)]
    weight = sum(WEIGHTS[f] * len(shared[f]) for f in facets)
    words = {w for f in facets for tag in shared[f] for w in card.tags[f][tag]}
    return round(weight + (len(facets) - 1) + 0.1 * min(len(words), 5), 3)


def _off_industry_mention(card: PolicyCard, profile: Profile,
                          shared: dict[str, tuple[str, ...]]) -> bool:
    """True for a passage about other industries that shares only a passing need word.

    Such a passage names industries, none of the profile's, shares no qualification,
    and names the asked-for support with fewer than two distinct words (a need word
    inside a qualification term, "上市" in "上市企业", says who, not what support).
    """
    if not profile.industries or not card.tags.get("industries") or shared["industries"]:
        return False
    if shared["qualifications"]:
        return False
    who = [w for words in card.tags.get("qualifications", {}).values() for w in words]
    need_words = {w for tag in shared["needs"] for w in card.tags["needs"][tag]
                  if not any(w in term for term in who)}
    return len(need_words) < MIN_OFF_INDUSTRY_NEED_WORDS


def explain(match: Match, profile: Profile, taxonomy: Taxonomy) -> Evidence:
    """The summary and the quotes of a match, chosen by the profile's trigger words."""
    text = match.card.passage.text
    sentences = [(s, e, tag_text(text[s:e], taxonomy)) for s, e in sentence_spans(text)]
    if not sentences:
        whole = Excerpt(0, len(text), text)
        return Evidence(whole, ((match.reasons[0], whole),))

    def relevance(tags: Tags) -> float:
        return sentence_relevance(tags, profile, match.card.is_service)

    quotes = tuple((reason, _best_excerpt(text, sentences, taxonomy,
                                          _tag_strength(facet, tag, relevance)))
                   for reason, facet, tag in match.reason_tags())
    return Evidence(_summary(text, sentences, relevance, taxonomy), quotes)


def sentence_relevance(tags: Tags, profile: Profile, service: bool = False) -> float:
    """Weighted count of the profile's tags (and their words) a sentence names."""
    score = 0.0
    for facet in PROFILE_FACETS:
        wanted = [t for t in tags.get(facet, {}) if t in profile.values(facet)]
        score += sum(WEIGHTS[facet] + 0.1 * len(tags[facet][t]) for t in wanted)
    if service and SERVICE_NEED in tags.get("needs", {}):
        score += 1.0 + 0.1 * len(tags["needs"][SERVICE_NEED])
    return score


def _tag_strength(facet: str, tag: str,
                  relevance: Callable[[Tags], float]) -> Callable[[Tags], tuple[int, float]]:
    """Rank sentences by the words of one tag first, then by relevance to the profile."""
    return lambda tags: (len(tags.get(facet, {}).get(tag, [])), relevance(tags))


def _best_excerpt(text: str, sentences: list[tuple[int, int, Tags]], taxonomy: Taxonomy,
                  key: Callable[[Tags], Any]) -> Excerpt:
    start, end, _ = max(sentences, key=lambda s: key(s[2]))  # the first of the best
    span = best_clauses(text, start, end, lambda part: key(tag_text(part, taxonomy)),
                        MAX_EXCERPT)
    return Excerpt(*span, text[span[0]:span[1]])


def _summary(text: str, sentences: list[tuple[int, int, Tags]],
             relevance: Callable[[Tags], float], taxonomy: Taxonomy) -> Excerpt:
    """The best sentence, joined by its best neighbour in the same paragraph if both fit."""
    scores = [relevance(tags) for _, _, tags in sentences]
    best = max(range(len(sentences)), key=lambda i: scores[i])
    start, end = sentences[best][0], sentences[best][1]
    neighbours = [i for i in (best + 1, best - 1) if 0 <= i < len(sentences) and scores[i] > 0]
    for i in sorted(neighbours, key=lambda i: -scores[i]):
        lo, hi = min(start, sentences[i][0]), max(end, sentences[i][1])
        if hi - lo <= MAX_EXCERPT and "\n" not in text[lo:hi]:
            start, end = lo, hi
            break
    span = best_clauses(text, start, end, lambda part: relevance(tag_text(part, taxonomy)),
                        MAX_EXCERPT)
    return Excerpt(*span, text[span[0]:span[1]])
