#!/usr/bin/env bash
# fetch_device_kit.sh: downloads (does not install) the Debian/Ubuntu packages of libyaml into .device-kit/, for a GPU machine that has no package access and lacks them.
#
# usage: bash bench/fetch_device_kit.sh [DIR]     (default DIR: .device-kit at the repository root)
#
# bench/gpu_check.sh unpacks them into its build folder (never into /) only when the
# machine's own configure fails, and builds against libyaml statically (the build needs
# no BLAS: the CPU backend has its own kernels). Well under 1 MB; the folder is ignored by
# git and must be carried to the GPU machine with the working tree.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/.device-kit}
mkdir -p "$DIR"
cd "$DIR"
apt-get download libyaml-0-2 libyaml-dev
ls -l "$DIR"
