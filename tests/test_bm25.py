from __future__ import annotations

from pathlib import Path

from service.bm25 import BM25Index, build_bm25
from service.fusion import reciprocal_rank_fusion
from service.tokenizer import tokenize

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


def test_bm25_survives_a_save_and_load(tmp_path: Path) -> None:
    index = build_bm25(TEXTS)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert (loaded.scores("科创金融产品") == index.scores("科创金融产品")).all()


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
    import pytest

    with pytest.raises(ValueError, match="k must be > 0"):
        reciprocal_rank_fusion([[1]], k=0)
