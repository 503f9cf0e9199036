package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// checkEMF checks doc against the embedded metric format's rules (the specification's
// "_aws" object: a Timestamp in ms, CloudWatchMetrics directives each with a Namespace, dimension
// sets whose every name is a top-level string member, and metrics whose every name is a
// top-level number) and returns the directives' metric names.
func checkEMF(t *testing.T, doc map[string]any) []string {
	t.Helper()
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object in %v", doc)
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 {
		t.Fatalf("Timestamp %v is not epoch milliseconds", aws["Timestamp"])
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		t.Fatalf("CloudWatchMetrics %v", aws["CloudWatchMetrics"])
	}
	var names []string
	for _, d := range dirs {
		dir := d.(map[string]any)
		if ns, _ := dir["Namespace"].(string); ns == "" {
			t.Fatalf("directive without Namespace: %v", dir)
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions %v is not an array of dimension sets", dir["Dimensions"])
		}
		for _, set := range sets {
			dimNames := set.([]any)
			if len(dimNames) > maxDimensions {
				t.Fatalf("dimension set of %d names", len(dimNames))
			}
			for _, n := range dimNames {
				v, ok := doc[n.(string)].(string)
				if !ok || v == "" {
					t.Fatalf("dimension %v has no non-empty string member (%v)", n, doc[n.(string)])
				}
			}
		}
		ms := dir["Metrics"].([]any)
		if len(ms) > maxMetrics {
			t.Fatalf("%d metrics", len(ms))
		}
		for _, m := range ms {
			md := m.(map[string]any)
			name := md["Name"].(string)
			if _, ok := doc[name].(float64); !ok {
				t.Fatalf("metric %s has no number member (%v)", name, doc[name])
			}
			names = append(names, name)
		}
	}
	return names
}

func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		docs = append(docs, doc)
	}
	return docs
}

func TestEmitWritesOneValidEMFLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With("function", "send-emails")
	s := New(Dim("Stage", "prod"), Dim("Class", "throttled")).Rollup("Stage")
	s.now = func() time.Time { return time.UnixMilli(1790000000123) }
	s.Count("EmailsFailed", 1).Count("EmailsFailed", 2).Duration("SendLatency", 1500*time.Microsecond)
	s.Emit(context.Background(), log, "email send failed", slog.String("messageId", "m-1"))

	docs := decodeLines(t, buf.String())
	if len(docs) != 1 {
		t.Fatalf("want 1 line, got %d: %s", len(docs), buf.String())
	}
	doc := docs[0]
	names := checkEMF(t, doc)
	if strings.Join(names, ",") != "EmailsFailed,SendLatency" {
		t.Fatalf("metric names %v", names)
	}
	if doc["EmailsFailed"] != 3.0 || doc["SendLatency"] != 1.5 {
		t.Fatalf("values: %v %v", doc["EmailsFailed"], doc["SendLatency"])
	}
	if doc["msg"] != "email send failed" || doc["function"] != "send-emails" || doc["messageId"] != "m-1" || doc["level"] != "INFO" {
		t.Fatalf("log members lost: %v", doc)
	}
	aws := doc["_aws"].(map[string]any)
	if aws["Timestamp"] != 1790000000123.0 {
		t.Fatalf("timestamp %v", aws["Timestamp"])
	}
	dir := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if dir["Namespace"] != Namespace {
		t.Fatalf("namespace %v", dir["Namespace"])
	}
	dims, _ := json.Marshal(dir["Dimensions"])
	if string(dims) != `[["Stage","Class"],["Stage"]]` {
		t.Fatalf("dimension sets %s", dims)
	}
	units, _ := json.Marshal(dir["Metrics"])
	if string(units) != `[{"Name":"EmailsFailed","Unit":"Count"},{"Name":"SendLatency","Unit":"Milliseconds"}]` {
		t.Fatalf("metric directives %s", units)
	}
}

func TestEmitIgnoresTheLogLevel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	log.Info("filtered")
	New(Dim("Stage", "dev")).Count("Requests", 1).Emit(context.Background(), log, "request")
	docs := decodeLines(t, buf.String())
	if len(docs) != 1 || docs[0]["msg"] != "request" {
		t.Fatalf("want only the metric line, got %q", buf.String())
	}
}

func TestEmptySetWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	New(Dim("Stage", "dev")).Emit(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "nothing")
	if buf.Len() != 0 {
		t.Fatalf("wrote %q", buf.String())
	}
}

func TestBadInputIsDroppedNotWritten(t *testing.T) {
	s := New(Dim("Stage", ""), Dim("Route", "GET /x")).Rollup("Stage", "Nope")
	s.Add("", Count, 1).Add("Route", Count, 1).Add("NaN", Count, nan()).Count("Ok", 1)
	for i := 0; i < maxMetrics+5; i++ {
		s.Count("m"+string(rune('a'+i%26))+strings.Repeat("x", i/26), 1)
	}
	var buf bytes.Buffer
	s.Emit(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "x")
	doc := decodeLines(t, buf.String())[0]
	names := checkEMF(t, doc)
	if len(names) != maxMetrics {
		t.Fatalf("%d metrics, want the first %d", len(names), maxMetrics)
	}
	if doc["Stage"] != "none" || doc["Route"] != "GET /x" {
		t.Fatalf("dimension values %v %v", doc["Stage"], doc["Route"])
	}
	if _, ok := doc["NaN"]; ok {
		t.Fatal("NaN written")
	}
	dims, _ := json.Marshal(doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"])
	if string(dims) != `[["Stage","Route"],["Stage"]]` {
		t.Fatalf("dimension sets %s", dims)
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestValue(t *testing.T) {
	s := New().Count("A", 2).Count("A", 3)
	if v, ok := s.Value("A"); !ok || v != 5 {
		t.Fatalf("A = %v %v", v, ok)
	}
	if _, ok := s.Value("B"); ok {
		t.Fatal("B should be absent")
	}
}
