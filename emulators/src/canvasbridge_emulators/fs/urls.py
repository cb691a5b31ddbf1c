"""Routes of the FS emulator (at the API root, as ``https://api.fellesstudentsystem.no/``)."""

from __future__ import annotations

from starlette.routing import Route

from canvasbridge_emulators.fs.responses import FsResponses

TOKEN_PATH = "/token"  # our choice: the real JWT endpoint's path is not public


def routes(responses: FsResponses) -> list[Route]:
    return [
        Route(TOKEN_PATH, responses.token, methods=["POST"]),
        Route("/version", responses.version, methods=["GET"]),
        Route("/_emulator/tokens/expire", responses.expire_tokens, methods=["POST"]),
        Route("/semestre/{key}", responses.semester, methods=["GET"]),
        Route("/{resource}", responses.collection, methods=["GET"]),
        Route("/{resource}/{key:path}", responses.item, methods=["GET"]),
    ]
