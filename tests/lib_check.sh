# lib_check.sh: the check helpers every shell test library shares (ok, bad, finish, expect_rc); sourced, not a test itself.
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# The test's last line: its verdict, and exit 1 when any check failed. NOTE (optional)
# is added to a failure line, e.g. what replays the failing case.
finish() { # NAME [NOTE]
    if [ "$FAILS" -gt 0 ]; then
        echo "$1: $FAILS check(s) failed${2:+ ($2)}" >&2
        exit 1
    fi
    echo "$1: all checks passed"
}

# Runs a command, keeps its stdout in out.txt and its stderr in err.txt, and checks its exit code.
expect_rc() { # CODE WHAT COMMAND...
    local want=$1 what=$2
    shift 2
    "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
        bad "$what: exit $rc, expected $want"
        sed 's/^/    /' err.txt >&2
    fi
}
