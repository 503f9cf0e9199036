// Command transfer-ownership is the Lambda function of POST /accounts/{accountId}/ownership.
package main

import "rollcall/shared/handlers"

func main() { handlers.Serve(handlers.TransferOwnership) }
