// Command batch-put-relationships is the Lambda function of POST /accounts/{accountId}/sites/{siteId}/contacts/batch.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.BatchPutRelationships) }
