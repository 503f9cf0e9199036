// Command get-catalog is the Lambda function of GET /catalog.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.GetCatalog) }
