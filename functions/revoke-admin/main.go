// Command revoke-admin is the Lambda function of DELETE /accounts/{accountId}/users/{userId}/admin.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.RevokeAdmin) }
