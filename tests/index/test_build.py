"""A reindex over a corpus with a file it cannot read: the others are indexed, that one named."""

from __future__ import annotations

from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex
from service.index.store import read_manifest, versions_dir


def test_one_unreadable_file_is_skipped_and_reported_by_the_reindex(
        settings: Settings, embedder: Embedder) -> None:
    (settings.corpus_dir / "rule.txt").write_text(
        "--------\n济南高新区企业服务指南\n--------\n企业可到泉惠企服务站办理政策兑现。", "utf-8")
    (settings.corpus_dir / "broken.txt").write_text("---\ntitle: 没有结束", "utf-8")
    result = reindex(settings, embedder, progress=False)
    assert result.skipped == ("broken.txt: front matter starts with '---' but never ends; "
                              "add a '---' line",)
    documents = read_manifest(versions_dir(settings.index_dir) / result.version)["documents"]
    assert "rule" in documents and "broken" not in documents
    assert "企业服务指南" in documents["rule"]["title"]  # the rule and the title are body text
