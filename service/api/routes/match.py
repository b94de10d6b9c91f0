"""Policy matching routes: which policies and services apply to an enterprise."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from service.api.deps import SnapshotDep
from service.api.presenters import citation_out
from service.api.schemas import (
    ErrorResponse,
    MatchOut,
    MatchRequest,
    MatchResponse,
    ProfileIn,
    ProfileOut,
    TaxonomyFacet,
    TaxonomyResponse,
    TaxonomyValue,
)
from service.core.models import Citation, Hit
from service.matching.matcher import (
    LABELS,
    PROFILE_FACETS,
    Match,
    PolicyMatcher,
    Profile,
    build_profile,
    default_taxonomy,
)
from service.matching.taxonomy import Taxonomy

ERRORS = {code: {"model": ErrorResponse} for code in (400, 413, 422, 429, 503)}
router = APIRouter(prefix="/api/v1", tags=["matching"], responses=ERRORS)  # type: ignore[arg-type]


@router.post("/match", response_model=MatchResponse,
             summary="Every policy and service that applies to an enterprise")
def match(body: MatchRequest, snapshot: SnapshotDep) -> MatchResponse:
    matcher = snapshot.matcher
    profile = profile_from(body.profile, matcher.taxonomy)
    matches = matcher.match(profile)
    page = matches[body.offset : body.offset + body.limit]
    return MatchResponse(
        total=len(matches), profile=profile_out(profile),
        matches=[match_out(matcher, m, profile, body.offset + i) for i, m in enumerate(page, 1)],
    )


@router.get("/taxonomy", response_model=TaxonomyResponse,
            summary="The profile facets and the values (names and synonyms) they accept")
def taxonomy() -> TaxonomyResponse:
    return taxonomy_out(default_taxonomy())


def install(app: FastAPI) -> None:
    app.include_router(router)


def profile_from(body: ProfileIn, taxonomy: Taxonomy) -> Profile:
    return build_profile(taxonomy, body.industries, body.qualifications, body.needs,
                         body.foreign_staff, body.text)


def profile_out(profile: Profile) -> ProfileOut:
    return ProfileOut(industries=list(profile.industries),
                      qualifications=list(profile.qualifications), needs=list(profile.needs))


def match_out(matcher: PolicyMatcher, match: Match, profile: Profile, marker: int) -> MatchOut:
    """One match with its summary, and per reason the sentence that says it."""
    passage = match.card.passage
    evidence = matcher.explain(match, profile)
    hit = Hit(passage, match.score, 0.0, 0.0)
    quotes = {quote.start: quote for _, quote in evidence.quotes}  # distinct sentences
    citations = [citation_out(Citation(marker, hit, q.text, passage.start + q.start,
                                       passage.start + q.end)) for q in quotes.values()]
    return MatchOut(
        title=passage.heading or passage.title, summary=evidence.summary.text,
        reasons=list(match.reasons), score=match.score, citations=citations,
        triggers={reason: match.triggers(facet, tag) for reason, facet, tag in match.reason_tags()},
    )


def taxonomy_out(taxonomy: Taxonomy) -> TaxonomyResponse:
    return TaxonomyResponse(facets=[
        TaxonomyFacet(name=facet, label=LABELS[facet], values=[
            TaxonomyValue(name=tag.name, synonyms=list(tag.synonyms))
            for tag in taxonomy.facet(facet).tags
        ])
        for facet in PROFILE_FACETS
    ])
