"""Index folders the benchmarks run against, all under bench/out/ (gitignored).

    bench/out/data/                 shared embedding cache: real vectors, embedded once
    bench/out/corpus-<n>/           synthetic corpora (see synthetic.py)
    bench/out/index-seed/           the seed corpus
    bench/out/index-<n>/            a synthetic corpus with real vectors
    bench/out/index-<n>-synthetic/  real format, real passages, synthetic vectors (startup only)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import synthetic

from service.core.settings import Settings
from service.embedding.embedders import Embedder, embedder_for
from service.embedding.passage_cache import PassageVectorCache, text_hash
from service.index.build import BuildResult, embedding_text, reindex
from service.index.store import current_version, read_manifest, read_passages, versions_dir
from service.index.vector_index import choose_spec

OUT = Path(__file__).resolve().parent / "out"
SHARED_DATA = OUT / "data"
SHARED_EVAL = Path("/work/shared/eval")
REAL_SETS = ("cmrc2018_dev", "henan_procuratorate_faq")


def settings_for(name: str, corpus_dir: Path, data_dir: Path = SHARED_DATA) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=OUT / f"index-{name}", data_dir=data_dir,
                    keep_versions=1)


def env_for(settings: Settings) -> dict[str, str]:
    """POLICYBOT_* variables that make a `policybot serve` subprocess use ``settings``' folders."""
    return {"POLICYBOT_CORPUS_DIR": str(settings.corpus_dir),
            "POLICYBOT_INDEX_DIR": str(settings.index_dir),
            "POLICYBOT_DATA_DIR": str(settings.data_dir)}


def seed_settings() -> Settings:
    return settings_for("seed", synthetic.SEED_CORPUS)


def synthetic_settings(passages: int) -> Settings:
    corpus = OUT / f"corpus-{passages // 1000}k"
    synthetic.write_corpus(corpus, passages)
    return settings_for(f"{passages // 1000}k", corpus)


def real_settings() -> Settings:
    """Real, varied Chinese passages (CMRC 2018 Wikipedia paragraphs and a procuratorate FAQ,
    from /work/shared/eval): the sources of the million synthetic vectors in bench_scale."""
    corpus = OUT / "corpus-real"
    corpus.mkdir(parents=True, exist_ok=True)
    for name in REAL_SETS:
        target = corpus / f"{name}.jsonl"
        if not target.exists():
            shutil.copyfile(SHARED_EVAL / name / "passages.jsonl", target)
    return settings_for("real", corpus)


def real_questions(count: int) -> list[str]:
    """Every k-th question of the real sets, ``count`` in all (deterministic)."""
    questions: list[str] = []
    for name in REAL_SETS:
        lines = (SHARED_EVAL / name / "questions.jsonl").read_text("utf-8").splitlines()
        questions += [json.loads(line)["question"] for line in lines if line.strip()]
    step = max(1, len(questions) // count)
    return questions[::step][:count]


def ensure_index(settings: Settings, embedder: Embedder | None = None) -> BuildResult | None:
    """Reindex ``settings``' corpus unless its current version was built from the same corpus."""
    if _up_to_date(settings):
        return None
    print(f"building {settings.index_dir} (vectors come from the cache in {settings.data_dir}; "
          "the first build of a synthetic corpus embeds every passage)", file=sys.stderr)
    return reindex(settings, embedder or embedder_for(settings), wait=True)


def _up_to_date(settings: Settings) -> bool:
    version = current_version(settings.index_dir)
    if version is None:
        return False
    folder = versions_dir(settings.index_dir) / version
    if not (folder / "bm25_impacts.npy").exists():
        return False  # written before BM25 was memory-mapped: rebuild to measure what ships
    manifest = read_manifest(folder)
    if manifest["vector_index"]["kind"] != choose_spec(manifest["passage_count"]).kind:
        return False  # built before the size thresholds changed: measure what reindex builds
    built = (folder / "manifest.json").stat().st_mtime
    newest = max(p.stat().st_mtime for p in settings.corpus_dir.rglob("*") if p.is_file())
    return built > newest


def current_folder(settings: Settings) -> Path:
    version = current_version(settings.index_dir)
    if version is None:
        raise SystemExit(f"no index in {settings.index_dir}")
    return versions_dir(settings.index_dir) / version


def cached_vectors(settings: Settings, embedder_name: str) -> np.ndarray:
    """The real passage vectors of ``settings``' current index, read from the embedding cache."""
    folder = current_folder(settings)
    texts = [embedding_text(p) for p in read_passages(folder)]
    cache = PassageVectorCache(settings.data_dir / "embedding_cache.sqlite")
    found = cache._lookup(embedder_name, [text_hash(t) for t in texts])
    vectors = [found[text_hash(t)] for t in texts if text_hash(t) in found]
    return np.stack(vectors).astype(np.float32)


def manifest_of(settings: Settings) -> dict:  # type: ignore[type-arg]
    return read_manifest(current_folder(settings))


def build_10k_in_background_hint() -> str:
    return ("the 10k index embeds ~10k passages once (15-40 min on 2 cores); run "
            "`.venv/bin/python bench/indexes.py 10000` in the background first")


class NoisyCopyEmbedder:
    """Stands in for the real embedder when only the index format matters (startup, memory):
    each passage gets a noisy copy of a real vector, chosen by the hash of its text. Its name
    is the real embedder's so the server accepts the index; give it its own data_dir, so its
    vectors never reach the real embedding cache."""

    def __init__(self, real: np.ndarray, name: str, alpha: float = 0.6) -> None:
        self.real = real
        self.name = name
        self.dim = real.shape[1]
        self.query_lanes = 1
        self.alpha = alpha

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            rng = np.random.default_rng(int(text_hash(text)[:12], 16))
            source, a, b = self.real[rng.integers(0, len(self.real), 3)]
            rows.append(source + self.alpha * (a - b))
        vectors = np.stack(rows)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)


def synthetic_vector_settings(passages: int) -> Settings:
    """A ``passages``-passage synthetic corpus indexed with NoisyCopyEmbedder vectors."""
    corpus = OUT / f"corpus-{passages // 1000}k"
    synthetic.write_corpus(corpus, passages)
    settings = settings_for(f"{passages // 1000}k-synthetic-vectors", corpus,
                            OUT / "data-synthetic-vectors")
    if not _up_to_date(settings):
        real_settings_ = real_settings()
        ensure_index(real_settings_)
        real = cached_vectors(real_settings_, real_settings_.embedder)
        print(f"building {settings.index_dir} with synthetic vectors (BM25 of {passages} "
              "passages takes a few minutes)", file=sys.stderr)
        reindex(settings, NoisyCopyEmbedder(real, settings.embedder), wait=True)
    return settings


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "10000"
    settings = real_settings() if which == "real" else synthetic_settings(int(which))
    result = ensure_index(settings)
    print(result or "index is up to date")


if __name__ == "__main__":
    main()
