#!/bin/sh
# Fails when the documentation points outside the repository or at nothing:
#  - a relative link in a Markdown file whose file is missing, that leaves the repository,
#    or whose #anchor is not a heading or an <a id> of the file it names;
#  - a mention of docs/<name>.md#<anchor> or bench/README.md#<anchor> anywhere in the tree
#    (the code's comments point at the contract that way) that does not resolve;
#  - any mention of a document kept outside the project, or of an issue tracker's number.
# Usage: check-links.sh [REPO_DIR]   (default: the repository holding this script)
set -eu
repo="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
cd "$repo"
failures=0
fail() { echo "check-links: $*" >&2; failures=$((failures + 1)); }

# Text files of the project: no VCS data, no build output, no fuzz inputs.
project_files() {
    find . \( -name .git -o -name 'build*' -o -path ./tests/fuzz/corpus -o -path ./tests/fuzz/regressions \) -prune \
        -o -type f -print | sed 's|^\./||' | sort
}
markdown_files() { project_files | grep '\.md$'; }

# The anchors a Markdown file defines: <a id="..."> and GitHub's slugs of its headings.
anchors_of() {
    awk '/^```/ { fenced = !fenced; next }
         fenced { next }
         { line = $0
           while (match(line, /<a id="[^"]*"/)) {
               print substr(line, RSTART + 7, RLENGTH - 8); line = substr(line, RSTART + RLENGTH) } }
         /^#+ / { h = tolower($0); sub(/^#+ +/, "", h); gsub(/[^a-z0-9 _-]/, "", h); gsub(/ /, "-", h); print h }' "$1"
}

# Checks that `target` (path[#anchor], relative to directory `base`) exists inside the repo.
check_target() {
    from="$1" base="$2" target="$3"
    path="${target%%#*}"
    anchor=""
    case "$target" in *#*) anchor="${target#*#}" ;; esac
    if [ -z "$path" ]; then
        file="$from"
    else
        file="$base/$path"
        [ -e "$file" ] || { fail "$from: broken link $target"; return; }
        resolved="$(cd "$(dirname "$file")" && pwd)"
        case "$resolved/" in "$repo"/*) ;; *) fail "$from: link leaves the repository: $target"; return ;; esac
        file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
    fi
    if [ -n "$anchor" ]; then
        case "$file" in *.md) ;; *) return ;; esac
        anchors_of "$file" | grep -qxF "$anchor" || fail "$from: no anchor #$anchor in ${path:-$from}"
    fi
}

count=0
for md in $(markdown_files); do
    base="$(dirname "$md")"
    # Link targets outside fenced code: [text](target) and ![alt](target), title dropped.
    targets="$(awk '/^```/ { fenced = !fenced; next }
                    fenced { next }
                    { line = $0
                      while (match(line, /\]\([^)]*\)/)) {
                          t = substr(line, RSTART + 2, RLENGTH - 3); sub(/ +".*$/, "", t); print t
                          line = substr(line, RSTART + RLENGTH) } }' "$md")"
    for target in $targets; do
        case "$target" in http://* | https://* | mailto:*) continue ;; esac
        count=$((count + 1))
        check_target "$md" "$base" "$target"
    done
done

# Pointers at the contract and the other docs from code, comments and scripts, as
# FILE:POINTER, each resolved from the repository's root.
for hit in $(project_files | xargs grep -HIoE '(docs/[A-Za-z0-9_-]+|bench/README)\.md(#[A-Za-z0-9_-]+)?' | sort -u); do
    count=$((count + 1))
    check_target "${hit%%:*}" "." "${hit#*:}"
done

# Nothing may point outside the project. The patterns are spelled so they do not match
# this file itself.
for pattern in '[.][.]/shared' 'SPEC[.]md' 'SPEC[ ]sections?' '[Ii]ssue #?[0-9]'; do
    hits="$(project_files | xargs grep -InE "$pattern" || true)"
    [ -z "$hits" ] || fail "a mention of something outside the project ($pattern):
$hits"
done

[ "$count" -gt 0 ] || fail "no links found: is $repo the repository?"
if [ "$failures" -gt 0 ]; then
    echo "check-links: $failures problem(s)" >&2
    exit 1
fi
echo "check-links: $count links and pointers resolve"
