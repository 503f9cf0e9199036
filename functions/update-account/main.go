// Command update-account is the Lambda function of PATCH /accounts/{accountId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.UpdateAccount) }
