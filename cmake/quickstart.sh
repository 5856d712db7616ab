#!/usr/bin/env bash
# The two quick-start commands of README.md:
#   bash cmake/quickstart.sh demo   installs what is missing, builds the `maunet` tool, runs the demo
#   bash cmake/quickstart.sh test   installs what is missing, builds the tests (and the tool they run), runs them
# Extra arguments after `demo` go to `maunet demo` (e.g. --json results.json).
# Each command has its own build folder, configured with every option it depends on, so the
# two work in either order and from any earlier state: demo in build-demo (the tool only),
# test in build-test (the test programs only, no benchmarks). `test` fails when no test ran.
# Environment: BUILD_DIR (overrides the folder), JOBS (default: all cores), CI=true turns
# warnings into errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
what=${1:-}
shift || true
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Debian 12 / Ubuntu 22.04+ package names. The core needs the first line; the rest enable the
# command-line tool, NetCDF, PNG quicklooks (gmt-gshhg-low: 4 MB of coastlines for them), the
# BLAS backend, tests and benchmarks.
packages=(g++ cmake make libeigen3-dev libxtensor-dev xtl-dev libxsimd-dev
          libxtensor-blas-dev libopenblas-dev catch2 libbenchmark-dev
          libnetcdf-dev netcdf-bin libcli11-dev nlohmann-json3-dev libstb-dev gmt-gshhg-low
          gfortran pybind11-dev python3-pybind11 python3-numpy python3-dev)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "quickstart: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

configure() {
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMAUNET_WARNINGS_AS_ERRORS=$werror "$@"
}

case "$what" in
  demo)
    build=${BUILD_DIR:-build-demo}
    install_missing
    configure -DMAUNET_BUILD_EXAMPLES=ON -DMAUNET_BUILD_TESTS=OFF -DMAUNET_BUILD_BENCHMARKS=OFF
    cmake --build "$build" --target maunet_cli -j "$jobs"
    "$build/examples/maunet" demo "$@"
    ;;
  test)
    build=${BUILD_DIR:-build-test}
    install_missing
    configure -DMAUNET_BUILD_TESTS=ON -DMAUNET_BUILD_EXAMPLES=ON -DMAUNET_BUILD_BENCHMARKS=OFF
    cmake --build "$build" -j "$jobs"   # tests, bindings, the tool (the tutorial test runs it); no benchmarks
    ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$jobs"
    ;;
  *)
    echo "usage: bash cmake/quickstart.sh demo|test [demo options]" >&2
    exit 2
    ;;
esac
