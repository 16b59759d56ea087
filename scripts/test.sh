#!/usr/bin/env bash
# Installs everything the tests need (Debian packages and the Python venv), then runs them all.
source "$(dirname "$0")/setup.sh" "zip unzip p7zip-full samba smbclient chromium" "test"
exec pytest -q "$@"
