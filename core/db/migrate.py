"""Apply Alembic migrations from code, so `make dev`, the console script and tests share one path."""

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sync_url(url: str) -> str:
    # Alembic runs synchronously; psycopg 3 serves both modes, aiosqlite needs the stdlib driver.
    return url.replace("sqlite+aiosqlite://", "sqlite://")


def upgrade_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
