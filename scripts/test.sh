#!/usr/bin/env bash
# Set up (first time), check the architecture contract, then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache  # quiet unless broken
# every core, one test file per worker (module fixtures such as a Prefect server stay per file);
# PYTEST_WORKERS=0 runs in this process (pdb, -x)
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
