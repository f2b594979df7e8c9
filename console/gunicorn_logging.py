"""gunicorn's access log with token-shaped text redacted, like every other log line.

A query string or a referrer may carry a pasted token (``/models/?q=drgero_…``); gunicorn
writes its access log itself, outside Django's logging, so it gets its own filter here.
Imports nothing from Django: gunicorn loads it before the application.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from console.logs import redact


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
