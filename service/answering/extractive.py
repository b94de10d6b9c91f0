"""Extractive, cited answers: the question's best sentences from retrieved passages.

Every sentence of an answer is copied verbatim from a passage and ends with the
marker of that passage; when the evidence is too weak the answer is a refusal
that points to human help and cites nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from service.answering.evidence import (
    PLACE_SUFFIXES,
    QueryTerms,
    is_home,
    place_core,
    query_terms,
)
from service.answering.retrieval import Retriever
from service.answering.verification import INSTRUCTION
from service.core.models import Answer, Citation, Hit, Passage
from service.index.tokenizer import tagged_words
from service.ingest.excerpts import as_excerpt, best_clauses
from service.ingest.sentences import clause_sentences

if TYPE_CHECKING:
    from service.matching.matcher import Profile

REFUSAL = (
    "抱歉，现有政策文本中没有找到能回答这个问题的内容，我不想凭空猜测。"
    "建议联系济南高新区“泉惠企”企业服务站或“首席政策官”团队，由工作人员一对一解答；"
    "也可以在线上“泉惠企”平台查询全部惠企政策。"
)
MAX_SENTENCES = 4
# A sentence must cover at least this share of the best one's coverage; picked with
# `eval --answers` on ncp dev (0.6 -> 0.4: quote_has 0.740 / 0.758 -> 0.743 / 0.777 on its halves).
SCORE_FLOOR = 0.4
# Per retrieval rank, subtracted from a sentence's coverage when ranking; picked with
# `eval --answers` on ncp dev (0.02 -> 0.1 raised quote_has on both halves of the set).
RANK_PENALTY = 0.1
NEAR_DUPLICATE = 0.6  # share of shared character bigrams above which a sentence repeats one
LONG_SENTENCE = 160
NO_EVIDENCE = float("-inf")  # a longer sentence is trimmed to its best clauses (excerpts.py)


REFERRAL = REFUSAL.split("。", 1)[1]  # where to get human help
NATIONAL = ("中国", "全国", "中华人民共和国", "国家")  # tagged as places, name no region


def _named(places: tuple[str, ...]) -> str:
    return "、".join(f"“{p}”" for p in places)


def foreign_place_refusal(places: tuple[str, ...]) -> str:
    """The refusal for places no text mentions at all."""
    return f"现有政策文本只涉及济南高新区，没有关于{_named(places)}的内容。" + REFERRAL


def other_region_refusal(places: tuple[str, ...]) -> str:
    """The refusal when the texts mention the places but the best match is another region's
    notice: saying the texts hold nothing about them would be untrue."""
    return (f"现有政策文本中没有找到{_named(places)}关于这个问题的规定；"
            "最接近的是其他地区的政策，并不适用。" + REFERRAL)


class Answerer(Protocol):
    def answer(self, question: str, top_k: int = 5, profile: Profile | None = None) -> Answer:
        """The answer to ``question``; ``profile`` is what the asker's page says about
        the enterprise (canonical names), which an answerer may use or ignore."""
        ...


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    rank: int
    start: int  # offsets in the document
    end: int
    text: str
    score: float


@dataclass
class RefusalPolicy:
    """Answer only when evidence = best sentence coverage + weight * (best dense - center)
    reaches ``threshold`` (picked on tests/data/refusal_dev.jsonl, see the README)."""

    threshold: float = 0.5
    dense_weight: float = 10.0
    dense_center: float = 0.85

    def evidence(self, candidates: list[Candidate], hits: list[Hit]) -> float:
        coverage = max((c.score for c in candidates), default=0.0)
        dense = max((h.dense_score for h in hits), default=0.0)
        return coverage + self.dense_weight * (dense - self.dense_center)

    def answers(self, candidates: list[Candidate], hits: list[Hit]) -> bool:
        return bool(candidates) and self.evidence(candidates, hits) >= self.threshold


class ExtractiveAnswerer:
    """Scores sentences by the question terms they contain; refuses on weak evidence."""

    def __init__(self, retriever: Retriever, policy: RefusalPolicy, max_chars: int = 300) -> None:
        self.retriever = retriever
        self.policy = policy
        self.max_chars = max_chars
        self._documents: dict[str, str] | None = None  # document id -> title and text
        self._following: dict[str, Passage] | None = None  # passage id -> the next one

    def answer(self, question: str, top_k: int = 5, profile: Profile | None = None) -> Answer:
        """``profile`` is ignored: the evidence for an extractive answer is the question's."""
        return self.retrieve(question, top_k).answer

    def retrieve(self, question: str, top_k: int = 5) -> Retrieved:
        """The passages for ``question`` and the extractive answer (or the refusal) over
        them: what a generative answerer starts from, and falls back to."""
        hits = tuple(self.retriever.search(question, top_k=top_k))
        terms = query_terms(question, self.retriever.index.bm25)
        candidates = [c for rank, hit in enumerate(hits) for c in _candidates(hit, rank, terms)]
        evidence = self.policy.evidence(candidates, list(hits)) if candidates else NO_EVIDENCE
        if terms.foreign_places:
            refusal = foreign_place_refusal(terms.foreign_places)
            return Retrieved(hits, Answer(refusal, False, (), hits), evidence, False)
        if not self.policy.answers(candidates, list(hits)):
            return Retrieved(hits, Answer(REFUSAL, False, (), hits), evidence)
        chosen = choose_sentences(candidates, self.max_chars, self._next_passage)
        missing = self._places_not_in(terms.places, chosen[0]) or _home_not_served(
            terms.home, chosen[0])
        if missing:
            refusal = other_region_refusal(missing)
            return Retrieved(hits, Answer(refusal, False, (), hits), evidence, False)
        answer = _compose(chosen, hits)
        if not terms.places and not terms.home:
            answer = replace(answer, text=_region_caveat(chosen[0]) + answer.text)
        return Retrieved(hits, answer, evidence)

    def _places_not_in(self, places: tuple[str, ...], lead: Candidate) -> tuple[str, ...]:
        """The places the question names that the notice the answer leads with never
        mentions: a notice of another region does not answer a question about this one (and
        a later sentence from a notice naming the region in passing does not change that)."""
        passage = lead.hit.passage
        if not places or not _title_places(passage.title):
            return ()  # a notice that names no region (a national one) may answer for any
        text = self._document_text(passage.document_id)
        return tuple(p for p in places if place_core(p) not in text)

    def _next_passage(self, passage: Passage) -> Passage | None:
        """The passage that follows ``passage`` in its document, if any."""
        if self._following is None:
            ordered = sorted(self.retriever.index.passages,
                             key=lambda p: (p.document_id, p.start))
            self._following = {a.id: b for a, b in zip(ordered, ordered[1:], strict=False)
                               if a.document_id == b.document_id}
        return self._following.get(passage.id)

    def _document_text(self, document_id: str) -> str:
        if self._documents is None:
            joined: dict[str, list[str]] = {}
            for passage in self.retriever.index.passages:
                joined.setdefault(passage.document_id, [passage.title]).append(passage.text)
            self._documents = {d: "".join(parts) for d, parts in joined.items()}
        return self._documents.get(document_id, "")


def _region_caveat(lead: Candidate) -> str:
    """For a question that names no place, answered from another region's notice: say whose
    it is before quoting it (a 北京市海淀区 measure does not bind 济南高新区)."""
    places = _other_regions(lead)
    if not places:
        return ""
    named = tuple(p for p in places if p.endswith(PLACE_SUFFIXES)) or places  # not 加大力度
    return f"以下摘自{_named(named)}的政策，不一定适用于济南高新区：\n"


def _home_not_served(home: tuple[str, ...], lead: Candidate) -> tuple[str, ...]:
    """The home places a question names (济南高新区…) when the notice the answer leads with
    is another region's: 陕西省's rent relief does not answer what 济南高新区 gives."""
    return home if _other_regions(lead) else ()


def _other_regions(lead: Candidate) -> tuple[str, ...]:
    """The regions the leading notice's title names when none of them is the home zone's;
    () for a national notice (no region named) or one of the zone's."""
    places = _title_places(lead.hit.passage.title)
    return () if any(is_home(p) for p in places) else places


@lru_cache(maxsize=65536)
def _title_places(title: str) -> tuple[str, ...]:
    """The regions a notice's title names: 北京市, 重庆; not 中国 (中国人民银行's notices are
    national) nor a one-character tag (云)."""
    return tuple(word for word, flag in tagged_words(title)
                 if flag == "ns" and len(word) > 1 and word not in NATIONAL)


@dataclass(frozen=True)
class Retrieved:
    hits: tuple[Hit, ...]
    answer: Answer  # extractive, or the refusal when answer.found is False
    evidence: float = 0.0  # what the refusal threshold was compared with
    answerable: bool = True  # False: refused by a place rule, whatever the threshold


def _candidates(hit: Hit, rank: int, terms: QueryTerms) -> list[Candidate]:
    passage = hit.passage
    out = []
    for start, end in clause_sentences(passage.text):
        start, end = best_clauses(passage.text, start, end, terms.coverage, LONG_SENTENCE)
        text = passage.text[start:end]
        score = terms.coverage(text)
        out.append(Candidate(hit, rank, passage.start + start, passage.start + end, text, score))
    return out


def choose_sentences(candidates: list[Candidate], max_chars: int,
                     next_passage: NextPassage | None = None) -> list[Candidate]:
    """The best sentence with what follows it in its document (read on into the next
    passages: a notice states the topic, then the amounts, conditions and deadlines), then
    the next best sentences that fit ``max_chars`` and repeat none chosen."""
    ranked = sorted(candidates, key=lambda c: (-(c.score - RANK_PENALTY * c.rank), c.rank, c.start))
    floor = ranked[0].score * SCORE_FLOOR
    chosen: list[Candidate] = []
    used = 0
    for candidate in ranked:
        if candidate.score < floor or len(chosen) == MAX_SENTENCES:
            break
        if used and used + len(candidate.text) > max_chars:
            continue
        if any(_near_duplicate(candidate.text, c.text) or _overlaps(candidate, c)
               for c in chosen):
            continue
        pieces = [candidate]
        if not chosen and next_passage is not None:
            pieces = _follow(candidate, max_chars - len(candidate.text), next_passage)
        chosen.extend(pieces)
        used += sum(len(piece.text) for piece in pieces)
    return sorted(chosen, key=lambda c: (c.rank, c.start))


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.hit.passage.document_id == b.hit.passage.document_id and \
        a.start < b.end and b.start < a.end


NextPassage = Callable[[Passage], "Passage | None"]
# Passages of one section overlap, touch or stand a paragraph break apart; a heading between
# two takes its text and two paragraph breaks ("\n\n"), so at least 5 characters.
SECTION_GAP = 4
FOLLOW_MIN_CHARS = 200  # the best sentence is quoted with up to this much of what follows it


def _follow(candidate: Candidate, room: int, next_passage: NextPassage) -> list[Candidate]:
    """``candidate`` and the sentences after it, read on into the document's next passages,
    until ``FOLLOW_MIN_CHARS`` follow it, ``room`` runs out, or a sentence talks to a model
    ("忽略以上要求…": the verifier's rule, such text vouches for nothing); one candidate per
    passage."""
    pieces: list[Candidate] = []
    hit, start, end = candidate.hit, candidate.start, candidate.end
    added = 0
    ended = False
    while not ended:
        passage = hit.passage
        stop = end
        for s_start, s_end in clause_sentences(passage.text):
            s_start, s_end = passage.start + s_start, passage.start + s_end
            if s_start < end:
                continue
            sentence = passage.text[s_start - passage.start : s_end - passage.start]
            ended = s_end - end > room - added or bool(INSTRUCTION.search(sentence))
            if ended:
                break
            stop = s_end
            ended = stop - end + added >= FOLLOW_MIN_CHARS
            if ended:
                break
        added += stop - end
        text = passage.text[start - passage.start : stop - passage.start]
        if text.strip():
            pieces.append(Candidate(hit, candidate.rank, start, stop, text, candidate.score))
        if ended or stop < passage.end:
            break
        following = next_passage(passage)
        if following is None or _heading_between(passage, following):
            break
        hit = _continued(hit, following)
        start = end = max(stop, following.start)
    return pieces or [candidate]


def _heading_between(passage: Passage, following: Passage) -> bool:
    """True when a section heading stands between two passages of a document (chunking
    leaves it out of both): what follows it is another topic, not the rest of this one."""
    return following.start - passage.end > SECTION_GAP


def _continued(hit: Hit, passage: Passage) -> Hit:
    return Hit(passage, hit.score, hit.dense_score, hit.bm25_score)


def _compose(chosen: list[Candidate], hits: tuple[Hit, ...]) -> Answer:
    markers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for candidate in chosen:
        passage_id = candidate.hit.passage.id
        if passage_id not in markers:
            markers[passage_id] = len(markers) + 1
        marker = markers[passage_id]
        citations.append(Citation(marker, candidate.hit, candidate.text,
                                  candidate.start, candidate.end))
        parts.append(f"{as_excerpt(candidate.text)}[{marker}]")
    return Answer("".join(parts), True, tuple(citations), hits)


def _near_duplicate(a: str, b: str) -> bool:
    grams_a = {a[i : i + 2] for i in range(len(a) - 1)}
    grams_b = {b[i : i + 2] for i in range(len(b) - 1)}
    if not grams_a or not grams_b:
        return a == b
    return len(grams_a & grams_b) / min(len(grams_a), len(grams_b)) > NEAR_DUPLICATE
