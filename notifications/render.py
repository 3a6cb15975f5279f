"""Turn an email event into subject, text and HTML from templates/emails/<name>.html.

Each template extends emails/_layout.html, which outputs one part (subject, text or html)
per render. The HTML part is rendered with autoescaping; subject and text are plain text.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def human_datetime(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%B %-d, %Y at %-I:%M %p UTC")


class EmailRenderer:
    def __init__(self, settings: Settings):
        self._settings = settings
        loader = FileSystemLoader(str(TEMPLATES_DIR))
        self._plain = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
        self._html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined)
        for env in (self._plain, self._html):
            env.filters["when"] = human_datetime

    def render(self, template: str, **context) -> RenderedEmail:
        context = {
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
