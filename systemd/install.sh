#!/usr/bin/env bash
# Install ruleengine as a systemd service from this checkout (it is not on the package index).
#
#   sudo ./dev install                  # /opt/ruleengine/venv, the unit, /etc/ruleengine, start it
#   sudo ./dev install --wheel FILE     # install that wheel instead of the checkout
#   ./dev install --root /tmp/x         # lay everything out under /tmp/x; systemctl is not run
#   ./dev install --skip-venv           # unit and config only (the venv is built elsewhere)
#   sudo ./dev uninstall                # stop, remove the unit and the venv; keep config and state
#
# Never overwrites /etc/ruleengine/rules.yaml or the env file. PIP_ARGS is passed to pip
# (e.g. PIP_ARGS="--no-index --find-links /srv/wheels" offline).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
ROOT="" WHEEL="" SKIP_VENV=0 ACTION=install

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=${2%/}; shift 2 ;;
        --wheel) WHEEL=$2; shift 2 ;;
        --skip-venv) SKIP_VENV=1; shift ;;
        --uninstall) ACTION=uninstall; shift ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

VENV=$ROOT/opt/ruleengine/venv
ETC=$ROOT/etc/ruleengine
UNIT=$ROOT/etc/systemd/system/ruleengine.service
live() { [ -z "$ROOT" ] && command -v systemctl >/dev/null; }

if [ "$ACTION" = uninstall ]; then
    if live; then systemctl disable --now ruleengine 2>/dev/null || true; fi
    rm -f "$UNIT"
    rm -rf "$ROOT/opt/ruleengine"
    if live; then systemctl daemon-reload; fi
    echo "removed the unit and $ROOT/opt/ruleengine; kept $ETC and the state in /var/lib/ruleengine"
    exit 0
fi

if [ "$SKIP_VENV" = 0 ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "ruleengine needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
        exit 2
    fi
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        echo "Python's venv module is missing: apt-get install python3-venv (Debian, Ubuntu)" >&2
        exit 2
    fi
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    # shellcheck disable=SC2086 # PIP_ARGS is a list of options
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ${PIP_ARGS:-} \
        "${WHEEL:-$SRC}"
    "$VENV/bin/ruleengine" --version
fi

install -d -m 0755 "$ETC" "$(dirname "$UNIT")"
install -m 0644 "$SRC/systemd/ruleengine.service" "$UNIT"
if [ ! -e "$ETC/rules.yaml" ]; then
    # The example, with the service's paths: state and marker drop directory under
    # /var/lib/ruleengine (systemd creates them for the service user), a log every Debian has.
    sed -e 's|^state_dir: .*|state_dir: /var/lib/ruleengine|' \
        -e 's|paths: \[demo/logs/\*\.log\]|paths: [/var/log/auth.log]|' \
        -e 's|directory: demo/markers|directory: /var/lib/ruleengine/markers/updates|' \
        -e 's|demo/logs/app\.log|/var/log/auth.log|; s|demo/markers/|/var/lib/ruleengine/markers/updates/|' \
        "$SRC/rules.example.yaml" > "$ETC/rules.yaml"
    chmod 0644 "$ETC/rules.yaml"
    echo "wrote $ETC/rules.yaml from rules.example.yaml"
else
    echo "kept the existing $ETC/rules.yaml"
fi
if [ ! -e "$ETC/ruleengine.env" ]; then
    install -m 0600 /dev/null "$ETC/ruleengine.env"   # SLACK_WEBHOOK_URL=… lines
fi

if live; then
    systemctl daemon-reload
    systemctl enable --now ruleengine
    systemctl --no-pager status ruleengine | head -n 5 || true
else
    echo "installed under ${ROOT:-/}; start it with: systemctl daemon-reload && systemctl enable --now ruleengine"
fi
