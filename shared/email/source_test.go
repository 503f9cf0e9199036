package email

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleRecords reads the records of a sample stream batch as generic JSON, as a filter sees them.
func sampleRecords(t *testing.T, name string) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "stream", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Records []any `json:"Records"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Records
}

// TestSourceFilterPassesOnlyInvitationInsertsAndModifies: the event source's filter lets
// through inserted and modified invitation items only (the function then skips the modifies
// that are not resends, such as its own write-backs), on the sample batches.
func TestSourceFilterPassesOnlyInvitationInsertsAndModifies(t *testing.T) {
	if err := Source.CheckFilter(); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]bool{
		"invitation-insert.json": {false, true, false, true}, // account, invitation, its guard, invitation
		"invitation-resend.json": {true},
		"unrelated.json":         {true, false, false}, // a write-back, a contact, a send record
		"removal.json":           nil,
	} {
		recs := sampleRecords(t, file)
		for i, r := range recs {
			ok, err := Source.Matches(r)
			if err != nil {
				t.Fatal(err)
			}
			w := i < len(want) && want[i]
			if ok != w {
				t.Errorf("%s record %d: matches %v, want %v", file, i, ok, w)
			}
		}
	}
	if got := Source.FilterJSON(); !strings.Contains(got, `"prefix":"INVITE#"`) || !strings.Contains(got, `"eventName":["INSERT","MODIFY"]`) {
		t.Errorf("filter JSON %s", got)
	}
}

// TestFilterMatcherRefusesWhatItDoesNotImplement: a pattern with an operator the local matcher
// does not implement is refused, not half applied.
func TestFilterMatcherRefusesWhatItDoesNotImplement(t *testing.T) {
	for _, p := range []map[string]any{
		{"eventName": []any{map[string]any{"anything-but": []any{"REMOVE"}}}},
		{"eventName": "INSERT"},
		{"dynamodb": map[string]any{"Keys": []any{1.5}}},
	} {
		if err := (EventSource{Filter: p}).CheckFilter(); err == nil {
			t.Errorf("pattern %v accepted", p)
		}
	}
	// Missing fields never match; a field that is present with another type does not either.
	s := EventSource{Filter: map[string]any{"a": map[string]any{"b": []any{"x", map[string]any{"prefix": "y"}}}}}
	for rec, want := range map[string]bool{`{"a":{"b":"x"}}`: true, `{"a":{"b":"yes"}}`: true, `{"a":{"b":"z"}}`: false,
		`{"a":{}}`: false, `{}`: false, `{"a":{"b":{"S":"x"}}}`: false} {
		var v any
		if err := json.NewDecoder(bytes.NewReader([]byte(rec))).Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Matches(v); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", rec, got, err, want)
		}
	}
}

// TestNoOpBatchesLogAtDebug: a batch with nothing to send logs its summary at DEBUG, not INFO.
func TestNoOpBatchesLogAtDebug(t *testing.T) {
	var logs bytes.Buffer
	f := newTestFunction(t, &countingDB{DB: failingDB{}}, "unused", &fakeSES{}, &logs)
	handle(t, f, sampleEvent(t, "unrelated.json").Records)
	var line struct {
		Level, Msg string
	}
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Msg != "stream batch processed" || line.Level != "DEBUG" {
		t.Fatalf("log line %+v, want the batch summary at DEBUG", line)
	}
}
