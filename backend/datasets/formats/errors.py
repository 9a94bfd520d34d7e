"""The one error every upload parser raises, naming the file and the line or field at fault."""

from __future__ import annotations


class UploadError(ValueError):
    """An uploaded file was refused; ``str()`` names the file and the line or field at fault.

    ``http_status`` is the status an API answer should carry: 400 for malformed content,
    413 for a file over a size limit, 415 for a type TinyStudio does not read.
    """

    def __init__(
        self,
        filename: str,
        message: str,
        line: int | None = None,
        field: str | None = None,
        *,
        http_status: int = 400,
    ) -> None:
        self.filename = filename
        self.message = message
        self.line = line
        self.field = field
        self.http_status = http_status
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [repr(self.filename) if self.filename else "upload"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The refusal as JSON-ready data for a per-file upload answer."""
        return {
            "filename": self.filename,
            "error": self.message,
            "line": self.line,
            "field": self.field,
            "detail": str(self),
        }

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only status survives pickling (e.g. errors crossing a process pool).
        return (_rebuild, (self.filename, self.message, self.line, self.field, self.http_status))


def _rebuild(
    filename: str, message: str, line: int | None, field: str | None, http_status: int
) -> UploadError:
    return UploadError(filename, message, line, field, http_status=http_status)
