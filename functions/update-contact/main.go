// Command update-contact is the Lambda function of PATCH /accounts/{accountId}/contacts/{contactId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.UpdateContact) }
