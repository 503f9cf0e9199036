// Command list-accounts is the Lambda function of GET /accounts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListAccounts) }
