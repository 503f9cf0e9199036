package httpapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
)

// inputs are the request body types decoded strictly, by the index FuzzDecodeStrict picks.
var inputs = []func() any{
	func() any { return &domain.CreateAccountInput{} },
	func() any { return &domain.UpdateAccountInput{} },
	func() any { return &domain.CreateContactInput{} },
	func() any { return &domain.UpdateContactInput{} },
	func() any { return &domain.CreateInvitationInput{} },
	func() any { return &domain.TokenInput{} },
	func() any { return &domain.CreateSiteInput{} },
	func() any { return &domain.RelationshipInput{} },
	func() any { return &domain.RelationshipRow{} },
	func() any { return &domain.UpdateUserInput{} },
	func() any { return &domain.TransferInput{} },
	func() any {
		return &struct {
			Items []json.RawMessage `json:"items"`
		}{}
	},
}

// FuzzDecodeStrict: decoding any body into any request type never panics, and fails only with a
// 400 listing field problems (every problem the caller can fix). Seeds: the bodies of
// events/http.
func FuzzDecodeStrict(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "http", "*.json"))
	for i, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var ev struct{ Body string }
		_ = json.Unmarshal(b, &ev)
		f.Add(uint8(i), []byte(ev.Body))
	}
	f.Add(uint8(1), []byte(`{"owner":{"isAdmin":true,"Email":"x","email":"a@b.c","email":null}}`))
	f.Add(uint8(0), []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		dst := inputs[int(which)%len(inputs)]()
		err := httpapi.DecodeStrict(body, dst)
		if err == nil {
			return
		}
		e, ok := apperr.As(err)
		if !ok || e.Status != 400 || e.Code != apperr.CodeValidation || len(e.Fields) == 0 {
			t.Fatalf("body %q: %v", body, err)
		}
	})
}
