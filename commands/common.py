"""What every console script shares: logging, and a clean exit that sidesteps the Temporal SDK's exit-time abort."""

import logging
import os
import sys


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def exit_now(code: int) -> None:
    # A process that used a Temporal client can abort in interpreter teardown (sdk-python issue 300),
    # turning success into exit code 134; flush and leave without teardown instead.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
