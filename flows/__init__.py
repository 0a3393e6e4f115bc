"""Prefect flows and the CLI: the edge where settings are built and the library is wired."""
import os

# Route the library's log records into Prefect's run logs (must be set before Prefect configures
# logging; the edge is allowed to touch the environment, ingest/ is not).
_extra = os.environ.get("PREFECT_LOGGING_EXTRA_LOGGERS", "")
if "ingest" not in _extra.split(","):
    os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = ",".join(x for x in (_extra, "ingest") if x)
# No telemetry: the product runs where the network is closed, and says nothing about its users.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The in-process (ephemeral) API server migrates its SQLite database on first use; on a busy
# 2-core machine that can exceed Prefect's 20 s default, so wait longer before giving up.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
