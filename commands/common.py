"""What every console script shares: logging, and a clean exit that sidesteps the Temporal SDK's exit-time abort."""

import logging
import os
import sys

from core.settings import Settings, SettingsError, get_settings


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def exit_now(code: int) -> None:
    # A process that used a Temporal client can abort in interpreter teardown (sdk-python issue 300),
    # turning success into exit code 134; flush and leave without teardown instead.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def settings_or_exit() -> Settings:
    """The settings, or a message naming the variable to fix and exit code 2, instead of a traceback."""
    try:
        return get_settings()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        exit_now(2)
        raise
