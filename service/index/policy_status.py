"""Whether an indexed notice is in force on a given day, from the facts in the manifest.

有效 in force · 已失效 expired (its expiry date has passed) · 已被替代 replaced (another
indexed notice in force names it under ``replaces``, by id or document number) · 尚未生效
not yet in force · 未知 no dates known. Expired and replaced notices are not used for
answers by default; the rest are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.ingest.policy_facts import PolicyFacts

LABELS = {"current": "有效", "expired": "已失效", "replaced": "已被替代", "pending": "尚未生效",
          "unknown": "未知"}
LAPSED = ("expired", "replaced")  # left out of answers unless include_expired


@dataclass(frozen=True)
class DocumentStatus:
    document_id: str
    facts: PolicyFacts
    status: str  # a key of LABELS
    replaced_by: str = ""  # id of the notice that replaces it

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def lapsed(self) -> bool:
        return self.status in LAPSED

    def line(self) -> str:
        """发文机关、文号、日期 and 状态 in one line (the CLI's and the LLM's source line)."""
        facts = self.facts
        known = [facts.agency, facts.doc_number, facts.issued and f"{facts.issued} 发布",
                 facts.expires and f"有效期至 {facts.expires}"]
        return "　".join([*(k for k in known if k), f"状态：{self.label}"])


def facts_of(entry: dict[str, Any]) -> PolicyFacts:
    """The facts a manifest entry holds (none for an index built before they existed)."""
    return PolicyFacts.from_dict(entry.get("policy") or {})


def document_statuses(documents: dict[str, dict[str, Any]],
                      as_of: dt.date) -> dict[str, DocumentStatus]:
    """The status of every document of a manifest on ``as_of``."""
    facts = {doc_id: facts_of(entry) for doc_id, entry in documents.items()}
    dated = {doc_id: _dated_status(f, as_of) for doc_id, f in facts.items()}
    titles = {doc_id: str(entry.get("title", "")) for doc_id, entry in documents.items()}
    replaced_by = _replacements(facts, dated, titles)
    return {
        doc_id: DocumentStatus(doc_id, facts[doc_id],
                               "replaced" if doc_id in replaced_by else dated[doc_id],
                               replaced_by.get(doc_id, ""))
        for doc_id in documents
    }


def _dated_status(facts: PolicyFacts, as_of: dt.date) -> str:
    day = as_of.isoformat()  # ISO dates compare as text
    start = facts.effective or facts.issued
    if facts.expires and facts.expires < day:
        return "expired"
    if facts.effective and facts.effective > day:
        return "pending"
    return "current" if start or facts.expires else "unknown"


def _replacements(facts: dict[str, PolicyFacts], dated: dict[str, str],
                  titles: dict[str, str]) -> dict[str, str]:
    """Replaced document id -> the id of the notice replacing it (named by id, document
    number or exact title); a replacement that is not yet in force replaces nothing yet."""
    by_name: dict[str, str] = {}
    for doc_id, known in facts.items():
        for name in (doc_id, known.doc_number, titles.get(doc_id, "")):
            if name:
                by_name.setdefault(name, doc_id)
    replaced: dict[str, str] = {}
    for doc_id, known in facts.items():
        if dated[doc_id] == "pending":
            continue
        for name in known.replaces:
            target = by_name.get(name)
            if target is not None and target != doc_id:
                replaced.setdefault(target, doc_id)
    return replaced
