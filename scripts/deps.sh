#!/usr/bin/env bash
# Installs the Debian packages listed in the given files (default scripts/packages.txt) that are missing,
# as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("${@:-scripts/packages.txt}")
mapfile -t wanted < <(cat "${lists[@]}" | sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' | awk '{print $1}')
missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#wanted[@]} Debian packages are installed"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
# Installing the server headers can upgrade the server, so both go in one transaction.
case " ${missing[*]} " in
	*" postgresql-server-dev-15 "*) missing+=(postgresql-15) ;;
esac
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
