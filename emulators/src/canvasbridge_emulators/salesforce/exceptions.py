"""Salesforce's error bodies.

REST errors are a JSON **array** ``[{"message", "errorCode", "fields"?}]``; inside
composite and collection results the per-record key is ``statusCode`` instead. The OAuth
endpoint answers ``{"error", "error_description"}`` and the SOAP login a SOAP fault.
"""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """An error answer: HTTP status, Salesforce error code, message, and the fields concerned."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]

    def record_error(self) -> dict[str, Any]:
        """The ``errors[]`` entry of a collection result."""

        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", message)


def invalid_session() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> SalesforceError:
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def invalid_type(name: str) -> SalesforceError:
    return SalesforceError(
        404,
        "NOT_FOUND",
        f"The requested resource does not exist (sObject type '{name}' is not supported)",
    )


def invalid_field(obj: str, field: str) -> SalesforceError:
    return SalesforceError(
        400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {obj}", [field]
    )


def malformed_id(value: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_ID", f"Id is malformed: {value}", ["Id"])


def json_parser_error(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


ROLLED_BACK = SalesforceError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)

PROCESSING_HALTED = SalesforceError(
    400,
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)

OAUTH_FAILURE = {"error": "invalid_grant", "error_description": "authentication failure"}
OAUTH_BAD_CLIENT = {"error": "invalid_client_id", "error_description": "client identifier invalid"}
OAUTH_BAD_SECRET = {"error": "invalid_client", "error_description": "invalid client credentials"}
OAUTH_UNSUPPORTED = {"error": "unsupported_grant_type", "error_description": "grant type not supported"}


def soap_fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
        f'<detail><sf:LoginFault xsi:type="sf:LoginFault" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>"
        "</sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
