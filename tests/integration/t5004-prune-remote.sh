#!/usr/bin/env bash
# t5004 - odbk-prune against each remote storage type of the testbed (S3, SFTP, FTP): the expired
# backups' objects disappear, the others stay byte for byte, a dry run deletes nothing.  A type whose
# service is not running is skipped; so is a type whose driver is not built in yet.  Remote servers
# refuse requests signed with a clock far off (S3: RequestTimeTooSkewed), so the backups are made now
# and dated in the past in the catalog afterwards (retention reads the catalog's created_at).
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-prune against S3, SFTP and FTP storage'
require_service pg
require_program odbk-create odbk-prune odbk-test-storage sqlite3 jq

export TZ=UTC

# backdate ID 'YYYY-MM-DD HH:MM:SS': set the backup's creation time in the catalog
backdate() {
	sqlite3 "$ODBK_CATALOG" "update backups set created_at = $(date -u -d "$2" +%s) where id = '$1'"
}

# objects TYPE FILE: "KEY SHA256" of every object of prod in the storage
objects() {
	local key size
	odbk-test-storage "$ODBK_CONF" "$1" list prod/ | while read -r key size; do
		printf '%s %s\n' "$key" "$(odbk-test-storage "$ODBK_CONF" "$1" get "$key" | sha256sum | cut -d' ' -f1)"
	done >"$2"
}

test_expect_success 'setup: the fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3
'

for type in s3 sftp ftp; do
	P=$(echo "$type" | tr a-z A-Z)
	test_have_prereq "$P" || { test_expect_success "$P" "$type: prune" 'true'; continue; }
	# a driver not in this build: say so once and go on
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" "$type"
	if odbk-test-storage "$ODBK_CONF" "$type" list prod/ 2>"$TRASH/driver.err" >/dev/null ||
		! grep -q "unknown storage type" "$TRASH/driver.err"; then
		test_set_prereq "DRIVER_$P"
	else
		echo "# $type: no driver in this build ($(cat "$TRASH/driver.err")); skipped"
	fi

	test_expect_success "$P,DRIVER_$P" "$type: four backups, a dry run deletes nothing" '
		odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" '"$type"' &&
		printf "\n[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\nkeep-last =\nkeep-daily = 2\n" >>"$ODBK_CONF" &&
		rm -f "$ODBK_CATALOG" &&
		r1=$(odbk-create --quiet prod) && backdate $r1 "2026-01-01 03:00:00" &&
		r2=$(odbk-create --quiet prod) && backdate $r2 "2026-01-02 03:00:00" &&
		r3=$(odbk-create --quiet prod) && backdate $r3 "2026-01-03 03:00:00" &&
		r4=$(odbk-create --quiet prod) && backdate $r4 "2026-01-04 03:00:00" &&
		objects '"$type"' before &&
		test "$(cut -d/ -f2 before | sort -u | wc -l)" = 4 &&
		odbk-prune --dry-run --json prod >dry.json &&
		test "$(jq -r "[.[0].backups[] | select(.action == \"expire\") | .id] | sort | join(\" \")" dry.json)" = "$(printf "%s\n" $r1 $r2 | sort | tr "\n" " " | sed "s/ $//")" &&
		objects '"$type"' after && test_cmp before after
	'

	test_expect_success "$P,DRIVER_$P" "$type: prune removes exactly the expired backups' objects" '
		odbk-prune prod >out &&
		printf "%s\n" $r1 $r2 | sort >expect && sort out >actual && test_cmp expect actual &&
		grep -v -e "/$r1/" -e "/$r2/" before >expect &&
		objects '"$type"' after && test_cmp expect after &&
		test "$(sqlite3 "$ODBK_CATALOG" "select group_concat(status, \",\") from (select status from backups order by created_at)")" = "expired,expired,completed,completed"
	'

	test_expect_success "$P,DRIVER_$P" "$type: the leftovers of a failed backup are removed, its row stays" '
		sqlite3 "$ODBK_CATALOG" "update backups set status = '\''failed'\'' where id = '\''$r3'\''" &&
		sqlite3 "$ODBK_CATALOG" "insert into gc_due (env, storage, since) values ('\''prod'\'', '\''$type'\'', 0)" &&
		odbk-prune prod >out &&
		echo "$r3" >expect && test_cmp expect out &&
		grep -v -e "/$r1/" -e "/$r2/" -e "/$r3/" before >expect &&
		objects '"$type"' after && test_cmp expect after &&
		test "$(sqlite3 "$ODBK_CATALOG" "select status from backups where id = '\''$r3'\''")" = failed
	'
done

test_done
