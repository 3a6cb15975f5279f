"""Turn an email event into subject, text and HTML from templates/emails/<name>.html.

Each template extends emails/_layout.html, which outputs one part (subject, text or html)
per render. The HTML part is rendered with autoescaping; subject and text are plain text.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from core.settings import Settings
from core.time import long_time, time_range, zone_for
from core.wording import DISCLOSURE_HEADINGS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@pass_context
def when(context: Context, value: str | datetime | None) -> str:
    """ "December 4, 2026 at 9:00 AM PST", in the recipient's zone (`time_zone` of the render), else the center's."""
    settings = context["settings"]
    return long_time(value, zone_for(context.get("time_zone"), settings.center_time_zone))


@pass_context
def when_between(context: Context, start: str | datetime, end: str | datetime) -> str:
    """ "Tuesday, December 8, 2026, 9:00 AM – 12:00 PM PST", in the recipient's zone, else the center's."""
    return time_range(start, end, zone_for(context.get("time_zone"), context["settings"].center_time_zone))


class EmailRenderer:
    def __init__(self, settings: Settings):
        self._settings = settings
        loader = FileSystemLoader(str(TEMPLATES_DIR))
        self._plain = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
        self._html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined)
        for env in (self._plain, self._html):
            env.filters["when"] = when
            env.filters["when_between"] = when_between
            env.globals["disclosure_headings"] = DISCLOSURE_HEADINGS

    def render(self, template: str, time_zone: str | None = None, **context) -> RenderedEmail:
        """`time_zone`: the recipient's (an IANA name); times are shown in the center's zone without one."""
        context = {
            "time_zone": time_zone,
            "settings": self._settings,
            "base_url": self._settings.public_base_url.rstrip("/"),
            **context,
        }
        name = f"emails/{template}.html"
        plain = self._plain.get_template(name)
        html = self._html.get_template(name)
        return RenderedEmail(
            subject=" ".join(plain.render(context, part="subject").split()),
            text=plain.render(context, part="text").strip() + "\n",
            html=html.render(context, part="html").strip(),
        )
