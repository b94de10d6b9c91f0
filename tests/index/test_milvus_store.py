"""The Milvus vector store on a real Milvus Lite (a temp .db folder), with the test embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.answering.retrieval import MODES, Retriever
from service.answering.serving import IndexHolder
from service.core.errors import NotReady
from service.core.settings import Settings
from service.embedding.query_vectors import QueryVectors
from service.evaluation.answer_eval import without_documents
from service.index import milvus_store
from service.index.build import reindex
from service.index.vector_store import current_version, load_current
from tests.conftest import SEED_CORPUS, make_settings
from tests.fakes import BigramEmbedder

QUESTIONS = Path(__file__).parents[1] / "data" / "seed_questions.jsonl"


def milvus_settings(root: Path, **overrides: object) -> Settings:
    return make_settings(root, refusal_dense_weight=0.0, vector_store="milvus",
                         milvus_uri=str(root / "milvus.db"), **overrides)


@pytest.fixture(scope="session")
def milvus_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed corpus built into Milvus Lite with the test embedder (read-only)."""
    root = tmp_path_factory.mktemp("milvus")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    settings = milvus_settings(root)
    reindex(settings, BigramEmbedder(), progress=False)
    return settings


@pytest.fixture()
def private_milvus(tmp_path: Path) -> Settings:
    """A Milvus Lite of the test's own, with the seed corpus built into it once."""
    shutil.copytree(SEED_CORPUS, tmp_path / "corpus")
    settings = milvus_settings(tmp_path, keep_versions=2)
    reindex(settings, BigramEmbedder(), progress=False)
    return settings


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines()
            if line.strip()]


def retriever(settings: Settings, embedder: BigramEmbedder) -> Retriever:
    return Retriever(load_current(settings, embedder.name), QueryVectors(embedder, 1000), settings)


def test_milvus_ranks_every_seed_question_as_faiss_does(fast_index: Settings,
                                                        milvus_index: Settings) -> None:
    embedder = BigramEmbedder()
    faiss_side, milvus_side = retriever(fast_index, embedder), retriever(milvus_index, embedder)
    for question in questions():
        for mode in MODES:
            want = faiss_side.search(question, top_k=10, mode=mode)
            got = milvus_side.search(question, top_k=10, mode=mode)
            assert [h.passage for h in got] == [h.passage for h in want], (question, mode)
            for a, b in zip(got, want, strict=True):  # dense scores: float sums in another order
                assert (a.score, a.dense_score, a.bm25_score) == pytest.approx(
                    (b.score, b.dense_score, b.bm25_score), abs=1e-5)


def test_milvus_answers_the_seed_questions_word_for_word_as_faiss(fast_index: Settings,
                                                                  milvus_index: Settings) -> None:
    faiss_holder = IndexHolder(fast_index, BigramEmbedder())
    milvus_holder = IndexHolder(milvus_index, BigramEmbedder())
    faiss_holder.refresh()
    milvus_holder.refresh()
    for question in questions():
        want = faiss_holder.snapshot().answerer.answer(question)
        got = milvus_holder.snapshot().answerer.answer(question)
        assert (got.text, got.found) == (want.text, want.found), question


def test_a_node_with_no_index_folder_serves_from_milvus_alone(milvus_index: Settings,
                                                              tmp_path: Path) -> None:
    node = milvus_index.model_copy(update={"index_dir": tmp_path / "index",
                                           "data_dir": tmp_path / "data",
                                           "corpus_dir": tmp_path / "corpus"})
    holder = IndexHolder(node, BigramEmbedder())
    holder.refresh()
    answer = holder.snapshot().answerer.answer("企业在哪里可以查到惠企政策")
    assert answer.found and "泉惠企" in answer.text
    assert not (tmp_path / "index").exists()
    assert holder.snapshot().version == current_version(milvus_index)


def test_a_reindex_moves_the_alias_and_a_polling_node_follows(private_milvus: Settings) -> None:
    embedder = BigramEmbedder()
    holder = IndexHolder(private_milvus, embedder)
    holder.refresh()
    before = holder.snapshot().version
    (private_milvus.corpus_dir / "new.txt").write_text(
        "---\ntitle: 独角兽专项\n---\n高新区对独角兽企业给予一次性奖励五百万元。", "utf-8")
    result = reindex(private_milvus, embedder, progress=False)
    assert result.embedded == 1  # unchanged documents reuse their passages and vectors
    assert current_version(private_milvus) == result.version != before
    holder.refresh()
    assert holder.snapshot().version == result.version
    answer = holder.snapshot().answerer.answer("独角兽企业有什么奖励")
    assert "五百万元" in answer.text


def test_old_versions_are_dropped_keeping_the_last_few(private_milvus: Settings) -> None:
    embedder = BigramEmbedder()
    for _ in range(private_milvus.keep_versions + 1):
        reindex(private_milvus, embedder, progress=False)
    client = milvus_store.client_for(private_milvus)
    prefix = private_milvus.milvus_collection
    kept = milvus_store.stored_versions(client, prefix)
    assert len(kept) == private_milvus.keep_versions
    assert kept[-1] == current_version(private_milvus)
    assert len(client.list_collections()) == 3 * private_milvus.keep_versions


def test_a_build_that_fails_half_way_leaves_the_previous_version_served(
        private_milvus: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = BigramEmbedder()
    holder = IndexHolder(private_milvus, embedder)
    holder.refresh()
    before = current_version(private_milvus)
    collections = set(milvus_store.client_for(private_milvus).list_collections())

    def broken_docs(client: object, name: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(milvus_store, "_create_docs", broken_docs)  # passages already written
    with pytest.raises(OSError, match="disk full"):
        reindex(private_milvus, embedder, progress=False)
    assert current_version(private_milvus) == before
    assert set(milvus_store.client_for(private_milvus).list_collections()) == collections
    assert holder.snapshot().answerer.answer("企业在哪里可以查到惠企政策").found


def test_a_build_killed_half_way_is_never_aliased_and_the_next_build_drops_it(
        private_milvus: Settings) -> None:
    client = milvus_store.client_for(private_milvus)
    prefix = private_milvus.milvus_collection
    before = current_version(private_milvus)
    dead = "29990101T000000000000Z-dead00"  # newer than any real build, half-written
    names = milvus_store.VersionCollections.of(prefix, dead)
    milvus_store._create_passages(client, names.passages, 128,
                                  milvus_store.IndexSpec("flat"))
    milvus_store._create_meta(client, names.meta)
    assert current_version(private_milvus) == before
    with pytest.raises(NotReady, match="half-written"):
        milvus_store.read_version(client, prefix, dead)
    result = reindex(private_milvus, BigramEmbedder(), progress=False)
    assert dead not in milvus_store.stored_versions(client, prefix)
    assert current_version(private_milvus) == result.version


@pytest.mark.parametrize("uri, says", [
    ("milvus-here", "neither a server address nor a Milvus Lite file"),
    ("http://127.0.0.1:9", "cannot reach Milvus at POLICYBOT_MILVUS_URI='http://127.0.0.1:9'"),
])
def test_a_bad_milvus_uri_is_one_clear_line(fast_index: Settings, uri: str, says: str,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli.main import main

    for name, value in {"POLICYBOT_VECTOR_STORE": "milvus", "POLICYBOT_MILVUS_URI": uri,
                        "POLICYBOT_INDEX_DIR": str(fast_index.index_dir),
                        "POLICYBOT_DATA_DIR": str(fast_index.data_dir)}.items():
        monkeypatch.setenv(name, value)
    assert main(["search", "惠企政策"]) != 0
    error = capsys.readouterr().err
    assert says in error and "POLICYBOT_MILVUS_URI" in error
    assert "Traceback" not in error


def test_a_left_out_notice_does_not_set_the_document_channels_scale(
        fast_index: Settings, milvus_index: Settings) -> None:
    """An expired (or, in `eval --answers`, hidden) notice is left out as if never indexed:
    the best document still in play scores 1 in the document channel, on either store."""
    gold = "jinan-hitech-2023-q3"
    for settings in (fast_index, milvus_index):
        full = retriever(settings, BigramEmbedder())
        rows = list(range(len(full.index.passages)))
        others = [r for r, p in enumerate(full.index.passages) if p.document_id != gold]
        shown = full.index.channels.for_query("工作居留一件事", None).documents_of(rows)
        hidden = without_documents(full, {gold}).index.channels.for_query(
            "工作居留一件事", None).documents_of(rows)
        assert max(shown[r] for r in others) < 0.99, settings.vector_store
        assert max(hidden[r] for r in others) == pytest.approx(1.0), settings.vector_store
