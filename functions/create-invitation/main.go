// Command create-invitation is the Lambda function of POST /accounts/{accountId}/invitations.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.CreateInvitation) }
