// Package rawbody keeps the JSON of an AWS answer beside the SDK's decoding of it. The local
// stream poller and the stage re-drive hand DynamoDB Streams records to the email function as
// Lambda's JSON, which a GetRecords answer's Records array already is: converting the SDK's
// decoded records back, type by type, would be the alternative.
package rawbody

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// Body receives the JSON of one answer.
type Body struct{ Bytes []byte }

type key struct{}

// With returns ctx asking Client to copy the answer of the request made with it into b.
func With(ctx context.Context, b *Body) context.Context {
	return context.WithValue(ctx, key{}, b)
}

// Client is an SDK HTTP client over Base that copies an answer's body into the Body its
// request's context carries (With); requests without one pass through untouched.
type Client struct{ Base *http.Client }

// Do sends req with Base. It returns Base's error, or the error of reading the answer's body.
func (c Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.Base.Do(req)
	slot, ok := req.Context().Value(key{}).(*Body)
	if err != nil || !ok {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	slot.Bytes = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
