// Command list-users is the Lambda function of GET /accounts/{accountId}/users.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListUsers) }
