"""The page door of an action: a submitted form read into the action's one input model, and the page shown again,
with what went wrong next to each field and the form as the person left it, when the action cannot be taken.

The JSON door takes the same model as its body, so both doors have one set of limits and the same words for each
mistake. (FastAPI's `Annotated[Model, Form()]` refuses a bad form before the route runs, which leaves no way to
show the page again with the errors in place; hence this small reader.) A JSON route that also takes files reads
its body with `body_input` (JSON or multipart, the same model) and the files with `uploaded_file`.
"""

import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from api.pages import redirect
from core.errors import DomainError, Invalid, Rejected, Throttled, Unavailable

M = TypeVar("M", bound=BaseModel)


class NoInput(BaseModel):
    """The input of an action that is only a button (the form carries nothing but its CSRF token)."""


R = TypeVar("R")

# The refusals a person can act on from the same page: what to fix, the wrong moment, or a pause (theirs or ours).
SHOWN_ON_THE_PAGE = (Invalid, Rejected, Throttled, Unavailable)


def field_messages(error: ValidationError) -> dict[str, str]:
    """Each field to correct and what is wrong with it; nested fields are named `others.0.email`."""
    fields: dict[str, str] = {}
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"]) or "form"
        fields.setdefault(name, str(problem["msg"]).removeprefix("Value error, "))
    return fields


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin is list


def _item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def _is_bool(annotation: Any) -> bool:
    # `bool | None` too (None keeps the saved value in JSON): a form sends every box, and an unticked one is False.
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_bool(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation is bool or (origin is typing.Annotated and typing.get_args(annotation)[0] is bool)


def form_data(form: FormData, model: type[BaseModel]) -> dict[str, Any]:
    """The form's fields as the model's input: repeated fields as lists, unticked boxes as False, blank
    non-text fields as absent, and blocks named `others-0-email` as a list of the item model's inputs."""
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        item = _item_model(field.annotation)
        if item is not None:
            rows: dict[int, dict[str, Any]] = {}
            for key in form:
                prefix, _, rest = key.partition("-")
                index, _, sub = rest.partition("-")
                if prefix == name and index.isdigit() and sub:
                    rows.setdefault(int(index), {})[sub] = form.get(key)
            # The blank blocks a page offers for adding one more are not entries; a block's choices left at their
            # defaults (a select always sends one) do not make it one.
            defaults = {key: str(f.default) for key, f in item.model_fields.items() if not f.is_required() and f.default is not None}
            data[name] = [row for _, row in sorted(rows.items()) if any(str(v).strip() and str(v) != defaults.get(key) for key, v in row.items())]
        elif _is_list(field.annotation):
            data[name] = [v for v in form.getlist(name) if not isinstance(v, str) or v != ""]
        elif _is_bool(field.annotation):
            data[name] = str(form.get(name, "")).lower() in ("on", "true", "yes", "1")
        elif name in form:
            value = form.get(name)
            if value == "" and field.annotation is not str and "str" not in str(field.annotation):
                continue
            data[name] = value
    return data


def _invalid(error: ValidationError) -> Invalid:
    fields = field_messages(error)
    return Invalid("; ".join(fields.values()), fields)


async def form_input(request: Request, model: type[M]) -> M:
    form = await request.form()
    try:
        return model.model_validate(form_data(form, model))
    except ValidationError as error:
        raise _invalid(error) from None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def body_input(request: Request, model: type[M], *media_types: str) -> M:
    """The action's model from a body in one of `media_types` (JSON, or a form), with the same limits and the same
    words for each mistake whichever is sent; a body in any other format is refused (415)."""
    sent = _media_type(request)
    if sent not in media_types:
        raise HTTPException(status_code=415, detail=f"Send this as {' or '.join(media_types)}.")
    if sent == "application/json":
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as error:
            raise _invalid(error) from None
    return await form_input(request, model)


async def uploaded_file(request: Request, name: str) -> UploadFile | None:
    """The file sent in the form field `name`; None when none was chosen, or when the body is not a form."""
    if _media_type(request) != "multipart/form-data":
        return None
    upload = (await request.form()).get(name)
    # A form whose file input was left empty still sends a part, with no file name.
    return upload if isinstance(upload, UploadFile) and upload.filename else None


def confirmed(form: FormData) -> bool:
    """Whether the person said yes to an irreversible action (a delete): in the browser's dialog, which sets the
    form's `confirmed` field, or on the confirmation page shown when no dialog could ask."""
    return str(form.get("confirmed", "")) == "yes"


async def submit(
    request: Request,
    model: type[M],
    action: Callable[[M], Awaitable[R]],
    page: Callable[[DomainError], Awaitable[Response]],
    done: Callable[[R], tuple[str, str]],
) -> Response:
    """Read the form, take the action, then go on to `done`'s page with its notice, or show `page` again with the
    problem (what to fix next to the fields, or why not now) when the person can act on it from there."""
    try:
        result = await action(await form_input(request, model))
    except SHOWN_ON_THE_PAGE as problem:
        return await page(problem)
    url, notice = done(result)
    return redirect(request, url, notice)
