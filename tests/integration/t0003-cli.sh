#!/usr/bin/env bash
# Every program answers --help and --version with exit 0, refuses an unknown option with exit 64 and a
# did-you-mean, and has a man page that documents every option its --help lists (so they cannot drift).
. "$(dirname "$0")/test-lib.sh"
test_description 'command-line basics, --help against the man pages'

ROOT=$ODBK_SRC
progs=$(cd "$ODBK_BUILD/bin" 2>/dev/null && ls odbk-* 2>/dev/null)
[ -n "$progs" ] || skip_all "no programs built in $ODBK_BUILD/bin"

# man_documents_help PROG: PROG's man page names every long option of its --help (as \-\-NAME)
man_documents_help() {
	local man=$ODBK_SRC/man/$1.1 o
	test -f "$man" || { echo "no man page $man" >&2; return 1; }
	for o in $("$1" --completion-helper | sed 's/=$//; s/^--//'); do
		grep -qF -e "\\-\\-$o" -e "\\-\\-${o//-/\\-}" -- "$man" ||
			{ echo "--$o is missing from $man" >&2; return 1; }
	done
}

for P in $progs; do
	test_expect_success "$P --help and --version exit 0" '
		"$P" --help >out && grep -q "^usage: $P" out && grep -q "See $P(1)" out &&
		"$P" --version >out && grep -q "^$P [0-9]" out
	'
	# odbk-compliance exits with monitoring codes (SPEC §3): a bad command line is UNKNOWN, 3
	usage=64; [ "$P" = odbk-compliance ] && usage=3
	test_expect_success "$P refuses an unknown option with $usage and a hint" '
		test_exit_code $usage "$P" --confgi x 2>err && grep -q "did you mean .--config." err
	'
	test_expect_success "$P has a man page documenting every option of --help" '
		man_documents_help "$P"
	'
	test_expect_success "$P: every --help line fits 80 columns, subcommands too" '
		"$P" --help >help &&
		for sub in $(sed -n "/^subcommands:/,/^\$/s/^  \([a-z]*\) .*/\1/p" help); do
			"$P" "$sub" --help >>help || return 1
		done &&
		awk "length > 80 { print FILENAME \": \" length \": \" \$0; bad = 1 } END { exit bad }" help
	'
	test_expect_success "$P: each short option means one thing" '
		"$P" --help | sed -n "s/^  -\\([A-Za-z]\\), --.*/\\1/p" | sort | uniq -d >dups &&
		test_must_be_empty dups
	'
done

# r2_block FILE: the [storage r2] example of FILE, from its header to the next blank line, roff escapes undone
r2_block() {
	sed -n "/^\[storage r2\]/,/^\$/p" "$1" | sed "s/\\\\-/-/g; /^\$/d"
}
test_expect_success 'README'"'"'s R2 example is the one of odbk.conf(5)' '
	r2_block "$ROOT/README.md" >readme.r2 && r2_block "$ROOT/man/odbk.conf.5" >man.r2 &&
	test -s readme.r2 && test_cmp man.r2 readme.r2
'

test_expect_success 'the man pages pass mandoc -Tlint' '
	command -v mandoc >/dev/null || { echo "# mandoc not installed" >&2; exit 1; }
	mandoc -Tlint -Wwarning "$ROOT"/man/*.[157]
'

test_expect_success 'make install: programs, bash and zsh completion, systemd units, an example config of mode 600' '
	make -C "$ROOT" -s install PREFIX=/usr DESTDIR="$TRASH/inst" >/dev/null &&
	i=$TRASH/inst && u=$i/usr/lib/systemd/system &&
	test -x "$i/usr/bin/odbk-create" && test -f "$u/odbk.timer" &&
	cmp "$ROOT/completions/_odbk" "$i/usr/share/zsh/vendor-completions/_odbk" &&
	test -f "$i/usr/share/bash-completion/completions/odbk-restore" &&
	grep -qF "ExecStart=/bin/sh -c '"'"'/usr/bin/odbk-create --due --quiet; rc=\$\$?; /usr/bin/odbk-prune --all --quiet" "$u/odbk.service" &&
	test "$(stat -c %a "$i/etc/odbk/odbk.conf")" = 600 &&
	test "$(stat -c %a "$i/etc/odbk")" = 700 &&
	"$ODBK_BUILD/bin/odbk-policy" check --config "$i/etc/odbk/odbk.conf" >out &&
	echo changed >>"$i/etc/odbk/odbk.conf" &&
	make -C "$ROOT" -s install PREFIX=/usr DESTDIR="$TRASH/inst" >/dev/null &&
	tail -n1 "$i/etc/odbk/odbk.conf" | grep -qx changed &&
	if command -v systemd-analyze >/dev/null; then
		systemd-analyze verify --man=no "$u/odbk.service" "$u/odbk.timer" 2>err; test_must_be_empty err
	fi
'

test_done
