// Command list-contacts is the Lambda function of GET /accounts/{accountId}/contacts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListContacts) }
