"""Shared fixtures: the real default embedder and a real small index built in tmp dirs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import DEFAULT_EMBEDDER, Settings
from service.embedding.embedders import Embedder, make_embedder
from service.index.build import reindex
from tests.pg import PostgresCluster, postgres_bin

REPO = Path(__file__).resolve().parent.parent
SEED_CORPUS = REPO / "corpus"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the real model, and slow ones (they start processes or build
    wheels), are the real tier, marked `model`; tests that need a PostgreSQL server are
    marked `postgres`: `-m "not model and not browser and not postgres"` is the fast tier of
    hand-made passages and the test embedder."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "embedder" in fixtures or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.model)
        if "postgres_server" in fixtures:  # postgres_url uses it
            item.add_marker(pytest.mark.postgres)
        if "browser" in Path(str(item.fspath)).parts:  # every test under tests/browser/
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on a free port of 127.0.0.1 (tests/pg.py), stopped and
    removed at the end of the session; skipped when Debian's postgresql is not installed."""
    if postgres_bin("initdb") is None:
        message = "PostgreSQL is not installed: run `bash .ci/install-postgres`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with PostgresCluster.running() as cluster:
        yield cluster


@pytest.fixture()
def postgres_url(postgres_server: PostgresCluster) -> str:
    """``postgresql://…`` of a new, empty database: POLICYBOT_DATABASE_URL for one test."""
    return postgres_server.new_database()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled multilingual-e5-small, loaded once for the whole run."""
    return make_embedder(DEFAULT_EMBEDDER)


def make_settings(root: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "corpus_dir": root / "corpus", "index_dir": root / "index", "data_dir": root / "data",
        "rate_limit_per_minute": 0,  # tests send many requests from one client; see test_admission
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The bundled seed corpus, indexed once per run (read-only for tests)."""
    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    settings = make_settings(root)
    reindex(settings, embedder, progress=False)
    return settings


@pytest.fixture()
def settings(tmp_path: Path, seed_index: Settings) -> Settings:
    """A private copy of the seed corpus and index that a test may change."""
    shutil.copytree(seed_index.corpus_dir, tmp_path / "corpus")
    shutil.copytree(seed_index.index_dir, tmp_path / "index")
    shutil.copytree(seed_index.data_dir, tmp_path / "data")
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seed_client(seed_index: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The real app over the seed index, for read-only API tests (refused questions are not
    logged: the seed's data folder is copied into every private test folder)."""
    read_only = seed_index.model_copy(update={"question_log": False})
    with TestClient(create_app(read_only, embedder=embedder)) as client:
        yield client


@pytest.fixture()
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The real app over a private copy of the seed index."""
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def fast_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed corpus indexed with the test embedder (fast tier): a real FAISS index and
    real BM25 in about a second. Dense scores are not e5's, so refusal leans on coverage."""
    from tests.fakes import BigramEmbedder

    root = tmp_path_factory.mktemp("fast")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    settings = make_settings(root, refusal_dense_weight=0.0)
    reindex(settings, BigramEmbedder(), progress=False)
    return settings
