#!/usr/bin/env bash
# Create the project's virtual environment with Python >= 3.11.
# Debian ships the venv module in a separate package (python3-venv); install it when missing.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

if ! command -v "$python" >/dev/null 2>&1; then
    echo "venv: $python not found; install Python 3.11 or newer (Debian: apt-get install python3)" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "venv: need Python >= 3.11, $python is $("$python" --version 2>&1)" >&2
    exit 1
fi
if "$python" -m venv "$venv" 2>/dev/null; then
    exit 0
fi
rm -rf "$venv"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "venv: the venv module is missing; run as root: apt-get install python3-venv" >&2
    exit 1
fi
echo "venv: installing python3-venv"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq python3-venv >/dev/null
"$python" -m venv "$venv"
