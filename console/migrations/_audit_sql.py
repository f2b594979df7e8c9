"""The audit table's append-only triggers, shared by the migration and the tamper tests."""

CREATE = {
    "sqlite": [
        """
        CREATE TRIGGER console_auditevent_no_update BEFORE UPDATE ON console_auditevent
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
        """
        CREATE TRIGGER console_auditevent_no_delete BEFORE DELETE ON console_auditevent
        WHEN NOT console_audit_flush_allowed()
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
    ],
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION console_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'restrict_violation';
        END
        $$
        """,
        """
        CREATE TRIGGER console_auditevent_append_only
        BEFORE UPDATE OR DELETE ON console_auditevent
        FOR EACH ROW EXECUTE FUNCTION console_audit_append_only()
        """,
    ],
}
DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS console_auditevent_no_update",
        "DROP TRIGGER IF EXISTS console_auditevent_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS console_auditevent_append_only ON console_auditevent",
        "DROP FUNCTION IF EXISTS console_audit_append_only()",
    ],
}
