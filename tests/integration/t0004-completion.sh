#!/usr/bin/env bash
# Shell completion: bash (completions/odbk.bash) and zsh (completions/_odbk) both ask the program
# (`PROG --completion-helper -- WORDS...`): an option's values (short options too, never env names),
# env and storage names from the config given with --config, backup ids from the catalog (completed
# ones only) for odbk-restore, odbk-download and odbk-prune --backup, odbk-policy's subcommands, and this
# host's users for odbk-restore --filestore-owner.
. "$(dirname "$0")/test-lib.sh"
test_description 'bash and zsh completion'
require_service pg

# bash_complete WORD... : the candidates bash offers for the last word, one per line, sorted
bash_complete() {
	bash --norc --noprofile -c '
		. "$1/completions/odbk.bash"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_odbk
		printf "%s\n" "${COMPREPLY[@]}"' bash "$ODBK_SRC" "$@" | sed "/^$/d" | sort
}

# zsh_complete WORD... : the same through the zsh function, with compadd and _files stubbed to print
# what they were given (":files" and ":dirs" for the path completions)
zsh_complete() {
	zsh -f -c '
		fpath=("$1/completions" $fpath); shift
		compadd() { [[ $1 == -a ]] && print -rl -- "${(@P)2}"; }
		_files() { [[ $1 == -/ ]] && print ":dirs" || print ":files"; }
		autoload -Uz _odbk
		words=("$@"); CURRENT=$#
		_odbk' zsh "$ODBK_SRC" "$@" | sed "/^$/d" | sort
}

test_expect_success 'setup: envs prod and staging, storages disk and offsite, two backups and a failed one' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 3 &&
	odbk_conf prod "$FIXTURE_DB" "$FIXTURE_FS" &&
	odbk_conf_storage disk offsite &&
	odbk_conf_env staging "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	odbk-create prod >id1 && sleep 1.1 && odbk-create prod >id2 &&
	fake_pg_dump_dying "$TRASH/fakebin" &&
	{ ODBK_PG_BINDIR=$TRASH/fakebin odbk-create staging 2>/dev/null; test $? = 1; } &&
	odbk-list --status failed --json | jq -r ".[0].id" >failed && test -s failed &&
	sort id1 id2 >ids &&
	(umask 077 && printf "[storage far]\ntype = local\npath = %s\n[env other]\nstorage = far\n" "$TRASH/far" \
		>other.conf) &&
	printf "prod\nstaging\n" >envs && printf "disk\noffsite\n" >storages
'

for sh in bash zsh; do
	test_expect_success "$sh: backup ids for odbk-restore, odbk-download, odbk-prune --backup and -b" '
		${sh}_complete odbk-restore "" >out && test_cmp ids out &&
		${sh}_complete odbk-download --json "" >out && test_cmp ids out &&
		${sh}_complete odbk-prune --backup "" >out && test_cmp ids out &&
		${sh}_complete odbk-prune -b "" >out && test_cmp ids out &&
		! grep -q "$(cat failed)" out
	'

	test_expect_success "$sh: the catalog of --catalog is the one read, and never created" '
		${sh}_complete odbk-restore --catalog "$TRASH/none.db" "" >out && test_must_be_empty out &&
		test ! -e "$TRASH/none.db"
	'

	test_expect_success "$sh: short options that take values complete their values, not env names" '
		${sh}_complete odbk-create -s "" >out && test_cmp storages out &&
		${sh}_complete odbk-create -t "" >out &&
		printf "manual\npre-destroy\npre-restore\npre-upgrade\nscheduled\n" >expect && test_cmp expect out &&
		${sh}_complete odbk-create -f "" >out && printf "dump\nodbk\nzip\n" >expect && test_cmp expect out &&
		${sh}_complete odbk-create -r "" >out &&
		printf "daily\nmonthly\npermanent\nweekly\nyearly\n" >expect && test_cmp expect out &&
		${sh}_complete odbk-list -e "" >out && test_cmp envs out &&
		${sh}_complete odbk-compliance -c "" >out && test_must_be_empty out &&
		${sh}_complete odbk-create -m "" >out && test_must_be_empty out
	'

	test_expect_success "$sh: env and storage names come from the config given with --config / -c" '
		${sh}_complete odbk-create "" >out && test_cmp envs out &&
		${sh}_complete odbk-create --config other.conf "" >out && echo other >expect && test_cmp expect out &&
		${sh}_complete odbk-create -c other.conf --storage "" >out && echo far >expect && test_cmp expect out &&
		${sh}_complete odbk-restore --config other.conf --to "" >out && echo other >expect && test_cmp expect out
	'

	test_expect_success "$sh: options, odbk-policy subcommands and their options" '
		${sh}_complete odbk-restore --new >out && echo --new-db >expect && test_cmp expect out &&
		${sh}_complete odbk-policy "" >out &&
		printf "check\ndue\nnext\nplan\nshow\n" >expect && test_cmp expect out &&
		${sh}_complete odbk-policy plan --keep-within-d >out && echo --keep-within-daily >expect &&
		test_cmp expect out &&
		${sh}_complete odbk-policy show "" >out && test_cmp envs out
	'

	test_expect_success "$sh: users of this host for --filestore-owner" '
		${sh}_complete odbk-restore --filestore-owner ro >out && test_grep "^root$" out &&
		! grep -v "^ro" out &&
		${sh}_complete odbk-restore --filestore-owner "" >out && test "$(wc -l <out)" = "$(getent passwd | wc -l)"
	'

	test_expect_success "$sh: files for --config, --times and --from-file, directories for --output" '
		mkdir -p sub.d && : >sub.file &&
		${sh}_complete odbk-create --config sub >out &&
		if [ $sh = bash ]; then printf "sub.d\nsub.file\n" >expect; else echo :files >expect; fi &&
		test_cmp expect out &&
		${sh}_complete odbk-download --output sub >out &&
		if [ $sh = bash ]; then echo sub.d >expect; else echo :dirs >expect; fi &&
		test_cmp expect out
	'
done

# In a real zsh on a terminal (tmux): compinit loads completions/_odbk by its #compdef line.
test_expect_success 'zsh on a terminal: Tab lists the types of --type and the ids of odbk-restore' '
	command -v tmux >/dev/null || { echo "# tmux not installed" >&2; exit 1; }
	sock=odbk-t0004-$$ && mkdir zdot &&
	printf "%s\n" "fpath=($ODBK_SRC/completions \$fpath)" "autoload -Uz compinit && compinit -u -d $TRASH/zdot/dump" \
		"path=($(dirname "$(command -v odbk-restore)") \$path)" "PS1=\"%% \"" >zdot/.zshrc &&
	test_when_finished "tmux -L $sock kill-server 2>/dev/null; true" &&
	tmux -L $sock new-session -d -x 120 -y 20 \
		"env ZDOTDIR=$TRASH/zdot ODBK_CONFIG=$ODBK_CONFIG ODBK_CATALOG=$ODBK_CATALOG zsh -i" &&
	sleep 1 && tmux -L $sock send-keys "odbk-create --type " Tab && sleep 1.5 &&
	tmux -L $sock capture-pane -p >screen &&
	test_grep "manual +pre-destroy +pre-restore +pre-upgrade +scheduled" screen &&
	tmux -L $sock send-keys C-c && sleep 0.5 &&
	tmux -L $sock send-keys "odbk-restore " Tab && sleep 1.5 &&
	tmux -L $sock send-keys Tab && sleep 1.5 &&   # the first Tab inserts the ids'"'"' common prefix
	tmux -L $sock capture-pane -p >screen &&
	test_grep "$(cat id1)" screen && test_grep "$(cat id2)" screen && ! grep -q "$(cat failed)" screen
'

test_expect_success 'bash: a prefix narrows the backup ids' '
	bash_complete odbk-restore "$(sed "s/.$//" id2)" >out && test_cmp id2 out
'

test_expect_success 'a value outside an option vocabulary: exit 64 with a did-you-mean, nothing done' '
	test_exit_code 64 odbk-create --type schedule prod >out 2>err &&
	test_grep "^odbk-create: error: --type: unknown type .schedule. \(did you mean .scheduled.\?\)$" err &&
	test_must_be_empty out &&
	test_exit_code 64 odbk-list --status complete 2>err && test_grep "did you mean .completed." err &&
	test_exit_code 64 odbk-create --progress jsn prod 2>err && test_grep "did you mean .json." err &&
	test_exit_code 64 odbk-download --as tar "$(cat id1)" 2>err && test_grep "unknown form .tar. \(zip\)" err &&
	test "$(odbk-list --json prod | jq length)" = 2
'

test_done
