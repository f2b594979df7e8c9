"""Error reports that never show a token, in any mode (Django's filter is off under DEBUG)."""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from console.logs import TOKEN_PATTERN


class TokenSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Honours ``sensitive_variables`` even with DEBUG on, and hides token-shaped values.

    Django skips its filter when DEBUG is True; dev mode may turn DEBUG on, and a member's
    Dr.Gero token must not appear on an error page even then. Frames outside the console
    (the client, requests) cannot carry Django's markers, so values that look like a token are
    replaced wherever they are.
    """

    def is_active(self, request: Any) -> bool:
        return True

    def get_post_parameters(self, request: Any) -> Any:
        params = super().get_post_parameters(request)
        if params is None or not hasattr(params, "copy"):
            return params
        cleaned = params.copy()
        for key in list(cleaned.keys()):
            values = cleaned.getlist(key) if hasattr(cleaned, "getlist") else [cleaned[key]]
            if any(TOKEN_PATTERN.search(str(v)) for v in values):
                cleaned[key] = self.cleansed_substitute
        return cleaned

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if TOKEN_PATTERN.search(_text(value)) else value)
            for name, value in variables
        ]


def _text(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001  (a broken __repr__ must not break the error page)
        return ""
