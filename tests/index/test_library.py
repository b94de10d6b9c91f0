"""Adding, replacing and removing corpus documents; incremental and atomic index versions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from service.cli.main import main
from service.core.errors import BadRequest, Conflict, CorpusError, NotFound
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex
from service.index.library import (
    DocumentMeta,
    add_file,
    add_text,
    check_document_id,
    indexed_documents,
    remove_document,
)
from service.index.store import current_version, read_manifest, read_passages, versions_dir
from tests.filemakers import POLICY_PARAGRAPHS, POLICY_TITLE, make_pdf

SEED_IDS = ("jinan-hitech-2023-q3", "jinan-hitech-2024-annual")  # conftest's seed corpus
SEED_FILES = ["jinan-hitech-2023-q3.txt", "jinan-hitech-2024-annual.txt"]
POLICY_TEXT = "\n\n".join(POLICY_PARAGRAPHS)


class CountingEmbedder:
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, real: Embedder) -> None:
        self.real, self.name, self.dim, self.embedded = real, real.name, real.dim, 0
        self.query_lanes = real.query_lanes

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return self.real.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.real.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.real.embed_queries(texts)


class BrokenEmbedder(CountingEmbedder):
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("embedder crashed")


def unseen_paragraphs() -> list[str]:
    """The policy plus a sentence no cache has seen, so its passages must be embedded."""
    return [*POLICY_PARAGRAPHS, f"本条编号为{uuid.uuid4().hex}。"]


def corpus_files(settings: Settings) -> dict[str, bytes]:
    return {p.relative_to(settings.corpus_dir).as_posix(): p.read_bytes()
            for p in sorted(settings.corpus_dir.rglob("*")) if p.is_file()}


def passages_of(settings: Settings, document_id: str) -> list[str]:
    folder = versions_dir(settings.index_dir) / str(current_version(settings.index_dir))
    return [p.text for p in read_passages(folder) if p.document_id == document_id]


# ---- adding -------------------------------------------------------------------------------


def test_add_pdf_keeps_original_and_a_full_reindex_reproduces_the_index(
    settings: Settings, embedder: Embedder
) -> None:
    pdf = make_pdf(POLICY_PARAGRAPHS, title=POLICY_TITLE)

    added = add_file(settings, embedder, "科技政策.pdf", pdf, DocumentMeta(source="管委会"))
    after_add = indexed_documents(settings)
    reindex(settings, embedder, progress=False)

    assert (added.document_id, added.title) == ("uploads/科技政策", POLICY_TITLE)
    assert added.created
    assert (settings.corpus_dir / "uploads/科技政策.pdf").read_bytes() == pdf
    assert "source: 管委会" in (settings.corpus_dir / "uploads/科技政策.pdf.meta.yaml").read_text()
    assert indexed_documents(settings) == after_add
    assert after_add["uploads/科技政策"]["source"] == "管委会"


def test_add_embeds_only_the_new_document_and_reuses_other_passages(
    settings: Settings, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    before = {doc_id: passages_of(settings, doc_id) for doc_id in SEED_IDS}

    added = add_text(settings, counting, "\n\n".join(unseen_paragraphs()), DocumentMeta(title="新"))
    again = reindex(settings, counting, progress=False)

    assert counting.embedded == added.passages > 0
    assert again.embedded == 0
    assert {doc_id: passages_of(settings, doc_id) for doc_id in SEED_IDS} == before


def test_json_text_is_stored_as_txt_with_front_matter(
    settings: Settings, embedder: Embedder
) -> None:
    meta = DocumentMeta(id="policies/2024/科技创新", title=POLICY_TITLE, date="2024-03")

    added = add_text(settings, embedder, POLICY_TEXT, meta)

    stored = (settings.corpus_dir / "uploads/policies-2024-科技创新.txt").read_text("utf-8")
    assert stored.startswith("---\nid: policies/2024/科技创新\n")
    assert stored.endswith(POLICY_TEXT)
    assert added.document_id == "policies/2024/科技创新"
    assert indexed_documents(settings)[added.document_id]["date"] == "2024-03"


def test_text_upload_metadata_goes_into_its_front_matter(
    settings: Settings, embedder: Embedder
) -> None:
    data = f"---\nsource: 原始来源\n---\n{POLICY_TEXT}".encode()

    added = add_file(settings, embedder, "a.txt", data, DocumentMeta(title="新标题"))

    entry = indexed_documents(settings)[added.document_id]
    assert (entry["title"], entry["source"]) == ("新标题", "原始来源")
    assert not list(settings.corpus_dir.rglob("*.meta.yaml"))


def test_jsonl_upload_indexes_every_line(settings: Settings, embedder: Embedder) -> None:
    lines = [{"id": f"faq-{n}", "title": f"问答{n}", "text": paragraph}
             for n, paragraph in enumerate(POLICY_PARAGRAPHS[1:3])]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()

    added = add_file(settings, embedder, "faq.jsonl", data)

    assert added.document_ids == ("faq-0", "faq-1")
    with pytest.raises(Conflict, match="one line of uploads/faq.jsonl"):
        remove_document(settings, embedder, "faq-0")


# ---- duplicates and new versions ----------------------------------------------------------


def test_same_file_twice_is_recognised_and_nothing_changes(
    settings: Settings, embedder: Embedder
) -> None:
    pdf = make_pdf(POLICY_PARAGRAPHS)
    first = add_file(settings, embedder, "a.pdf", pdf)
    files, version = corpus_files(settings), current_version(settings.index_dir)

    second = add_file(settings, embedder, "b.pdf", pdf)

    assert (second.document_id, second.passages, second.created) == (
        first.document_id, first.passages, False)
    assert corpus_files(settings) == files
    assert current_version(settings.index_dir) == version


def test_same_file_under_another_id_is_refused(settings: Settings, embedder: Embedder) -> None:
    pdf = make_pdf(POLICY_PARAGRAPHS)
    add_file(settings, embedder, "a.pdf", pdf)

    with pytest.raises(Conflict, match="already indexed as document 'uploads/a'"):
        add_file(settings, embedder, "a.pdf", pdf, DocumentMeta(id="other"))


def test_new_version_under_the_same_id_replaces_file_and_passages(
    settings: Settings, embedder: Embedder
) -> None:
    add_text(settings, embedder, "旧版政策：奖励标准为每家企业88万元。",
             DocumentMeta(id="p1", title="旧"))
    new_pdf = make_pdf(POLICY_PARAGRAPHS)

    added = add_file(settings, embedder, "新版.pdf", new_pdf, DocumentMeta(id="p1"))

    assert added.created and added.document_id == "p1"
    assert sorted(corpus_files(settings)) == [
        *SEED_FILES, "uploads/新版.pdf", "uploads/新版.pdf.meta.yaml"]
    assert not any("88万元" in text for text in passages_of(settings, "p1"))
    assert any("30万元" in text for text in passages_of(settings, "p1"))


def test_seed_document_replaced_by_an_upload_with_its_id(
    settings: Settings, embedder: Embedder
) -> None:
    add_text(settings, embedder, "企业服务站已增加到20家。",
             DocumentMeta(id="jinan-hitech-2024-annual", title="新"))

    assert "jinan-hitech-2024-annual.txt" not in corpus_files(settings)
    assert passages_of(settings, "jinan-hitech-2024-annual") == ["企业服务站已增加到20家。"]


def test_upload_named_like_another_documents_file_is_stored_beside_it(
    settings: Settings, embedder: Embedder
) -> None:
    first = add_file(settings, embedder, "政策.pdf", make_pdf(POLICY_PARAGRAPHS[:2]),
                     DocumentMeta(id="first"))

    second = add_file(settings, embedder, "政策.pdf", make_pdf(POLICY_PARAGRAPHS[2:]))

    assert (first.document_id, second.document_id) == ("first", "uploads/政策-2")
    assert {"first", "uploads/政策-2"} <= set(indexed_documents(settings))


# ---- failures leave everything as it was --------------------------------------------------


def test_failed_reindex_after_a_replace_puts_the_old_file_back(
    settings: Settings, embedder: Embedder
) -> None:
    files, version = corpus_files(settings), current_version(settings.index_dir)

    with pytest.raises(RuntimeError, match="embedder crashed"):
        add_file(settings, BrokenEmbedder(embedder), "new.pdf", make_pdf(unseen_paragraphs()),
                 DocumentMeta(id="jinan-hitech-2024-annual"))

    assert corpus_files(settings) == files
    assert current_version(settings.index_dir) == version
    assert not list(settings.index_dir.glob(".build-*"))


def test_failed_remove_restores_the_file(settings: Settings, embedder: Embedder) -> None:
    (settings.corpus_dir / "broken.txt").write_text("---\ntitle: never closed\n", "utf-8")
    files = corpus_files(settings)

    with pytest.raises(CorpusError, match="front matter starts with '---' but never ends"):
        remove_document(settings, embedder, "jinan-hitech-2024-annual")

    assert corpus_files(settings) == files


def test_remove_deletes_the_file_and_its_passages(settings: Settings, embedder: Embedder) -> None:
    added = add_file(settings, embedder, "p.pdf", make_pdf(POLICY_PARAGRAPHS),
                     DocumentMeta(title="t"))

    remove_document(settings, embedder, added.document_id)

    assert sorted(corpus_files(settings)) == SEED_FILES
    assert added.document_id not in indexed_documents(settings)
    with pytest.raises(NotFound, match="no document with id 'uploads/p'"):
        remove_document(settings, embedder, added.document_id)


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../b", ".hidden", "a//b", "a b",
                                 "x\n", "a/./b", "\\\\server\\x"])
def test_unsafe_ids_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest, match="is not allowed"):
        check_document_id(bad)


@pytest.mark.parametrize("good", ["policy-1", "policies/2024/科技创新", "a.b_c"])
def test_safe_ids_are_accepted(good: str) -> None:
    assert check_document_id(good) == good


def test_id_in_uploaded_front_matter_is_checked(settings: Settings, embedder: Embedder) -> None:
    files = corpus_files(settings)

    with pytest.raises(BadRequest, match="is not allowed"):
        add_file(settings, embedder, "x.txt", b"---\nid: ../../x\n---\n" + POLICY_TEXT.encode())

    assert corpus_files(settings) == files


# ---- index versions -----------------------------------------------------------------------


def test_reindex_keeps_the_newest_versions_and_current(
    settings: Settings, embedder: Embedder
) -> None:
    small = settings.model_copy(update={"keep_versions": 2})
    built = [reindex(small, embedder, progress=False).version for _ in range(3)]

    kept = sorted(p.name for p in versions_dir(settings.index_dir).iterdir())
    assert kept == built[-2:]
    assert current_version(settings.index_dir) == built[-1]
    assert read_manifest(versions_dir(settings.index_dir) / built[-1])["version"] == built[-1]
    assert not list(settings.index_dir.glob(".build-*"))


def test_failed_build_removes_its_build_folder(settings: Settings, embedder: Embedder) -> None:
    (settings.corpus_dir / "new.txt").write_text("\n\n".join(unseen_paragraphs()), "utf-8")
    version = current_version(settings.index_dir)

    with pytest.raises(RuntimeError):
        reindex(settings, BrokenEmbedder(embedder), progress=False)

    assert current_version(settings.index_dir) == version
    assert not list(settings.index_dir.glob(".build-*"))


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_add_and_remove_use_the_same_files(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for field in ("corpus_dir", "index_dir", "data_dir"):
        monkeypatch.setenv(f"POLICYBOT_{field.upper()}", str(getattr(settings, field)))
    pdf = tmp_path / "科技政策.pdf"
    pdf.write_bytes(make_pdf(POLICY_PARAGRAPHS))

    assert main(["add", str(pdf), "--title", "CLI 标题"]) == 0
    assert main(["add", str(pdf), "--title", "CLI 标题"]) == 0
    assert indexed_documents(settings)["uploads/科技政策"]["title"] == "CLI 标题"
    assert main(["remove", "uploads/科技政策"]) == 0
    assert main(["remove", "uploads/科技政策"]) == 1

    out, err = capsys.readouterr()
    assert out.splitlines()[:2] == ["added: uploads/科技政策  CLI 标题  (1 passages)",
                                    "already indexed: uploads/科技政策  CLI 标题  (1 passages)"]
    assert "no document with id 'uploads/科技政策'" in err
    assert sorted(corpus_files(settings)) == SEED_FILES


# ---- hostile and odd uploads (issue 17) ---------------------------------------------------


def test_upload_of_only_headings_is_refused_with_no_passages(
    settings: Settings, embedder: Embedder
) -> None:
    from service.core.errors import Unprocessable
    from tests.filemakers import make_docx

    files, version = corpus_files(settings), current_version(settings.index_dir)
    with pytest.raises(Unprocessable, match="headings.docx: no searchable passages"):
        add_file(settings, embedder, "headings.docx", make_docx(["# 第一章　总则", "# 第二章"]))
    assert corpus_files(settings) == files and current_version(settings.index_dir) == version


def test_pdf_named_like_an_indexed_docx_is_a_409_naming_it(
    settings: Settings, embedder: Embedder
) -> None:
    from tests.filemakers import make_docx

    add_file(settings, embedder, "x.docx", make_docx(POLICY_PARAGRAPHS[:3]))
    files, version = corpus_files(settings), current_version(settings.index_dir)

    with pytest.raises(Conflict) as raised:
        add_file(settings, embedder, "x.pdf", make_pdf(POLICY_PARAGRAPHS[2:]))

    assert "already comes from uploads/x.docx" in raised.value.message
    assert "with id 'uploads/x'" in raised.value.message
    assert corpus_files(settings) == files and current_version(settings.index_dir) == version
    replaced = add_file(settings, embedder, "x.pdf", make_pdf(POLICY_PARAGRAPHS[2:]),
                        DocumentMeta(id="uploads/x"))  # what the message says to do
    assert replaced.created and "uploads/x.docx" not in corpus_files(settings)


def test_upload_with_wrong_front_matter_types_is_a_422(
    settings: Settings, embedder: Embedder
) -> None:
    with pytest.raises(CorpusError, match=r"p.md: tags: must be a list of words.*got 5"):
        add_file(settings, embedder, "p.md", f"---\ntags: 5\n---\n{POLICY_TEXT}".encode())
