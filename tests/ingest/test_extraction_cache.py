"""Extracted text cached by file content: unchanged files are not extracted twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.core.errors import ServiceError, Unprocessable
from service.core.models import Document
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex
from service.ingest.corpus import load_corpus
from service.ingest.extraction_cache import EXTRACTOR_VERSION, ExtractionCache
from service.ingest.readers import READERS, Reader
from service.ingest.sandbox import ExtractionSandbox
from tests.conftest import make_settings
from tests.filemakers import POLICY_PARAGRAPHS, POLICY_TITLE, make_corrupt_pdf, make_docx, make_pdf


class CountingExtractor:
    """Counts the files the real readers are asked to read: PDF, DOCX and HTML in the
    sandbox (its ``read``), plain text in this process."""

    def __init__(self) -> None:
        self.calls = 0


@dataclass(frozen=True)
class CountingReader:
    real: Reader
    counter: CountingExtractor

    @property
    def format(self) -> str:
        return self.real.format

    def read(self, name: str, data: bytes) -> tuple[str, str]:
        self.counter.calls += 1
        return self.real.read(name, data)


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Overrides conftest's: an empty corpus folder and no index (no seed index to build)."""
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    return settings


@pytest.fixture()
def extractor(monkeypatch: pytest.MonkeyPatch) -> CountingExtractor:
    counting = CountingExtractor()
    for suffix, reader in list(READERS.items()):
        monkeypatch.setitem(READERS, suffix, CountingReader(reader, counting))
    sandboxed = ExtractionSandbox.read

    def counted(self: ExtractionSandbox, suffix: str, name: str, data: bytes) -> tuple[str, str]:
        counting.calls += 1
        return sandboxed(self, suffix, name, data)

    monkeypatch.setattr(ExtractionSandbox, "read", counted)
    return counting


def cache_for(settings: Settings, version: int = EXTRACTOR_VERSION) -> ExtractionCache:
    return ExtractionCache(settings.data_dir / "extracted", version)


def load_cached(settings: Settings, version: int = EXTRACTOR_VERSION) -> list[Document]:
    return load_corpus(settings.corpus_dir, cache_for(settings, version))


def cache_entries(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "extracted").glob("*.json"))


def policy_pdf(pages: int = 2) -> bytes:
    return make_pdf(POLICY_PARAGRAPHS, title=POLICY_TITLE, pages=pages)


def test_unchanged_pdf_is_extracted_once_and_reads_the_same(
    settings: Settings, extractor: CountingExtractor
) -> None:
    (settings.corpus_dir / "政策.pdf").write_bytes(policy_pdf())
    uncached = load_corpus(settings.corpus_dir)

    first = load_cached(settings)
    second = load_cached(settings)

    assert extractor.calls == 2  # the uncached load and the first cached one
    assert second == first == uncached
    assert second[0].title == POLICY_TITLE and "第四条" in second[0].text


def test_unchanged_docx_is_extracted_once(
    settings: Settings, extractor: CountingExtractor
) -> None:
    docx = make_docx(["# 第一章", *POLICY_PARAGRAPHS])
    (settings.corpus_dir / "政策.docx").write_bytes(docx)

    first = load_cached(settings)
    second = load_cached(settings)

    assert extractor.calls == 1
    assert second == first
    assert second[0].title == "第一章"


def test_sidecar_is_read_every_time(settings: Settings, extractor: CountingExtractor) -> None:
    pdf = settings.corpus_dir / "政策.pdf"
    pdf.write_bytes(policy_pdf())
    load_cached(settings)
    sidecar = settings.corpus_dir / "政策.pdf.meta.yaml"
    sidecar.write_text("title: 新标题\nsource: 管委会\n", "utf-8")

    [document] = load_cached(settings)

    assert extractor.calls == 1
    assert (document.title, document.source) == ("新标题", "管委会")


def test_changed_file_is_extracted_again(settings: Settings, extractor: CountingExtractor) -> None:
    pdf = settings.corpus_dir / "政策.pdf"
    pdf.write_bytes(policy_pdf())
    [before] = load_cached(settings)
    pdf.write_bytes(make_pdf([*POLICY_PARAGRAPHS, "第五条　新增条款。"], pages=2))

    [after] = load_cached(settings)

    assert extractor.calls == 2
    assert "新增条款" in after.text and "新增条款" not in before.text
    assert after.sha256 != before.sha256
    assert len(cache_entries(settings)) == 2


def test_same_bytes_under_another_suffix_is_another_entry(settings: Settings) -> None:
    data = policy_pdf()
    cache = cache_for(settings)

    assert cache.entry_path("a.pdf", data) == cache.entry_path("b.PDF", data)
    assert cache.entry_path("a.pdf", data) != cache.entry_path("a.html", data)


@pytest.mark.parametrize(
    "corruption",
    [
        b"",
        b'{"version": 1, "title": "',  # cut short by a crash
        b"\xff\xfe\x00garbage",
        b"[]",
        json.dumps({"version": EXTRACTOR_VERSION, "title": "t", "format": "pdf"}).encode(),
        json.dumps({"version": EXTRACTOR_VERSION, "title": 1, "text": "x", "format": "pdf"})
        .encode(),
    ],
    ids=["empty", "truncated", "binary", "not-a-mapping", "no-text", "wrong-type"],
)
def test_corrupt_entry_is_a_miss_and_is_rewritten(
    settings: Settings, extractor: CountingExtractor, corruption: bytes
) -> None:
    (settings.corpus_dir / "政策.pdf").write_bytes(policy_pdf())
    [good] = load_cached(settings)
    [entry] = cache_entries(settings)
    entry.write_bytes(corruption)

    [reread] = load_cached(settings)
    [again] = load_cached(settings)

    assert reread == again == good
    assert extractor.calls == 2  # the first load and the corrupt entry; the rewrite is a hit
    assert json.loads(entry.read_bytes())["version"] == EXTRACTOR_VERSION


def test_unreadable_entry_is_a_miss(settings: Settings, extractor: CountingExtractor) -> None:
    data = policy_pdf()
    cache = cache_for(settings)
    cache.entry_path("政策.pdf", data).mkdir()  # reading it raises IsADirectoryError

    extracted = cache.extract("政策.pdf", data)
    cache.extract("政策.pdf", data)

    assert extracted.title == POLICY_TITLE
    assert extractor.calls == 2  # nothing could be stored, nothing was raised
    assert list(cache.folder.glob(".*.tmp")) == []


def test_entries_of_another_extractor_version_are_ignored(
    settings: Settings, extractor: CountingExtractor
) -> None:
    (settings.corpus_dir / "政策.pdf").write_bytes(policy_pdf())
    [old] = load_cached(settings)

    [bumped] = load_cached(settings, EXTRACTOR_VERSION + 1)
    load_cached(settings, EXTRACTOR_VERSION + 1)

    assert extractor.calls == 2
    assert bumped == old
    [entry] = cache_entries(settings)
    assert json.loads(entry.read_bytes())["version"] == EXTRACTOR_VERSION + 1


def test_extraction_error_is_not_cached(settings: Settings, extractor: CountingExtractor) -> None:
    (settings.corpus_dir / "broken.pdf").write_bytes(make_corrupt_pdf())
    messages = []
    for _ in range(2):
        with pytest.raises(ServiceError) as raised:
            load_cached(settings)
        messages.append((type(raised.value), raised.value.message))

    assert extractor.calls == 2
    assert messages[0] == messages[1]
    assert messages[0][0] is Unprocessable and "broken.pdf" in messages[0][1]
    assert cache_entries(settings) == []


def test_reindex_extracts_an_unchanged_pdf_once(
    settings: Settings, embedder: Embedder, extractor: CountingExtractor
) -> None:
    (settings.corpus_dir / "政策.pdf").write_bytes(policy_pdf())

    first = reindex(settings, embedder, progress=False)
    second = reindex(settings, embedder, progress=False)

    assert extractor.calls == 1
    assert (second.documents, second.passages, second.embedded) == (1, first.passages, 0)
    assert len(cache_entries(settings)) == 1


def test_a_reindex_drops_cache_entries_no_reindex_has_used_for_the_keep_period(
    settings: Settings, embedder: Embedder
) -> None:
    import os
    import sqlite3
    import time

    kept, removed = settings.corpus_dir / "保留.pdf", settings.corpus_dir / "已删除.pdf"
    kept.write_bytes(policy_pdf())
    removed.write_bytes(make_pdf(["第一条　本办法已废止。"], title="旧办法"))
    reindex(settings, embedder, progress=False)
    removed.unlink()
    long_ago = time.time() - (settings.cache_keep_days + 1) * 86400
    for entry in cache_entries(settings):  # as if nothing had been used for the keep period
        os.utime(entry, (long_ago, long_ago))
    vectors = settings.data_dir / "embedding_cache.sqlite"
    with sqlite3.connect(vectors) as db:
        db.execute("UPDATE vectors SET used=?", (long_ago,))
        before = db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    result = reindex(settings, embedder, progress=False)

    assert result.embedded == 0  # the kept document's vectors were used, so still there
    [entry] = cache_entries(settings)  # the removed PDF's text is gone, the kept one's renewed
    assert entry.stat().st_mtime > long_ago + 86400
    assert cache_for(settings).extract(kept.name, kept.read_bytes()).text
    with sqlite3.connect(vectors) as db:
        after = db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        stale = db.execute("SELECT COUNT(*) FROM vectors WHERE used < ?",
                           (long_ago + 86400,)).fetchone()[0]
    assert 0 < after < before and stale == 0


def test_a_keep_period_of_zero_keeps_every_cache_entry(
    settings: Settings, embedder: Embedder
) -> None:
    import os
    import time

    settings = settings.model_copy(update={"cache_keep_days": 0})
    pdf = settings.corpus_dir / "政策.pdf"
    pdf.write_bytes(policy_pdf())
    reindex(settings, embedder, progress=False)
    pdf.unlink()
    (settings.corpus_dir / "其他.pdf").write_bytes(make_pdf(["第一条　其他办法。"]))
    long_ago = time.time() - 10_000 * 86400
    for entry in cache_entries(settings):
        os.utime(entry, (long_ago, long_ago))
    reindex(settings, embedder, progress=False)
    assert len(cache_entries(settings)) == 2


def test_an_uploaded_pdf_is_parsed_once(
    settings: Settings, embedder: Embedder, extractor: CountingExtractor
) -> None:
    """The upload's check, its staging and the rebuild all read one parse."""
    from service.index.library import add_file

    added = add_file(settings, embedder, "政策.pdf", policy_pdf(), wait=True)

    assert added.created and added.passages > 0
    assert extractor.calls == 1
