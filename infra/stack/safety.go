package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// tableKey declares the customer-managed KMS key of the table (stages with customerManagedKey):
// yearly rotation, kept on update or delete like the data it protects. Besides the account's
// administrators (the default key policy), only DynamoDB may use it, on behalf of the account's
// principals: the functions' roles need no KMS right of their own.
func (b *builder) tableKey() awskms.Key {
	key := awskms.NewKey(b.stack, jsii.String("TableKey"), &awskms.KeyProps{
		Alias:             jsii.String("alias/" + b.stage.resourcePrefix() + "-table"),
		Description:       jsii.String("rollcall " + b.stage.Name + ": encrypts the table, its stream, indexes and backups"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     b.removal,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("UseThroughDynamoDBByTheAccount"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:CallerAccount": b.stack.Account(),
			"kms:ViaService":    awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("dynamodb."), b.stack.Region(), jsii.String(".amazonaws.com")}),
		}},
	}), jsii.Bool(true))
	return key
}

// backup declares the AWS Backup plan over the table (stages with backup): daily backups kept
// 35 days and monthly ones kept a year, in a vault of the stage that is kept on delete.
func (b *builder) backup() {
	vault := awsbackup.NewBackupVault(b.stack, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		BackupVaultName: jsii.String(b.stage.resourcePrefix()),
		RemovalPolicy:   b.removal,
	})
	plan := awsbackup.BackupPlan_DailyMonthly1YearRetention(b.stack, jsii.String("BackupPlan"), vault)
	sel := plan.AddSelection(jsii.String("Table"), &awsbackup.BackupSelectionOptions{
		Resources:           &[]awsbackup.BackupResource{awsbackup.BackupResource_FromDynamoDbTable(b.tbl)},
		BackupSelectionName: jsii.String(b.stage.resourcePrefix() + "-table"),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(sel, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AWS Backup's own service role policy (AWSBackupServiceRolePolicyForBackup) is the " +
			"documented way for its role to back the table up; the role is assumable only by AWS Backup."),
		AppliesTo: &[]any{jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup")},
	}}, jsii.Bool(true))
}

// canaryDeployments makes every function's LiveAlias move through CodeDeploy (stages with
// canaryDeployments): 10 % of the traffic on the new version for 5 minutes, then all of it;
// rolled back automatically when one of the function's alarms fires (for a route: its group's
// 5xx-rate and p99-latency alarms and the API's 5xx rate; for the email function: its stream
// lag and dead letters) or the deployment fails. One CodeDeploy application and one service
// role serve every deployment group.
func (b *builder) canaryDeployments(set alarmSet) {
	app := awscodedeploy.NewLambdaApplication(b.stack, jsii.String("Deployments"), &awscodedeploy.LambdaApplicationProps{
		ApplicationName: jsii.String(b.stage.resourcePrefix()),
	})
	role := awsiam.NewRole(b.stack, jsii.String("DeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codedeploy.amazonaws.com"), nil),
		Description: jsii.String("rollcall " + b.stage.Name + ": CodeDeploy shifts the functions' live aliases"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSCodeDeployRoleForLambdaLimited")),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AWSCodeDeployRoleForLambdaLimited is CodeDeploy's own policy for Lambda traffic shifting " +
			"(alias updates, alarm reads, lifecycle hook invocations of functions named CodeDeployHook_*)."),
		AppliesTo: &[]any{jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited")},
	}}, jsii.Bool(true))
	for _, name := range Functions() {
		refs := make([]interfacesawscloudwatch.IAlarmRef, 0, len(set.byFunction[name]))
		for _, a := range set.byFunction[name] {
			refs = append(refs, a)
		}
		awscodedeploy.NewLambdaDeploymentGroup(b.stack, jsii.String(constructID(name)+"Deployment"), &awscodedeploy.LambdaDeploymentGroupProps{
			Application:      app,
			Alias:            b.out.Aliases[name],
			DeploymentConfig: awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_5MINUTES(),
			Alarms:           &refs,
			Role:             role,
			AutoRollback: &awscodedeploy.AutoRollbackConfig{
				FailedDeployment:  jsii.Bool(true),
				StoppedDeployment: jsii.Bool(true),
				DeploymentInAlarm: jsii.Bool(true),
			},
		})
	}
}
