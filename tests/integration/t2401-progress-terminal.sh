#!/usr/bin/env bash
# The progress display on a real terminal (a tmux pane of 80 columns) and as JSON lines: the bar's lines
# never wrap, a redraw leaves no stacked copy, the backup id printed on stdout stands alone on its line,
# the database phase shows a percentage estimated from the previous backup, and a restore labels its
# safety backup's phases, odbk-download --output a phase per file.  The screen is read with tmux
# capture-pane while the backup runs.
. "$(dirname "$0")/test-lib.sh"
test_description 'progress on a terminal and as JSON lines'
require_service pg
require_program odbk-create odbk-restore odbk-list python3

if ! command -v tmux >/dev/null 2>&1; then
	[ "${ODBK_TEST_STRICT:-0}" = 1 ] && fail_setup "tmux not installed (tests/install-deps installs it)"
	skip_all "tmux not installed (tests/install-deps installs it)"
fi
TMUX_SOCK=odbk-t2401-$$
unset TMUX
tmux_() { tmux -L "$TMUX_SOCK" "$@"; }

# run_in_pane WIDTH NAME COMMAND...: run COMMAND in a fresh WIDTHx24 pane, its environment this shell's;
# snapshot the screen (lines joined as the terminal wrapped them) into NAME.snap.N every 50 ms until it
# ends, then the last screen into NAME.final and its exit code into NAME.rc
run_in_pane() {
	local width=$1 name=$2 i=0; shift 2
	export -p >"$TRASH/$name.env"
	printf '%q ' "$@" >"$TRASH/$name.cmd"
	cat >"$TRASH/$name.sh" <<-EOF
	. "$TRASH/$name.env"
	cd "$TRASH"
	$(cat "$TRASH/$name.cmd")
	echo \$? >"$TRASH/$name.rc.tmp" && mv "$TRASH/$name.rc.tmp" "$TRASH/$name.rc"
	exec sleep 120
	EOF
	rm -f "$TRASH/$name.rc" "$TRASH/$name".snap.*
	tmux_ new-session -d -s "$name" -x "$width" -y 24 "bash $TRASH/$name.sh" || return 1
	while [ ! -f "$TRASH/$name.rc" ] && [ $i -lt 2400 ]; do
		tmux_ capture-pane -p -J -t "$name" >"$TRASH/$name.snap.$i" 2>/dev/null
		i=$((i + 1))
		sleep 0.05
	done
	tmux_ capture-pane -p -J -t "$name" >"$TRASH/$name.final"
	tmux_ kill-session -t "$name"
	test -f "$TRASH/$name.rc"
}

# check_screens NAME: no bar line of any snapshot wider than 80 columns (-J joined what wrapped), no
# phase drawn twice on one screen
check_screens() {
	python3 - "$TRASH" "$1" <<-'EOF'
	import glob, re, sys
	trash, name = sys.argv[1], sys.argv[2]
	bad = 0
	for f in sorted(glob.glob(f"{trash}/{name}.snap.*")) + [f"{trash}/{name}.final"]:
	    lines = open(f, encoding="utf-8", errors="replace").read().split("\n")
	    for l in lines:   # the bar's lines; a message longer than the terminal wraps as any would
	        if len(l) > 80 and (l.startswith("[") or "%" in l or "B/s" in l):
	            print(f"# {f}: {len(l)} columns: {l!r}"); bad = 1
	    labels = [m.group(1) for l in lines for m in [re.match(r"^(\[[^]]*\] [a-z :]+?)  ", l)] if m]
	    for lab in set(labels):
	        if labels.count(lab) > 1:
	            print(f"# {f}: '{lab}' drawn {labels.count(lab)} times"); bad = 1
	sys.exit(bad)
	EOF
}

test_expect_success 'a fixture big enough to take a few seconds, and a first backup' '
	make_fixture src --db-mb 40 --fs-mb 20 --files 300 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	sed -i "/^\[storage disk\]\$/a verify = read" "$ODBK_CONFIG" &&   # the read-back has phases of its own
	odbk-create prod --progress none >first.id &&
	test_line_count = 1 first.id
'

test_expect_success 'odbk-create in an 80-column terminal: lines that fit, no copies, a percentage, the id alone' '
	test_when_finished "tmux_ kill-server 2>/dev/null || :" &&
	run_in_pane 80 create odbk-create prod --comment "on a terminal" &&
	test "$(cat create.rc)" = 0 &&
	ls create.snap.* >/dev/null &&
	check_screens create &&
	id=$(odbk-list prod --json | jq -r "map(select(.comment == \"on a terminal\")) | .[0].id") &&
	test -n "$id" && test "$id" != null &&
	grep -qx "$id" create.final &&
	cat create.snap.* | grep -E "^\[prod\] database  .*~[0-9]+%.* of ~[0-9.]+ [kMG]?B.*ETA ~" &&
	cat create.snap.* | grep -E "^\[prod\] filestore  .*[0-9]+%" &&
	! grep -E "\] (database|filestore|verify)" create.final &&
	grep -E "^odbk-create: prod: backup $id completed" create.final
'

test_expect_success 'a long env name is shortened, the figures stay' '
	test_when_finished "tmux_ kill-server 2>/dev/null || :" &&
	long=prod-with-an-environment-name-far-too-long-for-any-reasonable-terminal-width-at-all &&
	odbk_conf_env "$long" "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	odbk-create "$long" --progress none >/dev/null &&
	run_in_pane 80 long odbk-create "$long" --no-verify &&
	test "$(cat long.rc)" = 0 &&
	check_screens long &&
	cat long.snap.* | grep -E "^\[prod-with-an[a-z-]*\.\.\] database  .*~[0-9]+%.*MB/s.*ETA" &&
	lid=$(odbk-list "$long" --json | jq -r ".[0].id") &&
	grep -qx "$lid" long.final
'

test_expect_success 'a restore over the env: its safety backup and its load, labelled, in 80 columns' '
	test_when_finished "tmux_ kill-server 2>/dev/null || :" &&
	run_in_pane 80 restore odbk-restore "$(cat first.id)" --to prod --confirm RESTORE &&
	test "$(cat restore.rc)" = 0 &&
	check_screens restore &&
	cat restore.snap.* | grep -E "^\[prod\] safety backup: database  " &&
	cat restore.snap.* | grep -E "^\[prod\] restore: database  .* [0-9]+%" &&
	grep -E "^odbk-restore: safety backup of the previous state: " restore.final
'

test_expect_success 'odbk-list --rescan of a slow store on a terminal: a bar per storage (manifests read of those listed), gone at the end' '
	test_when_finished "tmux_ kill-server 2>/dev/null || :" &&
	fake_s3_start && fake_s3_storage slow && fake_s3_put_manifests old 24 &&
	faults "[{\"op\": \"get\", \"trickle\": 1}]" &&
	run_in_pane 80 rescan odbk-list --rescan --storage slow --limit 1 &&
	faults "[]" &&
	test "$(cat rescan.rc)" = 0 &&
	check_screens rescan &&
	cat rescan.snap.* | grep -E "^rescan slow  .*[0-9]+%  [0-9]+ of 24 manifests" &&
	! grep -E "^rescan slow " rescan.final &&
	grep -E "^odbk-list: 24 backups found in storage \(24 new\)" rescan.final
'

test_expect_success '--progress=json: each line an object with env, backup, phase, status; runs and phases end' '
	odbk-create prod --progress=json >json.id 2>create.json &&
	python3 - "$(cat json.id)" create.json <<-EOF
	import json, sys
	bid, path = sys.argv[1], sys.argv[2]
	ev = [json.loads(l) for l in open(path)]
	keys = {"env", "backup", "phase", "status", "bytes", "expected", "estimated", "elapsed"}
	assert all(keys <= set(e) for e in ev), "every field in every line"
	assert all(e["env"] == "prod" for e in ev)
	assert ev[0]["phase"] is None and ev[0]["status"] == "started", ev[0]
	assert ev[-1]["phase"] is None and ev[-1]["status"] == "finished" and ev[-1]["backup"] == bid, ev[-1]
	assert all(e["backup"] == bid for e in ev[1:]), "the id once known"
	for ph in ("database", "filestore", "verify database", "verify filestore"):
	    st = [e["status"] for e in ev if e["phase"] == ph]
	    assert st[0] == "started" and st[-1] == "finished" and st.count("finished") == 1, (ph, st)
	db = [e for e in ev if e["phase"] == "database"]
	assert all(e["estimated"] and e["expected"] > 0 for e in db), "the database size comes from the last backup"
	fs = [e for e in ev if e["phase"] == "filestore"][-1]
	assert not fs["estimated"] and fs["bytes"] > 0
	EOF
'

test_expect_success '--progress=json of a restore: the safety backup is a phase of the run, its phases labelled' '
	odbk-restore "$(cat first.id)" --to prod --confirm RESTORE --progress=json >/dev/null 2>restore.json.all &&
	grep "^{" restore.json.all >restore.json &&
	python3 - "$(cat first.id)" restore.json <<-EOF
	import json, sys
	src, path = sys.argv[1], sys.argv[2]
	ev = [json.loads(l) for l in open(path)]
	phases = [e["phase"] for e in ev]
	for ph in ("safety backup", "safety backup: database", "safety backup: filestore",
	           "safety backup: verify database", "restore: database", "restore: filestore"):
	    st = [e["status"] for e in ev if e["phase"] == ph]
	    assert st and st[0] == "started" and st[-1] == "finished", (ph, st)
	assert ev[0]["phase"] is None and ev[-1]["phase"] is None and ev[-1]["status"] == "finished"
	assert ev[-1]["backup"] == src and ev[-1]["env"] == "prod"
	safety = [e["backup"] for e in ev if (e["phase"] or "").startswith("safety backup:")]
	assert len(set(safety)) == 1 and safety[0] != src, "the safety backup names its own id"
	last = [e for e in ev if e["phase"] == "restore: database"][-1]
	assert last["bytes"] == last["expected"] > 0 and not last["estimated"]
	EOF
'

test_expect_success '--progress=json of odbk-download --output: a phase per file, all its stored bytes' '
	bid=$(cat first.id) &&
	odbk-download "$bid" --output "$TRASH/dl" --progress=json >dl.out 2>dl.json &&
	python3 - "$bid" dl.json "$TRASH/dl" <<-EOF
	import json, os, sys
	bid, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
	ev = [json.loads(l) for l in open(path)]
	assert ev[0]["phase"] is None and ev[0]["status"] == "started" and ev[0]["backup"] == bid, ev[0]
	assert ev[-1]["phase"] is None and ev[-1]["status"] == "finished" and ev[-1]["env"] == "prod", ev[-1]
	for role, suffix in (("database", "-database.sql.gz"), ("filestore", "-filestore.tar.gz")):
	    last = [e for e in ev if e["phase"] == role][-1]
	    size = os.path.getsize(f"{out}/backup-{bid}{suffix}")
	    assert last["status"] == "finished" and last["bytes"] == last["expected"] == size, (last, size)
	EOF
	test_line_count = 3 dl.out &&
	odbk-download "$bid" --output "$TRASH/dl2" --as zip --progress=json >/dev/null 2>zip.json &&
	jq -s -e "map(select(.status == \"finished\") | .phase) == [\"database\", \"filestore\", null]" zip.json
'

test_expect_success '--progress=json of a failing run: the phase under way and the run fail, with the error' '
	odbk_conf_env broken "$FIXTURE_DB" "$TRASH/no-such-filestore" disk &&
	test_exit_code 66 odbk-create broken --progress=json 2>broken.json &&
	grep "^{" broken.json >broken.lines &&
	python3 - broken.lines <<-EOF
	import json, sys
	ev = [json.loads(l) for l in open(sys.argv[1])]
	assert ev[0]["status"] == "started" and ev[-1]["status"] == "failed", ev
	assert ev[-1]["phase"] is None and "no-such-filestore" in ev[-1]["error"], ev[-1]
	assert ev[-1]["env"] == "broken"
	EOF
'

test_done
