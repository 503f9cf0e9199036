// Command put-relationship is the Lambda function of PUT /accounts/{accountId}/sites/{siteId}/contacts/{contactId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.PutRelationship) }
