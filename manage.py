#!/usr/bin/env python
"""Django's command-line utility; the mode comes from DJANGO_SETTINGS_MODULE (see the README)."""

import os
import sys


def main() -> None:
    # Demo mode unless a real Dr.Gero is named; production and test set the module explicitly.
    default = (
        "console.settings.dev" if os.environ.get("DRGERO_API_BASE") else "console.settings.demo"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
