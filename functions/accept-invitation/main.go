// Command accept-invitation is the Lambda function of POST /invitations/accept.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.AcceptInvitation) }
