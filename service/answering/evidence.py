"""How much of a question the retrieved text covers, weighted by term rarity.

Dense scores of e5 are compressed (an off-topic question can score 0.86 while a
good answer scores 0.84), so refusal and sentence choice lean on which of the
question's informative words the text actually contains.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.index.bm25 import BM25Index, TermStatistics
from service.index.tokenizer import tagged_words

NOUN_FLAGS = ("n", "vn", "eng", "nz", "ns", "nt", "nr", "j", "l", "i")
FUNCTION_WORD_SHARE = 0.3
HOME_PLACES = ("济南", "高新", "山东", "历城", "章丘", "齐鲁", "泉城")


@dataclass(frozen=True)
class QueryTerms:
    weights: dict[str, float]  # word -> weight (its idf; unseen nouns weigh the most)
    foreign_places: tuple[str, ...] = ()  # place names the corpus never mentions
    places: tuple[str, ...] = ()  # every place the question names, outside the home zone
    home: tuple[str, ...] = ()  # the home zone's places the question names (济南高新区…)

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def coverage(self, text: str) -> float:
        """Share of the question's weight whose words occur in ``text`` (0..1)."""
        if not self.weights:
            return 0.0
        return sum(w for word, w in self.weights.items() if word in text) / self.total


def query_terms(question: str, bm25: BM25Index | TermStatistics) -> QueryTerms:
    """Weigh each word of ``question``; words the corpus never uses count fully when
    they are nouns (a question about 红烧肉 is not covered by texts about 济南)."""
    unseen = bm25.idf("")
    weights: dict[str, float] = {}
    places: list[str] = []
    named: list[str] = []
    home: list[str] = []
    for word, flag in tagged_words(question):
        known = word in bm25.vocabulary
        if known:
            weights[word] = bm25.idf(word)
        else:
            share = 1.0 if flag.startswith(NOUN_FLAGS) else FUNCTION_WORD_SHARE
            weights[word] = unseen * share
        if flag == "ns" and is_home(word):
            home.append(word)
        elif flag == "ns":
            named.append(word)
            if not known:
                places.append(word)
    return QueryTerms(weights, tuple(places), tuple(named), tuple(home))


def is_home(place: str) -> bool:
    """济南高新区, 山东省, 历城区…: a place of the zone this desk serves."""
    return any(h in place for h in HOME_PLACES)


PLACE_SUFFIXES = ("特别行政区", "自治区", "自治州", "省", "市", "区", "县", "州")


def place_core(place: str) -> str:
    """北京市 -> 北京, 内蒙古自治区 -> 内蒙古: the part a text is sure to repeat."""
    for suffix in PLACE_SUFFIXES:
        if place.endswith(suffix) and len(place) - len(suffix) >= 2:
            return place[: -len(suffix)]
    return place
