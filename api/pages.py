"""Rendering server-side pages with what every page needs: the viewer, the CSRF token, flash text."""

from datetime import datetime, timezone
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.deps import CSRF_COOKIE, csrf_token_for
from core.stages import stage_label
from notifications.render import TEMPLATES_DIR, human_datetime


def short_date(value: datetime | str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%b %-d, %Y %-I:%M %p")


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["when"] = human_datetime
    templates.env.filters["short_date"] = short_date
    templates.env.filters["stage_label"] = stage_label
    return templates


TEMPLATES = build_templates()


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    ctx = request.app.state.ctx
    viewer = getattr(request.state, "viewer", None)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer.person if viewer else None,
            "csrf_token": csrf_token_for(request),
            "settings": ctx.settings,
            "notice": request.query_params.get("notice", ""),
            "changes_paused": getattr(request.state, "changes_paused", False),
            **context,
        },
        status_code=status_code,
    )
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="lax", secure=ctx.settings.cookie_secure)
    return response


def redirect(url: str, notice: str = "") -> RedirectResponse:
    if notice:
        # The query goes before any #fragment, or the browser would read it as part of the fragment.
        path, hash_mark, fragment = url.partition("#")
        url = path + ("&" if "?" in path else "?") + "notice=" + quote(notice) + hash_mark + fragment
    return RedirectResponse(url, status_code=303)
