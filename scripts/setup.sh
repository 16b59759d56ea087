# Sourced by scripts/demo.sh and scripts/test.sh: installs what workbench needs on a fresh Debian
# machine (idempotent, quick when everything is already there) and activates the project's venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Missing Debian packages; waits for another package manager's lock (scripts/apt-install.sh).
bash scripts/apt-install.sh "$1"

extras="$2"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=".venv/.installed-$extras-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
