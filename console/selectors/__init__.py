"""Reads of the console's own database, kept apart from the actions that change it."""
