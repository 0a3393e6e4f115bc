#!/usr/bin/env bash
# Set up (first time) and run the pipeline on the bundled demo corpus: Parquet lands in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/news-ingest run examples/ --out "${1:-out/demo}"
