// Command create-site is the Lambda function of POST /accounts/{accountId}/sites.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.CreateSite) }
