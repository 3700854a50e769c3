#!/usr/bin/env bash
# The clickstream transform's native module as Lambda runs it: built for arm64 by the same recipe
# as `sam build`, run under qemu by Debian's arm64 Python on a real 3 MiB batch, and required to
# give exactly (sha256 of every result) what this machine's build gives. A manual check (it needs
# root, apt and qemu-user-static), not part of `make test`:  sudo scripts/check-native-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYTHONPATH=.:layers/shoplake:glue

command -v qemu-aarch64-static >/dev/null || apt-get install -y -qq qemu-user-static >/dev/null
# Debian's arm64 Python, unpacked beside (not installed over) this machine's own
dpkg --add-architecture arm64
trap 'dpkg --remove-architecture arm64; apt-get update -qq; rm -rf "$work"' EXIT
apt-get update -qq
(cd "$work" && apt-get download -qq libc6:arm64 python3.11-minimal:arm64 libpython3.11-minimal:arm64 \
  libpython3.11-stdlib:arm64 zlib1g:arm64 libexpat1:arm64 libffi8:arm64 2>/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done

.venv/bin/python layers/shoplake/build_native.py --target aarch64-linux-gnu.2.17 --out "$work/arm64"
.venv/bin/python layers/shoplake/build_native.py --out "$work/host"
.venv/bin/python scripts/native_check.py prepare "$work"
host=$(.venv/bin/python scripts/native_check.py run "$work" "$work/host/_canonical.abi3.so")
arm64=$(qemu-aarch64-static -L "$work/root" "$work/root/usr/bin/python3.11" scripts/native_check.py run "$work" \
  "$work/arm64/_canonical.abi3.so")
echo "host:  $host"
echo "arm64: $arm64"
[ "${host%% *}" = "${arm64%% *}" ] && echo "same answers" || { echo "DIFFERENT answers"; exit 1; }
