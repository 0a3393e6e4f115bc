#!/usr/bin/env bash
# Create .venv (if needed) and install the project with a CPU-only torch.
# Used by scripts/demo.sh and scripts/test.sh; safe to run again (it skips work already done).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="2.13.0"
# The CPU build of torch (argostranslate -> stanza needs torch); without it pip pulls a multi-GB CUDA build.
TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"

"$PYTHON" - <<'PY' || { echo "news-ingest needs Python >= 3.10" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

stamp="$VENV/.news-ingest-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

"$PY" -m pip install -q --upgrade pip
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  echo "bootstrap: installing CPU torch $TORCH_VERSION first"
  # a local wheel (pip's find-links) first: no index round-trips; else the PyTorch CPU index
  "$PY" -m pip install -q "torch==$TORCH_VERSION+cpu" 2>/dev/null \
    || "$PY" -m pip install -q "torch==$TORCH_VERSION+cpu" --extra-index-url "$TORCH_INDEX_URL"
fi
echo "bootstrap: installing news-ingest and its dependencies"
# the tested set (constraints.txt: every package pinned) on Python 3.11, where it was made;
# elsewhere pip resolves within pyproject's ranges
constraints=()
if "$PY" -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)"; then
  constraints=(-c constraints.txt)
fi
"$PY" -m pip install -q "${constraints[@]}" -e ".[dev]" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
echo "$want" > "$stamp"
