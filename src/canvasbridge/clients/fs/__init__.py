"""FS (Felles Studentsystem) client: auth, collections, references, identifiers, models.

from canvasbridge.clients.fs import FsSettings, UndervisningId
fs = FsSettings(base_url="https://api.fellesstudentsystem.no/", username="u",
                password={"env": "FS_PASSWORD"}).build()
u = fs.undervisning(UndervisningId.parse("185,INF1000,1,2024,HØST,1"))
"""

from canvasbridge.clients.fs.client import FsClient, FsSettings, jwt_expiry
from canvasbridge.clients.fs.identifiers import (
    TERM_CODES,
    AktivitetId,
    EmneId,
    InvalidIdentifierError,
    OrgenhetId,
    PersonrolleId,
    SemesterId,
    UndervisningId,
    encode_part,
)
from canvasbridge.clients.fs.models import (
    Emne,
    Lms,
    Navn,
    Organisasjonsenhet,
    Person,
    Personrolle,
    Ref,
    Studentundervisning,
    Studentundervisningsaktivitet,
    Undervisning,
    Undervisningsaktivitet,
    pick_name,
)

__all__ = [
    "TERM_CODES",
    "AktivitetId",
    "Emne",
    "EmneId",
    "FsClient",
    "FsSettings",
    "InvalidIdentifierError",
    "Lms",
    "Navn",
    "Organisasjonsenhet",
    "OrgenhetId",
    "Person",
    "Personrolle",
    "PersonrolleId",
    "Ref",
    "SemesterId",
    "Studentundervisning",
    "Studentundervisningsaktivitet",
    "Undervisning",
    "UndervisningId",
    "Undervisningsaktivitet",
    "encode_part",
    "jwt_expiry",
    "pick_name",
]
