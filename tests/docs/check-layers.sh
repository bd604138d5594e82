#!/bin/sh
# Fails when a library file includes one from a higher layer. The layers, lowest first:
#   base < http < jobs < durable < fastcgi < process < testing
# A file in src/<layer>/ may include headers of its own layer and of lower ones only; a
# public header (include/fcgihost/) belongs to the layer named below. src/demo/ and
# src/jobs_tool/ are programs built on the library, outside the layers.
set -eu
cd "$(dirname "$0")/../.."

rank() {
    case "$1" in
        base) echo 0 ;; http) echo 1 ;; jobs) echo 2 ;; durable) echo 3 ;;
        fastcgi) echo 4 ;; process) echo 5 ;; testing) echo 6 ;;
        *) echo "" ;;
    esac
}

# The layer of a public header.
public_layer() {
    case "$1" in
        log|option_set|counts) echo base ;;
        request|response|router) echo http ;;
        job|background_queue|cancellation|async_job|async_coroutine) echo jobs ;;
        durable_queue|durable_options|payload|testing_durable) echo durable ;;
        host|options|status) echo process ;;
        testing|testing_cppunit) echo testing ;;
        *) echo "" ;;
    esac
}

# The layer of an include's target, or "" when it names no file of ours.
target_layer() {
    case "$1" in
        fcgihost/*) public_layer "$(basename "$1" .hpp)" ;;
        */*) echo "${1%%/*}" ;;
        *) echo "" ;;
    esac
}

failed=0
check_file() {  # file layer
    file="$1"
    from=$(rank "$2")
    for target in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
        to=$(target_layer "$target")
        if [ -z "$to" ] || [ -z "$(rank "$to")" ]; then
            echo "check-layers: $file: #include \"$target\": not a header of a known layer (include it as folder/name.hpp)" >&2
            failed=1
        elif [ "$(rank "$to")" -gt "$from" ]; then
            echo "check-layers: $file ($2) includes \"$target\" ($to), a higher layer" >&2
            failed=1
        fi
    done
}

count=0
for file in include/fcgihost/*.hpp; do
    layer=$(public_layer "$(basename "$file" .hpp)")
    if [ -z "$layer" ]; then
        echo "check-layers: $file: public header with no layer (add it to public_layer in $0)" >&2
        failed=1
        continue
    fi
    check_file "$file" "$layer"
    count=$((count + 1))
done
for dir in src/*/; do
    layer=$(basename "$dir")
    case "$layer" in demo|jobs_tool) continue ;; esac
    if [ -z "$(rank "$layer")" ]; then
        echo "check-layers: $dir: folder with no layer (add it to rank in $0)" >&2
        failed=1
        continue
    fi
    for file in "$dir"*.cpp "$dir"*.hpp; do
        [ -e "$file" ] || continue
        check_file "$file" "$layer"
        count=$((count + 1))
    done
done
[ "$failed" -eq 0 ] || exit 1
echo "check-layers: $count files include only their own layer or lower ones"
