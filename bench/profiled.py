"""Run the worker or the web app under pyinstrument: `python -m bench.profiled worker|web OUTPUT_STEM`.

The console scripts leave through os._exit (sdk-python issue 300), which would skip any profiler
report, so this runs the same code, stops the profiler when the process is asked to stop (SIGINT,
as `commands/dev.py` asks), writes OUTPUT_STEM.txt (call tree), OUTPUT_STEM-self.txt (functions by own time)
and OUTPUT_STEM.pyisession, and only then leaves.
The whole main thread is sampled, time waiting on the event loop included, so CPU hot spots and
waits both show.
"""

import asyncio
import sys
from pathlib import Path

from commands.common import configure_logging, exit_now


def main() -> None:
    from pyinstrument import Profiler

    part, stem = sys.argv[1], Path(sys.argv[2])
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        if part == "worker":
            from commands.worker import run_worker

            configure_logging()
            try:
                asyncio.run(run_worker())
            except KeyboardInterrupt:
                pass
        else:
            import uvicorn

            from commands.web import LOG_CONFIG, WebSettings

            web = WebSettings()
            uvicorn.run("api.app:create_app", factory=True, host=web.host, port=web.port, access_log=False, log_config=LOG_CONFIG)
    finally:
        profiler.stop()
        stem.parent.mkdir(parents=True, exist_ok=True)
        from pyinstrument.renderers import ConsoleRenderer

        session = profiler.last_session
        # The session file re-renders any way later: `pyinstrument --load=STEM.pyisession -r html`.
        session.save(str(stem.with_suffix(".pyisession")))
        stem.with_suffix(".txt").write_text(profiler.output(ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False)))
        flat = ConsoleRenderer(unicode=True, color=False, flat=True, flat_time="self")
        stem.with_name(stem.name + "-self.txt").write_text(profiler.output(flat))
    exit_now(0)


if __name__ == "__main__":
    main()
