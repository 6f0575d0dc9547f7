#!/usr/bin/env bash
# t5002 - odbk-policy show, check and plan --times: outputs against expected ones, bad input, exit codes.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-policy show, check, plan --times'
require_program odbk-policy jq

export TZ=UTC

test_expect_success 'setup: a config with an organization and a custom policy' '
	(umask 077 && cat >odbk.conf <<-EOF) &&
	[storage disk]
	type = local
	path = $TRASH/storage

	[policy]
	keep-last = 3
	timezone = Europe/Brussels

	[env prod]
	database = prod
	storage = disk

	[env staging]
	database = staging
	storage = disk

	[policy prod]
	keep-daily = 7
	keep-within-yearly =
	EOF
	export ODBK_CONFIG=$TRASH/odbk.conf ODBK_CATALOG=$TRASH/catalog.db
'

test_expect_success 'show prod --json: every key with its source, file and line' '
	odbk-policy show prod --json >show.json &&
	jq -c "{env, custom}" show.json >actual &&
	echo "{\"env\":\"prod\",\"custom\":true}" >expect && test_cmp expect actual &&
	jq -c ".keys[] | select(.key | test(\"^(timezone|keep-last|keep-daily|keep-within-daily|keep-within-yearly|schedule)$\"))" show.json >actual &&
	cat >expect <<-EOF &&
	{"key":"schedule","value":"@daily","source":"default","file":null,"line":null}
	{"key":"timezone","value":"Europe/Brussels","source":"organization","file":"$TRASH/odbk.conf","line":7}
	{"key":"keep-last","value":"3","source":"organization","file":"$TRASH/odbk.conf","line":6}
	{"key":"keep-daily","value":"7","source":"custom","file":"$TRASH/odbk.conf","line":18}
	{"key":"keep-within-daily","value":"7d","source":"default","file":null,"line":null}
	{"key":"keep-within-yearly","value":"","source":"custom","file":"$TRASH/odbk.conf","line":19}
	EOF
	test_cmp expect actual
'

test_expect_success 'show staging inherits the organization; show alone is the organization' '
	odbk-policy show staging >out &&
	test_grep "^policy of staging: the organization" out &&
	test_grep "^keep-last +3 +organization +$TRASH/odbk.conf:6$" out &&
	test_grep "^keep-daily +- +default +-$" out &&
	odbk-policy show --json | jq -e ".env == null and .custom == false"
'

test_expect_success 'show of an unknown env: config error with a did-you-mean' '
	test_exit_code 78 odbk-policy show prdo 2>err &&
	test_grep "unknown environment .prdo. \(did you mean .prod.\?\)" err
'

test_expect_success 'check: ok' '
	odbk-policy check >out &&
	echo ok >expect && test_cmp expect out
'

test_expect_success 'check: every problem, one per line with file:line, exit 78' '
	cp odbk.conf good.conf &&
	test_when_finished "cp good.conf odbk.conf" &&
	cat >>odbk.conf <<-EOF &&

	[storage broken]
	type = local

	[policy staging]
	keep-weekly = -2

	[policy prdo]
	keep-daily = 1
	EOF
	sed -i "s/^keep-last = 3$/keep-lats = 3/" odbk.conf &&
	test_exit_code 78 odbk-policy check >out 2>err &&
	test_grep "^$TRASH/odbk.conf:21: \[storage broken\]" out &&
	test_grep "^$TRASH/odbk.conf:6: .*unknown key .keep-lats. \(did you mean .keep-last.\?\)" out &&
	test_grep "^$TRASH/odbk.conf:27: \[policy prdo\] .*does not exist \(did you mean .prod.\?\)" out &&
	test "$(wc -l <out)" -ge 3 &&
	test "$(sort out | uniq -d | wc -l)" = 0 &&
	test_grep "problems in" err
'

test_expect_success 'check: a policy without any rule is a problem (prune would refuse it)' '
	cp odbk.conf good.conf &&
	test_when_finished "cp good.conf odbk.conf" &&
	cat >>odbk.conf <<-EOF &&

	[policy staging]
	keep-last =
	keep-within-daily =
	keep-within-weekly =
	keep-within-monthly =
	keep-within-yearly =
	EOF
	test_exit_code 78 odbk-policy check >out &&
	test_grep "policy of .staging. has no retention rule" out
'

# eleven days of backups at 03:00 UTC, 4 January missed, two on the 10th
test_expect_success 'setup: times' '
	cat >times <<-EOF
	# a comment, then a blank line

	2026-01-01T03:00:00Z
	2026-01-02T03:00:00Z
	2026-01-03T03:00:00Z
	2026-01-05T04:00:00+01:00
	2026-01-06T03:00:00Z
	2026-01-07T03:00:00Z
	2026-01-08T03:00:00Z
	2026-01-09T03:00:00Z
	2026-01-10T03:00:00Z
	  2026-01-10T15:30:00Z
	EOF
'

test_expect_success 'plan --times --json with rule options: the exact plan' '
	odbk-policy plan --times times --json --keep-daily 3 --keep-weekly 2 --keep-last 1 >plan.json &&
	jq -c ".[]" plan.json >actual &&
	cat >expect <<-EOF &&
	{"created_at":"2026-01-10T15:30:00Z","action":"keep","reasons":["last","daily","weekly"]}
	{"created_at":"2026-01-10T03:00:00Z","action":"expire","reasons":[]}
	{"created_at":"2026-01-09T03:00:00Z","action":"keep","reasons":["daily"]}
	{"created_at":"2026-01-08T03:00:00Z","action":"keep","reasons":["daily"]}
	{"created_at":"2026-01-07T03:00:00Z","action":"expire","reasons":[]}
	{"created_at":"2026-01-06T03:00:00Z","action":"expire","reasons":[]}
	{"created_at":"2026-01-05T03:00:00Z","action":"expire","reasons":[]}
	{"created_at":"2026-01-03T03:00:00Z","action":"keep","reasons":["weekly"]}
	{"created_at":"2026-01-02T03:00:00Z","action":"expire","reasons":[]}
	{"created_at":"2026-01-01T03:00:00Z","action":"expire","reasons":[]}
	EOF
	test_cmp expect actual
'

test_expect_success 'plan --times from stdin, with the organization policy (no rule option), in its zone' '
	odbk-policy plan --times - --json <times >plan.json &&
	test "$(jq length plan.json)" = 10 &&
	jq -r ".[0].reasons | join(\",\")" plan.json >actual &&
	echo "last,within-daily 7d,within-weekly 4w,within-monthly 12m,within-yearly 2y" >expect &&
	test_cmp expect actual &&
	jq -r "[.[] | select(.action == \"keep\") | .created_at] | join(\" \")" plan.json >actual &&
	echo "2026-01-10T15:30:00Z 2026-01-10T03:00:00Z 2026-01-09T03:00:00Z 2026-01-08T03:00:00Z 2026-01-07T03:00:00Z 2026-01-06T03:00:00Z 2026-01-05T03:00:00Z 2026-01-03T03:00:00Z 2026-01-01T03:00:00Z" >expect &&
	test_cmp expect actual
'

test_expect_success 'plan --times --tz: days in another zone' '
	printf "2026-01-01T21:30:00Z\n2026-01-01T22:30:00Z\n2026-01-01T23:30:00Z\n" >late &&
	odbk-policy plan --times late --keep-daily 2 --tz UTC --json | jq -c "[.[].action == \"keep\"]" >actual &&
	echo "[true,false,true]" >expect && test_cmp expect actual &&
	odbk-policy plan --times late --keep-daily 2 --tz Europe/Brussels --json | jq -c "[.[].action == \"keep\"]" >actual &&
	echo "[true,true,false]" >expect && test_cmp expect actual
'

test_expect_success 'plan --times: the readable table' '
	odbk-policy plan --times times --keep-daily 2 >out &&
	test_grep "^policy: keep-daily 2 \(UTC\)$" out &&
	test_grep "^2026-01-10T15:30:00Z +keep +daily$" out &&
	test_grep "^2026-01-10T03:00:00Z +prune *$" out &&
	test_grep "^10 times: 2 kept, 8 pruned$" out
'

test_expect_success 'plan --keep-weekly unlimited keeps one backup of every week' '
	odbk-policy plan --times times --keep-weekly unlimited --json |
		jq -r "[.[] | select(.action == \"keep\") | .created_at] | join(\" \")" >actual &&
	echo "2026-01-10T15:30:00Z 2026-01-03T03:00:00Z 2026-01-01T03:00:00Z" >expect && test_cmp expect actual
'

test_expect_success 'bad input: clear one-line errors with the right exit codes' '
	test_exit_code 64 odbk-policy plan --times times --keep-daily -1 2>err &&
	test_grep "^odbk-policy: error: --keep-daily: invalid count .-1.: negative values are not allowed$" err &&
	test_grep "unlimited" err &&
	test_exit_code 64 odbk-policy plan --times times --keep-daily 7x 2>err &&
	test_grep "^odbk-policy: error: --keep-daily: invalid count .7x." err &&
	test_exit_code 64 odbk-policy plan --times times --keep-daily 2>err &&
	test_grep "option .--keep-daily. needs a value" err &&
	test_exit_code 64 odbk-policy plan --times times --keep-dialy 3 2>err &&
	test_grep "unknown option .--keep-dialy. \(did you mean .--keep-daily.\?\)" err &&
	test_exit_code 64 odbk-policy plan --times times --keep-within-weekly 4x 2>err &&
	test_exit_code 64 odbk-policy plan --times times --keep-daily 1 --tz Europe/Bruxelles 2>err &&
	test_exit_code 64 odbk-policy plan 2>err &&
	test_exit_code 64 odbk-policy plan prod --times times 2>err &&
	test_exit_code 64 odbk-policy plna 2>err &&
	test_grep "did you mean .plan." err &&
	test_exit_code 64 odbk-policy 2>err &&
	test_exit_code 66 odbk-policy plan --times nonexistent --keep-daily 1 2>err
'

test_expect_success 'a bad line in the times file: exit 65 naming the line' '
	printf "2026-01-01T03:00:00Z\n\n2026-13-01T03:00:00Z\n" >bad &&
	test_exit_code 65 odbk-policy plan --times bad --keep-daily 1 >out 2>err &&
	test_grep "^odbk-policy: error: bad:3: .2026-13-01T03:00:00Z. is not an RFC 3339 time$" err &&
	test ! -s out
'

test_expect_success 'a bad policy in the config: exit 78 naming file:line, for plan and show' '
	cp odbk.conf good.conf &&
	test_when_finished "cp good.conf odbk.conf" &&
	sed -i "s/^keep-last = 3$/keep-last = 3x/" odbk.conf &&
	test_exit_code 78 odbk-policy plan --times times 2>err &&
	test_grep "odbk.conf:6: \[policy\] keep-last: .*3x" err &&
	test_exit_code 78 odbk-policy show prod 2>err &&
	test_grep "odbk.conf:6" err
'

test_expect_success '--help of every subcommand names its options' '
	odbk-policy --help >out && test_grep "^  plan " out &&
	odbk-policy plan --help >out &&
	for k in keep-last keep-hourly keep-daily keep-weekly keep-monthly keep-yearly keep-within \
		keep-within-hourly keep-within-daily keep-within-weekly keep-within-monthly keep-within-yearly; do
		grep -q -- "--$k " out || return 1
	done
'

test_done
