#!/usr/bin/env bash
# Installs Debian's Virtuoso Open Source (the SPARQL store behind KZCN_STORE=http…, and the one
# the remote-store tests start privately), without questions and without leaving the
# package's own system service running: the project starts its own Virtuoso, on 127.0.0.1,
# with its own virtuoso.ini (server/store/virtuoso.py). Idempotent: exits 0 at once if the
# package is already installed. Needs root (as in CI).
set -euo pipefail

PACKAGE=virtuoso-opensource
SERVICE=virtuoso-opensource-7
# The package's own database is never used (our harness keeps its database in a temporary
# directory), but its postinst asks for a DBA password; the harness logs in as dba/dba.
DBA_PASSWORD=dba

installed() {
    dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "install ok installed"
}

if installed; then
    echo "install-virtuoso: $PACKAGE is already installed."
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-virtuoso: installing $PACKAGE needs root (apt-get)." >&2
    exit 1
fi

# Keep maintainer scripts from starting the system service: a policy-rc.d that refuses
# every start, unless the machine already has one (containers often do), which we leave as is.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    OWN_POLICY=1
fi
cleanup() {
    if [ -n "$OWN_POLICY" ]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

for question in dba-password dba-password-again; do
    echo "virtuoso-opensource-7 virtuoso-opensource-7/$question password $DBA_PASSWORD"
done | debconf-set-selections

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The package's postinst tries to start its service to set the password; refused here, it
# prints "Unable to set password for the Virtuoso DBA user". That is expected and harmless:
# the package's own database is never used.
apt-get install -y -qq --no-install-recommends "$PACKAGE"

# Belt and braces: should a service have started anyway (no policy-rc.d honoured, systemd),
# stop it; the project's Virtuoso never shares the package's database or ports.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop "$SERVICE" 2>/dev/null || true
    systemctl disable "$SERVICE" 2>/dev/null || true
elif [ -x "/etc/init.d/$SERVICE" ]; then
    "/etc/init.d/$SERVICE" stop >/dev/null 2>&1 || true
fi

echo "install-virtuoso: $PACKAGE installed ($(dpkg-query -W -f='${Version}' "$PACKAGE"))."
