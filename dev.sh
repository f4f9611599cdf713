#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11 and pip:
#   bash dev.sh serve   set everything up, then serve the lessons as web pages
#   bash dev.sh test    set everything up, then run the whole test suite
#   bash dev.sh test --fast   only the fast tier: no training, notebooks or browser (minutes)
#   bash dev.sh demo    set everything up, then train the class network on the sample photos
#   bash dev.sh setup   only set up
# Set-up is idempotent: a second run only checks stamps and takes a second.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=$ROOT/.venv
WIDGETS7=$VENV/ipywidgets7
LOG=$ROOT/.cache/setup.log
mkdir -p "$ROOT/.cache"

python_for_venv() {
    for candidate in python3.11 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
    echo "dev.sh: no python3 found; install Python 3.11 first" >&2; exit 2
}

quiet() {  # run a set-up step, show its log only when it fails
    if ! "$@" >>"$LOG" 2>&1; then
        echo "dev.sh: set-up step failed: $*" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

setup_python() {
    local stamp=$VENV/.catdogkit-stamp want
    want=$(cat pyproject.toml dev.sh | sha256sum | cut -c1-16)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
    echo "dev.sh: setting up $VENV (log: $LOG)"
    [[ -x $VENV/bin/python ]] || quiet "$(python_for_venv)" -m venv "$VENV"
    quiet "$VENV/bin/python" -m pip install --upgrade pip
    quiet "$VENV/bin/python" -m pip install -e ".[cpu,serve,grade,dev]"
    # Colab runs ipywidgets 7.7.1: the widget tests run a second time against it,
    # from this overlay put in front of the venv's own ipywidgets 8.
    quiet "$VENV/bin/python" -m pip install --no-deps --upgrade --target "$WIDGETS7" \
        "ipywidgets==7.7.1" "ipython-genutils==0.2.0" "widgetsnbextension==3.6.*" "jupyterlab-widgets==1.1.*"
    echo "$want" >"$stamp"
}

setup_browser() {
    if command -v chromium >/dev/null 2>&1; then return; fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "dev.sh: Debian's chromium is needed for the browser tests; run as root or 'sudo apt-get install chromium'" >&2
        exit 1
    fi
    echo "dev.sh: installing Debian's chromium for the browser tests"
    quiet apt-get update
    DEBIAN_FRONTEND=noninteractive quiet apt-get install -y --no-install-recommends chromium fonts-dejavu-core
}

setup_hub() {  # the hub test's proxy: configurable-http-proxy from npm, in the venv
    local prefix=$VENV/node stamp=$VENV/node/.catdogkit-stamp want="configurable-http-proxy@4"
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "dev.sh: no npm, so the JupyterHub test will skip (apt-get install npm)" >&2; return
    fi
    quiet npm install --no-audit --no-fund --prefix "$prefix" "$want"
    echo "$want" >"$stamp"
}

export PATH=$VENV/bin:$PATH   # nbgrader calls `alembic` by name
command=${1:-help}
shift || true
case $command in
    setup)
        setup_python ;;
    serve)
        setup_python
        exec "$VENV/bin/catdogkit" serve "$@" ;;
    demo)
        setup_python
        exec "$VENV/bin/catdogkit" demo "$@" ;;
    test)
        setup_python
        export CATDOGKIT_CACHE=${CATDOGKIT_CACHE:-$ROOT/.cache/catdogkit}
        if [[ ${1:-} == --fast ]]; then
            shift
            exec "$VENV/bin/python" -m pytest -m "not slow and not browser and not realdata" "$@"
        fi
        setup_browser
        setup_hub
        "$VENV/bin/python" -m pytest "$@"
        echo "dev.sh: the widget tests again, under ipywidgets 7.7 (Colab's version)"
        CATDOGKIT_EXPECT_IPYWIDGETS=7 PYTHONPATH=$WIDGETS7 \
            "$VENV/bin/python" -m pytest -m widgets7 -p no:cacheprovider tests ;;
    *)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        [[ $command == help ]] || exit 2 ;;
esac
