// Command create-contact is the Lambda function of POST /accounts/{accountId}/contacts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.CreateContact) }
