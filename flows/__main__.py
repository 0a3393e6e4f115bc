"""``python -m flows`` runs the ``news-ingest`` command line."""
import sys

from flows.cli import main

sys.exit(main())
