"""Rendering server-side pages with what every page needs: the viewer, the CSRF token, flash text."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import CSRF_COOKIE, csrf_token_for


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    ctx = request.app.state.ctx
    viewer = getattr(request.state, "viewer", None)
    response = ctx.templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer.person if viewer else None,
            "csrf_token": csrf_token_for(request),
            "settings": ctx.settings,
            "notice": request.query_params.get("notice", ""),
            **context,
        },
        status_code=status_code,
    )
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="lax", secure=ctx.settings.cookie_secure)
    return response


def redirect(url: str, notice: str = "") -> RedirectResponse:
    from urllib.parse import quote

    if notice:
        # The query goes before any #fragment, or the browser would read it as part of the fragment.
        path, hash_mark, fragment = url.partition("#")
        url = path + ("&" if "?" in path else "?") + "notice=" + quote(notice) + hash_mark + fragment
    return RedirectResponse(url, status_code=303)
