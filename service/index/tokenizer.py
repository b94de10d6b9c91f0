"""Chinese tokens for BM25: jieba with the zone's own terms, loaded once per process."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

USER_DICT = Path(__file__).parents[1] / "data" / "userdict.txt"
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 有 我 我们 你 你们 他 她 它 这 那 哪 哪些 哪个 "
    "什么 怎么 怎样 如何 吗 呢 吧 啊 "
    "能 可以 可 会 要 想 请问 请 一下 为 对 把 被 给 从 向 于 以 等 也 都 就 还 又 或 或者 "
    "一个 一些 多少 几 是否 没有 不 么 该 其 之 中 上 下 里 个 家 项 哪里 到 有没有 能否 "
    "是不是 多不多 能不能 会不会 不能 不会 怎么样 怎么办 一共 大概 大约 时候 样子 一般 需要 "
    "相关 方面 具体 现在 最近 目前 以后 得 过 后 多 大 成 去 拿 做 帮 帮忙 请教 咨询一下 "
    "具体 情况 问题 东西 什么样 为什么 多久 几个 几家 几 哪家 谁 啥 呀 哦 嘛 么".split()
)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def word_list_version() -> str:
    """Names the zone's word list: an index records it, since its keyword channel was cut
    into words with it (a term added later is one word in questions, pieces in that index)."""
    return sha256(USER_DICT.read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import jieba

    with _lock:
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        with open(USER_DICT, "rb") as handle:
            tokenizer.load_userdict(handle)
        tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=1)
def _tagger():  # type: ignore[no-untyped-def]
    from jieba import posseg

    return posseg.POSTokenizer(_segmenter())


@lru_cache(maxsize=4096)
def tagged_words(text: str) -> tuple[tuple[str, str], ...]:
    """(word, part-of-speech) pairs, coarse jieba words (e.g. 上海浦东新区/ns), no stopwords.
    Remembered per text: a repeated question is not tagged again."""
    pairs = [(p.word.strip().lower(), p.flag) for p in _tagger().lcut(text)]
    return tuple((w, f) for w, f in pairs if w and _WORD.search(w) and w not in STOPWORDS)


def tokenize(text: str) -> list[str]:
    """Lower-cased jieba search-mode tokens without punctuation or stopwords."""
    tokens = _segmenter().lcut_for_search(text.lower())
    return [t for t in (t.strip() for t in tokens) if t and _WORD.search(t) and t not in STOPWORDS]


@lru_cache(maxsize=4096)
def query_tokens(text: str) -> tuple[str, ...]:
    """``tokenize`` for questions, remembered: a repeated question is not segmented again."""
    return tuple(tokenize(text))
