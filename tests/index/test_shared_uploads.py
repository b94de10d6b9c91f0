"""Uploads kept in the shared database: two nodes with their own data folders rebuild from
the same uploads, learn of deletions, and an unknown local file is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.index.build import reindex
from service.index.library import (
    DocumentMeta,
    add_file,
    add_text,
    indexed_documents,
    remove_document,
)
from service.index.shared_uploads import SCHEMA, SharedUploads, shared_uploads_for
from tests.conftest import make_settings
from tests.fakes import BigramEmbedder
from tests.filemakers import POLICY_PARAGRAPHS, make_html

BASE = "济南高新区关于支持企业发展的若干措施。\n\n对新落户企业给予租金补贴，最高50万元。\n"


def make_node(root: Path, url: str) -> Settings:
    """A node: its own corpus (the same bundled file as every node), index and data."""
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "base.txt").write_text(BASE, "utf-8")
    return make_settings(root, database_url=url)


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str) -> tuple[Settings, Settings]:
    return make_node(tmp_path / "a", postgres_url), make_node(tmp_path / "b", postgres_url)


def test_a_document_uploaded_on_one_node_is_indexed_by_the_others_reindex(
        nodes: tuple[Settings, Settings]) -> None:
    node_a, node_b = nodes
    embedder = BigramEmbedder()
    added = add_text(node_a, embedder, "\n\n".join(POLICY_PARAGRAPHS),
                     DocumentMeta(id="tech-awards", title="科技创新奖励", date="2024-03-01"))
    reindex(node_b, embedder, progress=False)
    seen = indexed_documents(node_b)
    assert added.document_id in seen and "base" in seen
    assert (seen["tech-awards"]["title"], seen["tech-awards"]["date"]) == \
        ("科技创新奖励", "2024-03-01")
    assert sorted(p.name for p in (node_b.corpus_dir / "uploads").iterdir()) == \
        sorted(p.name for p in (node_a.corpus_dir / "uploads").iterdir())


def test_metadata_sidecars_travel_with_their_file(nodes: tuple[Settings, Settings]) -> None:
    node_a, node_b = nodes
    page = make_html(POLICY_PARAGRAPHS, title="页面标题")
    add_file(node_a, BigramEmbedder(), "awards.html", page,
             DocumentMeta(title="科技奖励（网页）", source="高新区官网"))
    reindex(node_b, BigramEmbedder(), progress=False)
    entry = indexed_documents(node_b)["uploads/awards"]
    assert (entry["title"], entry["source"]) == ("科技奖励（网页）", "高新区官网")


def test_a_document_deleted_on_one_node_leaves_the_others_at_their_next_reindex(
        nodes: tuple[Settings, Settings]) -> None:
    node_a, node_b = nodes
    embedder = BigramEmbedder()
    add_text(node_a, embedder, "\n\n".join(POLICY_PARAGRAPHS),
             DocumentMeta(id="tech-awards", title="科技创新奖励"))
    reindex(node_b, embedder, progress=False)
    remove_document(node_b, embedder, "tech-awards")  # deleted on the node that did not add it
    reindex(node_a, embedder, progress=False)
    assert "tech-awards" not in indexed_documents(node_a)
    assert list((node_a.corpus_dir / "uploads").iterdir()) == []


def test_an_upload_on_the_second_node_keeps_the_firsts(nodes: tuple[Settings, Settings]) -> None:
    """Node B had never pulled A's upload; its own upload must not mark A's as deleted."""
    node_a, node_b = nodes
    embedder = BigramEmbedder()
    add_text(node_a, embedder, "\n\n".join(POLICY_PARAGRAPHS),
             DocumentMeta(id="tech-awards", title="科技创新奖励"))
    add_text(node_b, embedder, "对引进的高层次人才给予安家补贴100万元。\n\n人才公寓优先保障。",
             DocumentMeta(id="talent", title="人才政策"))
    reindex(node_a, embedder, progress=False)
    assert {"tech-awards", "talent", "base"} <= set(indexed_documents(node_a))
    assert {"tech-awards", "talent"} <= set(indexed_documents(node_b))


def test_a_file_the_table_never_heard_of_is_left_alone(tmp_path: Path, postgres_url: str) -> None:
    node = make_node(tmp_path / "a", postgres_url)
    legacy = node.corpus_dir / "uploads" / "legacy.txt"
    legacy.parent.mkdir()
    legacy.write_text("旧的上传文件。", "utf-8")
    shared = shared_uploads_for(node)
    assert shared is not None
    assert shared.pull().removed == () and legacy.exists()
    assert shared.push().written == ("legacy.txt",)
    assert shared.push().written == ()  # nothing changed: nothing written again
    revision = shared.revision()
    legacy.unlink()
    assert shared.push().removed == ("legacy.txt",) and shared.revision() > revision


def test_a_row_naming_a_path_outside_the_uploads_folder_is_refused(tmp_path: Path,
                                                                   postgres_url: str) -> None:
    shared = SharedUploads(PostgresDatabase(postgres_url, SCHEMA), tmp_path / "corpus")
    with shared.database.transaction() as transaction:
        transaction.execute("INSERT INTO uploads (path, sha256, data) VALUES (?, ?, ?)",
                            ("../../etc/evil", "x", b"x"))
    with pytest.raises(ValueError, match="not a path below uploads/"):
        shared.pull()
    assert not (tmp_path / "etc").exists()


def test_without_a_database_uploads_stay_local(tmp_path: Path) -> None:
    assert shared_uploads_for(make_settings(tmp_path)) is None
