"""Deterministic Chinese test data made from the seed corpus: documents and questions.

Clauses of the seed corpus's sentences are recombined into new sentences, and
numbers are varied, so a 10k- or 100k-passage corpus reads like the zone's
reports (real words, real phrasing) without being copies of 31 passages. The
same ``seed`` always yields the same documents, in the same order: the first
documents of a large corpus are the documents of a smaller one, so their
vectors are shared through the embedding cache.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from service.index.tokenizer import tagged_words
from service.ingest.corpus import load_corpus
from service.ingest.sentences import sentence_spans

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
QUESTION_FILES = (ROOT / "tests" / "data" / "seed_questions.jsonl",
                  ROOT / "tests" / "data" / "refusal_dev.jsonl")
PASSAGES_PER_DOCUMENT = 10
CHARS_PER_PASSAGE = 240
TOPICS = ("人才引进", "科技创新", "科创金融", "企业服务", "营商环境", "产业扶持", "对外开放",
          "专精特新", "数字经济", "生物医药", "知识产权", "招商引资", "高新技术企业", "创业孵化")
QUESTION_TEMPLATES = ("{a}和{b}有哪些支持政策？", "{a}的{b}怎么申请？",
                      "高新区对{a}{b}有什么补贴？", "{a}的{b}标准是多少？",
                      "企业申报{a}需要{b}吗？", "{a}{b}找哪个部门办理？",
                      "{a}方面有没有{b}奖励？", "{b}相关的{a}政策有哪些？")
QUESTION_PREFIXES = ("请问", "想了解一下", "", "高新区的企业", "您好，")
_CLAUSE_END = re.compile(r"(?<=[，；：])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@lru_cache(maxsize=1)
def clause_pool() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(clauses ending in a comma, clauses ending a sentence) from the seed corpus."""
    middles: list[str] = []
    endings: list[str] = []
    for document in load_corpus(SEED_CORPUS):
        for start, end in sentence_spans(document.text):
            sentence = document.text[start:end].replace("\n", "").strip()
            if len(sentence) < 12:
                continue
            parts = [p for p in _CLAUSE_END.split(sentence) if len(p) >= 4]
            middles.extend(p[:-1] + "，" for p in parts[:-1])
            endings.append(parts[-1] if parts[-1][-1] in "。！？；…" else parts[-1] + "。")
    return tuple(middles), tuple(endings)


@lru_cache(maxsize=1)
def seed_headings() -> tuple[str, ...]:
    from service.ingest.cleaning import is_heading

    found = {p.strip() for d in load_corpus(SEED_CORPUS) for p in d.text.split("\n\n")
             if is_heading(p) and len(p.strip()) >= 4}
    return tuple(sorted(found))


def _vary_numbers(text: str, rng: random.Random) -> str:
    def replace(match: re.Match[str]) -> str:
        value = float(match.group())
        if match.group().isdigit() and 1900 <= value <= 2100:  # a year stays a year
            return match.group()
        varied = value * rng.uniform(0.5, 1.8)
        return f"{varied:.1f}" if "." in match.group() else str(max(1, round(varied)))

    return _NUMBER.sub(replace, text)


def _sentence(rng: random.Random) -> str:
    middles, endings = clause_pool()
    clauses = [rng.choice(middles) for _ in range(rng.randint(0, 3))] + [rng.choice(endings)]
    return _vary_numbers("".join(clauses), rng)


def _paragraph(rng: random.Random, chars: int) -> str:
    sentences: list[str] = []
    while sum(map(len, sentences)) < chars:
        sentences.append(_sentence(rng))
    return "".join(sentences)


def document(number: int, seed: int = 0) -> dict[str, str]:
    """Document ``number`` of the stream: a title and about ten passages of text."""
    rng = random.Random(f"{seed}-{number}")
    topic = TOPICS[number % len(TOPICS)]
    year = 2019 + number % 6
    title = f"济南高新区{year}年{topic}政策汇编（第{number + 1}辑）"
    blocks: list[str] = []
    for section in range(PASSAGES_PER_DOCUMENT // 2):
        blocks.append(f"{section + 1}、{rng.choice(seed_headings())}")
        blocks.extend(_paragraph(rng, CHARS_PER_PASSAGE) for _ in range(2))
    return {"id": f"synthetic-{seed}-{number:06d}", "title": title,
            "text": "\n\n".join(blocks), "source": "bench/synthetic.py（由种子语料重组）",
            "date": f"{year}-{1 + number % 12:02d}"}


def documents(count: int, seed: int = 0) -> Iterator[dict[str, str]]:
    return (document(number, seed) for number in range(count))


def write_corpus(folder: Path, passages: int, seed: int = 0) -> Path:
    """A corpus folder with about ``passages`` passages in one JSONL file (kept if it exists)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetic.jsonl"
    count = max(1, round(passages / (PASSAGES_PER_DOCUMENT + 0.3)))
    marker = folder / f".documents-{count}-seed-{seed}"
    if path.exists() and marker.exists():
        return path
    with open(path, "w", encoding="utf-8") as handle:
        for record in documents(count, seed):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for old in folder.glob(".documents-*"):
        old.unlink()
    marker.touch()
    return path


def synthetic_passage_texts(count: int, seed: int = 0) -> list[str]:
    """Passage-sized texts of the same style, without chunking (for BM25 and embedder runs)."""
    rng = random.Random(f"texts-{seed}")
    return [_paragraph(rng, CHARS_PER_PASSAGE) for _ in range(count)]


@lru_cache(maxsize=1)
def _question_words() -> tuple[str, ...]:
    nouns: dict[str, None] = {}
    for document in load_corpus(SEED_CORPUS):
        for word, flag in tagged_words(document.text):
            if flag in ("n", "vn", "nz", "nt") and 2 <= len(word) <= 6 and not word.isdigit():
                nouns.setdefault(word, None)
    return tuple(nouns)


def generated_question(number: int, seed: int = 0) -> str:
    """Question ``number`` of a deterministic, practically endless stream of distinct questions
    (about as long as the hand-written ones, 16 characters on average). None speaks of the
    asker's own enterprise (我们…), so none takes the policy-matching path.

    Every 40 consecutive numbers use each (prefix, template) pair once, so any stretch of the
    stream has the same length mix: bench_query times the floor on one stretch and the server
    on another. (When the template followed ``number // len(words)``, the floor's questions
    averaged 14.3 characters and the server's first phase 17.6, and the floor came out low.)"""
    words = _question_words()
    shuffled = random.Random(f"questions-{seed}").sample(words, len(words))
    first = number % len(words)
    second = (first + 1 + number // len(words)) % len(words)
    template = QUESTION_TEMPLATES[number % len(QUESTION_TEMPLATES)]
    prefix = QUESTION_PREFIXES[number % len(QUESTION_PREFIXES)]
    return prefix + template.format(a=shuffled[first], b=shuffled[second])


def real_questions() -> list[str]:
    """The hand-written questions of the test data (answerable and not)."""
    questions: list[str] = []
    for path in QUESTION_FILES:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    return list(dict.fromkeys(questions))
