package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"rollcall/shared/apperr"
)

// Optional is what a field type implements to say that it wraps a value of another type which
// may also be null (domain.Optional): the decoder checks the wrapped type.
type Optional interface {
	OptionalValue() reflect.Type
}

// DecodeStrict decodes one JSON value from b into dst. It checks the whole body against dst's
// type first and answers every problem at once, as a 400 whose field errors name each one by its
// path (owner.email, items[3].roles[0]): keys that are not a field of the type at their depth
// (keys are compared exactly, so "EMAIL" is not "email"), keys given twice, values of the wrong
// type (null included, except for optional fields), numbers that are not whole where whole ones
// are wanted, and anything after the value. When the only problems are such field problems, dst
// still receives every valid part of the body, so that the caller can validate it too and list
// its own problems with these (Join); see Partial.
func DecodeStrict(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	root, err := parseValue(dec, 0)
	if err != nil {
		return syntaxProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.InvalidField("", "the body must hold one JSON value")
	}
	var probs []apperr.FieldError
	pruned := check(root, reflect.TypeOf(dst).Elem(), "", &probs)
	if raw, err := json.Marshal(pruned); err == nil && pruned != nil {
		// Only values check has found fitting are left: this cannot fail on types.
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("httpapi: decoding a checked body: %w", err)
		}
	}
	if pruned == nil {
		return apperr.Invalid(probs...) // nothing of the body could be read
	}
	if len(probs) > 0 {
		return &partialError{apperr.Invalid(probs...)}
	}
	return nil
}

// partialError is a 400 after which the destination holds the valid rest of the body.
type partialError struct{ e *apperr.Error }

func (p *partialError) Error() string { return p.e.Error() }
func (p *partialError) Unwrap() error { return p.e }

// Partial reports whether err is a body's field problems after which the destination still
// holds the body's valid parts (and nil for nil): the operation may go on validating and Join
// its own problems.
func Partial(err error) bool {
	var p *partialError
	return err == nil || errors.As(err, &p)
}

// Join is the 400 listing the field errors of every 400 among errs, in order; it returns the first
// error that is not a 400 of field errors when there is one, and nil when all are nil.
func Join(errs ...error) error {
	var fields []apperr.FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.CodeValidation {
			return err
		}
		for _, f := range e.Fields {
			if !named(fields, f.Field) {
				fields = append(fields, f)
			}
		}
	}
	if fields == nil {
		return nil
	}
	return apperr.Invalid(fields...)
}

// named reports whether field, or a field holding it, is among fields already: a value the
// body's check refused is not reported again as, say, missing.
func named(fields []apperr.FieldError, field string) bool {
	for _, f := range fields {
		if f.Field == field || strings.HasPrefix(field, f.Field+".") || strings.HasPrefix(field, f.Field+"[") {
			return true
		}
	}
	return false
}

// maxDepth bounds the nesting of a body (no request type nests deeper than a few levels).
const maxDepth = 32

// member is one key of a JSON object, in body order.
type member struct {
	key   string
	value any
}

// object is a JSON object with its members in order (repeated keys kept, to be reported).
type object []member

// MarshalJSON writes the object's members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// null stands for a JSON null in a parsed body (nil means "left out" after checking).
type null struct{}

func (null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// parseValue reads one JSON value: object, []any, string, json.Number, bool or null{}.
func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("the body nests deeper than 32 levels")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, member{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, errors.New("unexpected " + t.String())
	case nil:
		return null{}, nil
	}
	return tok, nil
}

func syntaxProblem(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return apperr.InvalidField("", "the body is not valid JSON at byte "+strconv.FormatInt(syn.Offset, 10))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.InvalidField("", "the body is not valid JSON: it ends too early")
	}
	return apperr.InvalidField("", "the body is not valid JSON: "+err.Error())
}

var (
	optionalType    = reflect.TypeFor[Optional]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// check compares v with type t at path, records each problem, and returns v without the parts
// that do not fit (nil when v itself does not).
func check(v any, t reflect.Type, path string, probs *[]apperr.FieldError) any {
	bad := func(msg string) any {
		*probs = append(*probs, apperr.FieldError{Field: fieldName(path), Message: msg})
		return nil
	}
	if t.Implements(optionalType) || reflect.PointerTo(t).Implements(optionalType) {
		if _, isNull := v.(null); isNull {
			return v
		}
		inner := reflect.Zero(t).Interface().(Optional).OptionalValue()
		return check(v, inner, path, probs)
	}
	if t.Kind() == reflect.Pointer {
		if _, isNull := v.(null); isNull {
			return v
		}
		return check(v, t.Elem(), path, probs)
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return v // a type that reads its own JSON (a batch row, decoded on its own later)
	}
	want := "must be " + jsonKind(t)
	if _, isNull := v.(null); isNull && t.Kind() != reflect.Interface {
		return bad(want + ", not null")
	}
	switch t.Kind() {
	case reflect.Interface:
		return v
	case reflect.String:
		if _, ok := v.(string); !ok {
			return bad(want)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad(want)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return bad(want)
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		z := reflect.Zero(t)
		switch {
		case err != nil:
			return bad(want)
		case z.CanInt() && z.OverflowInt(i), z.CanUint() && (i < 0 || z.OverflowUint(uint64(i))):
			return bad(want + " in range")
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return bad(want)
		}
		if f, err := n.Float64(); err != nil || math.IsInf(f, 0) {
			return bad(want)
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return bad(want)
		}
		out := make([]any, 0, len(a))
		fine := true
		for i, e := range a {
			c := check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
			fine = fine && c != nil
			out = append(out, c)
		}
		if !fine {
			return nil // a list with a bad entry is left out whole, not shortened
		}
		return out
	case reflect.Map:
		o, ok := v.(object)
		if !ok || t.Key().Kind() != reflect.String {
			return bad(want)
		}
		out := object{}
		seen := map[string]bool{}
		for _, m := range o {
			p := join(path, m.key)
			if seen[m.key] {
				*probs = append(*probs, apperr.FieldError{Field: p, Message: "is given more than once"})
				continue
			}
			seen[m.key] = true
			if c := check(m.value, t.Elem(), p, probs); c != nil {
				out = append(out, member{m.key, c})
			}
		}
		return out
	case reflect.Struct:
		o, ok := v.(object)
		if !ok {
			return bad(want)
		}
		fields := jsonFields(t)
		out := object{}
		seen := map[string]bool{}
		for _, m := range o {
			p := join(path, m.key)
			f, known := fields[m.key]
			switch {
			case !known:
				msg := "is not a known field"
				for name := range fields {
					if strings.EqualFold(name, m.key) || closeTo(name, m.key) {
						msg += fmt.Sprintf(" (did you mean %q?)", name)
						break
					}
				}
				*probs = append(*probs, apperr.FieldError{Field: p, Message: msg})
				continue
			case seen[m.key]:
				*probs = append(*probs, apperr.FieldError{Field: p, Message: "is given more than once"})
				continue
			}
			seen[m.key] = true
			if c := check(m.value, f, p, probs); c != nil {
				out = append(out, member{m.key, c})
			}
		}
		return out
	default:
		return bad("is not accepted")
	}
	return v
}

// jsonFields maps the JSON names of struct t's fields (its json tags; embedded structs'
// fields included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldName is the field error's name for path; the whole body is "(body)".
func fieldName(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// closeTo reports whether a is b with two neighbouring letters swapped, one letter changed,
// added or left out: what a typing slip makes of a field name.
func closeTo(a, b string) bool {
	if a == b || len(a) < 3 {
		return false
	}
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		diff := []int{}
		for i := range la {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		return len(diff) == 1 || len(diff) == 2 && diff[1] == diff[0]+1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
	case la == lb+1:
		a, b = b, a
		fallthrough
	case lb == la+1:
		for i := range b {
			if b[:i]+b[i+1:] == a {
				return true
			}
		}
	}
	return false
}

// jsonKind says in words what JSON a Go type takes.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a JSON value"
}
