#!/usr/bin/env bash
# A program that only reads storage or reports never writes to it: on a local storage of before the
# marker (odbk manifests, no .odbk-storage), odbk-download --output, odbk-prune --dry-run (of one backup
# and of every env), odbk-list --verify, odbk-restore --test and odbk-policy check --probe each do their
# work and leave the storage as it was: no marker written (they used to write one on their way).  A
# writing program (odbk-list --rescan, odbk-create) writes it, once.
. "$(dirname "$0")/test-lib.sh"
test_description 'read-only commands write no .odbk-storage marker'
require_service pg
require_program odbk-create odbk-download odbk-prune odbk-list odbk-restore odbk-policy

make_fixture src --db-mb 1 --fs-mb 1 --files 3
odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS"
ST=$TRASH/storage/disk
tree() { (cd "$ST" && find . -printf '%p %s %T@\n' | sort); }

test_expect_success 'setup: a backup, then its storage made one of before the marker' '
	odbk-create prod --quiet >id && test -f "$ST/.odbk-storage" &&
	rm "$ST/.odbk-storage" && tree >tree.before
'

test_expect_success 'odbk-download --output: the files fetched, nothing written to the storage' '
	odbk-download "$(cat id)" --output "$TRASH/dl" >/dev/null &&
	ls "$TRASH/dl" | grep -q manifest &&
	test ! -e "$ST/.odbk-storage" && tree >tree.now && test_cmp tree.before tree.now
'

test_expect_success 'odbk-prune --dry-run (one backup, every env): a plan, nothing written' '
	odbk-prune --dry-run --backup "$(cat id)" --force >/dev/null &&
	odbk-prune --all --dry-run >/dev/null &&
	test ! -e "$ST/.odbk-storage" && tree >tree.now && test_cmp tree.before tree.now
'

test_expect_success 'odbk-list --verify: verified, nothing written to the storage' '
	odbk-list --verify >/dev/null &&
	test "$(odbk-list --json | jq -r ".[0].verified")" = true &&
	test ! -e "$ST/.odbk-storage" && tree >tree.now && test_cmp tree.before tree.now
'

test_expect_success 'odbk-restore --test: the scratch copy checked, nothing written to the storage' '
	odbk-restore --test "$(cat id)" >/dev/null 2>err &&
	test ! -e "$ST/.odbk-storage" && tree >tree.now && test_cmp tree.before tree.now
'

test_expect_success 'odbk-policy check --probe: ok, nothing written to the storage' '
	odbk-policy check --probe >out && test_grep "^storage disk: ok" out &&
	test ! -e "$ST/.odbk-storage" && tree >tree.now && test_cmp tree.before tree.now
'

test_expect_success 'a writing program (odbk-list --rescan) gives it its marker' '
	odbk-list --rescan >/dev/null 2>&1 &&
	test_grep "^odbk-storage 1\$" "$ST/.odbk-storage" && cp "$ST/.odbk-storage" marker &&
	odbk-create prod --quiet >/dev/null && test_cmp marker "$ST/.odbk-storage"
'

test_expect_success 'a probe still refuses a file that is no marker (65), naming it' '
	echo junk >"$ST/.odbk-storage" &&
	test_exit_code 65 odbk-policy check --probe >out 2>err &&
	test_grep "^storage disk: FAILED: storage .disk. at $ST: its .odbk-storage marker" out &&
	cp marker "$ST/.odbk-storage"
'

test_done
