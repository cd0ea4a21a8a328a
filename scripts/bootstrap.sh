#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: system programs (flite for the offline
# voice; Java and the gcloud emulators are checked) and the Python virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then return 1; fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || return 1
    sudo="sudo -n"
  fi
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v flite >/dev/null 2>&1; then
  echo "bootstrap: installing flite (offline voice)" >&2
  apt_install flite || {
    echo "bootstrap: could not install flite; install it yourself (apt-get install flite / brew install flite)" >&2
    exit 1
  }
fi
# MP4 exports run ffmpeg as a program (production: the Cloud Functions runtime image's).
if ! command -v ffmpeg >/dev/null 2>&1 && [ -z "${PANELFLOW_FFMPEG:-}" ]; then
  echo "bootstrap: installing ffmpeg (MP4 exports)" >&2
  apt_install ffmpeg || echo "bootstrap: could not install ffmpeg; MP4 exports need it (or PANELFLOW_FFMPEG)" >&2
fi
# Fonts for lettering every script (Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, CJK):
# Noto from Debian, staged into the bundles that letter (cli/panelflow_cli/staging.py).
if [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] \
  || [ ! -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ]; then
  echo "bootstrap: installing Noto fonts (lettering in every script)" >&2
  apt_install fonts-noto-core fonts-noto-cjk fonts-dejavu-core \
    || echo "bootstrap: could not install fonts-noto-core fonts-noto-cjk; lettering falls back to other fonts (set PANELFLOW_FONT_DIR)" >&2
fi
if ! command -v java >/dev/null 2>&1; then
  echo "bootstrap: installing a Java runtime (Firestore and Pub/Sub emulators)" >&2
  apt_install default-jre-headless || echo "bootstrap: no Java found; see emulators/README.md" >&2
fi
if ! command -v gcloud >/dev/null 2>&1 && [ -z "${PANELFLOW_GCLOUD_SDK_ROOT:-}" ]; then
  echo "bootstrap: gcloud emulators not found; see emulators/README.md for other routes" >&2
fi
# The web client: Debian's Chromium for its browser tests, its npm packages from the lock file.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${PANELFLOW_CHROMIUM:-}" ]; then
  echo "bootstrap: installing chromium (browser tests of the web client)" >&2
  apt_install chromium || echo "bootstrap: could not install chromium; set PANELFLOW_CHROMIUM" >&2
fi
# npm ci in a folder whenever its lock file changed (a stamp named by the lock's checksum).
npm_ci() {
  local folder=$1 purpose=$2
  local stamp="$folder/node_modules/.installed-$(cksum < "$folder/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && return 0
  command -v npm >/dev/null 2>&1 || apt_install npm || true
  echo "bootstrap: installing $purpose (npm ci in $folder/)" >&2
  (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "bootstrap: 'npm ci' failed in $folder/ (it needs Node.js and npm)" >&2
    exit 1
  }
  touch "$stamp"
}
# The web client's packages (and its linters); the Firebase Auth emulator (firebase-tools).
npm_ci web "the web client's packages"
npm_ci emulators "firebase-tools for the Auth emulator"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "bootstrap: environment ready in .venv" >&2
