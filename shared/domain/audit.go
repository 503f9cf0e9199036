package domain

import "time"

// AuditRetention is how long audit entries are kept (R23).
const AuditRetention = 400 * 24 * time.Hour

// AuditEntry records one change (R23): who, what, when and the changed fields. It never holds
// tokens or nonces.
type AuditEntry struct {
	ID        string            `json:"id" dynamodbav:"id"`
	AccountID string            `json:"accountId" dynamodbav:"accountId"`
	At        time.Time         `json:"at" dynamodbav:"at"`
	Actor     Actor             `json:"actor" dynamodbav:"actor"`
	Operation string            `json:"operation" dynamodbav:"operation"`
	Targets   map[string]string `json:"targets" dynamodbav:"targets"`
	Changes   map[string]any    `json:"changes,omitempty" dynamodbav:"changes,omitempty"`
}
