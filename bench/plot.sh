#!/usr/bin/env bash
# Latency percentiles per row at 32 connections (medians over the rounds), as a PNG.
# Usage: plot.sh RESULTS OUT.png
set -euo pipefail
results="$1" out="$2"
data="$(mktemp)"
trap 'rm -f "$data"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -F'|' '$2 == 32 && !seen[$1]++ { print $1 }' "$results" | while IFS= read -r name; do
    row="\"$name\""
    for f in 4 5 6 7; do
        row="$row $(awk -F'|' -v n="$name" -v f="$f" '$1 == n && $2 == 32 { print $f / 1000 }' "$results" | median)"
    done
    echo "$row"
done > "$data"
gnuplot <<PLOT
set terminal pngcairo size 1400,700 noenhanced font ",10"
set output "$out"
set title "Latency percentiles at 32 connections (ms, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "ms"
set xtics rotate by -35 scale 0
set key top left
set grid ytics
plot "$data" using 2:xtic(1) title "p50", "" using 3 title "p90", "" using 4 title "p99", "" using 5 title "p99.9"
PLOT
