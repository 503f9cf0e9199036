// Command revoke-invitation is the Lambda function of DELETE /accounts/{accountId}/invitations/{invitationId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.RevokeInvitation) }
