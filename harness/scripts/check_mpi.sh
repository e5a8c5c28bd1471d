#!/usr/bin/env bash
# `make check-mpi`: the same small sweep serially and over 2 MPI ranks must write the same
# tables (results.csv, curves.csv, cells.csv, failures.csv), byte for byte.
set -euo pipefail
bin=${1:?usage: check_mpi.sh BEATBENCH_MPI_BINARY}
config=tests/fixtures/sweep/small.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BB_CACHE_DIR="$work/cache" OMPI_MCA_mpi_warn_on_fork=0
root_flags=()
[ "$(id -u)" -eq 0 ] && root_flags=(--allow-run-as-root)
"$bin" sweep --config "$config" --out "$work/serial" --quiet
mpirun "${root_flags[@]}" --oversubscribe -np 2 "$bin" sweep --config "$config" --out "$work/mpi" --quiet
status=0
for t in results.csv curves.csv cells.csv failures.csv; do
    if cmp -s "$work/serial/$t" "$work/mpi/$t"; then
        echo "check-mpi: $t identical ($(($(wc -l <"$work/serial/$t") - 1)) rows)"
    else
        echo "check-mpi: $t differs between the serial and the 2-rank sweep" >&2
        status=1
    fi
done
# each rank must have run its share (cost.json records the rank that ran the cell)
for r in 0 1; do
    n=$(cat "$work"/mpi/cells/*/cost.json | grep -c "\"mpi_rank\": $r}" || true)
    echo "check-mpi: rank $r ran $n cells"
    [ "$n" -gt 0 ] || status=1
done
exit $status
