"""`mediation-web`: serve the web app and JSON API with uvicorn, ready to sit behind a reverse proxy.

Where to listen and how many processes to run come from MEDIATION_WEB_* variables (or .env), and the
command-line options override them: `mediation-web --host 0.0.0.0 --port 8000 --workers 4`.
"""

import argparse
import signal

import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from commands.common import exit_now, settings_or_exit

# Given to uvicorn rather than set up here, because with --workers each worker process applies it itself;
# the same format as the other commands, and the app's own loggers included.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
}


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_WEB_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Each worker is a process with its own database pool and Temporal connection; all state lives outside them.
    workers: int = Field(1, ge=1)
    # Only these addresses may tell the app the client's address and scheme (X-Forwarded-For / -Proto):
    # the reverse proxy in front of it. "*" trusts anyone, which is safe only on a private network.
    forwarded_allow_ips: str = "127.0.0.1"
    access_log: bool = True
    # Requests still running when a stop is asked for get this long to finish.
    graceful_shutdown_seconds: int = Field(20, ge=0)


def parse_args(defaults: WebSettings) -> WebSettings:
    parser = argparse.ArgumentParser(prog="mediation-web", description="Serve the mediation web app and JSON API.")
    parser.add_argument("--host", default=defaults.host, help=f"address to listen on (default {defaults.host}, env MEDIATION_WEB_HOST)")
    parser.add_argument("--port", type=int, default=defaults.port, help=f"port (default {defaults.port}, env MEDIATION_WEB_PORT)")
    parser.add_argument("--workers", type=int, default=defaults.workers, help=f"processes (default {defaults.workers}, env MEDIATION_WEB_WORKERS)")
    parser.add_argument(
        "--forwarded-allow-ips",
        default=defaults.forwarded_allow_ips,
        help="comma-separated proxy addresses trusted for X-Forwarded-* headers (env MEDIATION_WEB_FORWARDED_ALLOW_IPS)",
    )
    parser.add_argument("--no-access-log", dest="access_log", action="store_false", default=defaults.access_log)
    args = parser.parse_args()
    return defaults.model_copy(
        update={
            "host": args.host,
            "port": args.port,
            "workers": max(1, args.workers),
            "forwarded_allow_ips": args.forwarded_allow_ips,
            "access_log": args.access_log,
        }
    )


def _stop_requested(_signum, _frame) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again; turning that into
    # KeyboardInterrupt lets uvicorn.run return normally instead of the default action killing the process.
    raise KeyboardInterrupt


def main() -> None:
    # Read here first, so a mistyped setting stops the command with a message rather than inside uvicorn's traceback.
    settings_or_exit()
    web = parse_args(WebSettings())
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=web.host,
            port=web.port,
            workers=web.workers,
            proxy_headers=True,
            forwarded_allow_ips=web.forwarded_allow_ips,
            server_header=False,
            access_log=web.access_log,
            timeout_graceful_shutdown=web.graceful_shutdown_seconds,
            log_config=LOG_CONFIG,
        )
    except SystemExit as stop:
        # uvicorn exits this way when the app cannot start (port taken, import error).
        exit_now(stop.code if isinstance(stop.code, int) else 1)
    except KeyboardInterrupt:
        pass
    exit_now(0)
