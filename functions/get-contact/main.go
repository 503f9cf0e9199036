// Command get-contact is the Lambda function of GET /accounts/{accountId}/contacts/{contactId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.GetContact) }
