// Command list-site-contacts is the Lambda function of GET /accounts/{accountId}/sites/{siteId}/contacts.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.ListSiteContacts) }
