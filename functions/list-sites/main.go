// Command list-sites is the Lambda function of GET /accounts/{accountId}/sites.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListSites) }
