"""Turns a follow-up ("它需要什么条件？", "那外资企业呢？", "第二个怎么申请？") into a
standalone question before retrieval.

A question leans on the conversation when it has a pronoun or ordinal (它, 这个, 该, 其,
那…呢, 第二个 …), no topic of its own (only generic words: 条件, 申请, 材料 …), or is short
and names no subject (高新区, 我们 …: "销售收入有多少？"). Such a
question is rewritten by the LLM when one is configured (one short call, cached), else by
rules: the topic terms of the previous question (or of the N-th item of the previous
answer, for 第N个) are put in front of it, except those the question replaces
("那外资企业呢？" after a question on 民营企业 drops 民营企业). Any other question is left
as it is.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

from service.answering.llm_client import ChatClient, LLMError
from service.answering.prompts import rewrite_messages
from service.core.models import Turn
from service.index.tokenizer import tagged_words

PRONOUN = re.compile(r"它们?|这个|那个|里面|这里|那里|这些|那些|这项|那项|这种|那种|该|此项|其|"
                     r"上述|前者|后者|^那|^那么|第[一二三四五六七八九十\d]+(?:个|项|条|家|种|点)")
ORDINAL = re.compile(r"第([一二三四五六七八九十\d]+)(?:个|项|条|家|种|点)")
TOPIC_FLAGS = ("n", "vn", "eng", "nz", "ns", "nt", "nr", "j", "l", "i")
GENERIC = frozenset(
    "条件 申请 材料 流程 办理 要求 标准 时间 期限 资格 方式 渠道 地方 地址 部门 费用 政策 企业 "
    "公司 单位 高新区 济南 济南高新区 情况 内容 规定 程序 手续 资料 途径 办法 措施 补贴 支持 "
    "服务 人 事 东西 问题 电话 联系 区别 作用 意思".split())
SUBJECT = re.compile(r"高新区|我们|我司|我公司|本公司|外籍|外国|德国")
STANDALONE_CHARS = 15  # a question this long that names no subject still stands alone
CARRY_FLAGS = TOPIC_FLAGS + ("v", "a", "m", "t")
CN_ORDINALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
MAX_REWRITE_CHARS = 200
REWRITE_TOKENS = 64
REWRITE_TIMEOUT_S = 5.0


def topic_terms(text: str) -> list[str]:
    """The nouns of ``text`` that name what it is about (generic words and pronouns out)."""
    terms = []
    for word, flag in tagged_words(text):
        if flag.startswith(TOPIC_FLAGS) and word not in GENERIC and not PRONOUN.fullmatch(word):
            if word not in terms:
                terms.append(word)
    return terms


def leans_on_history(question: str) -> bool:
    if PRONOUN.search(question) or question.rstrip("？?。 ").endswith("呢"):
        return True
    if not topic_terms(question):
        return True
    return not SUBJECT.search(question) and len(question) < STANDALONE_CHARS


def carried_terms(text: str) -> list[str]:
    """What a previous question contributes: its nouns, verbs, adjectives, numbers and
    times of two or more characters, generic words left out."""
    terms = []
    for word, flag in tagged_words(text):
        if (flag.startswith(CARRY_FLAGS) and len(word) > 1 and word not in GENERIC
                and not PRONOUN.fullmatch(word) and word not in terms):
            terms.append(word)
    return terms


class FollowupRewriter:
    def __init__(self, client: ChatClient | None = None, cache_size: int = 512) -> None:
        self.client = client
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[tuple[str, ...], str], str] = OrderedDict()
        self._lock = threading.Lock()

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """``question`` made standalone with ``history`` (oldest turn first)."""
        if not history or not leans_on_history(question):
            return question
        if self.client is not None:
            written = self._by_llm(question, history)
            if written:
                return written
        return rewrite_by_rules(question, history)

    def _by_llm(self, question: str, history: Sequence[Turn]) -> str | None:
        key = (tuple(t.question for t in history), question)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        assert self.client is not None
        try:
            reply = self.client.complete(rewrite_messages(question, history),
                                         max_tokens=REWRITE_TOKENS,
                                         timeout_s=min(REWRITE_TIMEOUT_S,
                                                       self.client.config.timeout_s / 2))
        except LLMError:
            return None
        written = reply.strip().splitlines()[0].strip() if reply.strip() else ""
        if not written or len(written) > MAX_REWRITE_CHARS:
            return None
        with self._lock:
            self._cache[key] = written
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return written


def rewrite_by_rules(question: str, history: Sequence[Turn]) -> str:
    own = topic_terms(question)
    swapped = _swapped(question, own, history[-1].question)
    if swapped:
        return swapped
    carried = _referenced_item(question, history[-1]) or _previous_topic(history)
    carried = [t for t in carried
               if t not in question and not _replaced_by(t, own) and not _covered(t, carried)]
    if not carried:
        return question
    return "".join(carried) + " " + question


def _previous_topic(history: Sequence[Turn]) -> list[str]:
    """Topic terms of the latest earlier question that has any."""
    for turn in reversed(history):
        terms = carried_terms(turn.question)
        if terms:
            return terms
    return []


def _referenced_item(question: str, turn: Turn) -> list[str]:
    """For "第二个…", the topic of the second item (sentence or list line) of the answer."""
    match = ORDINAL.search(question)
    if not match or not turn.answer:
        return []
    number = match.group(1)
    index = int(number) if number.isdigit() else CN_ORDINALS.get(number[-1], 0)
    items = [i for i in re.split(r"(?<=\])\s*|\n|[。；]", turn.answer) if topic_terms(i)]
    items = [i for i in items if not i.startswith(("共", "【"))]
    if not 1 <= index <= len(items):
        return []
    return topic_terms(re.sub(r"\[\d+\]", "", items[index - 1]))[:4]


def _swapped(question: str, own: list[str], previous: str) -> str | None:
    """"那外资企业呢？" after "民营企业能获得哪些金融支持？": the previous question with
    民营企业 replaced by 外资企业; None unless the question is such an X呢 question."""
    if not question.rstrip("？?。 ").endswith("呢"):
        return None
    for old in topic_terms(previous):
        new = next((t for t in own if _replaced_by(old, [t])), None)
        if new is not None:
            return previous.replace(old, new)
    return None


def _covered(term: str, terms: list[str]) -> bool:
    """上市 is covered by 上市企业: carry the longer word only."""
    return any(term != other and term in other for other in terms)


def _replaced_by(term: str, own: list[str]) -> bool:
    """民营企业 is replaced by 外资企业: same head (last two characters), other word."""
    return any(len(t) >= 3 and len(term) >= 3 and t[-2:] == term[-2:] and t != term for t in own)
