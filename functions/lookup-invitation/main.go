// Command lookup-invitation is the Lambda function of POST /invitations/lookup.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.LookupInvitation) }
