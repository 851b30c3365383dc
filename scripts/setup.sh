#!/usr/bin/env bash
# Everything the project needs on this machine, idempotent: system libraries for GeoDjango,
# a Python whose sqlite3 can load SpatiaLite, the virtualenv and the pinned requirements.
# Extra Debian packages can be asked for with EXTRA_DEBIAN_PACKAGES="…".
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

DEBIAN_PACKAGES="gdal-bin libsqlite3-mod-spatialite ${EXTRA_DEBIAN_PACKAGES:-}"

missing_debian_packages() {
  local missing=""
  for package in $DEBIAN_PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
  done
  echo "$missing"
}

if command -v dpkg-query >/dev/null 2>&1; then
  missing=$(missing_debian_packages)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      say "Installing Debian packages:$missing"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
      echo "The project needs these Debian packages. Run this, then try again:"
      echo "    sudo apt-get install -y$missing"
      exit 1
    fi
  fi
elif ! command -v gdalinfo >/dev/null 2>&1; then
  echo "GeoDjango needs GDAL, GEOS, PROJ and SpatiaLite (macOS: brew install gdal spatialite-tools; Debian: apt-get install gdal-bin libsqlite3-mod-spatialite)."
  exit 1
fi

# SpatiaLite is a SQLite extension: the Python must be built with loadable extensions.
# Debian's /usr/bin/python3 is; pyenv builds often are not (--enable-loadable-sqlite-extensions).
can_load_extensions() {
  "$1" -c 'import sqlite3, sys; sys.exit(0 if hasattr(sqlite3.connect(":memory:"), "enable_load_extension") else 1)' 2>/dev/null \
    && "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

if [ ! -x .venv/bin/python ] || ! can_load_extensions .venv/bin/python; then
  PYTHON=""
  for candidate in "${PYTHON_FOR_VENV:-}" /usr/bin/python3 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && can_load_extensions "$candidate"; then PYTHON=$candidate; break; fi
  done
  if [ -z "$PYTHON" ]; then
    echo "No Python ≥ 3.11 here can load SQLite extensions, which SpatiaLite needs."
    echo "Use Debian's python3 (apt-get install python3 python3-venv) or rebuild yours with"
    echo "    PYTHON_CONFIGURE_OPTS=--enable-loadable-sqlite-extensions pyenv install 3.11"
    echo "then set PYTHON_FOR_VENV=/path/to/python3 and run this again."
    exit 1
  fi
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      apt-get install -y -qq python3-venv >/dev/null
    else
      echo "Python's venv module is missing. Run: sudo apt-get install -y python3-venv"; exit 1
    fi
  fi
  say "Creating the virtualenv with $PYTHON"
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.requirements.sha256
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  say "Installing Python requirements"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c 'import django, celery, pydantic, httpx, rest_framework, playwright' || { echo "requirements did not install"; exit 1; }
  echo "$wanted" > "$stamp"
fi
