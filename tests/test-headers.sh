#!/bin/sh
# Every public header compiles on its own as strict C99 and as C++.
set -eu
src=$1 build=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}; cxx=${CXX:-c++}
command -v "$cxx" >/dev/null || cxx=g++
n=0
for h in "$src"/include/intellisched/*.h; do
        name=intellisched/$(basename "$h")
        printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
        "$cc" -std=c99 -pedantic -Werror -Wall -Wextra -I"$src/include" -I"$build/include" -c "$tmp/t.c" -o "$tmp/t.o"
        cp "$tmp/t.c" "$tmp/t.cpp"
        "$cxx" -std=c++11 -pedantic -Werror -Wall -Wextra -I"$src/include" -I"$build/include" -c "$tmp/t.cpp" -o "$tmp/t.o"
        n=$((n + 1))
done
echo "headers: $n public headers compile as C99 -pedantic -Werror and as C++11"
