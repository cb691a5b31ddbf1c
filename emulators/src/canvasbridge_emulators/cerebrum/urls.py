"""Routes of the Cerebrum emulator, under ``/v1`` as the real API (GET, and so HEAD, only)."""

from __future__ import annotations

from starlette.routing import Route

from canvasbridge_emulators.cerebrum.responses import CerebrumResponses


def routes(responses: CerebrumResponses) -> list[Route]:
    h = responses.endpoints()
    return [
        Route(path, h[name], methods=["GET"])
        for path, name in (
            ("/v1/persons/{id:int}", "person"),
            ("/v1/persons/{id:int}/accounts", "person_accounts"),
            ("/v1/persons/{id:int}/external-ids", "person_external_ids"),
            ("/v1/persons/{id:int}/affiliations", "person_affiliations"),
            ("/v1/accounts/", "accounts"),
            ("/v1/accounts/{name}", "account"),
            ("/v1/accounts/{name}/quarantines", "account_quarantines"),
            ("/v1/accounts/{name}/groups", "account_groups"),
            ("/v1/groups/{name}", "group"),
            ("/v1/groups/{name}/members/", "group_members"),
            ("/v1/ous/{id:int}", "ou"),
            ("/v1/search/persons/external-ids", "search_external_ids"),
        )
    ]
