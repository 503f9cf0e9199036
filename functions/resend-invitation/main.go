// Command resend-invitation is the Lambda function of POST /accounts/{accountId}/invitations/{invitationId}/resend.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ResendInvitation) }
