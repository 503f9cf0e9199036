// Command update-user is the Lambda function of PATCH /accounts/{accountId}/users/{userId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.UpdateUser) }
