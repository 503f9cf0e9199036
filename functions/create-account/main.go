// Command create-account is the Lambda function of POST /accounts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.CreateAccount) }
