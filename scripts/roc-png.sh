#!/usr/bin/env bash
# Renders a ROC plot made in SQL to PNG, so a person can look at it: runs a query that returns one SVG document
# (screen.roc_svg) with psql against the server named by PGHOST/PGPORT/PGDATABASE/PGUSER, writes OUT.svg
# beside OUT.png, and converts it with rsvg-convert (Debian package librsvg2-bin).
#   scripts/roc-png.sh roc.png "SELECT screen.roc_svg(screen.roc(score, label)) FROM predictions"
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: $0 OUT.png QUERY  (QUERY returns one SVG document, e.g. from screen.roc_svg)" >&2
	exit 2
fi
out=$1
query=$2
command -v rsvg-convert >/dev/null || { echo "$0: rsvg-convert is missing (apt-get install librsvg2-bin)" >&2; exit 1; }
svg="${out%.png}.svg"
psql -X -At -v ON_ERROR_STOP=1 -c "$query" >"$svg"
[ -s "$svg" ] || { echo "$0: the query returned no SVG" >&2; exit 1; }
rsvg-convert --background-color=white -o "$out" "$svg"
echo "wrote $out ($(wc -c <"$out") bytes) and $svg"
