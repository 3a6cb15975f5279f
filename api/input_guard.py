"""One rule for all text people send, enforced where input is parsed: before any route sees the request.

Every query parameter, form field and JSON string must be readable UTF-8 and free of characters nobody types:
NUL and the other control characters (tab, line feed and carriage return are kept, for multi-line text) and
lone surrogates. PostgreSQL cannot store NUL at all, and the rest only ever arrive by accident or on purpose.
A refused request is answered 422 with the field named, and nothing behind it runs, so nothing is half-written.
Uploaded files are not text and are not looked at here: documents check their own content.
"""

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from features.documents.service import too_large_message

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; UTF-16 surrogates on their own.
UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Room for a form's other fields around the largest upload the center accepts.
FORM_OVERHEAD = 256 * 1024


class UnreadableInput(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _character_problem(field: str, text: str) -> None:
    found = UNREADABLE.search(text)
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise UnreadableInput(field, f"This contains a character that cannot be stored ({code}, an invisible control character). Remove it and try again.")


def _utf8(field: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableInput(field, "This is not readable text (it is not valid UTF-8). Send it as UTF-8.") from None


def check_pairs(raw: bytes, where: str) -> None:
    """An application/x-www-form-urlencoded string: the query, or a form body."""
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise UnreadableInput(where, "This is not readable text (it is not valid UTF-8). Send it as UTF-8.") from None
    for name, value in pairs:
        _character_problem(name, name)
        _character_problem(name, value)


def _json_strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from _json_strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}[{index}]")


def check_json(raw: bytes) -> None:
    if not raw.strip():
        return
    text = _utf8("body", raw)
    try:
        parsed = json.loads(text)
    except ValueError:
        # Not JSON at all: FastAPI answers that itself, with where it stopped reading.
        return
    for path, value in _json_strings(parsed, ""):
        _character_problem(path or "body", value)


def check_multipart(raw: bytes, boundary: bytes) -> None:
    """The text parts of a multipart form; parts that carry a file name are files and are left alone."""
    parts: list[dict] = []
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append({"headers": {}, "data": bytearray()})

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1]["headers"][bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1]["data"].extend(data[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(raw)
        parser.finalize()
    except Exception:
        # A malformed body is the form parser's to refuse, with its own message.
        return
    for part in parts:
        _, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if b"filename" in options:
            continue
        name = _utf8("form", options.get(b"name", b""))
        _character_problem(name or "form", name)
        _character_problem(name or "form", _utf8(name or "form", bytes(part["data"])))


def check_body(content_type: str, raw: bytes) -> None:
    media, options = parse_options_header(content_type)
    if media == b"application/x-www-form-urlencoded":
        check_pairs(raw, "form")
    elif media == b"multipart/form-data" and options.get(b"boundary"):
        check_multipart(raw, options[b"boundary"])
    elif media == b"application/json" or media.endswith(b"+json"):
        check_json(raw)


class InputGuard:
    """Reads the query and the body once, checks them, and hands the same bytes on to the app."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_pairs(scope.get("query_string", b""), "query")
        except UnreadableInput as refused:
            await self._refuse(scope, receive, send, refused)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return

        limit = scope["app"].state.ctx.settings.max_upload_bytes + FORM_OVERHEAD
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            # Plainly too large: refused on the declared length, before any of the body is read.
            await self._refuse(scope, receive, send, None, too_large=True)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, None, too_large=True)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        try:
            check_body(content_type, body)
        except UnreadableInput as refused:
            await self._refuse(scope, receive, send, refused)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refused: UnreadableInput | None, too_large: bool = False) -> None:
        request = Request(scope)
        if too_large:
            # Only an upload gets this large: say it in the words the upload form uses.
            response = problem(request, 413, too_large_message(request.app.state.ctx.settings))
        else:
            assert refused is not None
            response = problem(request, 422, f"{refused.field}: {refused.message}", {refused.field: refused.message})
        await response(scope, receive, send)
