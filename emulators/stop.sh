#!/usr/bin/env bash
# Stops the local stack started by start.sh or 'panelflow up'.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/panelflow down
