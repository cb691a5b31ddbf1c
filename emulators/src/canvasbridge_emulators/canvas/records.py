"""Records the SIS import and report endpoints keep (plain dicts), uploaded files and diffing sets."""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.canvas.core import ModelCore


class StoredRecords(ModelCore):
    """Mixed into CanvasModel: SIS import and report records, files, diffing data sets."""

    def add_record(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a SIS import or report record (a dict) and give it an id."""
        with self._lock:
            record["id"] = self._new_id(kind)
            self._table(kind)[record["id"]] = record
            return record

    def get_record(self, kind: str, record_id: int) -> dict[str, Any]:
        """A copy of the record, safe to serialise while a worker updates it."""
        with self._lock:
            return dict(self._get(self._table(kind), record_id))

    def records(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._table(kind).values()]

    def update_record(self, kind: str, record_id: int, **changes: Any) -> dict[str, Any]:
        with self._lock:
            record = self._get(self._table(kind), record_id)
            record.update(changes)
            return dict(record)

    def _table(self, kind: str) -> dict[int, dict[str, Any]]:
        tables = {"sis_import": self._s.sis_imports, "report": self._s.reports}
        return tables[kind]

    def add_file(self, filename: str, content_type: str, data: bytes) -> int:
        with self._lock:
            file_id = self._new_id("file")
            self._s.files[file_id] = (filename, content_type, data)
            return file_id

    def get_file(self, file_id: int) -> tuple[str, str, bytes]:
        with self._lock:
            return self._get(self._s.files, file_id)

    def diffing_set(
        self, identifier: str
    ) -> tuple[int, dict[str, dict[tuple[str, ...], dict[str, str]]]] | None:
        with self._lock:
            return self._s.diffing_sets.get(identifier)

    def store_diffing_set(
        self, identifier: str, import_id: int, rows: dict[str, dict[tuple[str, ...], dict[str, str]]]
    ) -> None:
        with self._lock:
            self._s.diffing_sets[identifier] = (import_id, rows)
