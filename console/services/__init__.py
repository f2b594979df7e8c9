"""Business actions: the only code that calls drgero_client, and the one writer of the audit log."""
