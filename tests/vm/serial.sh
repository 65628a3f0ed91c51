# tests/vm/serial.sh - the serial console and CHECK-line plumbing both
# architectures' suites share (source it, bash only).
shopt -s extglob                   # for the escape-stripping pattern below

# stamp_serial LOG HANDLER START: each line on stdin, without CR and
# terminal escapes (SeaBIOS clears the screen), stamped with the seconds
# since START (microseconds, from EPOCHREALTIME), appended to LOG and handed
# to HANDLER STAMP LINE.
stamp_serial() {
    local log=$1 handler=$2 start=$3 line now us stamp
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        [[ $line == *$'\e'* ]] && line=${line//$'\e'@(c|\[*([0-9;?])[a-zA-Z])/}
        now=${EPOCHREALTIME/./}
        us=$((now - start))
        printf -v stamp '[%4d.%02d]' $((us / 1000000)) $((us % 1000000 / 10000))
        printf '%s %s\n' "$stamp" "$line" >>"$log"
        "$handler" "$stamp" "$line"
    done
}

# print_line STAMP LINE: the plain handler, the line to stdout.
print_line() { printf '%s %s\n' "$1" "$2"; }

# read_checks FILE...: the guest's "CHECK NAME ok|FAIL [DETAIL]" lines into
# the caller's arrays: status[NAME] (FAIL wins over ok), detail[NAME] and
# printed (names in first-printed order).
read_checks() {
    local line name
    while IFS= read -r line; do
        [[ $line =~ CHECK\ ([^ ]+)\ (ok|FAIL)(\ (.*))?$ ]] || continue
        name=${BASH_REMATCH[1]}
        [ -n "${status[$name]:-}" ] || printed+=("$name")
        if [ "${BASH_REMATCH[2]}" = FAIL ]; then
            status[$name]=FAIL
            detail[$name]=${BASH_REMATCH[4]}
        elif [ -z "${status[$name]:-}" ]; then
            status[$name]=ok
        fi
    done < <(cat "$@")
}
