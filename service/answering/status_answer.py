"""Questions whether a named notice is still in force ("京政办发〔2020〕7号还有效吗？"),
answered from what is known of it: issuer, number, dates and its status on the status date,
with the sentence of the notice that states its term (有效期至…, 自…起施行) cited verbatim.

Expired and replaced notices count here: they are what such a question is usually about,
and the ordinary answer leaves them out. A question that asks about validity but names no
indexed notice (by 文号, 《title》 or a long stretch of its title) goes on as usual.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from service.answering.extractive import REFERRAL
from service.answering.retrieval import Retriever
from service.answering.status_filter import Statuses
from service.core.models import Answer, Citation, Hit, Passage
from service.index.policy_status import DocumentStatus
from service.ingest.sentences import clause_sentences

ASKS_STATUS = re.compile(  # about the notice's own term, not a deadline inside it (申报截止)
    r"有效期|(还|是否|仍然|仍|依然|现在)(有效|适用|执行|在执行|可以用|能用)|有效吗|失效|过期|废止|作废"
    r"|停止执行|(什么时候|何时|哪天|哪一天)(开始)?(施行|生效|实施|到期|截止)|(施行|生效|实施)(日期|时间)")
DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}\s*[〔\[【（(]\s*\d{4}\s*[〕\]】）)]\s*第?\s*\d{1,4}\s*号")
REFERS_BACK = re.compile(r"^(它|其|该|此|这|那|上述|上面|刚才)|(这|那|该|此)(个|项|份|条|篇)?(政策|文件|通知|措施|办法|规定)")
QUOTED_TITLE = re.compile(r"《([^《》]{4,120})》")
TERM_SENTENCE = re.compile(r"有效期|施行|废止|失效|停止执行|生效")
MIN_TITLE_OVERLAP = 12  # characters of a title a question must repeat to name the notice
_BRACKETS = str.maketrans({"[": "〔", "【": "〔", "（": "〔", "(": "〔",
                           "]": "〕", "】": "〕", "）": "〕", ")": "〕"})


def number_key(doc_number: str) -> str:
    """京政办发（2020）第7号 and 京政办发〔2020〕7号 alike."""
    return "".join(doc_number.split()).translate(_BRACKETS).replace("〕第", "〕")


class StatusAnswerer:
    def __init__(self, statuses: Statuses, retriever: Retriever | None = None) -> None:
        self.statuses = statuses
        self.retriever = retriever  # over every notice, lapsed ones too: finds "它" of a follow-up

    def answer_for(self, question: str, standalone: str | None = None) -> Answer | None:
        """The status answer when ``question`` asks about validity and names a notice, or,
        as a follow-up ("它还有效吗？", rewritten to ``standalone`` with the conversation's
        words), refers back to one: then the notice that best matches ``standalone``."""
        if not ASKS_STATUS.search(question):
            return None
        document_id = self._named(question)
        if document_id is None and standalone:
            document_id = self._named(standalone)
            if document_id is None and REFERS_BACK.search(question):
                document_id = self._best_match(standalone)
        if document_id is None:
            return None
        return self._answer(self.statuses.by_document()[document_id])

    def _best_match(self, standalone: str) -> str | None:
        if self.retriever is None:
            return None
        hits = self.retriever.search(standalone, top_k=1)
        return hits[0].passage.document_id if hits else None

    def _named(self, question: str) -> str | None:
        statuses = self.statuses.by_document()
        asked = {number_key(m.group()) for m in DOC_NUMBER.finditer(question)}
        for document_id, status in statuses.items():
            if status.facts.doc_number and number_key(status.facts.doc_number) in asked:
                return document_id
        titles = {d: str(entry.get("title", "")) for d, entry in self.statuses.index.documents.items()}
        quoted = QUOTED_TITLE.findall(question)
        named = [d for d, title in titles.items()
                 if any(q in title or (len(title) >= MIN_TITLE_OVERLAP and title in q)
                        for q in quoted)]
        if len(named) == 1:  # 《若干措施》 alone names no one notice
            return named[0]
        return _longest_title_overlap(question, titles)

    def _answer(self, status: DocumentStatus) -> Answer:
        passages = sorted((p for p in self.statuses.index.passages
                           if p.document_id == status.document_id), key=lambda p: p.start)
        lead = (f"《{self._title_of(status.document_id)}》"
                + status_sentence(status, self._title_of(status.replaced_by)))
        quoted = _term_sentence(passages, status.facts.doc_number, status.status != "unknown")
        if quoted is None:  # nothing known and nothing in the text: a question for staff
            return Answer(lead + REFERRAL, False, ())
        passage, start, end = quoted
        hit = Hit(passage, 1.0, 0.0, 0.0)
        quote = passage.text[start:end]
        citation = Citation(1, hit, quote, passage.start + start, passage.start + end)
        return Answer(f"{lead}原文：{quote}[1]", True, (citation,), (hit,))

    def _title_of(self, document_id: str) -> str:
        entry = self.statuses.index.documents.get(document_id, {})
        return str(entry.get("title", document_id))


def _longest_title_overlap(question: str, titles: dict[str, str]) -> str | None:
    """The document whose title shares the longest stretch with ``question`` (at least
    ``MIN_TITLE_OVERLAP`` characters); of equal stretches, the title sharing more of the
    question's bigrams (北京市 in both). Titles that cannot reach it are not compared."""
    asked = _bigrams(question)
    best, best_key = None, (MIN_TITLE_OVERLAP - 1, 0)
    for document_id, title in titles.items():
        shared = len(asked & _bigrams(title))
        if shared < MIN_TITLE_OVERLAP - 1:
            continue
        match = SequenceMatcher(None, question, title, autojunk=False).find_longest_match(
            0, len(question), 0, len(title))
        key = (match.size, shared)
        if key > best_key:
            best, best_key = document_id, key
    return best


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def status_sentence(status: DocumentStatus, replacing_title: str = "") -> str:
    """（文号，发文机关 日期 印发）and what its status means, in one sentence."""
    facts = status.facts
    known = "，".join(k for k in (facts.doc_number, facts.agency,
                                   facts.issued and f"{facts.issued} 印发") if k)
    head = f"（{known}）" if known else ""
    if status.status == "expired":
        return f"{head}已失效：有效期至 {facts.expires}。"
    if status.status == "replaced":
        return f"{head}已被替代，现行的是《{replacing_title}》。"
    if status.status == "pending":
        return f"{head}尚未生效，自 {facts.effective} 起施行。"
    if status.status == "current":
        term = f"有效期至 {facts.expires}" if facts.expires else "文本中未写明到期日期"
        return f"{head}现行有效（{term}）。"
    return f"{head}文本中没有写明施行和有效日期，无法判断是否仍然有效。"


def _term_sentence(passages: list[Passage], doc_number: str,
                   or_first: bool) -> tuple[Passage, int, int] | None:
    """The sentence that states the notice's term (有效期…/自…起施行), else the one that
    carries its number, else (``or_first``) its first sentence."""
    for wanted in (TERM_SENTENCE.search, lambda text: doc_number and doc_number in text):
        for passage in passages:
            for start, end in clause_sentences(passage.text):
                if wanted(passage.text[start:end]):
                    return passage, start, end
    if not or_first or not passages:
        return None
    first = passages[0]
    start, end = (clause_sentences(first.text) or ((0, len(first.text)),))[0]
    return first, start, end
