// Command grant-admin is the Lambda function of PUT /accounts/{accountId}/users/{userId}/admin.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.GrantAdmin) }
