#!/usr/bin/env bash
# Installs the Debian packages beatbench needs when any is missing, so that `make test`
# and `make demo` are the whole set-up on a fresh Debian 12 machine. Prints found/missing
# for each dependency. Needs root (or sudo) only when something must be installed.
set -u
missing=()
check() { # name, test command, package
    if eval "$2" >/dev/null 2>&1; then
        printf '  %-10s found\n' "$1"
    else
        printf '  %-10s missing (Debian package %s)\n' "$1" "$3"
        missing+=("$3")
    fi
}
echo "beatbench dependencies:"
check pkg-config "command -v pkg-config" pkg-config
check openblas "pkg-config --exists openblas || test -e /usr/include/x86_64-linux-gnu/cblas.h || test -e /usr/include/cblas.h" libopenblas-dev
check gsl "pkg-config --exists gsl || test -e /usr/include/gsl/gsl_cdf.h" libgsl-dev
check cjson "pkg-config --exists libcjson || test -e /usr/include/cjson/cJSON.h" libcjson-dev
check libcsv "test -e /usr/include/csv.h" libcsv-dev
check gnuplot "command -v gnuplot" gnuplot-nox
# Open MPI only for the distributed sweep build (make MPI=1 ..., make check-mpi).
if [ "${MPI:-0}" = 1 ]; then
    check mpicc "command -v mpicc" libopenmpi-dev
    check mpirun "command -v mpirun" openmpi-bin
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "beatbench: missing packages and no apt-get: install ${missing[*]} by hand" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "beatbench: missing packages ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the lists first (fast when they are current), then update.
if ! $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" || {
        echo "beatbench: apt-get install ${missing[*]} failed" >&2
        exit 1
    }
fi
echo "installed: ${missing[*]}"
