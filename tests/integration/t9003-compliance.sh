#!/usr/bin/env bash
# env states (odbk-list --envs) and odbk-compliance with backups dated in the past by faketime: fresh → normal,
# 3 days → warning, 8 days → danger, none → danger, no storage → not_configured; a disabled env counts in
# neither numerator nor denominator; exit codes follow the thresholds; --nagios; 3 when it cannot tell.
. "$(dirname "$0")/test-lib.sh"
test_description 'env states and odbk-compliance'
require_service pg
require_program faketime
require_program jq

# under ASan, libfaketime is preloaded before the ASan runtime: tell ASan that is fine
faketime() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" command faketime "$@"; }
state() { jq -r ".[] | select(.env == \"$1\") | .state" envs.json; }

test_expect_success 'setup: six envs on one database' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 5 &&
	odbk_conf fresh "$FIXTURE_DB" "$FIXTURE_FS" &&
	echo "project = acme" >>"$ODBK_CONF" &&
	odbk_conf_env old3 "$FIXTURE_DB" "$FIXTURE_FS" disk && echo "project = acme" >>"$ODBK_CONF" &&
	odbk_conf_env old8 "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	odbk_conf_env none "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	odbk_conf_env nostore "$FIXTURE_DB" "$FIXTURE_FS" "" &&
	odbk_conf_env off "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	printf "\n[policy off]\nenabled = false\n" >>"$ODBK_CONF"
'

test_expect_success 'backups now, 3 days ago and 8 days ago' '
	odbk-create --quiet fresh off >ids &&
	faketime "3 days ago" odbk-create --quiet old3 >>ids &&
	faketime "8 days ago" odbk-create --quiet old8 >>ids &&
	test "$(wc -l <ids)" = 4 &&
	test_must_fail odbk-create nostore 2>err && test_grep "not_configured" err
'

test_expect_success 'odbk-list --envs: states, counts, latest backup, policy source' '
	odbk-list --envs --json >envs.json &&
	test "$(state fresh)" = normal &&
	test "$(state old3)" = warning &&
	test "$(state old8)" = danger &&
	test "$(state none)" = danger &&
	test "$(state nostore)" = not_configured &&
	test "$(state off)" = normal &&
	jq -e ".[] | select(.env == \"old3\") | .backups == 1 and .project == \"acme\" and .policy == \"default\"
		and .enabled and (.age_seconds > 3 * 86400 - 600)" envs.json &&
	jq -e ".[] | select(.env == \"off\") | .policy == \"custom\" and (.enabled | not)" envs.json &&
	jq -e ".[] | select(.env == \"none\") | .backups == 0 and .latest_backup_id == null" envs.json &&
	test "$(jq -r ".[] | select(.env == \"fresh\") | .latest_backup_id" envs.json)" = "$(sed -n 1p ids)" &&
	odbk-list --envs >table &&
	test_grep "^old3  *acme  *warning  *1 .* default  *yes$" table &&
	test_grep "^nostore  *-  *not_configured  *0 " table &&
	test_grep "^off  *-  *normal  *1 .* custom  *no$" table
'

test_expect_success 'thresholds are policy keys' '
	cp "$ODBK_CONF" conf.saved &&
	printf "\n[policy old3]\nwarning-after = 4d\n" >>"$ODBK_CONF" &&
	odbk-list --envs --json >envs.json &&
	test "$(state old3)" = normal &&
	cp conf.saved "$ODBK_CONF"
'

test_expect_code 2 'compliance 20% (1 of 5 enabled; the disabled env counts nowhere): CRITICAL by default' '
	odbk-compliance >out; rc=$?
	cat out
	grep -q "^compliance: 20% (1/5 enabled envs with a recent backup) CRITICAL$" out || exit 9
	exit $rc
'

test_expect_code 1 'below --warn-below: WARNING' 'odbk-compliance --warn-below 30 --crit-below 10 >/dev/null'
test_expect_code 0 'at --warn-below exactly: OK' 'odbk-compliance --warn-below 20 --crit-below 10 >/dev/null'
test_expect_code 1 '--project acme: 1 of 2 = 50%: WARNING' '
	odbk-compliance --project acme --json >out.json; rc=$?
	jq -e ".compliance == 50 and .compliant == 1 and .enabled == 2 and .status == \"warning\" and
		(.envs | length) == 2" out.json >/dev/null || exit 9
	exit $rc
'

test_expect_success '--json: one row per env with its state' '
	test_exit_code 2 odbk-compliance --json >out.json &&
	jq -e ".status == \"critical\" and .compliance == 20 and .disabled == 1 and (.envs | length) == 6" out.json &&
	jq -e ".envs[] | select(.env == \"fresh\") | .recent and .compliance_window_seconds == 86400" out.json &&
	jq -e ".envs[] | select(.env == \"old3\") | (.recent | not)" out.json
'

test_expect_success '--nagios: one line with perfdata' '
	test_exit_code 2 odbk-compliance --nagios >out &&
	echo "ODBK COMPLIANCE CRITICAL - 20% (1/5 envs with a recent backup); not recent: old3, old8, none, nostore | compliance=20%;90:;50:;0;100 envs=5 compliant=1 disabled=1 normal=1 warning=1 danger=2 not_configured=1" >expect &&
	test_cmp expect out &&
	test_exit_code 0 odbk-compliance --nagios --warn-below 20 --crit-below 10 >out &&
	test_grep "^ODBK COMPLIANCE OK - 20% " out &&
	test_exit_code 1 odbk-compliance -w 30 -c 10 --nagios >out &&
	test_grep "^ODBK COMPLIANCE WARNING - 20% .*compliance=20%;30:;10:;0;100 " out
'

test_expect_success 'a compliance-window keeps an older backup recent' '
	printf "\n[policy old3]\ncompliance-window = 4d\n" >>"$ODBK_CONF" &&
	test_exit_code 2 odbk-compliance --json >out.json &&
	jq -e ".compliance == 40 and .compliant == 2" out.json &&
	cp conf.saved "$ODBK_CONF"
'

test_expect_success 'UNKNOWN (3) when it cannot tell' '
	echo "not a database, not at all; not a database, not at all; not a database" >bad.db &&
	test_exit_code 3 odbk-compliance --catalog bad.db --nagios >out &&
	test_grep "^ODBK COMPLIANCE UNKNOWN - " out &&
	test_exit_code 3 odbk-compliance --config "$TRASH/missing.conf" 2>err &&
	test_exit_code 3 odbk-compliance --warn-below 10 --crit-below 50 2>err &&
	test_exit_code 3 odbk-compliance --project nosuchproject 2>err &&
	test_grep "no enabled environment" err
'

test_done
