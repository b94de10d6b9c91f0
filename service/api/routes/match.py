"""Policy matching routes: which policies and services apply to an enterprise."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from service.api.deps import SnapshotDep
from service.api.presenters import match_out, profile_out, taxonomy_out
from service.api.schemas import (
    MatchRequest,
    MatchResponse,
    ProfileIn,
    TaxonomyResponse,
    error_responses,
)
from service.matching.matcher import Profile, build_profile, default_taxonomy
from service.matching.taxonomy import Taxonomy

router = APIRouter(prefix="/api/v1", tags=["matching"],
                   responses=error_responses(400, 413, 422, 429, 503))


@router.post("/match", response_model=MatchResponse,
             summary="Every policy and service that applies to an enterprise")
def match(body: MatchRequest, snapshot: SnapshotDep) -> MatchResponse:
    snapshot = snapshot.including_expired(body.include_expired)
    matcher, statuses = snapshot.matcher, snapshot.statuses.by_document()
    profile = profile_from(body.profile, matcher.taxonomy)
    matches = matcher.match(profile)
    page = matches[body.offset : body.offset + body.limit]
    return MatchResponse(
        total=len(matches), profile=profile_out(profile),
        matches=[match_out(m, matcher.explain(m, profile), body.offset + i, statuses)
                 for i, m in enumerate(page, 1)],
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

