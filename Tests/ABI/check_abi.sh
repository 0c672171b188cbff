#!/usr/bin/env bash
# The shipped library's ABI, checked from the outside (make test-abi):
# - no Swift runtime to install (no libswift* dependency), no RPATH/RUNPATH;
# - its SONAME is liblstm.so.<major of the header's version>;
# - it exports exactly packaging/exported-symbols.txt, and that list is exactly the functions
#   include/lstm.h declares, so an accidental ABI change fails here;
# - the header, the library, the Python package and its metadata say the same version.
# Usage: Tests/ABI/check_abi.sh build/liblstm.so   (from the repository root)
set -euo pipefail
lib=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
part() { sed -n "s/^#define LSTM_VERSION_$1 \([0-9]*\).*/\1/p" include/lstm.h; }
major=$(part MAJOR); minor=$(part MINOR); patch=$(part PATCH)
version="$major.$minor.$patch"

if ldd "$lib" | grep -i swift; then fail "$lib needs Swift runtime libraries"; fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "liblstm.so.$major" ] || fail "$lib has SONAME '$soname', expected liblstm.so.$major"
if readelf -d "$lib" | grep -E '\((RPATH|RUNPATH)\)'; then fail "$lib has an RPATH"; fi

listed=$(grep -v '^#' packaging/exported-symbols.txt)
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
declared=$(grep -o 'lstm_[a-z_0-9]*(' include/lstm.h | tr -d '(' | sort -u)
if [ "$exported" != "$listed" ]; then
  diff <(echo "$listed") <(echo "$exported") | sed 's/^</  listed only:/; s/^>/  exported only:/' | grep only >&2 || true
  fail "$lib exports other symbols than packaging/exported-symbols.txt"
fi
if [ "$declared" != "$listed" ]; then
  diff <(echo "$listed") <(echo "$declared") | sed 's/^</  listed only:/; s/^>/  declared only:/' | grep only >&2 || true
  fail "include/lstm.h declares other functions than packaging/exported-symbols.txt lists"
fi

number=$((major * 10000 + minor * 100 + patch))
printf '#include <stdio.h>\n#include "lstm.h"\nint main(void) { printf("%%u %%s\\n", lstm_version_number(), lstm_version_string()); return 0; }\n' > "$(dirname "$lib")/version_check.c"
dir=$(cd "$(dirname "$lib")" && pwd)
cc -std=c99 -Iinclude "$dir/version_check.c" -L"$dir" -llstm -Wl,-rpath,"$dir" -o "$dir/version_check"
got=$("$(dirname "$lib")/version_check")
[ "$got" = "$number $version" ] || fail "the library says version '$got', the header $number $version"
py=$(sed -n 's/^version = "\(.*\)"/\1/p' bindings/python/pyproject.toml)
[ "$py" = "$version" ] || fail "bindings/python/pyproject.toml says version $py, the header $version"
pynum=$(sed -n 's/^VERSION_NUMBER = \([0-9]*\).*/\1/p' bindings/python/lstm/_lib.py)
[ "$pynum" = "$number" ] || fail "bindings/python/lstm/_lib.py expects VERSION_NUMBER $pynum, the header $number"
echo "ABI checks passed: version $version, SONAME $soname, no RPATH, no libswift* dependency, $(echo "$exported" | wc -l) exported symbols = packaging/exported-symbols.txt = the header's functions"
