#!/usr/bin/env bash
# Install the Debian packages the integration tests need, skipping what is already there.
# Runs `apt-get update` once, only when something is missing. Works as root (CI) or through sudo.
set -euo pipefail

packages=(sip-tester kamailio baresip-core postgresql chromium "$@")

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "apt-deps: all present (${packages[*]})"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "apt-deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "apt-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "apt-deps: done"
