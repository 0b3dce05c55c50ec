-- Tool calls per principal per one-minute window, shared by all replicas.
CREATE TABLE tool_call_windows (
    principal     TEXT        NOT NULL PRIMARY KEY,
    window_start  TIMESTAMPTZ NOT NULL,
    calls         BIGINT      NOT NULL
);
