"""WSGI entry point; in production, start-up refuses while a required check fails."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.production")

application = get_wsgi_application()

from console.checks import refuse_unsafe_start  # noqa: E402  (needs the app registry)

refuse_unsafe_start()
