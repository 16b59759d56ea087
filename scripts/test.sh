#!/usr/bin/env bash
# Installs everything the tests need (Debian packages and the Python venv), checks the import
# layers (import-linter, contracts in pyproject.toml), then runs every test. Arguments go to
# pytest: `bash scripts/test.sh -m "not slow"` is the quick run.
source "$(dirname "$0")/setup.sh" "zip unzip p7zip-full libarchive-tools samba smbclient chromium" "test"
lint-imports
exec pytest -q "$@"
