package email

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"rollcall/shared/table"
)

// EventSource is how the email function is attached to the table's stream: the settings of the
// deployed event source mapping (infra/stack reads them) and of the local stream poller
// (infra/local reads them), written once so that the two cannot drift.
type EventSource struct {
	BatchSize     int           // most records per invocation
	RetryAttempts int           // retries of a failing batch before its records go to the dead-letter queue
	MaxRecordAge  time.Duration // older records go to the dead-letter queue unprocessed
	Bisect        bool          // split a batch in two after a function error
	// Filter is the event filter pattern (Lambda's filter criteria syntax) applied to each stream
	// record before it reaches the function: only inserted or modified invitation items pass.
	// Records that do not match are dropped (checkpointed) without an invocation.
	Filter map[string]any
}

// Source is the email function's event source on the table's stream (DESIGN §4).
var Source = EventSource{
	BatchSize:     10,
	RetryAttempts: 5,
	MaxRecordAge:  time.Hour,
	Bisect:        true,
	Filter: map[string]any{
		"eventName": []any{"INSERT", "MODIFY"},
		"dynamodb": map[string]any{"Keys": map[string]any{
			table.SK: map[string]any{"S": []any{map[string]any{"prefix": table.InvitationPrefix}}},
		}},
	},
}

// FilterJSON is Filter as the JSON pattern string Lambda's FilterCriteria holds.
func (s EventSource) FilterJSON() string {
	b, err := json.Marshal(s.Filter)
	if err != nil {
		panic(err) // a literal of maps, slices and strings
	}
	return string(b)
}

// Matches reports whether the stream record rec (its JSON decoded into maps, slices, strings,
// json.Number or float64 and bools, as encoding/json does) passes the event source's filter. It
// returns an error for a pattern that uses what this matcher does not implement (it implements
// exact values, lists of them, and {"prefix": …}), so a pattern that the local poller cannot
// apply faithfully is refused instead of being half applied.
func (s EventSource) Matches(rec any) (bool, error) {
	return matchPattern(s.Filter, rec, "")
}

// CheckFilter returns Matches' error for a pattern this matcher cannot apply, whatever record.
func (s EventSource) CheckFilter() error { return checkPattern(s.Filter, "") }

func matchPattern(pattern map[string]any, v any, path string) (bool, error) {
	obj, _ := v.(map[string]any)
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	ok := true
	for _, k := range keys {
		p := path + "." + k
		var field any
		var present bool
		if obj != nil {
			field, present = obj[k]
		}
		switch pv := pattern[k].(type) {
		case map[string]any:
			m, err := matchPattern(pv, field, p)
			if err != nil {
				return false, err
			}
			ok = ok && present && m
		case []any:
			m, err := matchAny(pv, field, present, p)
			if err != nil {
				return false, err
			}
			ok = ok && m
		default:
			return false, fmt.Errorf("filter %s: a pattern value must be an object or a list, not %T", p, pv)
		}
	}
	return ok, nil
}

// matchAny reports whether value matches one of the rules of a pattern list.
func matchAny(rules []any, value any, present bool, path string) (bool, error) {
	matched := false
	for _, r := range rules {
		switch rv := r.(type) {
		case string:
			s, isString := value.(string)
			matched = matched || (present && isString && s == rv)
		case bool:
			b, isBool := value.(bool)
			matched = matched || (present && isBool && b == rv)
		case map[string]any:
			if len(rv) != 1 {
				return false, fmt.Errorf("filter %s: an operator object has one key, not %d", path, len(rv))
			}
			prefix, isPrefix := rv["prefix"].(string)
			if !isPrefix {
				return false, fmt.Errorf("filter %s: unsupported operator %v (only prefix is implemented)", path, rv)
			}
			s, isString := value.(string)
			matched = matched || (present && isString && strings.HasPrefix(s, prefix))
		default:
			return false, fmt.Errorf("filter %s: unsupported rule %v (%T)", path, r, r)
		}
	}
	return matched, nil
}

func checkPattern(pattern map[string]any, path string) error {
	for k, v := range pattern {
		p := path + "." + k
		switch pv := v.(type) {
		case map[string]any:
			if err := checkPattern(pv, p); err != nil {
				return err
			}
		case []any:
			if _, err := matchAny(pv, nil, false, p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("filter %s: a pattern value must be an object or a list, not %T", p, pv)
		}
	}
	return nil
}
