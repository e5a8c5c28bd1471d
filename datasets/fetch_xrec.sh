#!/usr/bin/env bash
# fetch_xrec.sh — download XRec's public data files and convert them into the beatbench
# dataset format (datasets/FORMAT.md).
#
# Source: https://github.com/HKUDS/XRec, folder data/{amazon,yelp,google}:
#   total_trn.csv   training pairs, columns user,item       (yelp, google)
#   para_dict.pickle  amazon only: its training pairs, as the per-user neighbour lists
#                   trn_user_nb (amazon has no total_trn.csv)
#   total_val.csv   validation pairs, columns user,item
#   total_tst.csv   test pairs, columns user,item
#   tst.pkl         the 3,000 explained pairs: a pandas DataFrame with columns
#                   uid,iid,title,user_summary,item_summary,explanation (Git LFS file)
# Output, per dataset, in OUT/<name>/: train.csv valid.csv test.csv explanations.csv.
#
# Usage:
#   datasets/fetch_xrec.sh [--out DIR] [--datasets "amazon yelp google"] [--from DIR]
#     --out DIR       where the converted datasets go (default: data)
#     --datasets L    which datasets (default: "amazon yelp google")
#     --from DIR      convert files already downloaded to DIR/<name>/ (no network)
#     --raw DIR       keep the downloads in DIR (default: OUT/.xrec_raw)
#
# Needs: curl (or wget) to download; python3 to convert, and pandas installed to unpickle
# tst.pkl, which is a pandas DataFrame (a pickled dict of lists or list of dicts also
# works, which is what the tests use). Each dataset directory is written under a temporary
# name and renamed into place, so a failed run leaves no half-converted dataset.
set -euo pipefail

XREC_URL=${XREC_URL:-https://github.com/HKUDS/XRec/raw/main/data}
out=data
datasets="amazon yelp google"
from=""
raw=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "fetch_xrec.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --datasets) datasets=${2:?--datasets needs a list}; shift 2 ;;
        --from) from=${2:?--from needs a directory}; shift 2 ;;
        --raw) raw=${2:?--raw needs a directory}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "fetch_xrec.sh: unknown option \"$1\" (see --help)" >&2; exit 2 ;;
    esac
done
for name in $datasets; do
    case "$name" in amazon|yelp|google) ;; *) die "unknown dataset \"$name\" (amazon, yelp, google)" ;; esac
done
command -v python3 >/dev/null || die "python3 is needed for the conversion"

files_of() { # the XRec files one dataset needs
    if [ "$1" = amazon ]; then echo "para_dict.pickle total_val.csv total_tst.csv tst.pkl"
    else echo "total_trn.csv total_val.csv total_tst.csv tst.pkl"; fi
}

download() { # URL FILE
    local tmp="$2.part"
    if command -v curl >/dev/null; then
        curl -fL --retry 3 --silent --show-error -o "$tmp" "$1" || die "download failed: $1"
    elif command -v wget >/dev/null; then
        wget -q -O "$tmp" "$1" || die "download failed: $1"
    else
        die "curl or wget is needed to download (or pass --from DIR)"
    fi
    # *.pkl files are stored with Git LFS: a pointer instead of the data means the LFS
    # redirect did not happen.
    if head -c 64 "$tmp" | grep -q "git-lfs.github.com/spec"; then
        rm -f "$tmp"; die "$1 returned a Git LFS pointer, not the file; download it from the GitHub web page into --from DIR"
    fi
    mv "$tmp" "$2"
}

if [ -z "$from" ]; then
    raw=${raw:-$out/.xrec_raw}
    for name in $datasets; do
        mkdir -p "$raw/$name"
        for f in $(files_of "$name"); do
            [ -s "$raw/$name/$f" ] && continue
            echo "fetch_xrec.sh: downloading $name/$f" >&2
            download "$XREC_URL/$name/$f" "$raw/$name/$f"
        done
    done
    from=$raw
fi

mkdir -p "$out"
for name in $datasets; do
    [ -d "$from/$name" ] || die "$from/$name: no such directory"
    python3 - "$from/$name" "$out/$name" "$name" <<'PY'
import csv, os, pickle, shutil, sys

src, dst, name = sys.argv[1:4]

def fail(msg):
    sys.exit("fetch_xrec.sh: " + msg)

def as_id(value, where):
    # ids are non-negative integers: Python or numpy ints, digit strings, or whole floats
    if hasattr(value, "item"):           # numpy scalar
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        fail("%s: expected a non-negative integer id, got %r" % (where, value))
    return value

def read_pairs(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.DictReader(f)
        if not rows.fieldnames or "user" not in rows.fieldnames or "item" not in rows.fieldnames:
            fail("%s: expected columns user,item, got %s" % (path, rows.fieldnames))
        return [(as_id(r["user"], "%s:%d" % (path, rows.line_num)),
                 as_id(r["item"], "%s:%d" % (path, rows.line_num))) for r in rows]

def pairs_from_para_dict(path):
    with open(path, "rb") as f:
        para = pickle.load(f)
    if not isinstance(para, dict) or "trn_user_nb" not in para:
        fail("%s: expected a dict with trn_user_nb (per-user training item lists)" % path)
    return [(u, as_id(i, "%s: trn_user_nb[%d]" % (path, u)))
            for u, items in enumerate(para["trn_user_nb"]) for i in items]

COLUMNS = ["uid", "iid", "title", "user_summary", "item_summary", "explanation"]

def explained_rows(path):
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)
    except ModuleNotFoundError as e:
        fail("%s needs the module %s to unpickle (pip install %s)" % (path, e.name, e.name))
    if hasattr(obj, "to_dict"):          # pandas DataFrame, as published
        obj = obj.to_dict("list")
    if isinstance(obj, dict):
        missing = [c for c in COLUMNS if c not in obj]
        if missing:
            fail("%s: missing columns %s" % (path, ",".join(missing)))
        n = len(obj["uid"])
        rows = [{c: obj[c][k] for c in COLUMNS} for k in range(n)]
    elif isinstance(obj, list) and all(isinstance(r, dict) for r in obj):
        rows = obj
    else:
        fail("%s: expected a DataFrame, a dict of columns or a list of rows, got %s"
             % (path, type(obj).__name__))
    out = []
    for k, r in enumerate(rows):
        where = "%s: row %d" % (path, k)
        missing = [c for c in COLUMNS if c not in r]
        if missing:
            fail("%s: missing %s" % (where, ",".join(missing)))
        out.append([as_id(r["uid"], where + " uid"), as_id(r["iid"], where + " iid")] +
                   ["" if r[c] is None else str(r[c]) for c in COLUMNS[2:]])
    return out

def write_pairs(path, pairs):
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write("user,item\n")
        f.writelines("%d,%d\n" % p for p in pairs)

if name == "amazon" and not os.path.exists(os.path.join(src, "total_trn.csv")):
    train = pairs_from_para_dict(os.path.join(src, "para_dict.pickle"))
else:
    train = read_pairs(os.path.join(src, "total_trn.csv"))
valid = read_pairs(os.path.join(src, "total_val.csv"))
test = read_pairs(os.path.join(src, "total_tst.csv"))
explained = explained_rows(os.path.join(src, "tst.pkl"))

staging = dst + ".partial.%d" % os.getpid()
shutil.rmtree(staging, ignore_errors=True)
os.makedirs(staging)
try:
    write_pairs(os.path.join(staging, "train.csv"), train)
    write_pairs(os.path.join(staging, "valid.csv"), valid)
    write_pairs(os.path.join(staging, "test.csv"), test)
    with open(os.path.join(staging, "explanations.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")   # RFC 4180 quoting where needed
        w.writerow(COLUMNS)
        w.writerows(explained)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.rename(staging, dst)
except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
print("fetch_xrec.sh: %s: train %d, valid %d, test %d, explained %d -> %s"
      % (name, len(train), len(valid), len(test), len(explained), dst), file=sys.stderr)
PY
done
echo "fetch_xrec.sh: done; check with: beatbench data stats $out/<name>" >&2
