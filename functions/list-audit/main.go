// Command list-audit is the Lambda function of GET /accounts/{accountId}/audit.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListAudit) }
