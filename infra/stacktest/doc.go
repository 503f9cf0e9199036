// Package stacktest holds the assertion tests of rollcall's CDK stack (infra/stack). They
// synthesise the stages configured in the repository's cdk.json with a dummy bootstrap for every
// function, so that they need no `make build`, and check the templates with the awscdk
// assertions library: routes against the route table, least-privilege IAM per function, the
// email event source, what differs between dev and prod, and zero cdk-nag findings.
//
// They live in their own package because a failed awscdk assertion panics and takes the whole
// test binary down; TestMain ends the jsii runtime when the tests are done.
package stacktest
