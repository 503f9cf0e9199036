// Package authz holds the authorisation matrix test (issue 14): every route of the route table
// against every kind of caller, through the local gateway's JWT check and the real handlers over
// DynamoDB Local, with expected answers from the roles of DESIGN §2 and §3 (not from the
// handlers). It also writes docs/authz.md from the same mapping.
package authz
