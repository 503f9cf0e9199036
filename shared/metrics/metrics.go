// Package metrics is rollcall's one way of emitting CloudWatch metrics: the embedded metric
// format (EMF), JSON log lines that CloudWatch Logs turns into metrics as it ingests them. There
// are no CloudWatch API calls, clients, credentials or IAM rights involved; a Lambda function's
// stdout goes to its log group, and that is enough.
//
// A Set is one EMF document: the dimension values it is recorded under, the dimension sets
// (rollups) CloudWatch indexes it by, and the metric values. It becomes one JSON line, either on
// its own (Emit) or as part of another log line (Attrs: the API's per-request log line carries
// the request metrics). Every set is in Namespace and should carry the Stage dimension, so the
// stages of one account do not mix:
//
//	metrics.New(metrics.Dim("Stage", stage), metrics.Dim("Class", "throttled")).
//		Rollup("Stage").
//		Count("EmailsFailed", 1).
//		Emit(ctx, slog.Default(), "email send failed")
//
// writes (with the logger's own time, level and msg members)
//
//	{"Class":"throttled","Stage":"prod","EmailsFailed":1,"_aws":{"Timestamp":1790000000000,
//	 "CloudWatchMetrics":[{"Namespace":"Rollcall","Dimensions":[["Stage","Class"],["Stage"]],
//	 "Metrics":[{"Name":"EmailsFailed","Unit":"Count"}]}]}}
//
// Emitted lines are written whatever the log level (see Emit): dropping a line would drop its
// metrics. Metric and dimension names share the line's top level with the log's own members, so
// they are capitalised (Requests, Latency, Stage, Route) to stay apart from the lower-case log
// fields (status, route, msg).
package metrics

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"time"
)

// Namespace is the CloudWatch namespace of every rollcall metric.
const Namespace = "Rollcall"

// Unit is a CloudWatch metric unit.
type Unit string

// The units rollcall uses (CloudWatch accepts a few more).
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	None         Unit = "None"
)

// EMF limits: a document may have at most 30 dimensions in a dimension set and 100 metrics.
const (
	maxDimensions = 30
	maxMetrics    = 100
)

// Dimension is one dimension name and its value.
type Dimension struct{ Name, Value string }

// Dim returns the dimension name=value. An empty value is recorded as "none" (CloudWatch refuses
// empty dimension values).
func Dim(name, value string) Dimension {
	if value == "" {
		value = "none"
	}
	return Dimension{Name: name, Value: value}
}

// Set is one EMF document being built. Its methods return the set for chaining. A Set is not
// safe for concurrent use; build one per unit of work (a request, a batch).
type Set struct {
	dims    []Dimension
	rollups [][]string
	names   []string // metric names in the order first added
	units   map[string]Unit
	values  map[string]float64
	now     func() time.Time
}

// New starts a set recorded under dims (all of them together form the first dimension set).
func New(dims ...Dimension) *Set {
	if len(dims) > maxDimensions {
		dims = dims[:maxDimensions]
	}
	s := &Set{dims: dims, units: map[string]Unit{}, values: map[string]float64{}, now: time.Now}
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.Name
	}
	s.rollups = [][]string{names}
	return s
}

// Rollup adds a further dimension set, made of some of the set's dimension names, so the same
// values are also aggregated at that level (for example Rollup("Stage") beside Stage+Route gives
// stage-wide totals that alarms can use without metric math over every route). Names the set
// does not have are ignored; Rollup() with no names adds the dimensionless aggregate.
func (s *Set) Rollup(names ...string) *Set {
	var kept []string
	for _, n := range names {
		if s.hasDim(n) {
			kept = append(kept, n)
		}
	}
	s.rollups = append(s.rollups, kept)
	return s
}

func (s *Set) hasDim(name string) bool {
	for _, d := range s.dims {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Add adds v to metric name in unit (a metric added twice holds the sum). A set holds at most
// 100 metrics; further names, names that are also dimensions, and NaN or infinite values are
// dropped.
func (s *Set) Add(name string, unit Unit, v float64) *Set {
	if name == "" || s.hasDim(name) || math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	if _, ok := s.values[name]; !ok {
		if len(s.names) >= maxMetrics {
			return s
		}
		s.names = append(s.names, name)
		s.units[name] = unit
	}
	s.values[name] += v
	return s
}

// Count adds n to the count metric name.
func (s *Set) Count(name string, n int) *Set { return s.Add(name, Count, float64(n)) }

// Duration records d as metric name in milliseconds (with microsecond precision).
func (s *Set) Duration(name string, d time.Duration) *Set {
	return s.Add(name, Milliseconds, float64(d.Microseconds())/1000)
}

// Value returns the value of metric name so far, and whether the set has it.
func (s *Set) Value(name string) (float64, bool) {
	v, ok := s.values[name]
	return v, ok
}

// metricDirective and directive are the "_aws" member of an EMF document.
type metricDirective struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

type directive struct {
	Namespace  string            `json:"Namespace"`
	Dimensions [][]string        `json:"Dimensions"`
	Metrics    []metricDirective `json:"Metrics"`
}

type awsMetadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Attrs returns the set as top-level log attributes: the dimension values, the metric values and
// the "_aws" metadata. A set with no metrics returns nil (a line without metrics is not an EMF
// document).
func (s *Set) Attrs() []slog.Attr {
	if len(s.names) == 0 {
		return nil
	}
	attrs := make([]slog.Attr, 0, len(s.dims)+len(s.names)+1)
	for _, d := range s.dims {
		attrs = append(attrs, slog.String(d.Name, d.Value))
	}
	ms := make([]metricDirective, len(s.names))
	for i, n := range s.names {
		attrs = append(attrs, slog.Float64(n, s.values[n]))
		ms[i] = metricDirective{Name: n, Unit: s.units[n]}
	}
	meta := awsMetadata{
		Timestamp:         s.now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: Namespace, Dimensions: s.rollups, Metrics: ms}},
	}
	return append(attrs, slog.Any("_aws", meta))
}

// Emit writes the set as one INFO line with message msg and the extra attributes, through
// logger's handler. The line is written even when the logger's level is above INFO: the level
// governs diagnostics, and a dropped line would be a lost metric. A set with no metrics writes
// nothing.
func (s *Set) Emit(ctx context.Context, logger *slog.Logger, msg string, extra ...slog.Attr) {
	attrs := s.Attrs()
	if attrs == nil {
		return
	}
	Write(ctx, logger, slog.LevelInfo, msg, append(extra, attrs...)...)
}

// Write writes one record with level, msg and attrs through logger's handler without asking the
// handler whether the level is enabled. It is for the lines that must not be filtered: metric
// lines, and the API's one line per request (which carries its metrics).
func Write(ctx context.Context, logger *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	if logger == nil {
		logger = slog.Default()
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:])
	r := slog.NewRecord(time.Now(), level, msg, pcs[0])
	r.AddAttrs(attrs...)
	_ = logger.Handler().Handle(ctx, r)
}
