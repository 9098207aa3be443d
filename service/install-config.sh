#!/bin/sh
# meson install: install the example configuration as $2 unless the
# administrator already has one there.  DESTDIR is honoured.
set -eu
dest="${DESTDIR:-}$2"
if [ -e "$dest" ]; then
        echo "Keeping $2 (an existing configuration is never overwritten; the example is in the documentation)"
        exit 0
fi
install -D -m 0644 "$1" "$dest"
echo "Installing $2"
