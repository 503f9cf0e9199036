// Command delete-relationship is the Lambda function of DELETE /accounts/{accountId}/sites/{siteId}/contacts/{contactId}.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.DeleteRelationship) }
