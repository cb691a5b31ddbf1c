"""Salesforce client: simple-salesforce plus SOQL escaping, batching, limits and one re-login.

from canvasbridge.clients.salesforce import SalesforceSettings, soql
sf = SalesforceSettings.model_validate(config["systems"]["salesforce"]).build()
rows = sf.query_all(soql.format("SELECT Id FROM Contact WHERE Email = {e}", e=email))
"""

from canvasbridge.clients.salesforce import soql
from canvasbridge.clients.salesforce.client import (
    MAX_COLLECTION,
    MAX_COMPOSITE,
    ApiLimitExceededError,
    ApiUsage,
    RecordResult,
    SalesforceClient,
    SalesforceSettings,
    parse_limit_info,
)

__all__ = [
    "MAX_COLLECTION",
    "MAX_COMPOSITE",
    "ApiLimitExceededError",
    "ApiUsage",
    "RecordResult",
    "SalesforceClient",
    "SalesforceSettings",
    "parse_limit_info",
    "soql",
]
