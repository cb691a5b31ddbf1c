"""SAPUiO API error answers.

Unknown ids answer 404 (what UiO's sap-client treats as "not found"). The gateway in
front of SAP (Gravitee) refuses a missing or wrong ``X-Gravitee-Api-Key`` with 401 and a
JSON ``{"message", "http_status_code"}`` body — *without* the ``sap-server`` header, since
that answer comes from the gateway, not SAP (UiO's client rejects such answers). The
exact gateway and OData error texts are not public; these follow their usual shapes.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

SAP_HEADERS = {"sap-server": "true"}


class SapError(Exception):
    status = 400
    from_gateway = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> JSONResponse:
        if self.from_gateway:
            return JSONResponse(
                {"message": self.message, "http_status_code": self.status}, status_code=self.status
            )
        body = {"error": {"code": str(self.status), "message": {"lang": "en", "value": self.message}}}
        return JSONResponse(body, status_code=self.status, headers=SAP_HEADERS)


class Unauthorized(SapError):
    status = 401
    from_gateway = True


class NotFound(SapError):
    status = 404
