#!/usr/bin/env bash
# Starts the local stack (emulators, functions, delivery relay); see README.md beside this file.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/panelflow up "$@"
