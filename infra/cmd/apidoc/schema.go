package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
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
// unknown fields and take their required fields from the validation rules (requestRequired);
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

// builder derives schemas from Go types by reflection and collects the named ones as components.
type builder struct {
	docs  *docIndex
	comps map[string]*component
	used  map[string]bool // entries of the generator's tables that a schema used
	errs  []error
}

// newBuilder returns a builder that describes types with the doc comments of docs.
func newBuilder(docs *docIndex) *builder {
	return &builder{docs: docs, comps: map[string]*component{}, used: map[string]bool{}}
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
	check("fieldDescriptions", slices.Collect(maps.Keys(fieldDescriptions)), "")
	check("fieldAliases", slices.Collect(maps.Keys(fieldAliases)), "")
	check("typeDescriptions", slices.Collect(maps.Keys(typeDescriptions)), "type ")
	check("requestRequired", slices.Collect(maps.Keys(requestRequired)), "required ")
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

// schema returns the schema of Go type t in mode m: a reference for named structs (which become
// components), an inline schema otherwise.
func (b *builder) schema(t reflect.Type, m mode) *Schema {
	if t == timeType {
		return &Schema{Type: "string", Format: "date-time"}
	}
	if v, ok := optionalValue(t); ok {
		return makeNullable(b.schema(v, m))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.schema(t.Elem(), m)
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		return &Schema{Type: "array", Items: b.schema(t.Elem(), m)}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			b.fail("%s: map keys must be strings to be JSON", t)
		}
		s := &Schema{Type: "object"}
		if el := b.schema(t.Elem(), m); el.Type != nil || el.Ref != "" || el.AnyOf != nil {
			s.AdditionalProperties = el
		}
		return s
	case reflect.Interface:
		return &Schema{} // any JSON value
	case reflect.Struct:
		if t.Name() == "" {
			return b.object(t, "", m)
		}
		return b.named(t, componentName(t), m)
	}
	b.fail("%s: no JSON schema for kind %s", t, t.Kind())
	return &Schema{}
}

// named makes (once) the component called name for struct t and returns a reference to it.
func (b *builder) named(t reflect.Type, name string, m mode) *Schema {
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
	*c.Schema = *b.object(t, name, m)
	desc := b.docs.typeDoc(t)
	if baseName(t) == "Page" {
		desc = fmt.Sprintf("One page of a list of %s: `items`, and `nextCursor` while more pages follow.", strings.TrimSuffix(name, "Page"))
	}
	if d, ok := typeDescriptions[name]; ok {
		desc = d
		b.used["type "+name] = true
	}
	c.Schema.Description = desc
	return refTo(name)
}

// object is the object schema of struct t; name is its component name ("" when inline).
func (b *builder) object(t reflect.Type, name string, m mode) *Schema {
	s := &Schema{Type: "object"}
	var required []string
	b.fields(t, name, m, s, &required)
	if m == requestMode {
		s.AdditionalProperties = false // bodies are decoded with unknown fields refused
		for _, f := range requestRequired[name] {
			if s.Properties.get(f) == nil {
				b.fail("requestRequired[%s] names %q, which %s has no JSON field for", name, f, t)
			}
		}
		required = requestRequired[name]
		b.used["required "+name] = true
	}
	if len(required) > 0 {
		s.Required = slices.Clone(required)
	}
	return s
}

// fields adds the JSON fields of struct t to s (embedded structs inline, as encoding/json does).
func (b *builder) fields(t reflect.Type, name string, m mode, s *Schema, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jsonName, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && jsonName == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.fields(ft, name, m, s, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if jsonName == "" {
			jsonName = f.Name
		}
		key := name + "." + jsonName
		var fs *Schema
		if alias, ok := fieldAliases[key]; ok {
			b.used[key] = true
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			fs = b.named(ft, alias, m)
		} else {
			fs = b.schema(f.Type, m)
		}
		if fix, ok := fieldFixes[key]; ok {
			fs = fix(fs)
			b.used[key] = true
		}
		desc := b.docs.fieldDoc(t, f.Name)
		for _, k := range []string{key, baseName(t) + "." + jsonName, "*." + jsonName} {
			if d, ok := fieldDescriptions[k]; ok {
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
		s.Properties = append(s.Properties, prop{jsonName, fs})
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			*required = append(*required, jsonName)
		}
	}
}

// docIndex reads the doc comments of the module's packages, so that schemas describe types and
// fields as their source does.
type docIndex struct {
	root, module string
	pkgs         map[string]*pkgDocs
}

type pkgDocs struct {
	types  map[string]string // type name → doc comment
	fields map[string]string // type.Field → doc or line comment
}

// newDocIndex reads the module path from root/go.mod; packages are parsed when first asked for.
func newDocIndex(root string) (*docIndex, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	var module string
	for _, line := range strings.Split(string(mod), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			module = strings.Trim(strings.TrimSpace(m), `"`)
			break
		}
	}
	if module == "" {
		return nil, fmt.Errorf("%s/go.mod names no module", root)
	}
	return &docIndex{root: root, module: module, pkgs: map[string]*pkgDocs{}}, nil
}

// pkg returns the docs of package path, parsing its source once; nil outside the module.
func (d *docIndex) pkg(path string) *pkgDocs {
	if p, ok := d.pkgs[path]; ok {
		return p
	}
	rel, ok := strings.CutPrefix(path, d.module+"/")
	if !ok {
		d.pkgs[path] = nil
		return nil
	}
	p := &pkgDocs{types: map[string]string{}, fields: map[string]string{}}
	d.pkgs[path] = p
	dir := filepath.Join(d.root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return p
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				text := ts.Doc.Text()
				if text == "" && len(gd.Specs) == 1 {
					text = gd.Doc.Text()
				}
				p.types[ts.Name.Name] = text
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					c := fl.Doc.Text()
					if c == "" {
						c = fl.Comment.Text()
					}
					for _, n := range fl.Names {
						p.fields[ts.Name.Name+"."+n.Name] = oneLine(c)
					}
				}
			}
		}
	}
	return p
}

// typeDoc is the first sentence of t's doc comment.
func (d *docIndex) typeDoc(t reflect.Type) string {
	p := d.pkg(t.PkgPath())
	if p == nil {
		return ""
	}
	return new(doc.Package).Synopsis(p.types[baseName(t)])
}

// fieldDoc is the comment of field of struct t.
func (d *docIndex) fieldDoc(t reflect.Type, field string) string {
	p := d.pkg(t.PkgPath())
	if p == nil {
		return ""
	}
	return sentence(p.fields[baseName(t)+"."+field])
}

// sentence makes a comment a sentence: capitalised, with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// oneLine joins the lines of a comment.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
