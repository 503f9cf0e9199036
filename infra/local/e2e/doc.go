// Package e2e holds rollcall's end-to-end tests: real HTTP through the local gateway (the JWT
// check, the API Gateway v2 event, the Lambda invoke) to the real handlers on DynamoDB Local.
// They follow the README's walk-through and the flows of the issues, as a client would.
package e2e
