#!/usr/bin/env bash
# Where psql's lexer and odbk's filter could read a dump differently (parentheses around END, "1end",
# SJIS masking of the byte after a lead byte), the filter refuses the file; and a psql without
# \restrict, which would leave the filter as the only guard, is not used for plain SQL at all.
. "$(dirname "$0")/test-lib.sh"
test_description 'a dump psql could read otherwise than odbk is refused; psql without \restrict is not used'
require_service pg
require_program odbk-create odbk-restore

make_fixture target --db-mb 1 --fs-mb 1 --files 4 --seed 7
T_DB=$FIXTURE_DB T_FS=$FIXTURE_FS
odbk_conf prod "$T_DB" "$T_FS"
fingerprint "$T_DB" "$T_FS" >"$TRASH/target.fp"
PWNED=$TRASH/pwned

restore() { odbk-restore "$@" --confirm RESTORE; }
untouched() {
	fingerprint "$T_DB" "$T_FS" >now.fp && test_cmp "$TRASH/target.fp" now.fp && test ! -e "$PWNED" &&
	test -z "$(sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_'")"
}
# an Odoo zip holding only dump.sql (no filestore)
zip_of() {
	python3 - "$1" "$2" <<-'PY'
	import sys, zipfile
	with zipfile.ZipFile(sys.argv[1], "w") as z:
	    z.write(sys.argv[2], "dump.sql")
	    z.writestr("manifest.json", '{"odoo_dump": "1", "db_name": "src", "version": "17.0"}')
	PY
}

# name|what the refusal says|the file (printf format: \x81 bytes, %s the marker file)
cat >cases <<'EOF_CASES'
end-in-parens|COPY after|CREATE FUNCTION f() BEGIN (end);\nCOPY t FROM stdin;\n\\! touch %s\n\\.\n
junk-end|COPY after|CREATE FUNCTION f() BEGIN 1end;\nCOPY t FROM stdin;\n\\! touch %s\n\\.\n
junk-create|COPY after|CREATE 1x FUNCTION f() BEGIN;\nCOPY t FROM stdin;\n\\! touch %s\n\\.\n
sjis-dollar-tags|non-ASCII byte in a dollar-quote tag|SET client_encoding = 'SJIS';\nSELECT $\x81A$ $\x81B$\n\\! touch %s\n$\x81A$;\n
sjis-backslash|backslash right after a non-ASCII byte|SET client_encoding = 'SJIS';\nSET standard_conforming_strings = off;\nSELECT '\x95\\\\\\\\', '\n\\! touch %s\n';\n
EOF_CASES

while IFS='|' read -r name says text; do
	test_expect_success "psql and the filter could disagree ($name): refused, 65, nothing run" "
		printf \"\$text\" \"\$PWNED\" >$name.sql && zip_of $name.zip $name.sql &&
		test_exit_code 65 restore --from-file $name.zip --to prod --no-safety-backup --no-filestore 2>err &&
		test_grep \"\$says\" err &&
		untouched
	"
done <cases

test_expect_success 'a psql without \restrict is not used for plain SQL: 69, naming it, target unchanged' '
	mkdir -p oldpsql && real=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1) &&
	printf "#!/bin/sh\ncase \"\$1\" in --version|-V) echo \"psql (PostgreSQL) 15.13\"; exit 0;; esac\nexec %s \"\$@\"\n" \
		"$real" >oldpsql/psql && chmod +x oldpsql/psql &&
	id=$(odbk-create prod --quiet) &&
	ODBK_PG_BINDIR=$TRASH/oldpsql test_exit_code 69 restore "$id" --no-safety-backup 2>err &&
	test_grep "cannot load a plain-SQL dump safely: it has no .restrict" err &&
	test_grep "15\\.13" err &&
	printf "SELECT 1;\n\\\\! touch %s\n" "$PWNED" >meta.sql && zip_of meta.zip meta.sql &&
	ODBK_PG_BINDIR=$TRASH/oldpsql test_exit_code 69 restore --from-file meta.zip --to prod --no-safety-backup \
		--no-filestore 2>err &&
	untouched &&
	restore "$id" --no-safety-backup && untouched
'
test_done
