"""Rendering server-side pages with what every page needs: the viewer, the CSRF token, flash text, and every
time in the viewer's own time zone (their profile's, or the center's)."""

import functools
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from api.deps import CSRF_COOKIE, csrf_token_for
from core.stages import stage_label
from core.time import DEFAULT_TIME_ZONE, local_day, long_time, short_time, time_range, zone_for
from core.wording import DISCLOSURE_HEADINGS, DISCLOSURE_QUESTIONS
from notifications.render import TEMPLATES_DIR


def _viewer_zone(context: Context) -> ZoneInfo:
    zone = context.get("time_zone")
    if isinstance(zone, ZoneInfo):
        return zone
    settings = context.get("settings")
    return zone_for(None, getattr(settings, "center_time_zone", DEFAULT_TIME_ZONE))


@pass_context
def when(context: Context, value: datetime | str | None) -> str:
    """ "December 4, 2026 at 9:00 AM PST", in the viewer's zone."""
    return long_time(value, _viewer_zone(context))


@pass_context
def short_date(context: Context, value: datetime | str | None) -> str:
    """ "Dec 4, 2026 9:00 AM PST", in the viewer's zone."""
    return short_time(value, _viewer_zone(context))


@pass_context
def when_between(context: Context, start: datetime | str, end: datetime | str) -> str:
    """ "Tuesday, December 8, 2026, 9:00 AM – 12:00 PM PST", in the viewer's zone."""
    return time_range(start, end, _viewer_zone(context))


@pass_context
def day(context: Context, value: datetime | str | None) -> str:
    """ "12/04/2026": the day it was for the viewer."""
    return local_day(value, _viewer_zone(context))


# The vendored Lucide icons (static/vendor/lucide): drawn inline, so they show where no emoji font is installed and
# take the colour of the text around them.
ICONS_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "lucide"


@functools.cache
def icon(name: str) -> Markup:
    """The icon `name` as inline SVG, hidden from screen readers: the words beside it say what it means."""
    source = (ICONS_DIR / f"{name}.svg").read_text(encoding="utf-8")
    svg = re.sub(r"\s+", " ", source[source.index("<svg") :]).replace("> <", "><").replace(" />", "/>").replace("< ", "<").replace(" >", ">")
    svg = re.sub(r'class="[^"]*"', f'class="icon icon-{name}" aria-hidden="true" focusable="false"', svg, count=1)
    svg = svg.replace('width="24" height="24" ', "")
    return Markup(svg.strip())


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["when"] = when
    templates.env.filters["short_date"] = short_date
    templates.env.filters["day"] = day
    templates.env.filters["when_between"] = when_between
    templates.env.filters["stage_label"] = stage_label
    templates.env.globals["icon"] = icon
    templates.env.globals["disclosure_questions"] = DISCLOSURE_QUESTIONS
    templates.env.globals["disclosure_headings"] = DISCLOSURE_HEADINGS
    return templates


TEMPLATES = build_templates()


# What the last action said ("Your ranking was submitted"), shown once on the next page. It travels in a cookie
# signed with the secret key, never in the address: a link cannot put words in the site's official banner.
NOTICE_COOKIE = "mediation_notice"
NOTICE_MAX_AGE_SECONDS = 120


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.ctx.settings.secret_key, salt="notice")


def _notice(request: Request) -> str:
    sealed = request.cookies.get(NOTICE_COOKIE)
    if not sealed:
        return ""
    try:
        return str(_signer(request).loads(sealed, max_age=NOTICE_MAX_AGE_SECONDS))
    except BadSignature:
        return ""


def viewer_zone(request: Request) -> ZoneInfo:
    """The zone the signed-in person reads and types times in: their profile's, or the center's."""
    viewer = getattr(request.state, "viewer", None)
    return zone_for(viewer.person.time_zone if viewer else None, request.app.state.ctx.settings.center_time_zone)


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    ctx = request.app.state.ctx
    viewer = getattr(request.state, "viewer", None)
    notice = _notice(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer.person if viewer else None,
            "time_zone": viewer_zone(request),
            "csrf_token": csrf_token_for(request),
            "settings": ctx.settings,
            "notice": notice,
            "changes_paused": getattr(request.state, "changes_paused", False),
            "errors": {},
            **context,
        },
        status_code=status_code,
    )
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE)
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="lax", secure=ctx.settings.cookie_secure)
    return response


def redirect(request: Request, url: str, notice: str = "") -> RedirectResponse:
    """Go on to `url` (303, so a reload does not repeat the form) and say `notice` there once."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE,
            _signer(request).dumps(notice),
            max_age=NOTICE_MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.app.state.ctx.settings.cookie_secure,
        )
    return response
