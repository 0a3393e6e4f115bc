"""Prefect flows and the CLI: the edge where settings are built and the library is wired."""
import os

# Route the library's log records into Prefect's run logs (must be set before Prefect configures
# logging; the edge is allowed to touch the environment, ingest/ is not).
_extra = os.environ.get("PREFECT_LOGGING_EXTRA_LOGGERS", "")
if "ingest" not in _extra.split(","):
    os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = ",".join(x for x in (_extra, "ingest") if x)
# No telemetry: the product runs where the network is closed, and says nothing about its users.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The in-process `news-ingest run` starts a temporary Prefect API server when PREFECT_API_URL is
# unset; on a busy machine that takes longer than Prefect's default 20 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# The library's loggers carry Prefect's API handler (above); when the library runs outside a flow
# in the same process (a test, a notebook) its records must not turn into warnings.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
