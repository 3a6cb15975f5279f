"""`mediation-migrate`: bring the database from settings up to the newest schema, then exit."""

import logging

from commands.common import configure_logging, exit_now, settings_or_exit
from core.db.migrate import upgrade_database

log = logging.getLogger("mediation.migrate")


def main() -> None:
    configure_logging()
    settings = settings_or_exit()
    try:
        upgrade_database(settings.resolved_database_url)
    except Exception:
        log.exception("Migrating the database failed")
        exit_now(1)
    log.info("Database is at the newest schema")
    exit_now(0)
