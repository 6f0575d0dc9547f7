#!/usr/bin/env bash
# odbk-list --rescan shows its progress on a terminal (issue 15): one line per storage, the manifests read
# of those listed ("rescan slow  [###---]  40%  8 of 20 manifests  3/s ETA 4s"), redrawn in place and
# taken off the screen at the end; nothing when stderr is not a terminal, nothing over --json (unless
# --progress names a mode), and --progress json gives the counts as JSON lines with "unit": "manifests".
# The terminal is a pty of script(1); the store is tests/fake/s3.py with every GET trickled over 0.5 s
# so that the scan lasts long enough to be redrawn.
. "$(dirname "$0")/test-lib.sh"
test_description 'rescan progress: manifests read of those listed, on a terminal only'
require_service pg
require_program odbk-list script jq curl

fake_s3_start
make_fixture src --db-mb 1 --fs-mb 1 --files 3
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
fake_s3_storage slow
N=20

# on_tty FILE CMD...: run CMD with stdin, stdout and stderr on a pty, what the terminal got into FILE
on_tty() {
	local out=$1; shift
	script -qefc "$(printf '%q ' "$@")" /dev/null >"$out" </dev/null
}

fresh() { rm -f "$ODBK_CATALOG" "$ODBK_CATALOG"-wal "$ODBK_CATALOG"-shm; }

test_expect_success "setup: $N manifests in the slow store, each GET trickled" '
	fake_s3_put_manifests old $N &&
	faults "[{\"op\": \"get\", \"trickle\": 0.5}]"
'

test_expect_success 'on a terminal: the manifests read of those listed, redrawn, cleared at the end' '
	fresh &&
	on_tty tty.out odbk-list --rescan --storage slow &&
	test_grep "rescan slow .* of $N manifests" tty.out &&
	test_grep "\b0 of $N manifests" tty.out &&
	tr "\r" "\n" <tty.out | grep -o "[0-9]* of $N manifests" | sort -u >counts &&
	test "$(wc -l <counts)" -ge 3 &&
	test_grep "$(printf "\033")\[J" tty.out &&
	test_grep "$N backups found in storage \($N new\)" tty.out
'

test_expect_success 'stderr not a terminal: no progress at all' '
	fresh &&
	odbk-list --rescan --storage slow >out 2>err &&
	test_grep ! "of $N manifests" err &&
	test_grep ! "$(printf "\033")" err &&
	test_grep "$N backups found in storage \($N new\)" err
'

test_expect_success 'on a terminal with --json: no progress over the data' '
	fresh &&
	on_tty json.out odbk-list --rescan --storage slow --json &&
	test "$(odbk-list --json | jq length)" = "$N" &&
	test_grep ! "of $N manifests" json.out &&
	test_grep ! "$(printf "\033")\[J" json.out
'

test_expect_success '--progress json: the counts as JSON lines, unit manifests' '
	fresh &&
	odbk-list --rescan --storage slow --progress json >out 2>err &&
	grep "^{" err | jq -c "select(.phase == \"rescan slow\")" >lines &&
	jq -e "select(.status == \"finished\") | .bytes == $N and .expected == $N and .unit == \"manifests\"" lines &&
	jq -se "map(select(.status == \"running\")) | length >= 1 and all(.unit == \"manifests\" and .expected == $N)" lines
'

test_done
