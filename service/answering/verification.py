"""Checks each written sentence against the passages it cites, before a user sees it.

A sentence is kept only when
1. it carries at least one marker ``[n]`` and every marker names a passage that was sent;
2. every number (with its unit: 万元, %, 家, 年 …), Chinese count (三家, 第二批), policy
   title in 《》, quoted term (“泉惠企”) and proper name (jieba's place, organisation and
   person tags, words ending in 局/中心/公司/区/市 …) and scope (全省, 国家级 …) occurs in
   the cited passages;
3. every negation or condition word it adds (不需, 仅, 必须, 不得 …) occurs there too;
4. at least ``coverage`` of its content words occur there (0.8, picked on
   tests/data/verifier_labelled.jsonl: see the README).
The cited passages are their title, date, heading and text, without any sentence that
talks to the model (忽略以上要求, 你现在是 …): text in documents is data, and an instruction
hidden in a passage is not evidence for anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from service.core.models import Passage
from service.index.tokenizer import tagged_words
from service.ingest.sentences import passage_sentences

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]")
NUMBER = re.compile(
    r"(\d+(?:\.\d+)?)\s*(%|‰|万亿|亿元|万元|千元|元|亿|万|家|个|项|人|名|年|月|日|号|倍|"
    r"平方米|平方公里|亩|件|次|批|所|座|户|条|位|类|种|届|期)?")
CN_DIGITS = "零一二两三四五六七八九十百千万亿"
CN_COUNT = re.compile(rf"(?:第|百分之)[{CN_DIGITS}]+|[{CN_DIGITS}]+"
                      r"(?=个|家|项|条|批|名|次|倍|年|人|件|所|座|户|位|类|种|届|期|大|成)")
TITLE = re.compile(r"《[^》]{1,80}》")
QUOTED = re.compile(r"[“\"「]([^”\"」]{1,40})[”\"」]")
NAME_FLAGS = ("ns", "nt", "nr", "nrt", "nrfg")
NAME_SUFFIX = re.compile(r"(局|委|厅|办|院|中心|公司|集团|银行|大学|学院|协会|研究院|管委会|"
                         r"办公室|基地|园区|实验室|联盟|平台|区|市|省|县|镇|街道)$")
SCOPE = re.compile(r"全国|全省|全市|全区|省级|市级|区级|国家级|国际")
CONTENT_FLAGS = ("n", "v", "a", "eng", "j", "l", "i", "t", "s", "m", "b")
CUE = re.compile(r"(?:不|未|无|非|没有|禁止|不得|不予)\w|仅|只有|只能|只限|限于|必须|须|应当|"
                 r"前提|除外|至少|不少于|不低于|不超过|以上|以下|满")
INSTRUCTION = re.compile(r"忽略|无视|ignore|disregard|以上要求|之前的要求|上述指令|系统提示|"
                         r"你现在是|你是一个|请直接回答|请回答|回答[:：]|prompt", re.I)


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str  # "" when kept; else what failed, e.g. "number 40万元 not in [1]"
    claim: str  # the sentence without its markers
    markers: tuple[int, ...]  # as written, 1-based numbers of the passages sent
    coverage: float = 0.0


def normalise(text: str) -> str:
    """Width-folded, without whitespace or thousands separators: '1,000 万元' == '1000万元'."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return re.sub(r"\s+", "", text)


def split_markers(sentence: str) -> tuple[str, tuple[int, ...]]:
    markers: list[int] = []
    for match in MARKER.finditer(sentence):
        for number in re.split(r"\s*[,，、]\s*", match.group(1)):
            if int(number) not in markers:
                markers.append(int(number))
    return MARKER.sub("", sentence).strip(), tuple(markers)


def support_text(passage: Passage) -> str:
    """What a passage can vouch for: its metadata and every sentence that is not an
    instruction to the model."""
    kept = [passage.text[s:e] for s, e in passage_sentences(passage.text)
            if not INSTRUCTION.search(passage.text[s:e])]
    return normalise(" ".join([passage.title, passage.date, passage.heading, *kept]))


def content_words(text: str) -> list[str]:
    return [w for w, flag in tagged_words(text)
            if flag.startswith(CONTENT_FLAGS) and not MARKER.fullmatch(w) and not w.isdigit()]


class SentenceVerifier:
    """Keeps a written sentence only when the passages it cites say all of it."""

    def __init__(self, coverage: float = 0.8) -> None:
        if not 0.0 <= coverage <= 1.0:
            raise ValueError(f"coverage must be within 0..1, got {coverage}")
        self.coverage = coverage

    def check(self, sentence: str, passages: Sequence[Passage]) -> Verdict:
        claim, markers = split_markers(sentence)
        if not markers:
            return Verdict(False, "no marker", claim, markers)
        bad = [m for m in markers if not 1 <= m <= len(passages)]
        if bad:
            return Verdict(False, f"marker {bad[0]} names no passage sent", claim, markers)
        if not _has_words(claim):
            return Verdict(False, "no text besides the marker", claim, markers)
        support = "".join(support_text(passages[m - 1]) for m in markers)
        problem = unsupported_fact(claim, support)
        coverage = word_coverage(claim, support)
        if problem:
            return Verdict(False, problem, claim, markers, coverage)
        if coverage < self.coverage:
            return Verdict(False, f"only {coverage:.2f} of its words are in the cited passages",
                           claim, markers, coverage)
        return Verdict(True, "", claim, markers, coverage)


def unsupported_fact(claim: str, support: str) -> str:
    """The first number, count, title, quoted term, name or condition of ``claim`` that
    ``support`` (normalised) does not contain; '' when there is none."""
    text = normalise(claim)
    for match in NUMBER.finditer(text):
        number, unit = match.group(1), match.group(2) or ""
        if not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", support):
            return f"number {number} is not in the cited passages"
        if unit and not re.search(rf"(?<![\d.]){re.escape(number + unit)}", support):
            return f"amount {number}{unit} is not in the cited passages"
    for pattern, kind in ((CN_COUNT, "count"), (TITLE, "title"), (CUE, "condition"),
                          (SCOPE, "scope")):
        for match in pattern.finditer(text):
            if match.group(0) not in support:
                return f"{kind} {match.group(0)} is not in the cited passages"
    for match in QUOTED.finditer(text):
        if match.group(1) not in support:
            return f"name “{match.group(1)}” is not in the cited passages"
    for word, flag in tagged_words(claim):
        named = flag in NAME_FLAGS or (len(word) > 2 and NAME_SUFFIX.search(word))
        if named and normalise(word) not in support:
            return f"name {word} is not in the cited passages"
    return ""


def word_coverage(claim: str, support: str) -> float:
    words = content_words(claim)
    if not words:
        return 1.0
    return sum(1 for w in words if normalise(w) in support) / len(words)


def _has_words(text: str) -> bool:
    return bool(re.search(r"[\w\u3400-\u9fff]", text))


def best_quote(claim: str, passage: Passage) -> tuple[int, int]:
    """Offsets (in ``passage.text``) of the passage sentence that shares most of the
    claim's content words: what the page highlights for this citation."""
    words = set(content_words(claim)) or {claim}
    spans = passage_sentences(passage.text) or ((0, len(passage.text)),)

    def shared(span: tuple[int, int]) -> float:
        sentence = normalise(passage.text[span[0]:span[1]])
        return sum(len(w) for w in words if normalise(w) in sentence) - 1e-3 * span[0]

    return max(spans, key=shared)
