"""``python -m flows`` runs the ``news-ingest`` command line."""
from flows.cli import run_main

run_main()
