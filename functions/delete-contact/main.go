// Command delete-contact is the Lambda function of DELETE /accounts/{accountId}/contacts/{contactId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.DeleteContact) }
