# lib-gc.sh - the scenario of the tests of the collection of packs (t2621..t2623), sourced after
# test-lib.sh with $GC_TYPE the storage (disk, s3, sftp, ftp) and a fixture made (FIXTURE_DB, FIXTURE_FS).
#
# gc_scenario: env prod with keep-daily = 2, four backups r1..r4 dated 1 to 4 January (r1, r2 expire), their
# manifests made incremental by hand (version 2, packs[]), and these objects in prod/packs/:
#     r1-000001  referenced by r1 r2 r3 r4      kept (made by an expired backup, still referenced)
#     r1-000002  referenced by r1               garbage once r1 goes; and a killed writer's temporary of it
#     r2-000001  referenced by r2               garbage once r2 goes
#     r3-000001  referenced by r3 r4            kept
#     r4-000001  referenced by r4               kept
#     20200101T000000Z-abcdef-000001           an id nobody knows, of 2020: garbage
#     $GC_RECENT-000001                         an id nobody knows, of now (another host's run): kept
#     README                                    no pack's name: left alone

# gc_store ARGS...: odbk-test-storage on the storage of $GC_TYPE
gc_store() { odbk-test-storage "$ODBK_CONF" "$GC_TYPE" "$@"; }

# gc_backdate ID 'YYYY-MM-DD HH:MM:SS': the backup's creation time in the catalog (retention reads it)
gc_backdate() { sqlite3 "$ODBK_CATALOG" "update backups set created_at = $(date -u -d "$2" +%s) where id = '$1'"; }

# gc_put_pack NAME: a random object prod/packs/NAME
gc_put_pack() { head -c $((1000 + RANDOM)) /dev/urandom | gc_store put "prod/packs/$1"; }

# gc_packs: the names under prod/packs/, sorted
gc_packs() { gc_store list prod/packs/ | awk '{print $1}' | sed 's|^prod/packs/||' | sort; }

# gc_v2 ID PACK...: backup ID's manifest in storage made version 2, incremental, referencing the PACKs
# (their stored size and SHA-256)
gc_v2() {
	local id=$1 name size sha packs='[]' key
	shift
	for name in "$@"; do
		size=$(gc_store stat "prod/packs/$name") || return 1
		sha=$(gc_store get "prod/packs/$name" | sha256sum | cut -d" " -f1) || return 1
		packs=$(jq -c --arg n "$name" --argjson s "$size" --arg h "$sha" '. + [{name: $n, size: $s, sha256: $h}]' \
			<<<"$packs") || return 1
	done
	key=prod/$id/backup-$id-manifest.json
	gc_store get "$key" >"$TRASH/m.json" &&
	jq --argjson p "$packs" '.odbk_manifest = 2 | .filestore_mode = "incremental" | .packs = ($p | sort_by(.name))' \
		"$TRASH/m.json" | gc_store put "$key"
}

# gc_kept_backups_whole ID...: each backup's manifest is stored and every pack it lists is stored with its
# size (what a restore of it reads)
gc_kept_backups_whole() {
	local id name size got
	for id in "$@"; do
		gc_store get "prod/$id/backup-$id-manifest.json" >"$TRASH/k.json" || { echo "# $id: no manifest" >&2; return 1; }
		jq -r '(.packs // [])[] | "\(.name) \(.size)"' "$TRASH/k.json" >"$TRASH/k.packs" || return 1
		while read -r name size; do
			got=$(gc_store stat "prod/packs/$name" 2>/dev/null) || { echo "# $id: pack $name lost" >&2; return 1; }
			[ "$got" = "$size" ] || { echo "# $id: pack $name is $got bytes, not $size" >&2; return 1; }
		done <"$TRASH/k.packs"
	done
}

gc_expect_garbage() {
	printf '%s\n' "$r1-000002.tar.gz" "$r1-000002.tar.gz.odbk-tmp-99-1" "$r2-000001.tar.gz" \
		"20200101T000000Z-abcdef-000001.tar.gz" | sort
}

gc_expect_kept() {
	printf '%s\n' "$r1-000001.tar.gz" "$r3-000001.tar.gz" "$r4-000001.tar.gz" "$GC_RECENT-000001.tar.gz" README | sort
}

gc_scenario() {
	local storage=$GC_TYPE
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" "$storage" &&
	printf '\n[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\nkeep-last =\nkeep-daily = 2\n' \
		>>"$ODBK_CONF" &&
	rm -f "$ODBK_CATALOG" "$ODBK_CATALOG"-* &&
	gc_store rmprefix prod/ &&
	r1=$(odbk-create --quiet --no-filestore prod) && gc_backdate $r1 "2026-01-01 03:00:00" &&
	r2=$(odbk-create --quiet --no-filestore prod) && gc_backdate $r2 "2026-01-02 03:00:00" &&
	r3=$(odbk-create --quiet --no-filestore prod) && gc_backdate $r3 "2026-01-03 03:00:00" &&
	r4=$(odbk-create --quiet --no-filestore prod) && gc_backdate $r4 "2026-01-04 03:00:00" &&
	GC_RECENT=$(date -u +%Y%m%dT%H%M%SZ)-abcdef &&
	for p in $r1-000001 $r1-000002 $r2-000001 $r3-000001 $r4-000001 20200101T000000Z-abcdef-000001 \
		$GC_RECENT-000001; do
		gc_put_pack "$p.tar.gz" || return 1
	done &&
	gc_put_pack "$r1-000002.tar.gz.odbk-tmp-99-1" &&
	echo "not a pack" | gc_store put prod/packs/README &&
	gc_v2 $r1 $r1-000001.tar.gz $r1-000002.tar.gz &&
	gc_v2 $r2 $r1-000001.tar.gz $r2-000001.tar.gz &&
	gc_v2 $r3 $r1-000001.tar.gz $r3-000001.tar.gz &&
	gc_v2 $r4 $r1-000001.tar.gz $r3-000001.tar.gz $r4-000001.tar.gz &&
	test "$(gc_packs | wc -l)" = 9
}
