from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.answering.retrieval import Retriever
from service.core.errors import IndexMismatch
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.embedding.query_vectors import QueryVectors
from service.index.build import reindex
from service.index.store import current_version, load_current, versions_dir
from service.index.tokenizer import word_list_version


def manifest_of(settings: Settings) -> dict:  # type: ignore[type-arg]
    folder = versions_dir(settings.index_dir) / str(current_version(settings.index_dir))
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def test_manifest_records_embedder_chunking_documents_and_counts(settings: Settings) -> None:
    manifest = manifest_of(settings)
    assert manifest["embedder"] == {"name": settings.embedder, "dim": 384}
    assert manifest["chunking"] == {"size": settings.chunk_size, "overlap": settings.chunk_overlap}
    assert manifest["vector_index"]["kind"] == "flat"
    assert set(manifest["documents"]) == {"jinan-hitech-2023-q3", "jinan-hitech-2024-annual"}
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"].values())
    assert manifest["passage_count"] == sum(d["passages"] for d in manifest["documents"].values())
    assert manifest["created"]


def test_a_loaded_index_searches_like_the_one_built(settings: Settings, embedder: Embedder) -> None:
    index = load_current(settings.index_dir, embedder.name)
    retriever = Retriever(index, QueryVectors(embedder, 10), settings)
    hits = retriever.search("企业在哪里可以查到惠企政策", top_k=3)
    assert "泉惠企" in hits[0].passage.text
    assert index.vectors.ntotal == len(index.passages) == manifest_of(settings)["passage_count"]


def test_reindexing_an_unchanged_corpus_embeds_nothing(settings: Settings, embedder: Embedder) -> None:
    before = current_version(settings.index_dir)
    result = reindex(settings, embedder, progress=False)
    assert result.embedded == 0
    assert current_version(settings.index_dir) == result.version != before


def test_a_changed_document_is_the_only_one_embedded(settings: Settings, embedder: Embedder) -> None:
    (settings.corpus_dir / "new.txt").write_text("---\ntitle: 新政策\n---\n高新区对独角兽企业给予专项支持。", "utf-8")
    result = reindex(settings, embedder, progress=False)
    assert result.embedded == 1 and result.documents == 3


def test_old_versions_are_pruned_keeping_the_last_few(settings: Settings, embedder: Embedder) -> None:
    for _ in range(settings.keep_versions + 2):
        reindex(settings, embedder, progress=False)
    folders = list(versions_dir(settings.index_dir).iterdir())
    assert len(folders) == settings.keep_versions
    assert current_version(settings.index_dir) in {f.name for f in folders}


def test_an_index_built_with_another_embedder_says_to_reindex(settings: Settings) -> None:
    with pytest.raises(IndexMismatch, match="policybot reindex") as error:
        load_current(settings.index_dir, "sentence-transformers:/models/bge-small-zh-v1.5")
    assert "bge-small-zh" in str(error.value)


def test_an_index_of_another_format_version_says_to_reindex(settings: Settings, embedder: Embedder) -> None:
    folder = versions_dir(settings.index_dir) / str(current_version(settings.index_dir))
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["format_version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexMismatch, match="format version 999.*policybot reindex"):
        load_current(settings.index_dir, embedder.name)


def test_an_index_cut_with_another_word_list_loads_and_says_to_reindex(
        settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture) -> None:
    """A new word list (an upgrade) leaves the keyword channel of an older index stale but
    usable: it is served, with a warning that names the fix."""
    folder = versions_dir(settings.index_dir) / str(current_version(settings.index_dir))
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["word_list"] == word_list_version()
    load_current(settings.index_dir, embedder.name)
    assert "word list" not in caplog.text
    manifest["word_list"] = "0123456789ab"
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    assert load_current(settings.index_dir, embedder.name).passages
    assert "0123456789ab" in caplog.text and "policybot reindex" in caplog.text


def test_cli_search_prints_the_quanhuiqi_passage_first(settings: Settings, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.cli.main import main

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(settings.data_dir))
    code = main(["search", "企业在哪里可以查到惠企政策", "--json", "-k", "2",
                 "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)])
    assert code == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert "泉惠企" in results[0]["text"]
    assert set(results[0]) >= {"passage_id", "document_id", "title", "text", "start", "end",
                               "score", "dense_score", "bm25_score"}


def test_cli_reports_a_missing_index_with_the_fix(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.cli.main import main

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["ask", "泉惠企是什么", "--index", str(tmp_path / "index")]) == 1
    assert "policybot reindex" in capsys.readouterr().err
