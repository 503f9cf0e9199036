package email

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzStreamRecord: the email function's reading of a stream record (which records send an
// email, and the invitation they carry) never panics, whatever the record holds. Seeds: the
// records of events/stream.
func FuzzStreamRecord(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "stream", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for _, r := range ev.Records {
			rb, _ := json.Marshal(r)
			f.Add(rb)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rec events.DynamoDBEventRecord
		if json.Unmarshal(b, &rec) != nil {
			return
		}
		if s, ok := selectSend(rec); ok {
			_ = s
		}
		_, _ = decodeInvitation(rec.Change.NewImage)
		_, _ = FromStreamImage(rec.Change.OldImage)
	})
}
