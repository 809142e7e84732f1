#!/usr/bin/env bash
# get_cifar10.sh: fetches CIFAR-10 (binary version) into a folder and checks it, or links it from an existing copy.
set -euo pipefail

# CIFAR10_URL may name a mirror; the MD5 check below still applies to what it serves.
URL="${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}"
# The MD5 published on the CIFAR-10 page for cifar-10-binary.tar.gz.
MD5="c32a1d4ab5d03f1284b67883e8d87530"
RECORD=3073

usage() {
  cat <<EOF
usage: datasets/get_cifar10.sh [TARGET_DIR]

Puts the CIFAR-10 binary batch files into TARGET_DIR (default: data/cifar-10-batches-bin,
relative to the current directory).

  - If the environment variable CIFAR10_DIR names an existing folder, its .bin files are
    linked into TARGET_DIR (copied where links are not possible; CIFAR10_COPY=1 forces a
    copy) and each file's record count is checked; nothing is downloaded.
  - Otherwise the official archive is downloaded from
      $URL
    (or from CIFAR10_URL, a mirror), its MD5 is checked against the published
    $MD5, and it is unpacked.

Exit status: 0 when TARGET_DIR holds a usable set, 1 on any failure (with a message).
EOF
}

die() { echo "get_cifar10: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  -*) usage >&2; exit 1 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 1; }
TARGET="${1:-data/cifar-10-batches-bin}"

# Records in FILE, or a message and failure when its size is not whole records.
records() {
  local f="$1" size
  size=$(stat -L -c %s "$f") || die "$f: cannot read its size"
  [ "$size" -gt 0 ] || die "$f: empty file"
  [ $((size % RECORD)) -eq 0 ] || die "$f: size $size is not a multiple of $RECORD bytes ($((size % RECORD)) left over)"
  echo $((size / RECORD))
}

# Checks the set in DIR: five training batches of 10,000, and at least one test file.
verify() {
  local dir="$1" n total=0 tests=0 f
  for i in 1 2 3 4 5; do
    f="$dir/data_batch_$i.bin"
    [ -e "$f" ] || die "$f: missing (a CIFAR-10 set has data_batch_1.bin .. data_batch_5.bin)"
    n=$(records "$f")
    [ "$n" -eq 10000 ] || die "$f: $n records, expected 10000"
    total=$((total + n))
  done
  # The official test file is test_batch.bin (10,000 records); other copies may carry the
  # test set under other names and sizes, so any other .bin counts by its size.
  for f in "$dir"/*.bin; do
    case "$(basename "$f")" in data_batch_[1-5].bin) continue ;; esac
    n=$(records "$f")
    if [ "$(basename "$f")" = test_batch.bin ] && [ "$n" -ne 10000 ]; then
      die "$f: $n records, expected 10000"
    fi
    echo "  $(basename "$f"): $n records"
    tests=$((tests + 1))
  done
  [ "$tests" -gt 0 ] || die "$dir: no test file (test_batch.bin or another .bin besides the training batches)"
  echo "  data_batch_1..5.bin: $total training records"
}

if [ -n "${CIFAR10_DIR:-}" ]; then
  [ -d "$CIFAR10_DIR" ] || die "CIFAR10_DIR=$CIFAR10_DIR is not a folder (unset it to download instead)"
  src=$(cd "$CIFAR10_DIR" && pwd)
  mkdir -p "$TARGET"
  dst=$(cd "$TARGET" && pwd)
  [ "$src" != "$dst" ] || { echo "get_cifar10: $TARGET is CIFAR10_DIR itself; checking it"; verify "$dst"; exit 0; }
  echo "get_cifar10: taking the files from $src"
  found=0
  for f in "$src"/*.bin; do
    [ -e "$f" ] || continue
    found=1
    name=$(basename "$f")
    rm -f "$dst/$name"
    # Links save 180 MB; a copy is the fallback where the file system refuses links.
    if [ "${CIFAR10_COPY:-0}" = 1 ] || ! ln -s "$f" "$dst/$name" 2>/dev/null; then
      cp "$f" "$dst/$name" || die "$dst/$name: copy failed"
    fi
  done
  [ "$found" = 1 ] || die "$src: holds no .bin files"
  verify "$dst"
  echo "get_cifar10: ready in $TARGET"
  exit 0
fi

if [ -e "$TARGET/data_batch_1.bin" ]; then
  echo "get_cifar10: $TARGET already has data; checking it (delete it to download again)"
  verify "$TARGET"
  exit 0
fi

command -v md5sum >/dev/null || die "md5sum not found (coreutils)"
parent=$(dirname "$TARGET")
mkdir -p "$parent"
work=$(mktemp -d "$parent/.get_cifar10.XXXXXX")
trap 'rm -rf "$work"' EXIT
archive="$work/cifar-10-binary.tar.gz"

echo "get_cifar10: downloading $URL (about 170 MB)"
if command -v curl >/dev/null; then
  curl -fL --retry 3 -o "$archive" "$URL" || die "download failed (curl); set CIFAR10_DIR to use a copy you already have"
elif command -v wget >/dev/null; then
  wget -O "$archive" "$URL" || die "download failed (wget); set CIFAR10_DIR to use a copy you already have"
else
  die "neither curl nor wget found; install one, or set CIFAR10_DIR to a folder with the .bin files"
fi

got=$(md5sum "$archive" | cut -d' ' -f1)
[ "$got" = "$MD5" ] || die "checksum mismatch: MD5 $got, expected $MD5 (a broken or altered download; nothing was unpacked)"
echo "get_cifar10: MD5 ok"

tar -xzf "$archive" -C "$work" || die "unpacking $archive failed"
[ -d "$work/cifar-10-batches-bin" ] || die "the archive has no cifar-10-batches-bin/ folder"
# The exact first 1,000 test images, under the name the small shipped configs use, so
# they run the same on a downloaded set as on a copy that carries only that file.
head -c $((1000 * RECORD)) "$work/cifar-10-batches-bin/test_batch.bin" \
  > "$work/cifar-10-batches-bin/test_batch_first1000.bin" || die "writing test_batch_first1000.bin failed"
verify "$work/cifar-10-batches-bin"
rm -rf "$TARGET"
mv "$work/cifar-10-batches-bin" "$TARGET" || die "moving the files to $TARGET failed"
echo "get_cifar10: ready in $TARGET"
