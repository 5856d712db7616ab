# Sourced by the `maunet` tool's test scripts (tests/cli/*.sh, run by ctest with the tool as $1):
#   maunet     the tool, as an absolute path
#   here       this folder (the helpers make_netcdf.py and make_precip.py are here)
#   data       the repository's test data
#   a scratch folder as the working directory, removed however the script ends
#   fail MSG   records a failed check and goes on; finish NAME ends the script: status 1 and the
#              number of failed checks, or 0 and "NAME: all checks passed".
set -u
maunet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data="$here/../data"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
failures=0
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures check(s) failed" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}
