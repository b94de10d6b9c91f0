"""Chat answers for questions that describe the asker's enterprise and ask what applies.

"我们是一家生物医药领域的专精特新企业，需要融资和人才，能享受哪些政策？" is answered with
the matching policies as a grouped list: the count, then one verbatim sentence per item
with its [n] marker. A profile set on the web page counts as the enterprise describing
itself, so "有哪些政策适合我们？" alone then gets the list. Every other question goes to the
inner answerer unchanged.
"""

from __future__ import annotations

import re

from service.answering.evidence import query_terms
from service.answering.extractive import REFUSAL, Answerer
from service.core.models import Answer, Citation
from service.ingest.excerpts import as_excerpt
from service.matching.matcher import Match, PolicyMatcher, Profile, build_profile, grouped

MAX_ITEMS = 8
SELF_REFERENCE = re.compile(r"我们|我公司|我司|本公司|本企业|我单位|我厂|咱们|我企业|我家企业")
ASKS_WHAT_APPLIES = re.compile(
    r"(哪些|什么|啥)[^，。？！?!,]{0,8}?(政策|扶持|支持|优惠|补贴|帮助)"
    r"|享受|适用|(可以|能|可)申请|(能|可以)拿到"
)


class ProfileAwareAnswerer:
    """Answers profile questions with the full list of matches; delegates the rest."""

    def __init__(self, inner: Answerer, matcher: PolicyMatcher, max_items: int = MAX_ITEMS) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.inner = inner
        self.matcher = matcher
        self.max_items = max_items

    def answer(self, question: str, top_k: int = 5, profile: Profile | None = None) -> Answer:
        merged = self.profile_of(question, profile)
        if merged is None:
            return self.inner.answer(question, top_k=top_k, profile=profile)
        return self.list_answer(merged)

    def profile_of(self, question: str, given: Profile | None = None) -> Profile | None:
        """The profile to list matches for, or None for an ordinary question.

        The question must ask what applies (哪些政策/能享受/适用/可以申请…); without a
        ``given`` profile (the web page's panel) it must also speak of the asker's
        enterprise (我们/我公司…). ``given`` and what the question names are merged and
        must not be empty; a question about another city stays with the inner answerer,
        which refuses.
        """
        given = given or Profile()
        if not ASKS_WHAT_APPLIES.search(question):
            return None
        if given.empty and not SELF_REFERENCE.search(question):
            return None
        if query_terms(question, self.matcher.index.bm25).foreign_places:
            return None
        profile = build_profile(self.matcher.taxonomy, given.industries, given.qualifications,
                                given.needs, text=question)
        return None if profile.empty else profile

    def list_answer(self, profile: Profile) -> Answer:
        """"共 N 项" and the first ``max_items`` matches grouped by need, each cited."""
        matches = self.matcher.match(profile)
        if not matches:
            return Answer(_nothing_found(profile), False, ())
        shown = _shown(matches, self.max_items)
        return _compose(self.matcher, profile, shown, len(matches))


def _shown(matches: list[Match], limit: int) -> list[Match]:
    """The best ``limit`` matches, keeping a help item (泉惠企…) among them."""
    shown = matches[:limit]
    if not any(m.card.is_service for m in shown):
        service = next((m for m in matches if m.card.is_service), None)
        if service is not None:
            shown[-1] = service
    return shown


def _compose(matcher: PolicyMatcher, profile: Profile, shown: list[Match], total: int) -> Answer:
    markers: dict[str, int] = {}
    citations: list[Citation] = []
    lines = [f"共 {total} 项政策和服务适用于贵企业（{profile.describe()}），"
             "按需求分组如下，每条摘自政策原文："]
    evidence = {m.card.passage.id: matcher.explain(m, profile) for m in shown}
    quoted: set[tuple[str, int]] = set()  # (document, offset): overlapping passages repeat
    for group, members in grouped(shown, profile):
        items = []
        for match in members:
            passage = match.card.passage
            quote = dict(evidence[passage.id].quotes)[dict(match.groups())[group]]
            sentence = (passage.document_id, passage.start + quote.start)
            if sentence in quoted:  # already listed, under an earlier need or passage
                continue
            quoted.add(sentence)
            marker = markers.setdefault(passage.id, len(markers) + 1)
            citations.append(match.citation(marker, quote))
            items.append(f"· {as_excerpt(quote.text)}[{marker}]")
        lines.extend([f"【{group}】", *items] if items else [])
    if total > len(shown):
        lines.append(f"另有 {total - len(shown)} 项未列出，按企业画像查询政策匹配可得完整列表。")
    hits = tuple(m.hit() for m in shown)
    return Answer("\n".join(lines), True, tuple(citations), hits)


def _nothing_found(profile: Profile) -> str:
    return f"现有政策文本中没有找到适用于贵企业（{profile.describe()}）的内容。" + \
        REFUSAL.split("。", 1)[1]
