// Command get-user is the Lambda function of GET /accounts/{accountId}/users/{userId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.GetUser) }
