# lib_check.sh: the check helpers every shell test library shares (ok, bad, finish, expect_rc, says, says_in, snap, unchanged, cols); sourced, not a test itself.
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

# The stderr expect_rc kept holds TEXT (a fixed string).
says() { # TEXT WHAT
    says_in err.txt "$1" "$2"
}
says_in() { # FILE TEXT WHAT
    grep -qF -- "$2" "$1" && ok "$3: says '$2'" || bad "$3: lacks '$2': $(head -c 800 "$1")"
}

# Every entry of DIR (name, type, size, mode, link target, mtime) and every file's bytes:
# what a refused command must leave as it was.
snap() { # DIR
    (cd "$1" && find . -printf '%p %y %s %m %l %T@\n' | sort && find . -type f -exec md5sum {} + | sort -k2)
}
unchanged() { # DIR BEFORE WHAT: DIR's snap is still BEFORE
    if [ "$(snap "$1")" = "$2" ]; then ok "$3: $1 byte-identical"; else
        bad "$3: $1 changed"
        diff <(echo "$2") <(snap "$1") | head -8 >&2
    fi
}

# The columns of metrics.csv a rerun or a resumed run reproduces exactly: all but the
# timings (images_per_s, train_s, wall_s).
cols() { cut -d, -f1-6 "$1"; }
