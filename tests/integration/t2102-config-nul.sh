#!/usr/bin/env bash
# A NUL byte in odbk.conf used to end the file there: the sections after it vanished without a word.
# Now every program refuses the file naming file:line (exit 78).
. "$(dirname "$0")/test-lib.sh"
test_description 'a NUL byte in odbk.conf is a configuration error'
require_program odbk-policy odbk-list

test_expect_success 'setup: a config whose second env follows a NUL byte' '
	(umask 077 && printf "[storage disk]\ntype = local\npath = %s\n[env a]\ndatabase = a\nstorage = disk\nfilestore = /x\0\n[env b]\ndatabase = b\nstorage = disk\n" "$TRASH/st" >nul.conf) &&
	chmod 600 nul.conf
'

test_expect_success 'odbk-policy check: exit 78, file:line of the NUL byte' '
	test_exit_code 78 odbk-policy check --config nul.conf 2>err &&
	test_grep "nul.conf:7: NUL byte" err
'

test_expect_success 'odbk-list refuses it too (exit 78), nothing created' '
	test_exit_code 78 odbk-list --config nul.conf --catalog "$TRASH/c.db" 2>err &&
	test_grep "nul.conf:7: NUL byte" err &&
	test ! -e "$TRASH/st"
'

test_done
