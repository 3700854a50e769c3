#!/usr/bin/env bash
# The restore drill (docs/restore-drill.md): restore the shop database to a point in time as a
# new instance, check it answers and holds data, time it, then delete it. Changes nothing that
# serves the shop. Needs the AWS CLI, psql, and credentials allowed to restore and delete.
#
#   scripts/restore-drill.sh dev                        # to five minutes ago
#   scripts/restore-drill.sh prod 2026-11-20T16:55:00Z  # to a chosen moment (UTC)
#   CHECK=0 scripts/restore-drill.sh dev                # restore and time only, where PostgreSQL is out of reach
set -euo pipefail

ENVIRONMENT=${1:?usage: $0 <dev|prod> [restore-time-utc]}
RESTORE_TIME=${2:-$(date -u -d '5 minutes ago' +%Y-%m-%dT%H:%M:%SZ)}
REGION=${AWS_REGION:-ap-northeast-2}
SOURCE_DB="shoplake-${ENVIRONMENT}-shop"
DRILL_DB="shoplake-${ENVIRONMENT}-restore-drill-$(date -u +%Y%m%d%H%M)"
VAULT="shoplake-${ENVIRONMENT}"
aws() { command aws --region "$REGION" --output text "$@"; }
started=$(date +%s)

source_arn=$(aws rds describe-db-instances --db-instance-identifier "$SOURCE_DB" --query 'DBInstances[0].DBInstanceArn')
echo "source:       $source_arn"
echo "restore time: $RESTORE_TIME"

# The continuous recovery point of the source (AWS Backup keeps one per protected database).
recovery_point=$(aws backup list-recovery-points-by-backup-vault --backup-vault-name "$VAULT" \
  --by-resource-arn "$source_arn" \
  --query "RecoveryPoints[?contains(RecoveryPointArn, ':continuous:')] | [0].RecoveryPointArn")
[[ -n "$recovery_point" && "$recovery_point" != None ]] || { echo "no recovery point in $VAULT for $SOURCE_DB" >&2; exit 1; }
echo "recovery point: $recovery_point"

subnet_group=$(aws rds describe-db-instances --db-instance-identifier "$SOURCE_DB" --query 'DBInstances[0].DBSubnetGroup.DBSubnetGroupName')
security_group=$(aws rds describe-db-instances --db-instance-identifier "$SOURCE_DB" --query 'DBInstances[0].VpcSecurityGroups[0].VpcSecurityGroupId')
plan_id=$(aws backup list-backup-plans --query "BackupPlansList[?BackupPlanName=='shoplake-${ENVIRONMENT}'].BackupPlanId | [0]")
selection_id=$(aws backup list-backup-selections --backup-plan-id "$plan_id" --query 'BackupSelectionsList[0].SelectionId')
role=$(aws backup get-backup-selection --backup-plan-id "$plan_id" --selection-id "$selection_id" --query 'BackupSelection.IamRoleArn')

# Single-AZ and not tagged for backup: a drill copy must not be backed up or cost a standby.
metadata=$(printf '{"DBInstanceIdentifier":"%s","DBSubnetGroupName":"%s","VpcSecurityGroupIds":"[\\"%s\\"]","MultiAZ":"false","RestoreTime":"%s","DeletionProtection":"false","CopyTagsToSnapshot":"false"}' \
  "$DRILL_DB" "$subnet_group" "$security_group" "$RESTORE_TIME")
job=$(aws backup start-restore-job --recovery-point-arn "$recovery_point" --iam-role-arn "$role" \
  --resource-type RDS --metadata "$metadata" --query RestoreJobId)
echo "restore job:  $job -> $DRILL_DB"

cleanup() { aws rds delete-db-instance --db-instance-identifier "$DRILL_DB" --skip-final-snapshot >/dev/null 2>&1 || true; }
trap cleanup EXIT

while :; do
  status=$(aws backup describe-restore-job --restore-job-id "$job" --query Status)
  [[ "$status" == COMPLETED ]] && break
  [[ "$status" == FAILED || "$status" == ABORTED ]] && { aws backup describe-restore-job --restore-job-id "$job"; exit 1; }
  sleep 30
done
aws rds wait db-instance-available --db-instance-identifier "$DRILL_DB"
restored=$(date +%s)
echo "restored in $(( (restored - started) / 60 )) minutes"

if [[ "${CHECK:-1}" == 0 ]]; then
  echo "drill restored without the data check: recovery time $(( (restored - started) / 60 )) minutes"
  exit 0
fi

# The drill passes when the copy answers over TLS and holds the shop's purchases (shop/migrations).
endpoint=$(aws rds describe-db-instances --db-instance-identifier "$DRILL_DB" --query 'DBInstances[0].Endpoint.Address')
secret=$(aws rds describe-db-instances --db-instance-identifier "$SOURCE_DB" --query 'DBInstances[0].MasterUserSecret.SecretArn')
credentials=$(aws secretsmanager get-secret-value --secret-id "$secret" --query SecretString)
PGPASSWORD=$(jq -r .password <<<"$credentials") psql "host=$endpoint dbname=shop user=$(jq -r .username <<<"$credentials") sslmode=require" \
  -c "select count(*) as purchase_lines, max(ordered_at) as newest_order from purchase"
echo "drill passed: recovery time $(( (restored - started) / 60 )) minutes; the drill copy is now deleted"
