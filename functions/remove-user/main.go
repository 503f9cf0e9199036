// Command remove-user is the Lambda function of DELETE /accounts/{accountId}/users/{userId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.RemoveUser) }
