package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"rollcall/shared/contract"
	"rollcall/shared/domain"
)

// Schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it) with the keywords the generator
// writes, in a fixed order so that the output is stable.
type Schema struct {
	Ref                  string    `json:"$ref,omitempty"`
	Type                 any       `json:"type,omitempty"` // a string, or a list of them when nullable
	Format               string    `json:"format,omitempty"`
	Description          string    `json:"description,omitempty"`
	Enum                 []any     `json:"enum,omitempty"`
	Pattern              string    `json:"pattern,omitempty"`
	MinLength            *int      `json:"minLength,omitempty"`
	MaxLength            *int      `json:"maxLength,omitempty"`
	Minimum              *int      `json:"minimum,omitempty"`
	Maximum              *int      `json:"maximum,omitempty"`
	Items                *Schema   `json:"items,omitempty"`
	MinItems             *int      `json:"minItems,omitempty"`
	MaxItems             *int      `json:"maxItems,omitempty"`
	UniqueItems          bool      `json:"uniqueItems,omitempty"`
	Properties           props     `json:"properties,omitempty"`
	Required             []string  `json:"required,omitempty"`
	AdditionalProperties any       `json:"additionalProperties,omitempty"` // false, or a *Schema
	AnyOf                []*Schema `json:"anyOf,omitempty"`
	Default              any       `json:"default,omitempty"`
	Examples             []any     `json:"examples,omitempty"`

	// nullable marks a schema that also admits null; kept apart from Type so that markdown can
	// say "string or null" without unpicking the list.
	nullable bool
}

// prop is one property of an object schema.
type prop struct {
	Name   string
	Schema *Schema
}

// props are an object's properties in declaration order.
type props []prop

// MarshalJSON writes the properties as one JSON object, in order.
func (p props) MarshalJSON() ([]byte, error) {
	o := obj{}
	for _, pr := range p {
		o = o.set(pr.Name, pr.Schema)
	}
	return o.MarshalJSON()
}

// get returns the property called name, or nil.
func (p props) get(name string) *Schema {
	for _, pr := range p {
		if pr.Name == name {
			return pr.Schema
		}
	}
	return nil
}

// obj is a JSON object whose members keep the order they were set in.
type obj []member

type member struct {
	Key   string
	Value any
}

// set returns o with key set to v (replacing an earlier value of key).
func (o obj) set(key string, v any) obj {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, member{key, v})
}

// MarshalJSON writes o as one JSON object, in order, without HTML escaping.
func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshal(m.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshal(m.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Key, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshal encodes v as compact JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// intp returns a pointer to n.
func intp(n int) *int { return &n }

// refTo is a reference to component schema name.
func refTo(name string) *Schema { return &Schema{Ref: componentPrefix + name} }

const componentPrefix = "#/components/schemas/"

// refName returns the component name s refers to, or "".
func refName(s *Schema) string { return strings.TrimPrefix(s.Ref, componentPrefix) }

// makeNullable makes s admit null: a second type for a plain schema (and null among its enum
// values), an anyOf with null for a reference.
func makeNullable(s *Schema) *Schema {
	if s.Ref != "" {
		return &Schema{AnyOf: []*Schema{s, {Type: "null"}}, nullable: true}
	}
	if t, ok := s.Type.(string); ok {
		s.Type = []string{t, "null"}
		if s.Enum != nil {
			s.Enum = append(s.Enum, nil)
		}
	}
	s.nullable = true
	return s
}

// mode says whether a type is read from requests or written in answers: request objects reject
// unknown fields and take their required fields from the validation rules (contract.RequestRequired);
// answer objects require every field that is not omitempty.
type mode int

const (
	answerMode mode = iota
	requestMode
)

// component is one named schema with the Go type it was made from.
type component struct {
	Schema *Schema
	Go     reflect.Type
	Mode   mode
}

// builder derives schemas from Go types (reflected by kin-openapi's openapi3gen) and collects
// the named ones as components.
type builder struct {
	comps map[string]*component
	used  map[string]bool // entries of the generator's tables that a schema used
	errs  []error
}

// newBuilder returns a builder with no components yet.
func newBuilder() *builder {
	return &builder{comps: map[string]*component{}, used: map[string]bool{}}
}

// unused reports the entries of the generator's tables that no schema used: they name a type or
// field that no longer exists.
func (b *builder) unused() {
	check := func(table string, keys []string, prefix string) {
		slices.Sort(keys)
		for _, k := range keys {
			if !b.used[prefix+k] {
				b.fail("%s[%q] names no schema or field of the API any more: remove or rename it", table, k)
			}
		}
	}
	check("fieldFixes", slices.Collect(maps.Keys(fieldFixes)), "")
	check("contract.FieldDescriptions", slices.Collect(maps.Keys(contract.FieldDescriptions)), "")
	check("fieldAliases", slices.Collect(maps.Keys(fieldAliases)), "")
	check("contract.TypeDescriptions", slices.Collect(maps.Keys(contract.TypeDescriptions)), "type ")
	check("contract.RequestRequired", slices.Collect(maps.Keys(contract.RequestRequired)), "required ")
}

// fail records an error; the generator stops when the builder has any.
func (b *builder) fail(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

var timeType = reflect.TypeFor[time.Time]()

// optionalValue returns T when t is domain.Optional[T].
func optionalValue(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || !strings.HasPrefix(t.Name(), "Optional[") || !strings.HasSuffix(t.PkgPath(), "/shared/domain") {
		return nil, false
	}
	f, ok := t.FieldByName("Value")
	if !ok {
		return nil, false
	}
	return f.Type, true
}

// componentName is the schema name of a named Go type: its name, or for a generic instance the
// short names of its type arguments followed by its base name (Page[domain.Contact] →
// ContactPage).
func componentName(t reflect.Type) string {
	name := t.Name()
	base, args, generic := strings.Cut(name, "[")
	if !generic {
		return name
	}
	var out string
	for _, a := range strings.Split(strings.TrimSuffix(args, "]"), ",") {
		a = strings.TrimLeft(strings.TrimSpace(a), "*[]")
		out += a[strings.LastIndex(a, ".")+1:]
	}
	return out + base
}

// baseName is the declared name of a (possibly generic) type, as its source has it.
func baseName(t reflect.Type) string {
	base, _, _ := strings.Cut(t.Name(), "[")
	return base
}

// node is what openapi3gen's customizer saw of one schema it made: the Go type and the struct
// tag of the field it is for.
type node struct {
	Go  reflect.Type
	Tag reflect.StructTag
}

// reflected is one Go type reflected by openapi3gen, with what is known of each of its schemas.
type reflected struct {
	root  *openapi3.Schema
	nodes map[*openapi3.Schema]node
}

// reflect reflects t with openapi3gen (fields by their json tags, time.Time as date-time).
func reflectType(t reflect.Type) (reflected, error) {
	r := reflected{nodes: map[*openapi3.Schema]node{}}
	g := openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(
		func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
			r.nodes[s] = node{Go: t, Tag: tag}
			return nil
		}))
	ref, err := g.GenerateSchemaRef(t)
	if err != nil {
		return r, fmt.Errorf("%s: %w", t, err)
	}
	r.root = ref.Value
	return r, nil
}

// schema returns the schema of Go type t in mode m: a reference for named structs (which become
// components), an inline schema otherwise.
func (b *builder) schema(t reflect.Type, m mode) *Schema {
	r, err := reflectType(t)
	if err != nil {
		b.fail("%v", err)
		return &Schema{}
	}
	return b.convert(r, r.root, m)
}

// inline is the object schema of struct t in mode m, not made a component.
func (b *builder) inline(t reflect.Type, m mode) *Schema {
	r, err := reflectType(t)
	if err != nil {
		b.fail("%v", err)
		return &Schema{}
	}
	return b.object(r, r.root, "", m)
}

// convert turns openapi3gen's schema s (part of r) into the document's: named structs become
// components, domain.Optional[T] is T or null, integers carry no format.
func (b *builder) convert(r reflected, s *openapi3.Schema, m mode) *Schema {
	t := r.nodes[s].Go
	if t == timeType {
		return &Schema{Type: "string", Format: "date-time"}
	}
	if v, ok := optionalValue(t); ok {
		return makeNullable(b.schema(v, m))
	}
	if t != nil && t.Kind() == reflect.Struct && t.Name() != "" {
		return b.named(t, componentName(t), m, func() *Schema { return b.object(r, s, componentName(t), m) })
	}
	switch {
	case s.Type.Is("string"), s.Type.Is("boolean"), s.Type.Is("integer"), s.Type.Is("number"):
		return &Schema{Type: (*s.Type)[0]}
	case s.Type.Is("array"):
		return &Schema{Type: "array", Items: b.convert(r, s.Items.Value, m)}
	case s.Type.Is("object") && t != nil && t.Kind() == reflect.Map:
		out := &Schema{Type: "object"}
		if el := s.AdditionalProperties.Schema; el != nil {
			if x := b.convert(r, el.Value, m); x.Type != nil || x.Ref != "" || x.AnyOf != nil {
				out.AdditionalProperties = x
			}
		}
		return out
	case s.Type.Is("object"):
		return b.object(r, s, "", m)
	}
	return &Schema{} // an interface: any JSON value
}

// named makes (once, with make) the component called name for struct t and returns a reference
// to it.
func (b *builder) named(t reflect.Type, name string, m mode, make func() *Schema) *Schema {
	if c, ok := b.comps[name]; ok {
		if c.Go != t {
			b.fail("schema name %s is used by both %s and %s: give one an alias", name, c.Go, t)
		} else if c.Mode != m {
			b.fail("%s is used both in requests and in answers: give one use an alias (fieldAliases)", name)
		}
		return refTo(name)
	}
	c := &component{Go: t, Mode: m, Schema: &Schema{}}
	b.comps[name] = c // before the fields, so that a recursive type refers to itself
	*c.Schema = *make()
	desc := ""
	if baseName(t) == "Page" {
		desc = fmt.Sprintf("One page of a list of %s: `items`, and `nextCursor` while more pages follow.", strings.TrimSuffix(name, "Page"))
	}
	if d, ok := contract.TypeDescriptions[name]; ok {
		desc = d
		b.used["type "+name] = true
	}
	if desc == "" {
		b.fail("schema %s has no description: add one to contract.TypeDescriptions", name)
	}
	c.Schema.Description = desc
	return refTo(name)
}

// object is the object schema of struct schema s (of r); name is its component name ("" when
// inline). Properties keep the Go fields' order; answers require the fields that are not
// omitempty, requests those contract.RequestRequired names and refuse unknown fields.
func (b *builder) object(r reflected, s *openapi3.Schema, name string, m mode) *Schema {
	t := r.nodes[s].Go
	out := &Schema{Type: "object"}
	var required []string
	order := fieldOrder(t)
	names := slices.SortedFunc(maps.Keys(s.Properties), func(x, y string) int { return order[x] - order[y] })
	for _, jsonName := range names {
		ps := s.Properties[jsonName].Value
		key := name + "." + jsonName
		var fs *Schema
		if alias, ok := fieldAliases[key]; ok {
			b.used[key] = true
			ft := r.nodes[ps].Go
			fs = b.named(ft, alias, m, func() *Schema { return b.object(r, ps, alias, m) })
		} else {
			fs = b.convert(r, ps, m)
		}
		if fix, ok := fieldFixes[key]; ok {
			fs = fix(fs)
			b.used[key] = true
		}
		if f, ok := domain.Limits[baseName(t)+"."+jsonName]; ok && m == requestMode {
			fs = limit(fs, f)
		}
		desc := ""
		for _, k := range []string{key, baseName(t) + "." + jsonName, "*." + jsonName} {
			if d, ok := contract.FieldDescriptions[k]; ok {
				desc = d
				b.used[k] = true
				break
			}
		}
		if desc != "" {
			if fs.AnyOf != nil || fs.Ref == "" {
				fs.Description = desc
			} else {
				fs = &Schema{Ref: fs.Ref, Description: desc} // OpenAPI 3.1 allows siblings of $ref
			}
		}
		out.Properties = append(out.Properties, prop{jsonName, fs})
		_, opts, _ := strings.Cut(r.nodes[ps].Tag.Get("json"), ",")
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			required = append(required, jsonName)
		}
	}
	if m == requestMode {
		out.AdditionalProperties = false // bodies are decoded with unknown fields refused
		for _, f := range contract.RequestRequired[name] {
			if out.Properties.get(f) == nil {
				b.fail("contract.RequestRequired[%s] names %q, which %s has no JSON field for", name, f, t)
			}
		}
		required = contract.RequestRequired[name]
		b.used["required "+name] = true
	}
	if len(required) > 0 {
		out.Required = slices.Clone(required)
	}
	return out
}

// fieldOrder numbers the JSON names of struct t's fields in declaration order (embedded
// structs' fields in place), so that properties keep the Go order (openapi3gen sorts them).
func fieldOrder(t reflect.Type) map[string]int {
	out := map[string]int{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if _, seen := out[name]; !seen && f.IsExported() {
			out[name] = len(out)
		}
	}
	return out
}

// limit applies the validation's limits of a string field (domain.Limits) to its schema s.
func limit(s *Schema, f domain.Field) *Schema {
	target := s
	if len(s.AnyOf) > 0 {
		target = s.AnyOf[0]
	}
	if target.Enum != nil {
		return s // the values are the limit
	}
	if f.MaxLength > 0 {
		target.MaxLength = intp(f.MaxLength)
	}
	if f.Format != "" {
		target.Format = f.Format
	}
	if f.Pattern != "" {
		target.Pattern = f.Pattern
	}
	return s
}
