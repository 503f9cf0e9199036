// Command get-account is the Lambda function of GET /accounts/{accountId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.GetAccount) }
