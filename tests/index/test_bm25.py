from __future__ import annotations

import json
import mmap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from service.answering.fusion import reciprocal_rank_fusion
from service.index.bm25 import ARRAYS, BM25Index, build_bm25
from service.index.tokenizer import tokenize

TEXTS = [
    "济南高新区将惠企政策全部纳入线上“泉惠企”平台，组织“首席政策官”团队。",
    "升级出台“济高人才2.0”政策，集聚院士工作站等人才平台。",
    "全国首个科创金融改革试验区花落济南，推出科创金融类产品60余种。",
]


def test_user_dictionary_keeps_zone_terms_whole() -> None:
    tokens = tokenize("专精特新企业怎么找首席政策官和泉惠企？")
    assert {"专精特新", "首席政策官", "泉惠企"} <= set(tokens)
    assert "？" not in tokens and "和" not in tokens


def test_bm25_ranks_the_passage_with_the_chinese_query_terms_first() -> None:
    index = build_bm25(TEXTS)
    scores = index.scores("哪里能找到首席政策官？")
    assert scores.argmax() == 0
    assert scores[2] == 0


QUERIES = ["科创金融产品", "哪里能找到首席政策官？", "济南济南人才平台", "从未出现的词"]


def save_as_npz_like_before(texts: list[str], folder: Path) -> None:
    """What ``BM25Index.save`` wrote before the .npy files: bm25.npz with term frequencies."""
    counts = [Counter(tokenize(text)) for text in texts]
    terms = sorted(set().union(*counts))
    postings = [(row, c[term]) for term in terms for row, c in enumerate(counts) if term in c]
    document_frequencies = [sum(term in c for c in counts) for term in terms]
    np.savez(folder / "bm25.npz",
             offsets=np.concatenate([[0], np.cumsum(document_frequencies)]).astype(np.int64),
             doc_ids=np.array([row for row, _ in postings], dtype=np.int32),
             term_freqs=np.array([tf for _, tf in postings], dtype=np.float32),
             doc_lengths=np.array([c.total() for c in counts], dtype=np.float32))
    (folder / "bm25_vocab.json").write_text(json.dumps(terms, ensure_ascii=False), "utf-8")


def is_memory_mapped(array: np.ndarray) -> bool:
    """Whether the array's memory is a file mapping (np.load without mmap_mode owns it)."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, mmap.mmap)


@pytest.mark.parametrize("query", QUERIES)
def test_a_saved_and_loaded_index_scores_like_the_one_built(tmp_path: Path, query: str) -> None:
    index = build_bm25(TEXTS)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert np.array_equal(loaded.scores(query), index.scores(query))


def test_a_loaded_index_memory_maps_its_arrays_read_only(tmp_path: Path) -> None:
    build_bm25(TEXTS).save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert {p.name for p in tmp_path.glob("*.npy")} == {f"bm25_{name}.npy" for name in ARRAYS}
    for name in ARRAYS:
        array = getattr(loaded, name)
        assert is_memory_mapped(array), name
        assert not array.flags.writeable, name


def test_an_index_saved_as_npz_before_the_npy_files_still_loads(tmp_path: Path) -> None:
    index = build_bm25(TEXTS)
    save_as_npz_like_before(TEXTS, tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert loaded.vocabulary == index.vocabulary
    assert np.array_equal(loaded.impacts, index.impacts)
    for query in QUERIES:
        assert np.array_equal(loaded.scores(query), index.scores(query)), query


def test_an_index_without_postings_survives_a_save_and_load(tmp_path: Path) -> None:
    build_bm25(["。"]).save(tmp_path)
    assert BM25Index.load(tmp_path).scores("政策").tolist() == [0.0]


def test_rarer_terms_weigh_more() -> None:
    index = build_bm25(TEXTS + ["济南高新区人才工作。"])
    assert index.idf("泉惠企") > index.idf("济南")
    assert index.idf("从未出现的词") > index.idf("泉惠企")


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 9, 3]], k=60)
    assert [row for row, _ in fused] == [2, 3, 1, 9]
    assert dict(fused)[2] == 1 / 62 + 1 / 61


def test_rrf_weights_and_bad_k() -> None:
    fused = reciprocal_rank_fusion([[1], [2]], k=1, weights=[2.0, 1.0])
    assert fused[0][0] == 1
    with pytest.raises(ValueError, match="k must be > 0"):
        reciprocal_rank_fusion([[1]], k=0)
