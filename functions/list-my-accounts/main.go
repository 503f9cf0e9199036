// Command list-my-accounts is the Lambda function of GET /me/accounts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListMyAccounts) }
