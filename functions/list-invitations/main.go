// Command list-invitations is the Lambda function of GET /accounts/{accountId}/invitations.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListInvitations) }
