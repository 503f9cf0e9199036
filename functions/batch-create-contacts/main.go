// Command batch-create-contacts is the Lambda function of POST /accounts/{accountId}/contacts/batch.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.BatchCreateContacts) }
