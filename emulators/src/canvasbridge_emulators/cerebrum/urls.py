"""Routes of the Cerebrum emulator, under ``/v1`` as the real API."""

from __future__ import annotations

from starlette.routing import Route

from canvasbridge_emulators.cerebrum.responses import CerebrumResponses


def routes(responses: CerebrumResponses) -> list[Route]:
    h = responses.handlers()
    return [
        Route("/v1/persons/{id:int}", h["person"]),
        Route("/v1/persons/{id:int}/accounts", h["person_accounts"]),
        Route("/v1/persons/{id:int}/external-ids", h["person_external_ids"]),
        Route("/v1/persons/{id:int}/affiliations", h["person_affiliations"]),
        Route("/v1/accounts/", h["accounts"]),
        Route("/v1/accounts/{name}", h["account"]),
        Route("/v1/accounts/{name}/quarantines", h["account_quarantines"]),
        Route("/v1/accounts/{name}/groups", h["account_groups"]),
        Route("/v1/groups/{name}", h["group"]),
        Route("/v1/groups/{name}/members/", h["group_members"]),
        Route("/v1/ous/{id:int}", h["ou"]),
        Route("/v1/search/persons/external-ids", h["search_external_ids"]),
    ]
