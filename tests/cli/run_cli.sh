#!/bin/sh
# run_cli.sh - declarative command-line test driver (POSIX sh), registered
# with ctest by tests/cli/tests.cmake.  The tests are the rows of cases.txt:
#
#   name | exit [+FILE...] | fragment | args...
#
#   name      [A-Za-z0-9_.-]+, unique; the test is cli/<name>.
#   exit      the expected exit status, then optionally +FILE words: files the
#             run must leave in its directory (and, for a failing run, the
#             only new files allowed, e.g. +Fdump.bin after reading -hkl).
#   fragment  text that must appear (fixed string) in stdout+stderr.
#   args      the command line, split with shell quoting rules ('' is an
#             empty argument; no globbing).  A word @DEST=FIXTURE is not
#             passed on: it copies fixtures/FIXTURE to DEST in the run
#             directory first (e.g. @Fdump.bin=corrupt.fdump).  A word
#             @NAME/=empty makes an empty directory NAME there, @NAME/=readonly
#             a read-only one (mode 555); root is not bound by that mode, so a
#             row with a read-only directory is skipped (exit 77) as root.
#   A row whose args name -nexusfile is skipped (exit 77) when the program
#   was built without HDF5 (its --version says "NeXus/NXmx output: no").
#   Blank lines and lines starting with '#' (e.g. '#FIXME ...') are skipped.
#
#   run_cli.sh row NANOBRAGG CASES FIXTURES SCRATCH NAME
#       Run row NAME in a fresh SCRATCH/run holding a copy of FIXTURES, and
#       check: the exit status; the fragment; every +FILE exists; no input
#       was modified or removed; no stray temporary (.NAME.XXXXXX) was left;
#       and, when the expected status is not 0, no new file at all other than
#       the +FILEs (a failed run must not leave outputs behind).
#   run_cli.sh check CASES COUNT
#       Check the table itself: every row well formed, names unique, and
#       COUNT rows (the number tests.cmake registered).
#
# Exit status 0 when everything passes (77: skipped); the scratch directory is
# then removed.
# On failure it is kept for inspection and its path is printed.
set -u
LC_ALL=C # one sort order for the before/after listings
export LC_ALL

die() {
    echo "run_cli.sh: $*" >&2
    exit 1
}

trim() {
    printf '%s' "$1" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//'
}

remove_dir() {
    if [ -e "$1" ]; then
        chmod -R u+w "$1" 2>/dev/null
        rm -rf "$1"
    fi
}

# field LINE N: the Nth '|'-separated field of LINE, trimmed (N=4: the rest).
field() {
    if [ "$2" -eq 4 ]; then
        trim "$(printf '%s\n' "$1" | cut -d'|' -f4-)"
    else
        trim "$(printf '%s\n' "$1" | cut -d'|' -f"$2")"
    fi
}

# rows CASES: the data lines of the table (comments and blank lines removed).
rows() {
    grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'
}

# check_row LINE: print a complaint and return 1 if LINE is malformed.
check_row() {
    row=$1
    case $row in
    *'|'*'|'*'|'*) ;;
    *)
        echo "malformed row (needs name | exit | fragment | args): $row"
        return 1
        ;;
    esac
    name=$(field "$row" 1)
    case $name in
    '' | *[!A-Za-z0-9_.-]*)
        echo "bad test name '$name' in: $row"
        return 1
        ;;
    esac
    set -f
    # shellcheck disable=SC2046 # the exit field is split into words on purpose
    set -- $(field "$row" 2)
    set +f
    case ${1:-} in
    '' | *[!0-9]*)
        echo "row $name: exit field must start with a number"
        return 1
        ;;
    esac
    shift
    for w do
        case $w in
        +?*) ;;
        *)
            echo "row $name: '$w' in the exit field is not +FILE"
            return 1
            ;;
        esac
    done
    if ! (set -f && eval "set -- $(field "$row" 4)") 2>/dev/null; then
        echo "row $name: the args are not valid shell words (unbalanced quote?)"
        return 1
    fi
    return 0
}

check_table() {
    cases=$1 count=$2
    [ -f "$cases" ] || die "no table $cases"
    rows "$cases" | {
        status=0 n=0 names=""
        while IFS= read -r line; do
            n=$((n + 1))
            if check_row "$line"; then
                case " $names " in
                *" $name "*)
                    echo "duplicate test name: $name"
                    status=1
                    ;;
                esac
                names="$names $name"
            else
                status=1
            fi
        done
        if [ "$n" -ne "$count" ]; then
            echo "$cases has $n rows but $count tests are registered (re-run cmake after" \
                "editing it; an unbalanced '[' or ']' can make file(STRINGS) merge lines)"
            status=1
        fi
        [ "$status" -eq 0 ] && echo "$n rows OK"
        exit "$status"
    }
    exit $?
}

# fail MESSAGE: record a failed check.
fail() {
    echo "FAIL: $*"
    status=1
}

run_row() {
    nb=$1 cases=$2 fixtures=$3 scratch=$4 name=$5
    [ -x "$nb" ] || die "$nb is not built"
    case $nb in
    /*) ;;
    *) nb=$(pwd)/$nb ;;
    esac
    [ -d "$fixtures" ] || die "no fixtures folder $fixtures"
    line=$(rows "$cases" | awk -F'|' -v n="$name" '{ k = $1; gsub(/^[ \t]+|[ \t]+$/, "", k) } k == n')
    [ -n "$line" ] || die "no row named '$name' in $cases"
    [ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || die "several rows named '$name' in $cases"
    check_row "$line" >&2 || exit 1

    exit_field=$(field "$line" 2)
    fragment=$(field "$line" 3)
    args=$(field "$line" 4)
    want=${exit_field%%[!0-9]*}
    keep=$(printf '%s\n' "$exit_field" | tr -s '[:blank:]' '\n' | sed -n 's/^+//p' | tr '\n' ' ')

    remove_dir "$scratch"
    mkdir -p "$scratch/run" || die "cannot create $scratch/run"
    cp "$fixtures"/* "$scratch/run/" || die "cannot copy $fixtures to $scratch/run"
    chmod -R u+w "$scratch/run"
    run=$scratch/run

    # The command line: shell words (quotes honoured, no globbing).
    set -f
    eval "set -- $args"
    set +f
    staged="" readonly_dirs=""
    for w do
        shift
        case $w in
        @?*/=empty | @?*/=readonly)
            dest=${w%/=*}
            dest=${dest#@}
            case $dest in */*) die "row $name: $w: the directory must be a plain name" ;; esac
            mkdir "$run/$dest" || die "row $name: cannot make directory $dest"
            if [ "${w##*=}" = readonly ]; then
                if [ "$(id -u)" -eq 0 ]; then
                    echo "SKIP: row $name needs a read-only directory, and root writes anyway"
                    remove_dir "$scratch"
                    exit 77
                fi
                readonly_dirs="$readonly_dirs $dest"
            fi
            ;;
        @?*=?*)
            dest=${w%%=*}
            dest=${dest#@}
            src=${w#*=}
            case $dest in */*) die "row $name: $w: destination must be a plain name" ;; esac
            cp "$fixtures/$src" "$run/$dest" || die "row $name: cannot stage $src as $dest"
            chmod u+w "$run/$dest"
            staged="$staged $dest=$src"
            ;;
        *) set -- "$@" "$w" ;;
        esac
    done
    case " $* " in
    *" -nexusfile "*)
        if ! "$nb" --version 2>/dev/null | grep -q "NeXus/NXmx output: yes"; then
            echo "SKIP: row $name writes NeXus, and this nanobragg was built without HDF5"
            remove_dir "$scratch"
            exit 77
        fi
        ;;
    esac
    for d in $readonly_dirs; do
        chmod 555 "$run/$d" || die "row $name: cannot make $d read-only"
    done

    (cd "$run" && find . | sort) >"$scratch/before.list"
    (cd "$run" && exec "$nb" "$@") >"$scratch/output.log" 2>&1 </dev/null
    rc=$?
    (cd "$run" && find . | sort) >"$scratch/after.list"

    status=0
    [ "$rc" -eq "$want" ] || fail "exit status $rc, expected $want"
    if [ -n "$fragment" ] && ! grep -F -e "$fragment" "$scratch/output.log" >/dev/null; then
        fail "output does not contain: $fragment"
    fi
    # a sanitizer build reports memory errors, undefined behaviour and leaks
    if grep -E -e "(Address|Leak|Thread|Memory)Sanitizer|runtime error:" "$scratch/output.log" >/dev/null; then
        fail "sanitizer report in the output"
    fi
    for f in $keep; do
        [ -e "$run/$f" ] || fail "$f was not written"
    done
    for f in "$fixtures"/*; do
        b=$(basename "$f")
        if [ ! -f "$run/$b" ]; then
            fail "input $b was removed"
        elif ! cmp -s "$f" "$run/$b"; then
            fail "input $b was modified"
        fi
    done
    for s in $staged; do
        if ! cmp -s "$fixtures/${s#*=}" "$run/${s%%=*}"; then
            fail "staged input ${s%%=*} was modified or removed"
        fi
    done
    comm -13 "$scratch/before.list" "$scratch/after.list" >"$scratch/new.list"
    while IFS= read -r p; do
        b=$(basename "$p")
        case " $keep " in *" ${p#./} "*) continue ;; esac
        case $b in
        .*.??????) fail "stray temporary left behind: ${p#./}" ;;
        *) [ "$want" -ne 0 ] && fail "failed run left ${p#./} behind" ;;
        esac
    done <"$scratch/new.list"

    if [ "$status" -ne 0 ]; then
        echo "row: $line"
        echo "ran: cd $run && $nb $args"
        echo "--- end of its output:"
        tail -n 25 "$scratch/output.log"
        echo "scratch directory kept: $scratch"
        exit 1
    fi
    remove_dir "$scratch"
    exit 0
}

[ $# -ge 1 ] || die "usage: run_cli.sh row|check ..."
mode=$1
shift
case $mode in
row)
    [ $# -eq 5 ] || die "usage: run_cli.sh row NANOBRAGG CASES FIXTURES SCRATCH NAME"
    run_row "$@"
    ;;
check)
    [ $# -eq 2 ] || die "usage: run_cli.sh check CASES COUNT"
    check_table "$@"
    ;;
*)
    die "unknown mode '$mode' (row or check)"
    ;;
esac
