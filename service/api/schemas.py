"""Pydantic models at the HTTP edge: what /api/v1 accepts and returns."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from service.api.validation import (
    CONTROL,
    MAX_OFFSET,
    LongText,
    Name,
    UserText,
    check_strings,
    check_unicode,
)
from service.api.validation import MAX_TEXT as MAX_TEXT  # the page shows it

MAX_HISTORY_TURNS = 6
MAX_HISTORY_ANSWER = 2000


def clean_history_answer(value: str) -> str:
    """Control characters removed; empty is allowed; at most 2000 characters."""
    text = unicodedata.normalize("NFC", CONTROL.sub("", check_unicode(value))).strip()
    if len(text) > MAX_HISTORY_ANSWER:
        raise ValueError(f"is {len(text)} characters long; send at most "
                         f"{MAX_HISTORY_ANSWER} characters of an earlier answer")
    return text


AnswerText = Annotated[str, Field(strict=True), AfterValidator(clean_history_answer)]
TopK = Annotated[int, Field(strict=True, ge=1, le=20, description="Passages to use, 1–20.")]


class StrictModel(BaseModel):
    """A request body: unknown fields refused, every string valid Unicode (see validation)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        return check_strings(value)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error codes: every error has the house shape."""
    return {code: {"model": ErrorResponse} for code in codes}


class TurnIn(StrictModel):
    question: UserText = Field(description="An earlier question, 1–500 characters.",
                               examples=["企业在哪里可以查到惠企政策？"])
    answer: AnswerText = Field("", description="Its answer, at most 2000 characters.",
                               examples=["济南高新区还将惠企政策全部纳入线上“泉惠企”平台……[1]"])


IncludeExpired = Annotated[bool, Field(
    strict=True,
    description="true: also use notices that have expired or been replaced (their citations "
                "say 已失效 / 已被替代); false: only notices in force or of unknown status.")]


class AskRequest(StrictModel):
    question: UserText = Field(
        description="The question, 1–500 characters after trimming.",
        examples=["外籍员工的工作许可和居留能一起办吗？"],
    )
    top_k: TopK | None = Field(None, examples=[5])
    profile: ProfileIn | None = Field(
        None,
        description="Optional enterprise profile (the page's 企业画像 panel), merged with what "
                    "the question says. With it, a question asking what applies (有哪些政策适合"
                    "我们？) gets the matching policies as a list; unknown values are a 422.",
        examples=[{"industries": ["生物医药与大健康"], "qualifications": ["专精特新"],
                   "needs": ["金融", "人才"], "foreign_staff": False}],
    )
    history: list[TurnIn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="Earlier turns of the conversation, oldest first (at most 6). A follow-up "
                    "(它需要什么条件？) is made standalone with them before retrieval.")
    stream: bool = Field(
        False, strict=True,
        description="true: answer as text/event-stream with events `citations`, `sentence` "
                    "(one verified sentence at a time), then `done` (this same JSON object); "
                    "an error after the stream began comes as an `error` event.")
    include_expired: IncludeExpired = False


class SearchRequest(StrictModel):
    query: UserText = Field(
        description="Search text, 1–500 characters after trimming.",
        examples=["企业在哪里可以查到惠企政策"],
    )
    top_k: TopK | None = Field(None, examples=[5])
    include_expired: IncludeExpired = False


class PolicyOut(BaseModel):
    """What is known of a notice's issuer and dates (metadata, else read from its text)."""

    agency: str | None = Field(None, description="Issuing agency (发文机关).",
                               examples=["济南高新区管委会"])
    doc_number: str | None = Field(None, description="Document number (发文字号).",
                                   examples=["济高管发〔2020〕12号"])
    issued: str | None = Field(None, description="Issue date, YYYY-MM-DD.",
                               examples=["2020-02-10"])
    effective: str | None = Field(None, description="In force from, YYYY-MM-DD.",
                                  examples=["2020-02-10"])
    expires: str | None = Field(None, description="Last day in force, YYYY-MM-DD.",
                                examples=["2021-02-09"])
    replaces: list[str] = Field(default_factory=list, description="Ids or numbers of the "
                                "notices it replaces.")
    status: Literal["current", "expired", "replaced", "pending", "unknown"] = Field(
        "unknown", description="On the status date: current (有效), expired (已失效), replaced "
        "(已被替代), pending (尚未生效) or unknown (未知: no dates known).")
    status_label: str = Field("未知", examples=["有效"], description="The status in Chinese.")
    replaced_by: str | None = Field(None, description="Id of the notice replacing it.")


class CitationOut(BaseModel):
    marker: int = Field(description="The [n] marker in the answer.", examples=[1])
    passage_id: str = Field(examples=["jinan-hitech-2023-q3#15"])
    document_id: str = Field(examples=["jinan-hitech-2023-q3"])
    title: str = Field(examples=["济南高新区2023年前三季度经济运行与高质量发展综述"])
    text: str = Field(description="The whole cited passage.",
                      examples=["在济南高新区“涉外服务专区”……"])
    start: int = Field(description="Passage start offset in the cleaned document.", examples=[3960])
    end: int = Field(description="Passage end offset in the cleaned document.", examples=[4250])
    score: float = Field(description="Fused retrieval score of the passage.", examples=[0.91])
    quote: str = Field(description="The sentence(s) the answer copied, verbatim.",
                       examples=["还完成了外籍员工“工作居留一件事”的联办。"])
    quote_start: int = Field(description="Quote start offset in the cleaned document.",
                             examples=[3985])
    quote_end: int = Field(description="Quote end offset in the cleaned document.", examples=[4042])
    heading: str = Field("", description="Section heading of the passage.",
                         examples=["建设“开放新门户”"])
    source: str | None = Field(None, examples=["济南高新区工作报道（由 PDF 版面提取的文本）"])
    date: str | None = Field(None, examples=["2023-11"])
    policy: PolicyOut | None = Field(None, description="Issuer, number, dates and status of "
                                     "the cited notice.")


class AskResponse(BaseModel):
    answer: str = Field(description="Short answer; every sentence ends with its [n] markers.",
                        examples=["在济南高新区“涉外服务专区”，……还完成了外籍员工“工作居留一件事”的联办。[1]"])
    found: bool = Field(description="False when the policy texts do not cover the question.")
    citations: list[CitationOut] = Field(description="What each [n] marker points to; empty "
                                          "when found is false.")
    took_ms: float = Field(description="Server time for the answer.", examples=[42.0])
    mode: Literal["generative", "extractive"] = Field(
        "extractive", description="generative: written by the LLM from the cited passages, every "
                                  "sentence verified; extractive: sentences copied from them.")
    dropped: int = Field(0, description="Written sentences that failed verification and were "
                                        "not shown.", examples=[0])
    fallback_reason: str | None = Field(
        None, description="Why a configured LLM's answer was not used (timeout, nothing "
                          "verified, …); null otherwise.")
    standalone_question: str | None = Field(
        None, description="The follow-up as retrieved, made standalone with the history; null "
                          "when the question was used as asked.")


class SearchResult(BaseModel):
    passage_id: str = Field(examples=["jinan-hitech-2023-q3#11"])
    document_id: str = Field(examples=["jinan-hitech-2023-q3"])
    title: str = Field(examples=["济南高新区2023年前三季度经济运行与高质量发展综述"])
    text: str = Field(description="The passage text.",
                      examples=["为了更好地服务企业发展，济南高新区还将惠企政策全部纳入线上“泉惠企”平台……"])
    start: int = Field(description="Passage start offset in the cleaned document.", examples=[2866])
    end: int = Field(description="Passage end offset in the cleaned document.", examples=[3155])
    score: float = Field(description="Fused score (see the `fusion` setting).", examples=[0.95])
    dense_score: float = Field(description="Cosine similarity of query and passage.",
                               examples=[0.87])
    bm25_score: float = Field(description="BM25 score over jieba tokens.", examples=[7.36])
    heading: str = Field("", description="Section heading.",
                         examples=["用好改革关键一招 打造“最优软环境”"])
    source: str | None = Field(None, examples=["济南高新区工作报道（由 PDF 版面提取的文本）"])
    date: str | None = Field(None, examples=["2023-11"])
    policy: PolicyOut | None = Field(None, description="Issuer, number, dates and status of "
                                     "the passage's notice.")


class SearchResponse(BaseModel):
    results: list[SearchResult] = Field(description="Best passages first.")
    took_ms: float = Field(description="Server time for the search.", examples=[8.5])


class DocumentOut(BaseModel):
    document_id: str = Field(examples=["jinan-hitech-2023-q3"])
    title: str = Field(examples=["济南高新区2023年前三季度经济运行与高质量发展综述"])
    source: str = Field(examples=["济南高新区工作报道（由 PDF 版面提取的文本）"])
    date: str = Field(examples=["2023-11"])
    passages: int = Field(description="Passages indexed from it.", examples=[18])
    sha256: str = Field(description="SHA-256 of the stored file.",
                        examples=["9c1f0e6b2d…"])
    policy: PolicyOut = Field(description="Issuer, number, dates and status on the status "
                              "date.")


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut] = Field(description="Every document of the served index.")
    status_date: str = Field(description="The day the statuses are for, YYYY-MM-DD.",
                             examples=["2026-12-02"])


class ReadyResponse(BaseModel):
    status: str = Field(examples=["ready"])
    passages: int = Field(examples=[31])
    index_version: str = Field(examples=["20261129T023305145184Z-8132e9"])
    load_error: str | None = Field(
        None, description="Why a newer index version could not be loaded (the one above "
                          "keeps serving); null when the served version is the newest.")
    llm: LLMState | None = Field(None, description="The LLM's state; it never fails readiness.")


class LLMState(BaseModel):
    configured: bool = Field(description="A base URL is set (POLICYBOT_LLM_BASE_URL).")
    model: str | None = Field(None, examples=["qwen2.5:7b-instruct"])
    breaker: str | None = Field(None, description="closed, open (the LLM is skipped for a "
                                                  "while) or half-open (one trial call).")


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong and what to do.",
                       examples=["question: must not be empty: type a question of 1–500 "
                                 "characters"])
    status: int = Field(examples=[422])


# --- Policy matching (service/match_api.py) ---

ProfileValue = Annotated[Name, Field(max_length=50)]


class ProfileIn(StrictModel):
    industries: list[ProfileValue] = Field(
        default_factory=list, max_length=20, description="Industries: names or synonyms.",
        examples=[["生物医药"]])
    qualifications: list[ProfileValue] = Field(
        default_factory=list, max_length=20, description="Qualifications: names or synonyms.",
        examples=[["专精特新"]])
    needs: list[ProfileValue] = Field(
        default_factory=list, max_length=20, description="Kinds of support: names or synonyms.",
        examples=[["融资", "人才"]])
    foreign_staff: bool = Field(False, strict=True, description="Adds the 涉外服务 need.")
    text: UserText | None = Field(None, description="Free text, tagged and merged in.",
                                  examples=["我们是一家做生物医药的专精特新企业，有外籍员工"])


class MatchRequest(StrictModel):
    profile: ProfileIn
    limit: int = Field(20, strict=True, ge=1, le=100, description="Matches per page, 1–100.")
    offset: int = Field(0, strict=True, ge=0, le=MAX_OFFSET, description="Matches to skip.")
    include_expired: IncludeExpired = False


class ProfileOut(BaseModel):
    industries: list[str] = Field(examples=[["生物医药与大健康"]])
    qualifications: list[str] = Field(examples=[["专精特新"]])
    needs: list[str] = Field(examples=[["金融", "人才"]])


class MatchOut(BaseModel):
    title: str = Field(examples=["激活创新第一动力 塑强“发展策源地”"])
    summary: str = Field(description="The passage's best 1–2 sentences for the profile, verbatim.")
    reasons: list[str] = Field(examples=[["行业：生物医药与大健康", "需求：金融"]])
    triggers: dict[str, list[str]] = Field(
        description="Per reason, the words of the passage that triggered it.",
        examples=[{"需求：金融": ["科创金融", "基金"]}])
    citations: list[CitationOut] = Field(
        description="Per reason, the sentence that says it (distinct sentences only).")
    score: float = Field(description="Facet weights of the tags in common, plus evidence.")


class MatchResponse(BaseModel):
    total: int = Field(description="All matches; the page holds at most `limit`.")
    profile: ProfileOut = Field(description="The profile as matched, in canonical names.")
    matches: list[MatchOut]


class TaxonomyValue(BaseModel):
    name: str = Field(examples=["高新技术企业"])
    synonyms: list[str] = Field(examples=[["高企", "高新企业"]])


class TaxonomyFacet(BaseModel):
    name: str = Field(examples=["qualifications"])
    label: str = Field(examples=["资质"])
    values: list[TaxonomyValue]


class TaxonomyResponse(BaseModel):
    facets: list[TaxonomyFacet]


# ---- admin ---------------------------------------------------------------------------------


class DocumentIn(StrictModel):
    """A policy sent as JSON; stored as a .txt file with YAML front matter."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: str = Field(min_length=1, examples=["济南高新区关于支持科技创新的若干政策"])
    text: str = Field(min_length=1, examples=["第一条　对首次认定的国家高新技术企业……"])
    source: str | None = Field(None, examples=["济南高新区管委会"])
    date: str | None = Field(None, examples=["2024-03"])
    id: str | None = Field(None, examples=["policies/2024/科技创新"])
    agency: str | None = Field(None, examples=["济南高新区管委会"])
    doc_number: str | None = Field(None, examples=["济高管发〔2024〕3号"])
    issued: str | None = Field(None, description="YYYY-MM-DD", examples=["2024-03-01"])
    effective: str | None = Field(None, description="YYYY-MM-DD", examples=["2024-03-01"])
    expires: str | None = Field(None, description="YYYY-MM-DD", examples=["2026-02-28"])
    replaces: list[str] | None = Field(None, max_length=50, description="Ids or numbers of "
                                       "the notices it replaces.",
                                       examples=[["济高管发〔2022〕7号"]])


class DocumentAdded(BaseModel):
    document_id: str = Field(examples=["uploads/科技创新政策"])
    title: str = Field(examples=["济南高新区关于支持科技创新的若干政策"])
    passages: int = Field(examples=[3])
    document_ids: list[str] = Field(description="All documents of the file (a .jsonl may "
                                                "hold several); the first is document_id.")


class BuildOut(BaseModel):
    version: str
    documents: int
    passages: int
    embedded: int = Field(description="Passages embedded now; the rest came from the cache.")
    seconds: float
    skipped: list[str] = Field(default_factory=list, description="Corpus files left out "
                               "because they could not be read, each as 'path: reason'.")


class JobOut(BaseModel):
    job: str
    status: str = Field(examples=["running"], description="running, done or failed")
    stage: str = Field(examples=["embedding"],
                       description="starting, chunked, embedding, embedded, published")
    done: int = Field(description="Passages embedded so far (while embedding).")
    total: int
    result: BuildOut | None = None
    error: str | None = None
    kind: str = Field("reindex", description="reindex, or the rebuild of an upload or delete")
    started: str | None = Field(None, description="UTC, ISO 8601.")
    seconds: float | None = Field(None, description="Duration, once the job has ended.")


class JobsOut(BaseModel):
    jobs: list[JobOut] = Field(description="The last reindex jobs, newest first.")


# ---- feedback ------------------------------------------------------------------------------

PassageId = Name


class FeedbackRequest(StrictModel):
    question: UserText = Field(description="The question that was asked, 1–500 characters.",
                               examples=["外籍员工的工作许可和居留能一起办吗？"])
    answer: LongText = Field(max_length=4000, description="The answer that was shown.")
    passage_ids: list[PassageId] = Field(default_factory=list, max_length=20,
                                         examples=[["jinan-hitech-2023-q3#15"]])
    helpful: StrictBool = Field(description="true for thumbs up, false for thumbs down.")
    comment: LongText = Field("", max_length=1000, description="Optional remark.")


class FeedbackCreated(BaseModel):
    id: int = Field(examples=[1])


class FeedbackOut(BaseModel):
    id: int
    created: str = Field(description="UTC time, ISO 8601.", examples=["2026-01-05T08:30:00+00:00"])
    question: str
    answer: str
    passage_ids: list[str]
    helpful: bool
    comment: str


class FeedbackList(BaseModel):
    total: int
    items: list[FeedbackOut]


# --- Staff lists (service/api/routes/unanswered.py, feedback) ---


class UnansweredOut(BaseModel):
    question: str = Field(description="The latest wording of the question.",
                          examples=["高新区对跨境电商企业有仓储补贴吗？"])
    count: int = Field(description="Times it was asked (same normalised text).", examples=[3])
    first_asked: str = Field(description="UTC, ISO 8601.", examples=["2026-01-05T08:30:00+00:00"])
    last_asked: str = Field(description="UTC, ISO 8601.", examples=["2026-01-07T10:02:11+00:00"])


class UnansweredList(BaseModel):
    enabled: bool = Field(description="False when POLICYBOT_QUESTION_LOG=off (nothing is kept).")
    keep_days: int = Field(description="Days a question stays in the list.", examples=[180])
    total: int = Field(description="Distinct questions in the list.", examples=[12])
    items: list[UnansweredOut] = Field(description="Most recently asked first.")
